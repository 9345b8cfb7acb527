"""What the bearer-token cache saves (#21): the cost of one SessionService.authenticate with
the cache on and off, in-process, on a fresh SQLite file.

    PYTHONPATH=src taskset -c 0 .venv/bin/python bench/authcache.py [--calls 5000] [--rounds 5]

"off" empties the cache and lets it hold nothing (max_entries 0), so every call reads the
session from the database (a hand-off to a reader thread and back), as before the cache; "on"
answers every call but the first from memory. Alternates off/on twice and prints, for each,
the median wall and process-CPU microseconds per call (the reader threads' CPU is in the
process's).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time

import httpx
from asgi_lifespan import LifespanManager

from hubbub.app import create_app
from hubbub.config import Settings
from hubbub.services.sessions import SessionService


async def per_call(sessions: SessionService, token: str, calls: int, rounds: int) -> str:
    wall, cpu = [], []
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(calls):
            await sessions.authenticate(token)
        wall.append((time.perf_counter() - w0) / calls * 1e6)
        cpu.append((time.process_time() - c0) / calls * 1e6)
    return f"wall {statistics.median(wall):7.1f} µs  cpu {statistics.median(cpu):7.1f} µs"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            database_url=f"sqlite:///{directory}/hubbub.db",
            password_hashing="fast",
            rate_limits="off",
        )
        app = create_app(settings)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
                r = await c.post(
                    "/api/v1/accounts", json={"username": "alice", "password": "correct horse"}
                )
                token = str(r.json()["token"])
            sessions: SessionService = app.state.services.sessions
            cache = sessions.cache
            for label, size in (("off", 0), ("on", 10_000), ("off", 0), ("on", 10_000)):
                cache.max_entries = size
                cache.forget_user(str(r.json()["user"]["id"]))
                await sessions.authenticate(token)
                print(
                    f"cache {label:3}  {await per_call(sessions, token, opts.calls, opts.rounds)}"
                )


if __name__ == "__main__":
    asyncio.run(main())
