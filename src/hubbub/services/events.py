"""Real-time: open a resumable event subscription, long-poll, and typing notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from hubbub import wire
from hubbub.bus import Bus
from hubbub.clock import Clock
from hubbub.errors import CursorExpired, Invalid
from hubbub.models import Ephemeral, Event, User
from hubbub.services.access import require_member
from hubbub.services.hub import Frame, Hub, Subscription, event_frame
from hubbub.store import Store, Tx
from hubbub.store.events import head, list_for_user

__all__ = ["PRESENCE_QUERY_MAX", "EventService", "Feed"]

CATCH_UP_PAGE = 500
TYPING_MS = 6000
PRESENCE_QUERY_MAX = 200


class Feed:
    """A subscription seen from a transport: first the stored events after the cursor, then
    live ones; each durable event once, in position order."""

    def __init__(self, service: EventService, sub: Subscription, start: int) -> None:
        self._service = service
        self.sub = sub
        self.sub.last_pos = start
        self._caught_up = False

    @property
    def cursor(self) -> str:
        """The cursor of the last durable event delivered (or of the start)."""
        return wire.cursor(self._service.hub.deployment_id, self.sub.last_pos)

    async def next(self, max_wait: float) -> list[Frame]:
        """The next frames, waiting up to `max_wait` seconds; [] if none came.

        Raises SlowConsumer if the live buffer overflowed.
        """
        while not self._caught_up:
            frames = await self._catch_up_page()
            if frames:
                return frames
        frames = self.sub.take()
        if frames:
            return frames
        await self.sub.wait(max_wait)
        return self.sub.take()

    async def _catch_up_page(self) -> list[Frame]:
        user_id, after = self.sub.user.id, self.sub.last_pos
        events, upto = await self._service.store.read(
            lambda tx: list_for_user(tx, user_id, after, CATCH_UP_PAGE)
        )
        dep = self._service.hub.deployment_id
        frames = [event_frame(e, dep) for e in events]
        self.sub.last_pos = max(after, upto)
        # Caught up once the database has nothing the hub has not already dispatched: every
        # later event reaches the live buffer.
        self._caught_up = upto >= self._service.hub.pos
        return frames


@dataclass(frozen=True, slots=True)
class EventService:
    store: Store
    clock: Clock
    bus: Bus
    hub: Hub
    max_buffer: int = 1000

    async def publish(self, events: list[Event]) -> None:
        """Announce committed events (services call this after every write that made some)."""
        if events:
            await self.bus.publish_events(events)

    def start_position(self, since: str | None) -> int | None:
        """The position a cursor stands for; None for "from now". Raises CursorExpired."""
        if since is None:
            return None
        pos = wire.parse_cursor(since, self.hub.deployment_id)
        if pos is None:
            raise CursorExpired("This cursor is not from this server: fetch state again")
        return pos

    @asynccontextmanager
    async def feed(self, me: User, since: str | None) -> AsyncIterator[Feed]:
        """Subscribe `me` from `since` (None: from now) for the duration of the block.

        Subscribes to live events first, then reads the rooms and the head, so nothing
        committed in between is missed. Raises CursorExpired for a cursor it cannot resume.
        """
        start = self.start_position(since)
        sub = Subscription(me, self.max_buffer)
        self.hub.register(sub)
        try:

            def load(tx: Tx) -> tuple[list[str], int]:
                rows = tx.fetchall("SELECT room_id FROM members WHERE user_id = :u", {"u": me.id})
                return [r[0] for r in rows], head(tx)

            rooms, now = await self.store.read(load)
            if start is not None and start > now:
                raise CursorExpired("This cursor is ahead of the server: fetch state again")
            self.hub.set_rooms(sub, rooms, now)
            yield Feed(self, sub, now if start is None else start)
        finally:
            self.hub.unregister(sub)

    async def head_cursor(self) -> str:
        return wire.cursor(self.hub.deployment_id, await self.store.read(head))

    async def online(self, user_ids: list[str]) -> list[str]:
        """Which of `user_ids` are connected now (to any node, in cluster mode)."""
        if len(user_ids) > PRESENCE_QUERY_MAX:
            raise Invalid(f"at most {PRESENCE_QUERY_MAX} users per query", field="user_id")
        cluster = await self.bus.online_among(user_ids)
        if cluster is not None:
            return [u for u in user_ids if u in cluster]
        return [u for u in user_ids if self.hub.is_online(u)]

    async def typing(self, me: User, room_id: str) -> None:
        """Tell the room's other members that `me` is typing, for the next ~6 s."""
        await self.store.read(lambda tx: require_member(tx, room_id, me.id))
        now = self.clock.now_ms()
        await self.bus.publish_ephemeral(
            Ephemeral(
                "typing",
                (room_id,),
                now,
                {"user": me.username, "user_id": me.id, "until": wire.rfc3339(now + TYPING_MS)},
                except_user=me.id,
            )
        )
