"""`make bench`: hubbub's named benchmark scenarios, each beside a bare ASGI ceiling.

    .venv/bin/python bench/run.py [--scenario NAME ...|all] [--quick] [--runs N] [--duration S]
        [--url http://127.0.0.1:PORT] [--database-url postgresql://...] [--redis-url redis://...]
        [--compare old.json] [--out-dir DIR]

Scenarios (throughput unit in brackets; the ceiling is measured in the same run):

- classic-post / classic-read: wrk against the classic API (`POST /message`, `GET /messages`,
  100 seeded messages), as bench/classic.py does [req/s]; ceiling: bench/bare_asgi.py POST / GET.
- send: wrk against `POST /api/v1/rooms/{id}/messages` (signed-up user, bearer token in the wrk
  Lua script, durable) [req/s]; ceiling: bare_asgi.py POST, the nearest trivial thing.
- history: wrk against `GET /api/v1/rooms/{id}/messages?limit=50` with 60 messages in the room
  [req/s]; ceiling: bare_asgi.py GET, the nearest trivial thing.
- fanout, rooms, latency, idle, connections: bench/realtime.py's scenarios (the same code, its
  sizes; idle: one subscriber, 20 messages/s for 15 s, its send -> receive latency)
  [deliveries/s; connections: connections/s and KB per connection]; ceiling: bench/bare_ws.py.
- redis-hop: two hubbub nodes on one PostgreSQL + Redis (needs --database-url postgresql://...
  and --redis-url); the latency scenario's load posted to node A with the subscribers on node B
  (`cross-node`), against the same with the subscribers on node A (`same-node`), at a light
  load (20 subscribers, 100 messages/s) so that the difference is the Redis hop, not a queue.
  Skipped (and said so) without those URLs.

- workers: bench/workers.py, `hubbub serve --workers 1` against `--workers 2`, both on the
  Redis bus (--redis-url, else a throwaway redis-server), on send (wrk, as above) and fanout
  (as above), beside the bare ceilings; reported as workers-send and workers-fanout, ratio =
  2 workers / 1 worker. Servers unpinned (a second worker needs a second core); the load stays
  on CPU 1. Only when named: not part of `all`.

- chaos: bench/chaos.py, the reliability run (two nodes on throwaway PostgreSQL + Redis, 200
  subscribers over all three transports, a node killed, Redis and PostgreSQL restarted, clients
  asleep): lost, duplicated and reset must be 0. Only when named: not part of `all`; --quick
  runs it with 30 subscribers.

- search: bench/search.py (message search latency over a generated corpus, 1,000,000 messages
  by default, 2,000 with --quick; with --database-url on PostgreSQL). Only when named: not
  part of `all`.

`all` is every scenario but search (redis-hop only when its URLs are given). Servers are started
here, on free ports, pinned to CPU 0 with taskset, fresh for each run (hubbub: a fresh SQLite file,
or a fresh PostgreSQL database made on the --database-url server and dropped afterwards: the
database named in the URL is never touched); the load (wrk, and this process for the WebSocket
scenarios) runs on CPU 1. With --url hubbub is the server at that URL: it is not pinned, and its CPU
and RSS are not read (the table says so); the ceilings are still started here. Runs alternate
bare/hubbub order and medians are reported. Results: a table, and bench/results/run-<UTC
timestamp>.json; --compare old.json prints the change per scenario and metric. Only 127.0.0.1 is
contacted.

The pieces sit beside this file: scenarios.py (names, ceilings, sizes), servers.py, wrk.py (the
HTTP scenarios), ws_scenarios.py (the WebSocket ones, on bench/realtime.py's code) and results.py
(medians, tables, JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import classic  # noqa: E402
from measurements import arun  # noqa: E402
from procs import LOAD_CPU, SERVER_CPU, raise_fd_limit  # noqa: E402
from results import Result, clean, compare, fmt, render, result_line, summarise  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from scenarios import (  # noqa: E402
    CEILING_NOTE,
    FULL,
    QUICK,
    SCENARIOS,
    WRK_SCENARIOS,
    Params,
)
from servers import Pg, serve  # noqa: E402
from transfers import chat_p99, measure_transfers  # noqa: E402
from workers import measure_workers, redis_for  # noqa: E402
from wrk import measure_wrk  # noqa: E402
from ws_scenarios import hop_run, lat_result, measure_rt  # noqa: E402

ROOT = BENCH.parent
console = Console(width=None if sys.stdout.isatty() else 150)


def run_scenario(
    name: str,
    opts: argparse.Namespace,
    params: Params,
    pg: Pg | None,
    progress: Progress,
    overall: Any,
) -> list[Result]:
    results: list[Result] = []
    if name == "download":
        return results  # measured with upload (the files it leaves)
    if name == "workers":
        with redis_for(opts) as redis:
            for run in range(1, opts.runs + 1):
                with tempfile.TemporaryDirectory(prefix="hubbub-bench-") as tmp:
                    results += measure_workers(
                        run, Path(tmp), opts, params, redis, pg, progress, overall
                    )
        return results
    for run in range(1, opts.runs + 1):
        with tempfile.TemporaryDirectory(prefix="hubbub-bench-") as tmp:
            if name == "upload":
                # hubbub's files go beside its database in `tmp`, and dd writes there too.
                with serve(["hubbub"], Path(tmp), opts, None) as servers:
                    both = measure_transfers(servers["hubbub"], Path(tmp), params, run)
                for measured in both.values():
                    for result in measured:
                        results.append(result)
                        progress.console.print(result_line(result))
                        progress.advance(overall)
                continue
            if name == "redis-hop":
                with serve(["hubbub", "hubbub-b"], Path(tmp), opts, pg) as nodes:
                    order = [("cross-node", nodes["hubbub-b"]), ("same-node", nodes["hubbub"])]
                    for label, sub in order if run % 2 else order[::-1]:
                        tag = f"hop{run}{label[0]}{secrets.token_hex(2)}"
                        s, lat = arun(hop_run(tag, run, nodes["hubbub"], sub, params))
                        # CPU: both nodes' (the sender's and the subscribers'); RSS: node A
                        results.append(lat_result(name, run, label, s, nodes["hubbub"], lat))
                        progress.console.print(result_line(results[-1]))
                        progress.advance(overall)
                continue
            bare_kind = "bare_asgi" if name in WRK_SCENARIOS else "bare_ws"
            with serve([bare_kind, "hubbub"], Path(tmp), opts, pg) as servers:
                order = [("bare", servers[bare_kind]), ("hubbub", servers["hubbub"])]
                for label, server in order if run % 2 else order[::-1]:
                    if name in WRK_SCENARIOS:
                        results.append(measure_wrk(name, run, server, label, opts, progress))
                    else:
                        results.append(measure_rt(name, run, server, label, params))
                        progress.console.print(result_line(results[-1]))
                    progress.advance(overall)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[*SCENARIOS, "workers", "search", "chaos", "all"],
        help="repeatable; default all (which leaves out workers, search and chaos)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, 1 run: a smoke test (seconds)"
    )
    parser.add_argument("--runs", type=int, help="runs per scenario (default 3; --quick 1)")
    parser.add_argument(
        "--duration", type=float, help="seconds per wrk measurement (default 10; --quick 1)"
    )
    parser.add_argument(
        "--warmup", type=float, help="unmeasured wrk seconds first (default 2; --quick 0)"
    )
    parser.add_argument("--connections", type=int, help="wrk connections (default 32; --quick 8)")
    parser.add_argument(
        "--url", help="benchmark the hubbub already running here (not pinned; no CPU/RSS)"
    )
    parser.add_argument(
        "--database-url",
        help="postgresql://user@127.0.0.1:5432/NAME: fresh databases on that server",
    )
    parser.add_argument(
        "--redis-url", help="redis://127.0.0.1:PORT/0: cluster mode (and redis-hop)"
    )
    parser.add_argument(
        "--compare", type=Path, metavar="OLD_JSON", help="print the change against these results"
    )
    parser.add_argument("--out-dir", type=Path, default=BENCH / "results")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="record hubbub with py-spy --nonblocking during run 1 of each wrk scenario "
        "(raw stacks + a top-frames summary in DIR; it costs the server some CPU)",
    )
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="hubbub source tree to run")
    parser.add_argument(
        "--rate-limits",
        default="off",
        help="hubbub's HUBBUB_RATE_LIMITS (default \"off\"). To measure the limits' cost "
        'without refusals: "messages=100000000/minute" (the other budgets keep their defaults)',
    )
    opts = parser.parse_args(argv)
    os.environ["HUBBUB_BENCH_RATE_LIMITS"] = opts.rate_limits  # servers.command reads it
    quick = opts.quick
    for key, full, small in (
        ("runs", 3, 1),
        ("duration", 10.0, 1.0),
        ("warmup", 2.0, 0.0),
        ("connections", 32, 8),
    ):
        if getattr(opts, key) is None:
            setattr(opts, key, small if quick else full)
    opts.src = opts.src.resolve()
    if opts.url and urlsplit(opts.url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("--url must be on 127.0.0.1")
    if opts.database_url and not opts.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be postgresql://... (SQLite is the default)")
    return opts


def run_search(opts: argparse.Namespace) -> int:
    """The `search` scenario: bench/search.py in its own process (a corpus of 1,000,000
    messages by default, which takes a long while to generate; --quick: 2,000)."""
    command = [sys.executable, str(BENCH / "search.py"), "--out-dir", str(opts.out_dir)]
    if opts.quick:
        command.append("--quick")
    if opts.database_url:
        command += ["--database-url", opts.database_url]
    return subprocess.run(command, check=False).returncode


def run_chaos(opts: argparse.Namespace) -> int:
    """The `chaos` scenario: bench/chaos.py in its own process (it starts its own servers)."""
    command = [sys.executable, str(BENCH / "chaos.py"), "--out-dir", str(opts.out_dir)]
    if opts.quick:
        command.append("--quick")
    return subprocess.run(command, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    wanted = opts.scenario or ["all"]
    if "chaos" in wanted:  # not part of `all`: a reliability run, not a throughput figure
        if run_chaos(opts) != 0:
            return 1
        wanted = [name for name in wanted if name != "chaos"]
        if not wanted:
            return 0
    if "search" in wanted:  # not part of `all`: its full corpus takes tens of minutes
        if run_search(opts) != 0:
            return 1
        wanted = [name for name in wanted if name != "search"]
        if not wanted:
            return 0
    names = list(SCENARIOS) if "all" in wanted else list(dict.fromkeys(wanted))
    notes: list[str] = []
    hop_ready = bool(opts.database_url and opts.redis_url and not opts.url)
    if "redis-hop" in names and not hop_ready:
        names.remove("redis-hop")
        notes.append(
            "redis-hop skipped: it needs --database-url postgresql://... and --redis-url "
            "(and no --url)"
        )
    if "workers" in names:
        notes.append(
            "workers: its servers are NOT pinned (a second worker needs a second core); "
            "the load stays on CPU 1"
        )
    if opts.url and "upload" in names:
        names.remove("upload")
        notes.append("upload/download skipped: with --url the server's files and RSS are not ours")
    if "download" in names and "upload" not in names:
        names.append("upload")  # download measures the files upload leaves
    if opts.url and "connections" in names:
        names.remove("connections")
        notes.append("connections skipped: with --url the server's RSS cannot be read")
    missing = [
        tool
        for tool in ("wrk",)
        if shutil.which(tool) is None and set(names) & {*WRK_SCENARIOS, "workers"}
    ]
    if missing:
        console.print(
            "missing wrk: `apt-get install -y wrk`; this tool installs nothing", style="red"
        )
        return 2
    cpus = os.sched_getaffinity(0)
    opts.pinned = shutil.which("taskset") is not None and {SERVER_CPU, LOAD_CPU} <= cpus
    if opts.pinned:
        os.sched_setaffinity(0, {LOAD_CPU})  # this process and wrk; servers go to SERVER_CPU
        pinning = (
            f"servers pinned to CPU {SERVER_CPU}, load (wrk, WebSocket clients) to CPU "
            f"{LOAD_CPU}: different cores"
        )
    else:
        pinning = "NOT pinned (needs taskset and CPUs 0 and 1): server and load share the cores"
    if opts.url:
        pinning += f"; hubbub at {opts.url} is not ours: not pinned, its CPU and RSS not read (n/a)"
        notes.append(f"hubbub: the server at {opts.url} (not pinned by this tool; CPU/RSS n/a)")
    console.print(f"[bold]{pinning}[/]")
    for note in notes:
        console.print(note)
    nofile = raise_fd_limit()
    params = QUICK if opts.quick else FULL
    params = replace(params, runs=opts.runs)

    started = datetime.now(UTC)
    env = classic.environment(opts.src) | {"rlimit_nofile": nofile, "pinning": pinning}
    pg = Pg(opts.database_url) if opts.database_url and not opts.url else None
    backend = "postgresql" if opts.database_url else "sqlite"
    if opts.redis_url:
        backend += "+redis"
    results: list[Result] = []
    per_run = {name: 2 for name in names}
    if "workers" in names:
        per_run["workers"] = 6  # send and fan-out, on the ceiling and on 1 and 2 workers
    if "upload" in names:
        per_run["upload"] = 4  # and download's two
        per_run.pop("download", None)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=False,
    ) as progress:  # fmt: skip
        overall = progress.add_task("measurements", total=sum(per_run.values()) * opts.runs)
        try:
            for name in names:
                progress.update(overall, description=f"measurements ({name})")
                results += run_scenario(name, opts, params, pg, progress, overall)
        finally:
            if pg:
                for db in list(pg.made):
                    with contextlib.suppress(Exception):
                        pg.drop_name(db)
    summary = summarise(results)
    console.print(render(summary))
    for name in ("send", "history"):
        if name in summary:
            console.print(f"{name}: the ceiling is {CEILING_NOTE[name]}")
    if "upload" in summary:
        p99 = chat_p99(results)
        summary["upload"].update(p99)
        console.print(
            f"send p99 of a chat load: {fmt(p99['send_p99_ms_alone'], '.2f')} ms alone, "
            f"{fmt(p99['send_p99_ms_during_uploads'], '.2f')} ms while uploads run, "
            f"{fmt(p99['send_p99_ms_during_dd'], '.2f')} ms while dd writes the same bytes"
        )
    if "redis-hop" in summary:
        row = summary["redis-hop"]
        console.print(
            f"redis hop adds p50 {fmt(row['hop_p50_ms'], '.2f')} ms, "
            f"p99 {fmt(row['hop_p99_ms'], '.2f')} ms to send->receive"
        )
    loadavg_end = os.getloadavg()
    console.print(
        f"load average: {env['loadavg_start']} at start, {loadavg_end} at the end; {pinning}"
    )
    out = opts.out_dir / f"run-{started:%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "started_at": started.isoformat(),
        "command": [Path(sys.executable).name, *sys.argv[1:]],
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(opts).items()},
        "backend": backend,
        "environment": env | {"loadavg_end": loadavg_end},
        "notes": notes,
        "params": asdict(params),
        "summary": summary,
        "results": [asdict(r) for r in results],
    }
    out.write_text(json.dumps(clean(report), indent=2, allow_nan=False) + "\n")
    console.print(f"wrote {out}")
    if opts.compare:
        old = json.loads(opts.compare.read_text())
        console.print(compare(old["summary"], summary))
    bad = [r for r in results if r.errors or not r.throughput > 0]
    for r in bad:
        console.print(
            f"PROBLEM: {r.scenario} run {r.run} {r.server}: {r.errors} errors, "
            f"throughput {r.throughput}",
            style="red",
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
