"""Benchmark the classic API: hubbub against a bare ASGI app on the same uvicorn stack.

    .venv/bin/python bench/classic.py [--duration 10] [--runs 3] [--connections 32] [--quick]

Each server runs alone, pinned to CPU 0; wrk drives it from CPU 1. Runs alternate between the
servers (bare, hubbub, hubbub, bare, ...) to spread drift, and the medians are reported. hubbub
gets a fresh SQLite database in a temporary directory each time it starts, seeded with 100
messages so GET /messages returns a full default page. Results also go to
bench/results/classic-<UTC timestamp>.json. Needs `wrk` (apt-get install -y wrk) and `taskset`.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from procs import (  # bench/ is on sys.path: the scripts sit side by side
    cpu_seconds,
    free_port,
    stop,
)

HOST = "127.0.0.1"
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
SERVER_CPU, LOAD_CPU = "0", "1"
POST_BODY = b'{"user":"bench","text":"hello world"}'
SEED_MESSAGES = 100
SERVERS = ("bare", "hubbub")
ENDPOINTS = {  # name -> (path, wrk Lua script or None)
    "GET /messages": ("/messages", None),
    "POST /message": ("/message", BENCH / "post_message.lua"),
}


@dataclass(frozen=True, slots=True)
class Wrk:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: str | None


@dataclass(frozen=True, slots=True)
class Sample:
    run: int
    server: str
    endpoint: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_req: float
    non_2xx: int
    socket_errors: str | None
    warmup_requests: int


# --- processes -------------------------------------------------------------------------------


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _answers(port: int) -> bool:
    try:
        return request(port, "GET", "/messages?limit=1")[0] == 200
    except OSError:
        return False


@contextmanager
def serve(name: str, port: int, workdir: Path, src: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start one server pinned to SERVER_CPU, wait until it answers, stop it on exit."""
    env = os.environ | {"PYTHONPATH": str(src)}  # hubbub from `src`, ahead of the editable install
    if name == "bare":
        cmd = [PYTHON, "-m", "uvicorn", "--app-dir", str(BENCH), "bare_asgi:app"]
        cmd += ["--host", HOST, "--port", str(port), "--loop", "uvloop", "--http", "httptools"]
        cmd += ["--no-access-log", "--log-level", "warning"]
    else:
        db = f"sqlite:///{workdir / 'bench.db'}"
        cmd = [PYTHON, "-m", "hubbub", "serve", "--host", HOST, "--port", str(port)]
        cmd += ["--database-url", db, "--log-level", "warning"]
        # One address posting as fast as it can is what the classic_post budget refuses.
        cmd += ["--rate-limits", os.environ.get("HUBBUB_BENCH_RATE_LIMITS", "off")]
    log_path = workdir / f"{name}.log"
    log = log_path.open("ab")
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CPU, *cmd], stdout=log, stderr=log, cwd=ROOT, env=env
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
                raise RuntimeError(f"{name} did not start (exit code {proc.poll()}):\n{tail}")
            time.sleep(0.1)
        yield proc
    finally:
        stop(proc)
        log.close()


# --- load ------------------------------------------------------------------------------------

_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unparsable wrk latency {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse_wrk(out: str) -> Wrk:
    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, out, re.MULTILINE)
        if not match:
            raise ValueError(f"wrk output lacks /{pattern}/:\n{out}")
        return match

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return Wrk(
        requests=int(find(r"^\s*(\d+) requests in")[1]),
        rps=float(find(r"^Requests/sec:\s+([\d.]+)")[1]),
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)")[1]),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)")[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=errors[1].strip() if errors else None,
    )


