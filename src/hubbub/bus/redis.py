"""The Redis bus: live events between nodes over Redis pub/sub; presence across nodes.

Redis is only the doorbell. Every node delivers its own events locally at once, and the hub
reads the database when it sees a gap, when the bus reconnects, and every poll interval, so a
Redis outage delays other nodes' subscribers by about the poll interval and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hubbub.bus.base import BusHandler
from hubbub.clock import Clock
from hubbub.events import Ephemeral, Event, decode_durable, decode_ephemeral, encode

__all__ = ["RedisBus"]

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 0.5
PRESENCE_TTL = 60.0  # a node's claim that a user is online lasts this long unless refreshed


def _encode_event(e: Event) -> dict[str, Any]:
    return {"pos": e.pos, "ts": e.ts, "type": e.type, "data": encode(e.body)}


def _decode_event(d: dict[str, Any]) -> Event:
    return Event(pos=d["pos"], ts=d["ts"], body=decode_durable(d["type"], d["data"]))


class RedisBus:
    def __init__(self, url: str, node_id: str, clock: Clock, *, prefix: str = "hubbub") -> None:
        self._redis = aioredis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=5
        )
        self.node_id = node_id
        self._clock = clock
        self._events_channel = f"{prefix}:events"
        self._ephemeral_channel = f"{prefix}:ephemeral"
        self._presence_prefix = f"{prefix}:presence:"
        self._handler: BusHandler | None = None
        self._state = "connecting"
        self._tasks: list[asyncio.Task[None]] = []
        self._local_online: set[str] = set()

    @property
    def state(self) -> str:
        return "connected" if self._state == "connected" else "degraded"

    async def start(self, handler: BusHandler) -> None:
        self._handler = handler
        self._tasks = [
            asyncio.create_task(self._listen(), name="hubbub-redis-listen"),
            asyncio.create_task(self._refresh_presence(), name="hubbub-presence"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self._redis.aclose()

    async def publish_events(self, events: list[Event]) -> None:
        if not events:
            return
        if self._handler is not None:
            self._handler.on_events(events)  # this node's subscribers: no round trip
        payload = orjson.dumps({"node": self.node_id, "events": [_encode_event(e) for e in events]})
        await self._publish(self._events_channel, payload)

    async def publish_ephemeral(self, event: Ephemeral) -> None:
        if self._handler is not None:
            self._handler.on_ephemeral(event)
        payload = orjson.dumps(
            {
                "node": self.node_id,
                "type": event.type,
                "room_ids": list(event.room_ids),
                "ts": event.ts,
                "data": encode(event.body),
                "except_user": event.except_user,
                "only_user": event.only_user,
            }
        )
        await self._publish(self._ephemeral_channel, payload)

    def _now(self) -> float:
        return self._clock.now_ms() / 1000

    async def set_online(self, user_id: str, online: bool) -> bool:
        key = self._presence_prefix + user_id
        try:
            if online:
                self._local_online.add(user_id)
                await asyncio.wait_for(
                    self._redis.zadd(key, {self.node_id: self._now() + PRESENCE_TTL}),
                    PUBLISH_TIMEOUT,
                )
                await asyncio.wait_for(
                    self._redis.expire(key, int(PRESENCE_TTL) * 2), PUBLISH_TIMEOUT
                )
                return True
            self._local_online.discard(user_id)
            await asyncio.wait_for(self._redis.zrem(key, self.node_id), PUBLISH_TIMEOUT)
            others = await asyncio.wait_for(
                self._redis.zcount(key, self._now(), "+inf"), PUBLISH_TIMEOUT
            )
            return int(others) > 0
        except (RedisError, OSError, TimeoutError):
            self._state = "degraded"
            return online  # without Redis, this node's own view is the best there is

    async def online_among(self, user_ids: list[str]) -> set[str] | None:
        now = self._now()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in user_ids:
                    pipe.zcount(self._presence_prefix + user_id, now, "+inf")
                counts = await asyncio.wait_for(pipe.execute(), PUBLISH_TIMEOUT)
        except (RedisError, OSError, TimeoutError):
            self._state = "degraded"
            return None
        return {u for u, n in zip(user_ids, counts, strict=True) if int(n) > 0}

    async def _publish(self, channel: str, payload: bytes) -> None:
        if self._state != "connected":
            return  # degraded: other nodes catch up from the database
        try:
            await asyncio.wait_for(self._redis.publish(channel, payload), PUBLISH_TIMEOUT)
        except (RedisError, OSError, TimeoutError) as exc:
            self._state = "degraded"
            log.warning("redis publish failed: %s", exc)

    async def _listen(self) -> None:
        backoff = 0.2
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._events_channel, self._ephemeral_channel)
                if self._state != "connected":
                    log.info("redis bus connected")
                self._state = "connected"
                backoff = 0.2
                if self._handler is not None:
                    self._handler.on_resync()  # whatever was missed while away is in the DB
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._receive(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._state == "connected":
                    log.warning("redis bus lost: %s", exc)
                self._state = "degraded"
                await self._clock.sleep(backoff)
                backoff = min(backoff * 2, 3.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _receive(self, channel: bytes, data: bytes) -> None:
        try:
            self._deliver(channel, orjson.loads(data))
        except (ValueError, KeyError, TypeError) as exc:
            # Not a message this release understands (another version's node, or garbage on
            # our channel): skip it. A durable event it carried is read from the log instead.
            log.warning("unreadable bus message skipped: %r", exc)

    def _deliver(self, channel: bytes, body: dict[str, Any]) -> None:
        if body.get("node") == self.node_id or self._handler is None:
            return  # our own, already delivered locally
        if channel.decode() == self._events_channel:
            self._handler.on_events([_decode_event(e) for e in body["events"]])
        else:
            self._handler.on_ephemeral(
                Ephemeral(
                    body["ts"],
                    decode_ephemeral(body["type"], body["data"]),
                    tuple(body["room_ids"]),
                    body.get("except_user"),
                    body.get("only_user"),
                )
            )

    async def _refresh_presence(self) -> None:
        while True:
            await self._clock.sleep(PRESENCE_TTL / 3)
            for user_id in list(self._local_online):
                with contextlib.suppress(RedisError, OSError, TimeoutError):
                    await asyncio.wait_for(
                        self._redis.zadd(
                            self._presence_prefix + user_id,
                            {self.node_id: self._now() + PRESENCE_TTL},
                        ),
                        PUBLISH_TIMEOUT,
                    )
