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
- fanout, rooms, latency, connections: bench/realtime.py's scenarios (its functions, its sizes)
  [deliveries/s; connections: connections/s and KB per connection]; ceiling: bench/bare_ws.py.
- redis-hop: two hubbub nodes on one PostgreSQL + Redis (needs --database-url postgresql://...
  and --redis-url); the latency scenario's load posted to node A with the subscribers on node B
  (`cross-node`), against the same with the subscribers on node A (`same-node`), at a light
  load (20 subscribers, 100 messages/s) so that the difference is the Redis hop, not a queue.
  Skipped (and said so) without those URLs.

`all` is every scenario (redis-hop only when its URLs are given). Servers are started here, on free
ports, pinned to CPU 0 with taskset, fresh for each run (hubbub: a fresh SQLite file, or a fresh
PostgreSQL database made on the --database-url server and dropped afterwards: the database named
in the URL is never touched); the load (wrk, and this process for the WebSocket scenarios) runs
on CPU 1. With --url hubbub is the server at that URL: it is not pinned, and its CPU and RSS are
not read (the table says so); the ceilings are still started here. Runs alternate bare/hubbub
order and medians are reported. Results: a table, and bench/results/run-<UTC timestamp>.json;
--compare old.json prints the change per scenario and metric. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import classic  # noqa: E402
import procs  # noqa: E402
import profiles  # noqa: E402
from http_pool import Http  # noqa: E402
from measurements import Sample, arun, connections_run, message_run, pct  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table  # noqa: E402
from scenarios import FULL, QUICK, Params, scenario_shape  # noqa: E402
from targets import PASSWORD, send_plan, set_up, warm_up  # noqa: E402
from ws_client import Tally, connect_all, now_ns  # noqa: E402

HOST = "127.0.0.1"
ROOT = BENCH.parent
PYTHON = sys.executable
SERVER_CPU, LOAD_CPU = 0, 1
WRK_SCENARIOS = ("classic-post", "classic-read", "send", "history")
RT_SCENARIOS = ("fanout", "rooms", "latency", "connections")
SCENARIOS = (*WRK_SCENARIOS, *RT_SCENARIOS, "redis-hop")
HISTORY_MESSAGES = 60
HOP_SUBSCRIBERS, HOP_RATE = 20, 100.0  # redis-hop: 2,000 deliveries/s, far below capacity
SEND_BODY = '{"text":"hello world from wrk"}'
CURVE = (1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9)  # percentiles kept for the plots
CEILING_NOTE = {
    "classic-post": "bare_asgi.py POST",
    "classic-read": "bare_asgi.py GET",
    "send": "bare_asgi.py POST (the nearest trivial thing: no auth, no database)",
    "history": "bare_asgi.py GET (the nearest trivial thing: a fixed body)",
    "fanout": "bare_ws.py broadcast",
    "rooms": "bare_ws.py broadcast",
    "latency": "bare_ws.py broadcast",
    "connections": "bare_ws.py idle WebSockets",
    "redis-hop": "the same scenario with subscribers on the sending node (same-node)",
}
SHORT_UNIT = {"deliveries/s": "deliv/s", "connections/s": "conn/s"}
NO_PID = 2**22 + 1  # above Linux's largest pid_max: /proc/NO_PID never exists (--url)
console = Console(width=None if sys.stdout.isatty() else 150)


@dataclass(slots=True)
class Result:
    """One measurement of one server in one run of one scenario."""

    scenario: str
    run: int
    server: str  # "hubbub" or the ceiling ("bare"); redis-hop: "cross-node" / "same-node"
    unit: str
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_us_per_op: float | None
    rss_mb: float | None
    ops: int
    errors: int = 0
    curve_ms: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


# --- servers ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Server:
    kind: str
    port: int
    proc: subprocess.Popen[bytes] | None  # None: --url, not ours

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else NO_PID


