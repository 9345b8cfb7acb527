"""Web Push under load (#18, "Performance"): one busy room of 1,000 members who each hold a
push subscription, in one process (the app in-process over ASGI, a trivial push service on
127.0.0.1 that answers 201 without decrypting).

1. send throughput: messages sent in the room while nobody is notified (every member at the
   default level `mentions`), with the push consumer running, against the same room with no
   subscriptions at all: the consumer's cost must be per notification, not per member.
2. the consumer's handler: time per page of `message.created` events in that room.
3. push throughput: one @room message notifies all 1,000, so 1,000 pushes are queued, each
   encrypted, signed and POSTed: time until the push service has them all.

    .venv/bin/python bench/push.py [--members 1000] [--messages 300]   (SQLite)
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hubbub.app import create_app
from hubbub.config import Settings
from hubbub.store.events import list_after
from hubbub.webpush import b64url

API = "/api/v1"


class Receiver:
    """A push service that takes every push (201) and counts them."""

    def __init__(self) -> None:
        self.count = 0
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def take(request: web.Request) -> web.Response:
            await request.read()
            self.count += 1
            return web.Response(status=201)

        app = web.Application()
        app.router.add_post("/push/{token}", take)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        assert site._server is not None
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def browser_keys() -> dict[str, str]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


async def sign_up(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    r = await client.post(f"{API}/accounts", json={"username": name, "password": "bench-pass-1"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def scenario(
    settings: Settings, members: int, messages: int, subscribe: bool, receiver: Receiver
) -> dict[str, Any]:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            owner = await sign_up(client, "owner")
            r = await client.post(
                f"{API}/rooms", json={"name": "busy", "visibility": "public"}, headers=owner
            )
            room = r.json()["id"]
            for i in range(members):
                who = await sign_up(client, f"m{i}")
                await client.post(f"{API}/rooms/{room}/join", headers=who)
                if subscribe:
                    body = {
                        "endpoint": f"http://127.0.0.1:{receiver.port}/push/{i}",
                        "keys": browser_keys(),
                    }
                    r = await client.post(f"{API}/push/subscriptions", json=body, headers=who)
                    assert r.status_code == 201, r.text
            services = app.state.services
            services = app.state.services
            started = time.perf_counter()
            for i in range(messages):
                r = await client.post(
                    f"{API}/rooms/{room}/messages", json={"text": f"busy {i}"}, headers=owner
                )
                assert r.status_code == 201, r.text
            send_s = time.perf_counter() - started
            # The consumer's handler on the last page of the room's message events (it reads
            # and returns what to enqueue; here nothing is enqueued).
            store = services.push.uow.store
            events = await store.read(functools.partial(list_after, after=0, limit=1_000_000))
            page = [e for e in events if e.type == "message.created"][-messages:]
            started = time.perf_counter()
            await services.push.handle(page)
            handler_ms = (time.perf_counter() - started) * 1000 / len(page)
            pushed_s = None
            if subscribe:
                before = receiver.count
                started = time.perf_counter()
                r = await client.post(
                    f"{API}/rooms/{room}/messages", json={"text": "@room all of you"}, headers=owner
                )
                assert r.status_code == 201, r.text
                while receiver.count - before < members:
                    await asyncio.sleep(0.01)
                    if time.perf_counter() - started > 300:
                        raise TimeoutError(f"only {receiver.count - before} pushes")
                pushed_s = time.perf_counter() - started
                while await services.push.uow.store.read(  # noqa: ASYNC110 - the database's state
                    lambda tx: tx.fetchone("SELECT COUNT(*) FROM push_queue")[0]
                ):
                    await asyncio.sleep(0.01)
            queue = await services.push.uow.store.read(
                lambda tx: tx.fetchone("SELECT COUNT(*) FROM push_queue")
            )
    return {
        "sends_per_s": messages / send_s,
        "handler_ms_per_message": handler_ms,
        "pushes_per_s": members / pushed_s if pushed_s else None,
        "push_seconds": pushed_s,
        "queue_left": queue[0] if queue else None,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1, help="alternating runs; medians")
    args = parser.parse_args()
    receiver = Receiver()
    await receiver.start()
    try:
        runs: dict[str, list[dict[str, Any]]] = {}
        for subscribe in (False, True) * args.rounds:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'bench.db'}"
                settings = Settings(
                    database_url=url,
                    password_hashing="fast",
                    rate_limits="off",
                    outbound_allow_private=True,
                    push_contact="mailto:bench@hubbub.test",
                    push_delay=0,
                )
                label = "with subscriptions" if subscribe else "no subscriptions"
                got = await scenario(settings, args.members, args.messages, subscribe, receiver)
                runs.setdefault(label, []).append(got)
                print(label, got, file=sys.stderr, flush=True)
    finally:
        await receiver.stop()
    for label, results in runs.items():
        medians = {
            key: statistics.median(float(r[key]) for r in results)
            for key in results[0]
            if all(r[key] is not None for r in results)
        }
        print(f"{label} (median of {len(results)}): {medians}")


if __name__ == "__main__":
    asyncio.run(main())
