"""Benchmark hubbub's real-time delivery against a bare ASGI WebSocket broadcast server.

    .venv/bin/python bench/realtime.py [--scenario fanout|rooms|latency|idle|connections|all]
        [--quick]

Scenarios (each runs against hubbub and against bench/bare_ws.py, the ceiling, in the same run):

- fanout: one room with 1,000 WebSocket subscribers; 200 messages of 200 characters, posted at a
  fixed rate (default 200/s = 200k deliveries/s offered, more than either server can deliver, so
  deliveries/s is each server's capacity and the latencies include the queue that builds up).
- rooms: 100 rooms x 10 subscribers; 2,000 messages posted round-robin over the rooms at
  500/s (each costs hubbub an authenticated, durable POST: this one measures the send path).
- latency: 500 messages/s into one room with 100 subscribers for 5 s; the goal is p99 < 10 ms.
- idle: 20 messages/s to one subscriber for 15 s (a quiet room); the goal is p99 <= 2.5 ms.
- connections: 10,000 idle WebSockets in rooms of 10; server RSS before and after (once one
  message has reached every connection), in KB per connection.

hubbub subscribers are accounts of their own that join their room and leave the lobby: every
account starts in `general`, and each connecting user's presence goes to every connected member
of its rooms, so N subscribers of one room cost N^2/2 presence frames while they connect (10,000
in the lobby: 50 million). The fan-out room still pays that (1,000 subscribers: 500,000 frames,
all delivered before the measurement starts).

Each message's text starts with `~T<sender's CLOCK_MONOTONIC ns>~`, taken just before the POST
is written; a subscriber takes the clock when a read hands it frames, so send -> receive latency
is measured on one clock. "Server CPU" is the time the server's threads spent on a CPU over the
measured window (/proc/<pid>/task/*/schedstat), divided by the deliveries it made; "deliv/CPU-s"
is its inverse, the capacity of one core. Before measuring, every subscriber must have received
a warm-up message (hubbub subscribes a WebSocket only after its 101; when it sends a `hello`
frame first, the warm-up posts once every subscriber's hello is in). hubbub's `hello` and `ping`
frames are never counted as deliveries.

Both servers are pinned to CPU 0 (taskset; started together, measured one at a time); this
process is the whole load generator, pinned to CPU 1: one uvloop loop with raw WebSocket clients
that only find the timestamp in each frame, and a raw keep-alive HTTP/1.1 sender (16 connections,
open loop). Its CPU use over the window is reported (`client CPU`): near 100 % the client, not
the server, would be the bottleneck. The machine may be shared: `CPU0 other` is the share of the
window CPU 0 spent on anything but the measured server (other processes, steal). Other processes
take whatever the server leaves idle, so it is high when the server is lightly loaded; it costs
the server only when server CPU + CPU0 other is near 100 % and the server fell behind (the JSON
also has `server_runq_wait`: how long the server's threads were runnable but not running).
Rates and latencies suffer from a busy machine far more than CPU per delivery does. Runs
alternate between the servers (bare, hubbub, hubbub, bare, ...) and medians are reported. Each
run of each scenario gets fresh servers (hubbub: a fresh SQLite file, `--password-hashing fast`);
--quick shares one pair of servers between the scenarios. Results go to
bench/results/realtime-<UTC timestamp>.json (--out-dir). Only 127.0.0.1 is ever contacted.
`--py-spy DIR` records hubbub with py-spy over the measured window of run 1 of each scenario
(raw stacks and a summary; BENCH_PY_SPY_ARGS adds py-spy options, e.g. "--gil").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# bench/ is on sys.path (the scripts sit side by side): these are the modules beside this one
from http_pool import HTTP_POOL
from measurements import ConnSample, Sample, arun, connections_run, message_run
from procs import LOAD_CPU, SERVER_CPU, raise_fd_limit
from realtime_report import print_sample, summarise, table
from scenarios import FULL, QUICK, REALTIME_SCENARIOS, SERVERS, Params, scenario_shape
from servers import serve_pinned

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def measure(
    name: str,
    run: int,
    kind: str,
    server: tuple[subprocess.Popen[bytes], int],
    p: Params,
    py_spy: Path | None,
) -> Sample | ConnSample:
    proc, port = server
    spy = py_spy / f"{name}.txt" if py_spy and kind == "hubbub" and run == 1 else None
    sample: Sample | ConnSample
    if name == "connections":
        sample = arun(
            connections_run(
                run, kind, proc, port, p.connections, p.settle, p.connection_room_size, spy
            )
        )
    else:
        layout, plan, rate = scenario_shape(name, p)
        run_args = (name, run, kind, proc, port, layout, plan, rate)
        sample = arun(message_run(*run_args, p.drain_timeout, spy))
    print_sample(sample)
    return sample


def run_all(
    scenarios: Sequence[str], p: Params, src: Path, py_spy: Path | None
) -> list[Sample | ConnSample]:
    """Every (scenario, run, server); fresh servers for each run of each scenario, or with
    `p.shared_servers` (--quick) one pair of servers for all scenarios of a run."""
    samples: list[Sample | ConnSample] = []
    for group in [scenarios] if p.shared_servers else [[name] for name in scenarios]:
        began = time.monotonic()
        for run in range(1, p.runs + 1):
            order = SERVERS if run % 2 else SERVERS[::-1]
            with (
                tempfile.TemporaryDirectory(prefix="hubbub-rt-") as tmp,
                serve_pinned(order, Path(tmp), src) as servers,
            ):
                for name in group:
                    if run == 1 or p.shared_servers:
                        print(f"{name}:", flush=True)
                    for kind in order:
                        samples.append(measure(name, run, kind, servers[kind], p, py_spy))
        print(f"  ({time.monotonic() - began:.1f} s)", flush=True)
    return samples


OVERRIDABLE = (
    "runs", "connections", "fanout_subscribers", "fanout_messages", "fanout_rate", "rooms_rate",
    "latency_rate",
)  # fmt: skip


def environment(src: Path, nofile: int) -> dict[str, Any]:
    def sh(*cmd: str) -> str:
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        return (done.stdout or done.stderr).strip()

    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    return {
        "python": platform.python_version(),
        "cpu": cpu[1] if cpu else platform.processor(),
        "cpus": os.cpu_count(),
        "rlimit_nofile": nofile,
        "hubbub_src": str(src),
        "git_head": sh("git", "rev-parse", "HEAD"),
        "git_dirty_src": bool(sh("git", "status", "--porcelain", "--", "src")),
        "loadavg_start": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=[*REALTIME_SCENARIOS, "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--runs", type=int, help="runs per (scenario, server)")
    parser.add_argument("--connections", type=int, help="idle WebSockets (connections)")
    parser.add_argument("--fanout-subscribers", type=int)
    parser.add_argument("--fanout-messages", type=int)
    parser.add_argument("--fanout-rate", type=float, help="messages/s")
    parser.add_argument("--rooms-rate", type=float, help="messages/s")
    parser.add_argument("--latency-rate", type=float, help="messages/s")
    parser.add_argument("--out-dir", type=Path, default=BENCH / "results")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="record hubbub with py-spy (raw stacks) during run 1 of each scenario into DIR",
    )
    parser.add_argument(
        "--src",
        type=Path,
        default=ROOT / "src",
        help="hubbub source tree to run (default: this checkout's src/)",
    )
    args = parser.parse_args()

    params = QUICK if args.quick else FULL
    overrides = {key: getattr(args, key) for key in OVERRIDABLE if getattr(args, key) is not None}
    params = replace(params, **overrides)

    if shutil.which("taskset") is None:
        print("missing taskset: `apt-get install -y util-linux`", file=sys.stderr)
        return 2
    if not {SERVER_CPU, LOAD_CPU} <= os.sched_getaffinity(0):
        print("needs CPUs 0 and 1 (server on 0, load on 1)", file=sys.stderr)
        return 2
    nofile = raise_fd_limit()
    need = params.connections + 2 * HTTP_POOL + 100
    if nofile < need:
        print(f"RLIMIT_NOFILE is {nofile}, {need} are needed: lower --connections", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {LOAD_CPU})  # the servers are pinned to SERVER_CPU by taskset

    started = datetime.now(UTC)
    src = args.src.resolve()
    env = environment(src, nofile)
    scenarios = REALTIME_SCENARIOS if args.scenario == "all" else (args.scenario,)
    samples: list[Sample | ConnSample] = []
    samples += run_all(scenarios, params, src, args.py_spy)
    rows = summarise(samples)
    print()
    print(table(rows))

    out = args.out_dir / f"realtime-{started:%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "started_at": started.isoformat(),
        "command": [Path(sys.executable).name, *sys.argv],
        "params": asdict(params),
        "environment": env | {"loadavg_end": os.getloadavg()},
        "summary": rows,
        "samples": [asdict(s) for s in samples],
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")
    lost = [s for s in samples if isinstance(s, Sample) and (s.delivered < s.expected)]
    errors = [s for s in samples if isinstance(s, Sample) and s.send_errors]
    for s in lost + errors:
        print(
            f"PROBLEM: {s.scenario} run {s.run} {s.server}: {s.delivered}/{s.expected} "
            f"delivered, {s.send_errors} send errors, closes {s.closes}",
            file=sys.stderr,
        )
    return 1 if lost or errors else 0


if __name__ == "__main__":
    sys.exit(main())