def wrk(port: int, endpoint: str, duration: int, connections: int) -> Wrk:
    path, script = ENDPOINTS[endpoint]
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    cmd += ["--latency", *(["-s", str(script)] if script else []), f"http://{HOST}:{port}{path}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True)
    return parse_wrk(done.stdout)


def measure(
    run: int, server: str, pid: int, port: int, endpoint: str, args: argparse.Namespace
) -> Sample:
    warm = wrk(port, endpoint, args.warmup, args.connections).requests if args.warmup else 0
    before = cpu_seconds(pid)
    result = wrk(port, endpoint, args.duration, args.connections)
    cpu_us = (cpu_seconds(pid) - before) / result.requests * 1e6
    sample = Sample(
        run, server, endpoint, **asdict(result), cpu_us_per_req=cpu_us, warmup_requests=warm
    )
    print(
        f"  run {run} {server:6} {endpoint:14} {sample.rps:9.0f} req/s  p50 {sample.p50_ms:6.2f} ms"
        f"  p99 {sample.p99_ms:6.2f} ms  {sample.cpu_us_per_req:5.0f} µs CPU/req"
        + (f"  NON-2XX {sample.non_2xx}" if sample.non_2xx else "")
        + (f"  socket errors: {sample.socket_errors}" if sample.socket_errors else ""),
        flush=True,
    )
    return sample


# --- hubbub data -----------------------------------------------------------------------------


def seed(port: int) -> None:
    for i in range(SEED_MESSAGES):
        body = json.dumps({"user": f"seed{i % 7}", "text": f"seed message {i} " * 3}).encode()
        status, _ = request(port, "POST", "/message", body)
        if status != 200:
            raise RuntimeError(f"seeding failed: HTTP {status}")
    page = json.loads(request(port, "GET", "/messages")[1])["messages"]
    if len(page) != SEED_MESSAGES:
        raise RuntimeError(f"GET /messages returned {len(page)} messages after seeding")


def check_stored(port: int, db: Path, posted: int, in_flight: int) -> dict[str, Any]:
    """After the POST runs: the newest message is ours and the row count matches wrk's count."""
    status, raw = request(port, "GET", "/messages?limit=1")
    last = json.loads(raw)["messages"][-1] if status == 200 else None
    ok_last = last is not None and (last["user"], last["text"]) == ("bench", "hello world")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        stored = conn.execute("SELECT count(*) FROM messages").fetchone()[0] - SEED_MESSAGES
    # wrk counts completed responses; when it stops, each connection may have one in flight.
    ok_count = posted <= stored <= posted + in_flight
    if not (ok_last and ok_count):
        print(f"  SANITY FAILED: last={last} stored={stored} wrk posted={posted}", file=sys.stderr)
    return {"ok": ok_last and ok_count, "last": last, "stored": stored, "wrk_posted": posted}


# --- report ----------------------------------------------------------------------------------


def summarise(samples: list[Sample]) -> list[dict[str, Any]]:
    rows = []
    for endpoint in ENDPOINTS:
        row: dict[str, Any] = {"endpoint": endpoint}
        for server in SERVERS:
            mine = [s for s in samples if s.server == server and s.endpoint == endpoint]
            for key in ("rps", "p50_ms", "p99_ms", "cpu_us_per_req"):
                row[f"{server}_{key}"] = statistics.median(getattr(s, key) for s in mine)
            row[f"{server}_rps_all"] = [round(s.rps) for s in mine]
        row["ratio"] = row["hubbub_rps"] / row["bare_rps"]
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "endpoint", "bare req/s", "hubbub req/s", "hubbub/bare", "hubbub p50", "hubbub p99",
        "bare CPU/req", "hubbub CPU/req",
    )  # fmt: skip
    lines = [
        (
            r["endpoint"],
            f"{r['bare_rps']:.0f}",
            f"{r['hubbub_rps']:.0f}",
            f"{r['ratio']:.3f}",
            f"{r['hubbub_p50_ms']:.2f} ms",
            f"{r['hubbub_p99_ms']:.2f} ms",
            f"{r['bare_cpu_us_per_req']:.0f} µs",
            f"{r['hubbub_cpu_us_per_req']:.0f} µs",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [head, *lines]) for i in range(len(head))]
    fmt = " | ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    rule = "-|-".join("-" * w for w in widths)
    return "\n".join([fmt.format(*head), rule, *(fmt.format(*line) for line in lines)])


def environment(src: Path) -> dict[str, Any]:
    def sh(*cmd: str) -> str:
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        return (done.stdout or done.stderr).strip()

    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    return {
        "python": platform.python_version(),
        "wrk": sh("wrk", "--version").splitlines()[0],
        "cpu": cpu[1] if cpu else platform.processor(),
        "cpus": os.cpu_count(),
        "hubbub_src": str(src),  # the checkout's git state applies only when src is ROOT/src
        "git_head": sh("git", "rev-parse", "HEAD"),
        "git_dirty_src": bool(sh("git", "status", "--porcelain", "--", "src")),
        "loadavg_start": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--runs", type=int, default=3, help="runs per (server, endpoint)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured wrk seconds first")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1 run of 1 s per endpoint, no warm-up, 8 connections",
    )
    parser.add_argument("--out-dir", type=Path, default=BENCH / "results", help="results folder")
    parser.add_argument(
        "--src",
        type=Path,
        default=ROOT / "src",
        help="hubbub source tree to run (default: this checkout's src/); e.g. a `git archive` "
        "export, to measure a commit while the working tree is being edited",
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.runs, args.warmup, args.connections = 1, 1, 0, 8

    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        print(f"missing {', '.join(missing)}: install with `apt-get install -y wrk` (wrk) or "
              "`apt-get install -y util-linux` (taskset); this script installs nothing.",
              file=sys.stderr)  # fmt: skip
        return 2
    if not {0, 1} <= os.sched_getaffinity(0):
        print("needs CPUs 0 and 1 (server on 0, wrk on 1)", file=sys.stderr)
        return 2

    started = datetime.now(UTC)
    env = environment(args.src.resolve())
    samples: list[Sample] = []
    sanity: list[dict[str, Any]] = []
    for run in range(1, args.runs + 1):
        for server in SERVERS if run % 2 else SERVERS[::-1]:
            with tempfile.TemporaryDirectory(prefix="hubbub-bench-") as tmp:
                port = free_port()
                with serve(server, port, Path(tmp), args.src.resolve()) as proc:
                    if server == "hubbub":
                        seed(port)
                    for endpoint in ENDPOINTS:  # GET first: it sees exactly the seeded page
                        samples.append(measure(run, server, proc.pid, port, endpoint, args))
                    if server == "hubbub":
                        post = samples[-1]
                        posted = post.requests + post.warmup_requests
                        db = Path(tmp) / "bench.db"
                        in_flight = args.connections * (2 if args.warmup else 1)
                        sanity.append(check_stored(port, db, posted, in_flight))
    rows = summarise(samples)
    print()
    print(table(rows))

    out = args.out_dir / f"classic-{started:%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "started_at": started.isoformat(),
        "command": [Path(sys.executable).name, *sys.argv],
        "args": vars(args) | {"src": str(args.src), "out_dir": str(args.out_dir)},
        "environment": env | {"loadavg_end": os.getloadavg()},
        "summary": rows,
        "samples": [asdict(s) for s in samples],
        "sanity": sanity,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")
    failed = any(not s["ok"] for s in sanity) or any(s.non_2xx for s in samples)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
