"""The cost of "deleted means deleted": delete latency beside send latency, in one run.

    .venv/bin/python bench/deletes.py [--messages 3000] [--deletes 300] [--src src]
        [--database-url postgresql://user@127.0.0.1:5432/NAME] [--out FILE.json]

One client, one request at a time (latency, not throughput), against a hubbub started here on
a fresh SQLite file (or a fresh database on the --database-url server), pinned to CPU 0 with
this process on CPU 1. It fills one room with `--messages` messages (a tenth edited twice, a
fifth with a reaction, so the event log holds several events per message), then times
`--deletes` sends and `--deletes` deletes of random older messages, interleaved. A delete
rewrites that message's earlier events and its stored idempotent answer in the same
transaction; the ceiling it is compared with is the send measured in the same run. Only
127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from http_pool import Http  # noqa: E402
from measurements import arun  # noqa: E402
from procs import LOAD_CPU, SERVER_CPU  # noqa: E402
from servers import Pg, serve  # noqa: E402

PASSWORD = "bench-pass-1"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50_ms": q[49], "p95_ms": q[94], "p99_ms": q[98], "max_ms": ordered[-1]}


async def measure(port: int, messages: int, deletes: int, seed: int) -> dict[str, Any]:
    http = Http(port, 2)
    rnd = random.Random(seed)
    try:
        account = {"username": "deleter", "password": PASSWORD}
        token = (await http.json("POST", "/api/v1/accounts", account, None, 201))["token"]
        room = {"name": "deletes", "visibility": "public"}
        room_id = (await http.json("POST", "/api/v1/rooms", room, token, 201))["id"]
        path = f"/api/v1/rooms/{room_id}/messages"
        ids: list[str] = []
        for i in range(messages):
            sent = await http.json("POST", path, {"text": f"message {i} " * 6}, token, 201)
            ids.append(sent["id"])
            if i % 10 == 0:
                for n in (1, 2):
                    body = {"text": f"message {i}, edit {n}"}
                    await http.json("PATCH", f"/api/v1/messages/{sent['id']}", body, token, 200)
            if i % 5 == 0:
                react = f"/api/v1/messages/{sent['id']}/reactions/%F0%9F%91%8D"
                await http.json("PUT", react, None, token, 204)
        victims = rnd.sample(ids, deletes)
        send_ms: list[float] = []
        delete_ms: list[float] = []
        for k, victim in enumerate(victims):
            t0 = time.perf_counter()
            await http.json("POST", path, {"text": f"fresh {k} " * 6}, token, 201)
            send_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            await http.json("DELETE", f"/api/v1/messages/{victim}", None, token, 204)
            delete_ms.append((time.perf_counter() - t0) * 1000)
        return {"send": percentiles(send_ms), "delete": percentiles(delete_ms)}
    finally:
        await http.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--deletes", type=int, default=300)
    parser.add_argument("--src", type=Path, default=BENCH.parent / "src")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--out", type=Path, default=None)
    opts = parser.parse_args()
    if opts.deletes > opts.messages or opts.deletes < 2:
        parser.error("--deletes must be 2..--messages")
    opts.src = opts.src.resolve()
    opts.url = None
    opts.redis_url = None
    opts.pinned = shutil.which("taskset") is not None and {SERVER_CPU, LOAD_CPU} <= (
        os.sched_getaffinity(0)
    )
    if opts.pinned:
        os.sched_setaffinity(0, {LOAD_CPU})  # the client here; the server goes to SERVER_CPU
    pg = Pg(opts.database_url) if opts.database_url else None
    with tempfile.TemporaryDirectory() as tmp, serve(["hubbub"], Path(tmp), opts, pg) as servers:
        result = arun(measure(servers["hubbub"].port, opts.messages, opts.deletes, opts.seed))
    report = {
        "messages": opts.messages,
        "deletes": opts.deletes,
        "database": "postgresql" if pg else "sqlite",
        "pinned": opts.pinned,
        **result,
        "delete_over_send_p50": result["delete"]["p50_ms"] / result["send"]["p50_ms"],
    }
    print(json.dumps(report, indent=2))
    if opts.out:
        opts.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
