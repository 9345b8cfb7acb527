"""make bench's `workers` scenario: hubbub with --workers 1 against --workers 2, both on the
Redis bus (so the worker count is the only difference), beside the bare ceilings.

Two measurements of each server per run: workers-send (wrk against POST
/api/v1/rooms/{id}/messages, as the send scenario does) and workers-fanout (bench/realtime.py's
fanout: one room, its 1,000 WebSocket subscribers). The servers are NOT pinned here: a second
worker needs a second core, and this machine may have only two; the load (wrk, the WebSocket
clients) stays on CPU 1, so with two workers one of them shares a core with the load. The bare
ceilings are unpinned too, so that every server measured here had the same cores to use.

Each hubbub runs alone, on a fresh SQLite file or, with --database-url, a fresh PostgreSQL
database (two deployments on one Redis would hear each other's events). Redis is --redis-url,
or a throwaway redis-server started here. Beside each result: the share of a core redis-server
used (when it is ours) and how busy each core was, over the whole measurement (its setup and
warm-up included).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from procs import cpu_between, cpu_busy, thread_cpu
from results import Result, result_line
from rich.progress import Progress
from scenarios import Params
from servers import Pg, Server, serve
from wrk import measure_wrk
from ws_scenarios import measure_rt

ROOT = Path(__file__).resolve().parent.parent
MEASURES = ("workers-send", "workers-fanout")
LABELS = ("workers-2", "workers-1", "bare")  # the measured one, its baseline, the ceiling


@contextmanager
def redis_for(opts: argparse.Namespace) -> Iterator[tuple[str, int | None]]:
    """(url, pid of redis-server if it is ours): --redis-url, else a throwaway one."""
    if opts.redis_url:
        yield opts.redis_url, None
        return
    sys.path.insert(0, str(ROOT))
    from tests.backends import ThrowawayRedis

    redis = ThrowawayRedis()
    try:
        assert redis.proc is not None
        yield redis.url, redis.proc.pid
    finally:
        redis.stop()


def _measure(
    name: str,
    run: int,
    server: Server,
    label: str,
    opts: argparse.Namespace,
    params: Params,
    progress: Progress,
    redis_pid: int | None,
) -> Result:
    redis0 = thread_cpu(redis_pid) if redis_pid else {}
    busy0, wall0 = (cpu_busy(0), cpu_busy(1)), time.monotonic()
    if name == "workers-send":
        result = measure_wrk("send", run, server, label, opts, progress)
    else:
        result = measure_rt("fanout", run, server, label, params)
    wall = time.monotonic() - wall0
    result.scenario, result.server = name, label
    extra: dict[str, Any] = {
        "cpu0_busy": (cpu_busy(0) - busy0[0]) / wall,
        "cpu1_busy": (cpu_busy(1) - busy0[1]) / wall,
    }
    if redis_pid:
        extra["redis_cpu_util"] = cpu_between(redis0, thread_cpu(redis_pid)) / wall
    result.extra.update(extra)
    progress.console.print(
        result_line(result)
        + "  cores busy {:.0%}/{:.0%}".format(extra["cpu0_busy"], extra["cpu1_busy"])
        + (f"  redis {extra['redis_cpu_util']:.0%}" if redis_pid else "")
    )
    return result


def measure_workers(
    run: int,
    workdir: Path,
    opts: argparse.Namespace,
    params: Params,
    redis: tuple[str, int | None],
    pg: Pg | None,
    progress: Progress,
    overall: Any,
) -> list[Result]:
    """One run: the bare ceilings, then hubbub with 1 and 2 workers (alternating which goes
    first from run to run), each measured on send and fan-out; on a fresh SQLite file, or a
    fresh database on `pg`'s PostgreSQL server."""
    unpinned = copy.copy(opts)
    unpinned.pinned = False
    unpinned.every_cpu = True  # else they would inherit this process's: the load's CPU 1
    unpinned.redis_url = redis[0]
    results: list[Result] = []

    def each(servers: dict[str, Server], kinds: dict[str, str]) -> None:
        for name in MEASURES:
            for label, kind in kinds.items():
                server = servers[kind]
                results.append(
                    _measure(name, run, server, label, unpinned, params, progress, redis[1])
                )
                progress.advance(overall)

    with serve(["bare_asgi", "bare_ws"], workdir, unpinned, None) as servers:
        for name in MEASURES:
            kind = "bare_asgi" if name == "workers-send" else "bare_ws"
            results.append(
                _measure(name, run, servers[kind], "bare", unpinned, params, progress, redis[1])
            )
            progress.advance(overall)
    order = [1, 2] if run % 2 else [2, 1]
    for count in order:
        directory = workdir / f"w{count}"
        directory.mkdir()
        kind = f"hubbub-w{count}"
        with serve([kind], directory, unpinned, pg) as servers:
            each(servers, {f"workers-{count}": kind})
    return results