class Pg:
    """Fresh databases on the --database-url PostgreSQL server, dropped when done."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[str] = []

    def _admin(self) -> Any:
        import psycopg

        parts = urlsplit(self.url)
        admin = urlunsplit(parts._replace(path="/postgres"))
        return psycopg.connect(admin, autocommit=True)

    def fresh(self) -> str:
        parts = urlsplit(self.url)
        name = f"{parts.path.lstrip('/') or 'hubbub'}_b{os.getpid()}_{len(self.made)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def drop(self, url: str) -> None:
        self.drop_name(urlsplit(url).path.lstrip("/"))

    def drop_name(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with contextlib.suppress(ValueError):
            self.made.remove(name)


def _cmd(kind: str, port: int, workdir: Path, db: str | None, redis_url: str | None) -> list[str]:
    common = ["--host", HOST, "--port", str(port)]
    if kind in ("bare_asgi", "bare_ws"):
        cmd = [PYTHON, "-m", "uvicorn", "--app-dir", str(BENCH), f"{kind}:app", *common]
        cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
        cmd += ["--log-level", "warning", "--timeout-graceful-shutdown", "2"]
        if kind == "bare_ws":
            cmd += ["--ws", "websockets-sansio", "--ws-per-message-deflate", "false"]
        return cmd
    cmd = [PYTHON, "-m", "hubbub", "serve", *common, "--log-level", "warning"]
    cmd += ["--database-url", db or f"sqlite:///{workdir / 'bench.db'}"]
    cmd += ["--password-hashing", "fast", "--auth-attempts-per-minute", "0"]
    return cmd + (["--redis-url", redis_url] if redis_url else [])


@contextmanager
def serve(
    kinds: list[str], workdir: Path, opts: argparse.Namespace, pg: Pg | None
) -> Iterator[dict[str, Server]]:
    """Start the named servers (bare_asgi, bare_ws, hubbub, hubbub-b: a second node on the same
    database), pinned to SERVER_CPU when we can; yield {kind: Server}; stop them by PID."""
    env = os.environ | {"PYTHONPATH": str(opts.src)}
    servers: dict[str, Server] = {}
    logs: dict[str, Path] = {}
    db = pg.fresh() if pg and any(k.startswith("hubbub") for k in kinds) else None
    try:
        for kind in kinds:
            if kind == "hubbub" and opts.url:
                servers[kind] = Server(kind, urlsplit(opts.url).port or 80, None)
                continue
            port = procs.free_port()
            cmd = _cmd(kind.removesuffix("-b"), port, workdir, db, opts.redis_url)
            if opts.pinned:
                cmd = ["taskset", "-c", str(SERVER_CPU), *cmd]
            logs[kind] = workdir / f"{kind}.log"
            with logs[kind].open("ab") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=ROOT, env=env)
            servers[kind] = Server(kind, port, proc)
            if kind == "hubbub" and "hubbub-b" in kinds:
                _wait(servers[kind], logs)  # node A applies the migrations before node B starts
        for server in servers.values():
            _wait(server, logs)
        yield servers
    finally:
        for server in servers.values():
            if server.proc and server.proc.poll() is None:
                server.proc.send_signal(signal.SIGTERM)
        for server in servers.values():
            if server.proc:
                procs.stop(server.proc)
        if db and pg:
            pg.drop(db)


def _wait(server: Server, logs: dict[str, Path]) -> None:
    path = "/messages?limit=1" if server.kind.startswith("hubbub") else "/"
    deadline = time.monotonic() + 60
    while not procs.answers(server.port, path):
        failed = server.proc is not None and server.proc.poll() is not None
        if failed or time.monotonic() > deadline:
            log = logs.get(server.kind)
            tail = log.read_text(errors="replace").splitlines()[-20:] if log else []
            raise RuntimeError(
                f"{server.kind} on port {server.port} did not answer:\n" + "\n".join(tail)
            )
        time.sleep(0.05)


def rss_mb(server: Server) -> float | None:
    if server.proc is None:
        return None
    with contextlib.suppress(OSError, RuntimeError):
        return procs.rss_kb(server.pid) / 1024
    return None


# --- wrk scenarios ---------------------------------------------------------------------------


def lua_script(method: str, body: str | None, token: str | None) -> str:
    """A wrk script: the request, then (in done) the latency percentiles as `PCT p µs` lines."""
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines += [
            f"wrk.body = {json.dumps(body)}",
            'wrk.headers["Content-Type"] = "application/json"',
        ]
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    pcts = ", ".join(str(p) for p in (*CURVE, 95))
    lines += [
        "done = function(summary, latency, requests)",
        f"  for _, p in ipairs({{{pcts}}}) do",
        '    io.write(string.format("PCT %g %d\\n", p, latency:percentile(p)))',
        "  end",
        "end",
    ]
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class WrkJob:
    """What wrk hits on one server: a path and a script."""

    port: int
    path: str
    script: str


def run_wrk(
    job: WrkJob, seconds: float, connections: int, progress: Progress, label: str
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(job.script)
    try:
        cmd = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            f.name,
        ]
        cmd.append(f"http://{HOST}:{job.port}{job.path}")
        task = progress.add_task(label, total=seconds)
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None:
            progress.update(task, completed=min(seconds, time.monotonic() - started))
            time.sleep(0.1)
        out, err = proc.communicate()
        progress.remove_task(task)
    finally:
        os.unlink(f.name)
    if proc.returncode:
        raise RuntimeError(f"wrk exited {proc.returncode}: {err}")
    parsed = classic.parse_wrk(out)
    pcts = {}
    for line in out.splitlines():
        if line.startswith("PCT "):
            _, p, us = line.split()
            pcts[p] = int(us) / 1000
    return asdict(parsed) | {"pcts": pcts}


async def _v1_setup(port: int, tag: str, history: bool) -> tuple[str, str]:
    """Sign up a user, make a room, fill it for history; returns (token, room id)."""
    http = Http(port, 4)
    try:
        account = {"username": f"{tag}-user", "password": PASSWORD}
        token = (await http.json("POST", "/api/v1/accounts", account, None, 201))["token"]
        room = {"name": f"{tag} room", "visibility": "public"}
        room_id = (await http.json("POST", "/api/v1/rooms", room, token, 201))["id"]
        for i in range(HISTORY_MESSAGES if history else 1):
            text = {"text": f"history message {i} " * 4}
            await http.json("POST", f"/api/v1/rooms/{room_id}/messages", text, token, 201)
        page = await http.json(
            "GET", f"/api/v1/rooms/{room_id}/messages?limit=50", None, token, 200
        )
        want = 50 if history else 1
        if len(page["messages"]) != want:
            raise RuntimeError(f"history has {len(page['messages'])} messages, want {want}")
        return token, room_id
    finally:
        await http.close()


def wrk_job(name: str, server: Server, tag: str) -> WrkJob:
    if server.kind == "bare_asgi":
        post = name in ("classic-post", "send")
        return WrkJob(
            server.port,
            "/",
            lua_script(
                "POST" if post else "GET", classic.POST_BODY.decode() if post else None, None
            ),
        )
    if name == "classic-post":
        return WrkJob(server.port, "/message", lua_script("POST", classic.POST_BODY.decode(), None))
    if name == "classic-read":
        classic.seed(server.port)
        return WrkJob(server.port, "/messages", lua_script("GET", None, None))
    token, room = arun(_v1_setup(server.port, tag, history=name == "history"))
    path = f"/api/v1/rooms/{room}/messages"
    if name == "send":
        return WrkJob(server.port, path, lua_script("POST", SEND_BODY, token))
    return WrkJob(server.port, path + "?limit=50", lua_script("GET", None, token))


def measure_wrk(
    name: str, run: int, server: Server, label: str, opts: argparse.Namespace, progress: Progress
) -> Result:
    tag = f"{name.replace('-', '')}{run}{secrets.token_hex(2)}"
    job = wrk_job(name, server, tag)
    if opts.warmup:
        run_wrk(job, opts.warmup, opts.connections, progress, f"{name} {label} warm-up")
    profile = (
        opts.py_spy / f"{name}.txt" if opts.py_spy and label == "hubbub" and run == 1 else None
    )
    spy = profiles.start_py_spy(server.pid, profile) if profile and server.proc else None
    if spy:
        time.sleep(0.5)  # attached
    before = procs.thread_cpu(server.pid)
    w = run_wrk(job, opts.duration, opts.connections, progress, f"{name} {label}")
    cpu = procs.cpu_between(before, procs.thread_cpu(server.pid))
    if spy:
        profiles.stop_py_spy(spy, profile)
    pcts = w["pcts"]
    result = Result(
        scenario=name,
        run=run,
        server=label,
        unit="req/s",
        throughput=w["rps"],
        p50_ms=pcts.get("50", w["p50_ms"]),
        p95_ms=pcts.get("95", float("nan")),
        p99_ms=pcts.get("99", w["p99_ms"]),
        cpu_us_per_op=cpu / w["requests"] * 1e6 if server.proc and w["requests"] else None,
        rss_mb=rss_mb(server),
        ops=w["requests"],
        errors=w["non_2xx"],
        curve_ms={p: v for p, v in pcts.items()},
        extra={"socket_errors": w["socket_errors"]},
    )
    progress.console.print(line(result))
    return result


# --- WebSocket scenarios ---------------------------------------------------------------------


def _lat_result(
    name: str, run: int, label: str, s: Sample, server: Server | None, latencies_ns: list[int]
) -> Result:
    """A message run as a Result; `latencies_ns`, its raw latencies, give p95 and the curve."""
    lat = sorted(x / 1e6 for x in latencies_ns)
    cpu = s.cpu_us_per_delivery if server and server.proc and s.server_cpu_s > 0 else None
    return Result(
        scenario=name,
        run=run,
        server=label,
        unit="deliveries/s",
        throughput=s.deliveries_per_s,
        p50_ms=s.p50_ms,
        p95_ms=pct(lat, 0.95),
        p99_ms=s.p99_ms,
        cpu_us_per_op=cpu,
        rss_mb=rss_mb(server) if server else None,
        ops=s.delivered,
        errors=(s.expected - s.delivered) + s.send_errors,
        curve_ms={f"{p:g}": pct(lat, p / 100) for p in CURVE},
        extra={k: v for k, v in asdict(s).items() if k not in ("window_ns",)},
    )


def measure_rt(name: str, run: int, server: Server, label: str, p: Params) -> Result:
    proc: Any = server.proc or type("Remote", (), {"pid": NO_PID})()
    if name == "connections":
        c = arun(
            connections_run(
                run,
                "bare" if label == "bare" else "hubbub",
                proc,
                server.port,
                p.connections,
                p.settle,
                p.connection_room_size,
            )
        )
        rss = c.rss_after_kb / 1024 if server.proc else None
        return Result(
            scenario=name,
            run=run,
            server=label,
            unit="connections/s",
            throughput=c.connections / max(c.connect_s, 1e-9),
            p50_ms=float("nan"),
            p95_ms=float("nan"),
            p99_ms=float("nan"),
            cpu_us_per_op=None,
            rss_mb=rss,
            ops=c.connections,
            extra=asdict(c),
        )
    layout, plan, rate = scenario_shape(name, p)
    kind = "bare" if label == "bare" else "hubbub"
    tag = f"{name}{run}{secrets.token_hex(2)}"  # unique usernames, even on a shared --url server

    async def kept() -> tuple[Sample, Tally]:
        tally = Tally()  # made on the run's loop; kept for its raw latencies
        args = (tag, run, kind, proc, server.port, layout, plan, rate, p.drain_timeout)
        return await message_run(*args, tally=tally), tally

    s, tally = arun(kept())
    s.scenario = name
    return _lat_result(name, run, label, s, server, tally.latencies_ns)


async def hop_run(
    tag: str, run: int, node_a: Server, node_sub: Server, p: Params
) -> tuple[Sample, list[int]]:
    """realtime's latency scenario with the sender on node A and the subscribers on node_sub;
    returns the sample and its raw latencies (ns)."""
    # light load (HOP_SUBSCRIBERS subscribers, HOP_RATE messages/s): the latency is the path
    # itself, not a queue, so the cross-node minus same-node difference is the Redis hop
    light = replace(
        p,
        latency_subscribers=min(p.latency_subscribers, HOP_SUBSCRIBERS),
        latency_rate=min(p.latency_rate, HOP_RATE),
    )
    layout, plan, rate = scenario_shape("latency", light)
    tally = Tally()
    target = await set_up("hubbub", node_a.port, layout, tag)
    clients = await connect_all(node_sub.port, target.ws_paths, tally)
    try:
        rounds = await warm_up(target, layout, tally, len(clients))
        expected = sum(layout[room] for room in plan)
        tally.reset(expected)
        pids = {node_a.pid, node_sub.pid}
        cpu0, wall0 = {pid: procs.thread_cpu(pid) for pid in pids}, now_ns()
        sent_rate, send_errors, _ = await send_plan(target, plan, rate)
        while not tally.done.done():
            seen = len(tally.latencies_ns)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(tally.done), p.drain_timeout)
            if len(tally.latencies_ns) == seen:
                break
        cpu = sum(procs.cpu_between(cpu0[pid], procs.thread_cpu(pid)) for pid in pids)
        end_ns = tally.last_ns or now_ns()
    finally:
        tally.closing = True
        for client in clients:
            client.abort()
        await target.http.close()
    lat = sorted(x / 1e6 for x in tally.latencies_ns)
    wall = max(1e-9, (end_ns - wall0) / 1e9)
    n = len(lat)
    sample = Sample(
        scenario="redis-hop", run=run, server=tag, subscribers=len(clients), rooms=len(layout),
        messages=len(plan), offered_rate=rate, sent_rate=sent_rate, send_errors=send_errors,
        expected=expected, delivered=n, deliveries_per_s=n / wall, p50_ms=pct(lat, 0.5),
        p90_ms=pct(lat, 0.9), p99_ms=pct(lat, 0.99),
        max_ms=lat[-1] if lat else float("nan"), server_cpu_s=cpu,
        cpu_us_per_delivery=cpu / n * 1e6 if n else float("nan"), server_cpu_util=cpu / wall,
        client_cpu_util=0.0, cpu0_other=0.0, server_runq_wait=0.0, other_frames=tally.other,
        closes=dict(tally.closes), warmup_rounds=rounds,
    )  # fmt: skip
    return sample, tally.latencies_ns


# --- the runner ------------------------------------------------------------------------------


def line(r: Result) -> str:
    cpu = f"{r.cpu_us_per_op:6.1f} µs CPU/op" if r.cpu_us_per_op is not None else "CPU n/a"
    return (
        f"  run {r.run} {r.scenario:12} {r.server:10} {r.throughput:9.0f} {r.unit:13} "
        f"p50 {r.p50_ms:7.2f}  p95 {r.p95_ms:7.2f}  p99 {r.p99_ms:7.2f} ms  {cpu}"
        + (f"  ERRORS {r.errors}" if r.errors else "")
    )


def labels(name: str) -> tuple[str, str]:
    """(hubbub side, ceiling side) labels of a scenario."""
    return ("cross-node", "same-node") if name == "redis-hop" else ("hubbub", "bare")


def run_scenario(
    name: str,
    opts: argparse.Namespace,
    params: Params,
    pg: Pg | None,
    progress: Progress,
    overall: Any,
) -> list[Result]:
    results: list[Result] = []
    for run in range(1, opts.runs + 1):
        with tempfile.TemporaryDirectory(prefix="hubbub-bench-") as tmp:
            if name == "redis-hop":
                with serve(["hubbub", "hubbub-b"], Path(tmp), opts, pg) as nodes:
                    order = [("cross-node", nodes["hubbub-b"]), ("same-node", nodes["hubbub"])]
                    for label, sub in order if run % 2 else order[::-1]:
                        tag = f"hop{run}{label[0]}{secrets.token_hex(2)}"
                        s, lat = arun(hop_run(tag, run, nodes["hubbub"], sub, params))
                        # CPU: both nodes' (the sender's and the subscribers'); RSS: node A
                        results.append(_lat_result(name, run, label, s, nodes["hubbub"], lat))
                        progress.console.print(line(results[-1]))
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
                        progress.console.print(line(results[-1]))
                    progress.advance(overall)
    return results


METRICS = ("throughput", "p50_ms", "p95_ms", "p99_ms", "cpu_us_per_op", "rss_mb")


def _median(values: list[float | None]) -> float | None:
    real = [v for v in values if v is not None and v == v]
    return statistics.median(real) if real else None


def summarise(results: list[Result]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in SCENARIOS:
        mine = [r for r in results if r.scenario == name]
        if not mine:
            continue
        main, ceiling = labels(name)
        row: dict[str, Any] = {"unit": mine[0].unit, "ceiling": CEILING_NOTE[name]}
        for label in (main, ceiling):
            theirs = [r for r in mine if r.server == label]
            row[label] = {m: _median([getattr(r, m) for r in theirs]) for m in METRICS}
            row[label]["runs"] = len(theirs)
            row[label]["errors"] = sum(r.errors for r in theirs)
            row[label]["curve_ms"] = {
                p: _median([r.curve_ms.get(p) for r in theirs]) for p in theirs[0].curve_ms
            } if theirs else {}  # fmt: skip
        a, b = row[main]["throughput"], row[ceiling]["throughput"]
        row["ratio"] = a / b if a and b else None
        a, b = row[main]["cpu_us_per_op"], row[ceiling]["cpu_us_per_op"]
        row["cpu_ratio"] = a / b if a and b else None
        if name == "connections":
            kb = [r.extra.get("kb_per_conn") for r in mine]
            row[main]["kb_per_conn"] = _median(
                [k for r, k in zip(mine, kb, strict=True) if r.server == main]
            )
            row[ceiling]["kb_per_conn"] = _median(
                [k for r, k in zip(mine, kb, strict=True) if r.server == ceiling]
            )
        if name == "redis-hop":
            row["hop_p50_ms"] = _diff(row[main]["p50_ms"], row[ceiling]["p50_ms"])
            row["hop_p99_ms"] = _diff(row[main]["p99_ms"], row[ceiling]["p99_ms"])
        out[name] = row
    return out


def _diff(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def _f(value: float | None, fmt: str) -> str:
    return "n/a" if value is None or value != value else format(value, fmt)


def render(summary: dict[str, Any]) -> Table:
    table = Table(
        title="hubbub vs the bare ceilings (medians; ratio = throughput hubbub/ceiling, "
        "CPU ratio = CPU per operation hubbub/ceiling)"
    )
    for head in (
        "scenario",
        "server",
        "throughput",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "µs CPU/op",
        "RSS MB",
        "ratio",
        "CPU ratio",
    ):
        table.add_column(head, justify="left" if head in ("scenario", "server") else "right")
    for name, row in summary.items():
        main, ceiling = labels(name)
        for label in (main, ceiling):
            m = row[label]
            ratio = _f(row["ratio"], ".3f") if label == main else ""
            if name == "connections" and label == main:
                kb = (_f(row[lbl].get("kb_per_conn"), ".1f") for lbl in (main, ceiling))
                ratio = "{} (KB/conn {} vs {})".format(ratio, *kb)
            table.add_row(
                name if label == main else "",
                label,
                f"{_f(m['throughput'], '.0f')} {SHORT_UNIT.get(row['unit'], row['unit'])}",
                _f(m["p50_ms"], ".2f"),
                _f(m["p95_ms"], ".2f"),
                _f(m["p99_ms"], ".2f"),
                _f(m["cpu_us_per_op"], ".1f"),
                _f(m["rss_mb"], ".0f"),
                ratio,
                _f(row.get("cpu_ratio"), ".2f") if label == main else "",
            )
    return table


def compare(old: dict[str, Any], new: dict[str, Any]) -> Table:
    table = Table(title="change against the old results (new vs old; medians)")
    for head in ("scenario", "server", "metric", "old", "new", "change"):
        table.add_column(
            head, justify="left" if head in ("scenario", "server", "metric") else "right"
        )
    for name, row in new.items():
        before = old.get(name)
        if before is None:
            table.add_row(name, "", "(not in the old results)", "", "", "")
            continue
        for label in labels(name):
            for metric in METRICS:
                a, b = before.get(label, {}).get(metric), row[label][metric]
                if a is None or b is None:
                    continue
                change = f"{(b - a) / a:+.1%}" if a else "n/a"
                table.add_row(name, label, metric, f"{a:.2f}", f"{b:.2f}", change)
        for key in ("ratio", "cpu_ratio"):
            a, b = before.get(key), row.get(key)
            if a and b:
                table.add_row(name, "", key, f"{a:.3f}", f"{b:.3f}", f"{(b - a) / a:+.1%}")
    return table


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario", action="append", choices=[*SCENARIOS, "all"], help="repeatable; default all"
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
    opts = parser.parse_args(argv)
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


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    wanted = opts.scenario or ["all"]
    names = list(SCENARIOS) if "all" in wanted else list(dict.fromkeys(wanted))
    notes: list[str] = []
    hop_ready = bool(opts.database_url and opts.redis_url and not opts.url)
    if "redis-hop" in names and not hop_ready:
        names.remove("redis-hop")
        notes.append(
            "redis-hop skipped: it needs --database-url postgresql://... and --redis-url "
            "(and no --url)"
        )
    if opts.url and "connections" in names:
        names.remove("connections")
        notes.append("connections skipped: with --url the server's RSS cannot be read")
    missing = [
        tool for tool in ("wrk",) if shutil.which(tool) is None and set(names) & set(WRK_SCENARIOS)
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
    nofile = procs.raise_fd_limit()
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
    if "redis-hop" in summary:
        row = summary["redis-hop"]
        console.print(
            f"redis hop adds p50 {_f(row['hop_p50_ms'], '.2f')} ms, "
            f"p99 {_f(row['hop_p99_ms'], '.2f')} ms to send->receive"
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


def clean(value: Any) -> Any:
    """NaN (no samples) becomes null: the JSON stays strict."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
