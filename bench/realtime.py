"""Benchmark hubbub's real-time delivery against a bare ASGI WebSocket broadcast server.

    .venv/bin/python bench/realtime.py [--scenario fanout|rooms|latency|connections|all] [--quick]

Scenarios (each runs against hubbub and against bench/bare_ws.py, the ceiling, in the same run):

- fanout: one room with 1,000 WebSocket subscribers; 200 messages of 200 characters, posted at a
  fixed rate (default 200/s = 200k deliveries/s offered, more than either server can deliver, so
  deliveries/s is each server's capacity and the latencies include the queue that builds up).
- rooms: 100 rooms x 10 subscribers; 2,000 messages posted round-robin over the rooms at
  500/s (each costs hubbub an authenticated, durable POST: this one measures the send path).
- latency: 500 messages/s into one room with 100 subscribers for 5 s; the goal is p99 < 10 ms.
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
a warm-up message (hubbub subscribes a WebSocket only after its 101).

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
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from procs import (  # bench/ is on sys.path: the scripts sit side by side
    answers,
    cpu_between,
    cpu_busy,
    free_port,
    raise_fd_limit,
    rss_kb,
    runqueue_wait,
    stop,
    thread_cpu,
)
from profiles import start_py_spy, stop_py_spy

HOST = "127.0.0.1"
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
SERVER_CPU, LOAD_CPU = 0, 1
SERVERS = ("bare", "hubbub")
SCENARIOS = ("fanout", "rooms", "latency", "connections")
TEXT_CHARS = 200
LOBBY = "general"  # hubbub's lobby: every new account is a member
PASSWORD = "bench-password"
HTTP_POOL = 16  # keep-alive connections the sender (and the set-up) use
CONNECT_CONCURRENCY = 200  # WebSocket handshakes in flight at once

now_ns = time.monotonic_ns  # CLOCK_MONOTONIC: one clock for every process on the machine
T = TypeVar("T")


def arun(coro: Awaitable[T]) -> T:
    """Run `coro` on a fresh uvloop event loop (asyncio's if uvloop is missing)."""
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Params:
    runs: int
    fanout_subscribers: int
    fanout_messages: int
    fanout_rate: float
    rooms: int
    room_subscribers: int
    rooms_messages: int
    rooms_rate: float
    latency_subscribers: int
    latency_rate: float
    latency_seconds: float
    connections: int
    connection_room_size: int
    drain_timeout: float  # seconds without a delivery before a run gives up waiting
    settle: float  # seconds to let the server settle before reading its RSS
    shared_servers: bool = False  # one pair of servers for all scenarios (fast, less clean)


FULL = Params(
    runs=3,
    fanout_subscribers=1000,
    fanout_messages=200,
    fanout_rate=200.0,
    rooms=100,
    room_subscribers=10,
    rooms_messages=2000,
    rooms_rate=500.0,
    latency_subscribers=100,
    latency_rate=500.0,
    latency_seconds=5.0,
    connections=10_000,
    connection_room_size=10,
    drain_timeout=10.0,
    settle=2.0,
)
QUICK = Params(
    runs=1,
    fanout_subscribers=20,
    fanout_messages=20,
    fanout_rate=100.0,
    rooms=5,
    room_subscribers=4,
    rooms_messages=40,
    rooms_rate=100.0,
    latency_subscribers=20,
    latency_rate=100.0,
    latency_seconds=0.5,
    connections=200,
    connection_room_size=10,
    drain_timeout=3.0,
    settle=0.2,
    shared_servers=True,
)


# --- processes -------------------------------------------------------------------------------


@contextmanager
def serve(
    names: Sequence[str], workdir: Path, src: Path
) -> Iterator[dict[str, tuple[subprocess.Popen[bytes], int]]]:
    """Start each server pinned to SERVER_CPU (all at once: they start faster together than
    one after the other), wait until all answer, yield {name: (process, port)}, stop them.
    An idle server costs nothing measurable while the other one is measured."""
    env = os.environ | {"PYTHONPATH": str(src)}  # hubbub from `src`, ahead of the editable install
    started: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    logs: dict[str, Path] = {}
    try:
        for name in names:
            port = free_port()
            if name == "bare":
                cmd = [PYTHON, "-m", "uvicorn", "--app-dir", str(BENCH), "bare_ws:app"]
                cmd += ["--host", HOST, "--port", str(port), "--loop", "uvloop"]
                cmd += ["--http", "httptools", "--ws", "websockets-sansio"]
                cmd += ["--ws-per-message-deflate", "false", "--no-access-log"]
                cmd += ["--log-level", "warning", "--timeout-graceful-shutdown", "2"]
            else:
                db = f"sqlite:///{workdir / 'bench.db'}"
                cmd = [PYTHON, "-m", "hubbub", "serve", "--host", HOST, "--port", str(port)]
                cmd += ["--database-url", db, "--log-level", "warning"]
                cmd += ["--password-hashing", "fast", "--auth-attempts-per-minute", "0"]
            logs[name] = workdir / f"{name}.log"
            with logs[name].open("ab") as log:
                started[name] = (
                    subprocess.Popen(
                        ["taskset", "-c", str(SERVER_CPU), *cmd],
                        stdout=log,
                        stderr=log,
                        cwd=ROOT,
                        env=env,
                    ),
                    port,
                )
        deadline = time.monotonic() + 60
        for name, (proc, port) in started.items():
            while not answers(port, "/" if name == "bare" else "/messages?limit=1"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start (exit code {proc.poll()})")
                time.sleep(0.05)
        yield started
    except BaseException:
        for name, path in logs.items():
            tail = "\n".join(path.read_text(errors="replace").splitlines()[-20:])
            print(f"{name} server log (last lines):\n{tail}", file=sys.stderr)
        raise
    finally:
        for proc, _ in started.values():  # all at once: they shut down in parallel
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in started.values():
            stop(proc)


# --- a raw keep-alive HTTP/1.1 client ----------------------------------------------------------

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.I)


class Http:
    """A few keep-alive connections; `request` borrows one (waiting if all are busy)."""

    def __init__(self, port: int, size: int = HTTP_POOL) -> None:
        self.port = port
        self.size = size
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = (
            asyncio.Queue()
        )
        for _ in range(size):
            self._idle.put_nowait(None)  # opened on first use

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | Callable[[], bytes] = b"",
        token: str | None = None,
    ) -> tuple[int, bytes]:
        """`body` may be a callable, called just before the request is written (timestamps)."""
        conn = await self._idle.get()
        try:
            for attempt in (1, 2):
                if conn is None or conn[0].at_eof():  # uvicorn closes idle ones after 5 s
                    if conn is not None:
                        conn[1].close()
                    conn = await asyncio.open_connection(HOST, self.port)
                reader, writer = conn
                data = body() if callable(body) else body
                auth = f"Authorization: Bearer {token}\r\n" if token else ""
                writer.write(
                    f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n{auth}"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                    break
                except (asyncio.IncompleteReadError, ConnectionResetError) as exc:
                    partial = getattr(exc, "partial", b"")
                    if attempt == 2 or partial:
                        raise
                    writer.close()  # closed as we reused it, before any answer: once more
                    conn = None
            status = int(head[9:12])
            length = _CONTENT_LENGTH.search(head)
            payload = await reader.readexactly(int(length[1])) if length else b""
            if b"\r\nconnection: close" in head.lower():
                writer.close()
                conn = None
            return status, payload
        except BaseException:
            if conn is not None:
                conn[1].close()
            conn = None
            raise
        finally:
            self._idle.put_nowait(conn)

    async def json(
        self, method: str, path: str, payload: Any, token: str | None, expect: int
    ) -> Any:
        status, body = await self.request(method, path, json.dumps(payload).encode(), token)
        if status != expect:
            raise RuntimeError(f"{method} {path}: HTTP {status} {body[:300]!r}")
        return json.loads(body) if body else None

    async def close(self) -> None:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                conn[1].close()


# --- raw WebSocket clients -------------------------------------------------------------------


class Tally:
    """What every subscriber of one run received, shared by all of them."""

    def __init__(self) -> None:
        self.reset(0)

    def reset(self, expected: int) -> None:
        self.expected = expected
        self.latencies_ns: list[int] = []
        self.last_ns = 0
        self.other = 0  # frames that are not bench messages (presence, pings, ...)
        self.warmed = 0  # clients that received a warm-up message
        self.warm_target = 0
        self.all_warm = asyncio.Event()
        self.closes: Counter[str] = Counter()
        self.closing = False  # we are closing the clients: losses are ours
        self.done = asyncio.get_running_loop().create_future()


class WsClient(asyncio.Protocol):
    """A WebSocket client that only finds the send timestamp in each text frame.

    Server frames are never masked; our pongs and close frames use the all-zero mask key.
    """

    def __init__(self, handshake: bytes, tally: Tally) -> None:
        self.handshake = handshake
        self.tally = tally
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.upgraded = False
        self.warm = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.handshake)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during the handshake: {exc}"))
        elif not self.tally.closing:
            self.tally.closes["lost"] += 1

    def data_received(self, data: bytes) -> None:
        now = now_ns()
        if self.buf:
            data = self.buf + data
        if not self.upgraded:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buf = data
                return
            if not data.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(data[:200].decode("latin-1")))
                assert self.transport is not None
                self.transport.close()
                return
            self.upgraded = True
            self.opened.set_result(None)
            data = data[end + 4 :]
        tally = self.tally
        pos, size = 0, len(data)
        while size - pos >= 2:
            b0, n = data[pos], data[pos + 1] & 0x7F
            start = pos + 2
            if n == 126:
                if size - pos < 4:
                    break
                n = (data[start] << 8) | data[start + 1]
                start += 2
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(data[start : start + 8], "big")
                start += 8
            end = start + n
            if end > size:
                break
            pos = end
            opcode = b0 & 0x0F
            if opcode <= 2:  # text, binary, continuation
                at = data.find(b"~T", start, end)
                if at >= 0:
                    stop_at = data.find(b"~", at + 2, end)
                    tally.latencies_ns.append(now - int(data[at + 2 : stop_at]))
                    tally.last_ns = now
                    if len(tally.latencies_ns) >= tally.expected and not tally.done.done():
                        tally.done.set_result(None)
                elif data.find(b"~W", start, end) >= 0:
                    if not self.warm:
                        self.warm = True
                        tally.warmed += 1
                        if tally.warmed >= tally.warm_target:
                            tally.all_warm.set()
                else:
                    tally.other += 1
            elif opcode == 9:  # ping -> pong with the same payload
                self._send(0x8A, data[start:end])
            elif opcode == 8:
                code = (data[start] << 8) | data[start + 1] if n >= 2 else 1005
                tally.closes[str(code)] += 1
                self._send(0x88, data[start : start + 2])
                assert self.transport is not None
                self.transport.close()
                return
        self.buf = data[pos:] if pos < size else b""

    def _send(self, head: int, payload: bytes) -> None:
        assert self.transport is not None
        assert len(payload) < 126
        self.transport.write(bytes((head, 0x80 | len(payload), 0, 0, 0, 0)) + payload)

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()


async def connect_all(port: int, paths: Sequence[str], tally: Tally) -> list[WsClient]:
    """Open one WebSocket per path, CONNECT_CONCURRENCY handshakes at a time."""
    loop = asyncio.get_running_loop()
    clients: list[WsClient] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(path: str) -> None:
        handshake = (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        async with gate:
            client = WsClient(handshake, tally)
            await loop.create_connection(lambda: client, HOST, port)
            clients.append(client)
            await asyncio.wait_for(client.opened, 30)

    try:
        await asyncio.gather(*(one(p) for p in paths))
    except BaseException:
        for client in clients:
            client.abort()
        raise
    return clients


# --- the two servers' set-ups ------------------------------------------------------------------


@dataclass(slots=True)
class Target:
    """A server set up for a run: where each subscriber connects, how to post to a room."""

    kind: str
    http: Http
    rooms: list[str]  # room keys, by index
    ws_paths: list[str]  # one per subscriber
    token: str | None = None  # the sender's (hubbub)

    def post(self, room: int, text: Callable[[], str]) -> Awaitable[tuple[int, bytes]]:
        key = self.rooms[room]
        if self.kind == "bare":
            return self.http.request("POST", f"/send?room={key}", lambda: text().encode())
        return self.http.request(
            "POST",
            f"/api/v1/rooms/{key}/messages",
            lambda: json.dumps({"text": text()}).encode(),
            self.token,
        )

    @property
    def ok(self) -> int:
        return 200 if self.kind == "bare" else 201


async def set_up(kind: str, port: int, layout: Sequence[int], tag: str) -> Target:
    """`layout[i]` subscribers in room i; `tag` prefixes usernames and room names (scenarios
    can share a server: --quick).

    hubbub: one account per subscriber, which joins its room and leaves the lobby `general`
    that every new account is put in; otherwise each connecting subscriber's presence would go
    to every connected one (N^2/2 frames for N subscribers: see the module's docs).
    """
    http = Http(port)
    if kind == "bare":
        rooms = [f"{tag}{i}" for i in range(len(layout))]
        paths = [f"/ws?room={rooms[i]}" for i, n in enumerate(layout) for _ in range(n)]
        return Target(kind, http, rooms, paths)
    sender = await http.json(
        "POST", "/api/v1/accounts", {"username": f"{tag}-sender", "password": PASSWORD}, None, 201
    )
    token = sender["token"]
    made = await asyncio.gather(
        *(
            http.json(
                "POST", "/api/v1/rooms", {"name": f"{tag} {i}", "visibility": "public"}, token, 201
            )
            for i in range(len(layout))
        )
    )
    rooms = [room["id"] for room in made]

    async def subscriber(number: int, room: str) -> str:
        account = {"username": f"{tag}{number}", "password": PASSWORD}
        me = (await http.json("POST", "/api/v1/accounts", account, None, 201))["token"]
        await http.json("POST", f"/api/v1/rooms/{room}/join", None, me, 204)
        await http.json("POST", f"/api/v1/rooms/{LOBBY}/leave", None, me, 204)
        return f"/api/v1/stream?access_token={me}"

    where = [rooms[i] for i, n in enumerate(layout) for _ in range(n)]
    paths = await asyncio.gather(*(subscriber(k, room) for k, room in enumerate(where)))
    return Target(kind, http, rooms, list(paths), token)


def message_text(kind: str, number: int) -> Callable[[], str]:
    """The text of message `number`, stamped when called; `kind` "T" measured, "W" warm-up."""

    def text() -> str:
        head = f"~{kind}{now_ns()}~{number}~"
        return head + "x" * (TEXT_CHARS - len(head))

    return text


async def warm_up(
    target: Target, layout: Sequence[int], tally: Tally, clients: int, settle: float = 0.2
) -> int:
    """Post to every room until every subscriber has received something: subscriptions are live
    (hubbub subscribes after the 101). Returns the number of warm-up rounds."""
    tally.warm_target = clients
    for attempt in range(1, 6):
        posted = await asyncio.gather(
            *(target.post(i, message_text("W", -i)) for i, n in enumerate(layout) if n)
        )
        for status, body in posted:
            if status != target.ok:
                raise RuntimeError(f"warm-up post failed: HTTP {status} {body[:200]!r}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.all_warm.wait(), 5)
        if tally.warmed >= clients:
            await asyncio.sleep(settle)  # let stragglers (presence, duplicates) pass
            return attempt
    raise RuntimeError(f"only {tally.warmed} of {clients} subscribers ever received a message")


# --- measurements ----------------------------------------------------------------------------


def pct(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


@dataclass(slots=True)
class Sample:
    scenario: str
    run: int
    server: str
    subscribers: int
    rooms: int
    messages: int
    offered_rate: float  # messages/s the sender aimed at
    sent_rate: float  # messages/s it achieved
    send_errors: int
    expected: int
    delivered: int
    deliveries_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_s: float
    cpu_us_per_delivery: float
    server_cpu_util: float  # server CPU seconds / wall seconds of the window
    client_cpu_util: float  # this process (the whole load generator)
    cpu0_other: float  # share of the window CPU 0 was busy with anything but the server
    server_runq_wait: float  # share of the window the server's threads waited for a CPU
    other_frames: int
    closes: dict[str, int] = field(default_factory=dict)
    warmup_rounds: int = 0
    setup_s: float = 0.0
    window_ns: tuple[int, int] = (0, 0)  # CLOCK_MONOTONIC, to line up with server-side traces


@dataclass(slots=True)
class ConnSample:
    scenario: str
    run: int
    server: str
    connections: int
    connect_s: float
    rss_before_kb: int
    rss_connected_kb: int
    rss_after_kb: int  # after one message reached every connection
    kb_per_conn: float
    client_cpu_util: float
    closes: dict[str, int] = field(default_factory=dict)
    setup_s: float = 0.0


async def send_plan(
    target: Target, plan: Sequence[int], rate: float
) -> tuple[float, int, list[str]]:
    """Post message k into room plan[k] at `rate` per second, open loop (up to HTTP_POOL in
    flight). Returns (achieved rate, errors, first error texts)."""
    loop = asyncio.get_running_loop()
    errors: list[str] = []

    async def one(k: int, room: int) -> None:
        status, body = await target.post(room, message_text("T", k))
        if status != target.ok:
            errors.append(f"HTTP {status} {body[:200]!r}")

    tasks = []
    start = loop.time()
    for k, room in enumerate(plan):
        delay = start + k / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k, room)))
    issued = loop.time() - start
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors += [repr(r) for r in results if isinstance(r, BaseException)]
    achieved = (len(plan) - 1) / issued if len(plan) > 1 and issued > 0 else rate
    return achieved, len(errors), errors[:3]


async def message_run(
    scenario: str,
    run: int,
    kind: str,
    proc: subprocess.Popen[bytes],
    port: int,
    layout: Sequence[int],
    plan: Sequence[int],
    rate: float,
    drain_timeout: float,
    profile: Path | None = None,
) -> Sample:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tally = Tally()
    target = await set_up(kind, port, layout, scenario)
    clients = await connect_all(port, target.ws_paths, tally)
    try:
        rounds = await warm_up(target, layout, tally, len(clients))
        setup_s = loop.time() - t0
        expected = sum(layout[room] for room in plan)
        spy = start_py_spy(proc.pid, profile) if profile else None
        if spy:
            await asyncio.sleep(0.5)  # attached
        tally.reset(expected)
        cpu0, client0, wall0 = thread_cpu(proc.pid), time.process_time(), now_ns()
        busy0, runq0 = cpu_busy(SERVER_CPU), runqueue_wait(proc.pid)
        sent_rate, send_errors, error_texts = await send_plan(target, plan, rate)
        while not tally.done.done():  # until every delivery came, or none for drain_timeout
            seen = len(tally.latencies_ns)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(tally.done), drain_timeout)
            if len(tally.latencies_ns) == seen:
                break
        cpu1, client1 = thread_cpu(proc.pid), time.process_time()
        busy1, runq1 = cpu_busy(SERVER_CPU), runqueue_wait(proc.pid)
        end_ns = tally.last_ns or now_ns()
        if spy:
            stop_py_spy(spy, profile)
    finally:
        tally.closing = True
        for client in clients:
            client.abort()
        await target.http.close()
    if error_texts:
        print(f"    send errors: {error_texts}", file=sys.stderr)
    lat = sorted(x / 1e6 for x in tally.latencies_ns)
    wall = max(1e-9, (end_ns - wall0) / 1e9)
    delivered = len(lat)
    server_cpu = cpu_between(cpu0, cpu1)
    return Sample(
        scenario=scenario,
        run=run,
        server=kind,
        subscribers=len(clients),
        rooms=len(layout),
        messages=len(plan),
        offered_rate=rate,
        sent_rate=sent_rate,
        send_errors=send_errors,
        expected=expected,
        delivered=delivered,
        deliveries_per_s=delivered / wall,
        p50_ms=pct(lat, 0.50),
        p90_ms=pct(lat, 0.90),
        p99_ms=pct(lat, 0.99),
        max_ms=lat[-1] if lat else float("nan"),
        server_cpu_s=server_cpu,
        cpu_us_per_delivery=server_cpu / delivered * 1e6 if delivered else float("nan"),
        server_cpu_util=server_cpu / wall,
        cpu0_other=max(0.0, busy1 - busy0 - server_cpu) / wall,
        server_runq_wait=(runq1 - runq0) / wall,
        client_cpu_util=(client1 - client0) / wall,
        other_frames=tally.other,
        closes=dict(tally.closes),
        warmup_rounds=rounds,
        window_ns=(wall0, end_ns),
        setup_s=setup_s,
    )


async def connections_run(
    run: int,
    kind: str,
    proc: subprocess.Popen[bytes],
    port: int,
    count: int,
    settle: float,
    room_size: int,
    profile: Path | None = None,
) -> ConnSample:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tally = Tally()
    layout = [room_size] * (count // room_size) + ([count % room_size] if count % room_size else [])
    target = await set_up(kind, port, layout, "connections")
    setup_s = loop.time() - t0
    await asyncio.sleep(settle)
    spy = start_py_spy(proc.pid, profile) if profile else None  # the connecting
    if spy:
        await asyncio.sleep(0.5)  # attached
    before = rss_kb(proc.pid)
    client0, c0 = time.process_time(), loop.time()
    clients = await connect_all(port, target.ws_paths, tally)
    try:
        connect_s = loop.time() - c0
        if spy:
            stop_py_spy(spy, profile)
        client_util = (time.process_time() - client0) / max(connect_s, 1e-9)
        await asyncio.sleep(settle)
        connected = rss_kb(proc.pid)
        await warm_up(target, layout, tally, count)  # every subscription is live
        await asyncio.sleep(settle)
        after = rss_kb(proc.pid)
        alive = sum(not c.closed for c in clients)
        if alive != count:
            raise RuntimeError(f"only {alive} of {count} connections stayed open")
    finally:
        tally.closing = True
        for client in clients:
            client.abort()
        await target.http.close()
    return ConnSample(
        scenario="connections",
        run=run,
        server=kind,
        connections=count,
        connect_s=connect_s,
        rss_before_kb=before,
        rss_connected_kb=connected,
        rss_after_kb=after,
        kb_per_conn=(after - before) / count,
        client_cpu_util=client_util,
        closes=dict(tally.closes),
        setup_s=setup_s,
    )


def scenario_shape(name: str, p: Params) -> tuple[list[int], list[int], float]:
    """(subscribers per room, room of each message, rate) for a message scenario."""
    if name == "fanout":
        return [p.fanout_subscribers], [0] * p.fanout_messages, p.fanout_rate
    if name == "rooms":
        return (
            [p.room_subscribers] * p.rooms,
            [k % p.rooms for k in range(p.rooms_messages)],
            (p.rooms_rate),
        )
    count = max(1, round(p.latency_rate * p.latency_seconds))
    return [p.latency_subscribers], [0] * count, p.latency_rate


def print_sample(s: Sample | ConnSample) -> None:
    if isinstance(s, ConnSample):
        print(
            f"  run {s.run} {s.server:6} {s.connections} conns in {s.connect_s:5.1f} s  RSS "
            f"{s.rss_before_kb / 1024:6.1f} -> {s.rss_after_kb / 1024:6.1f} MB  "
            f"{s.kb_per_conn:5.1f} KB/conn" + (f"  closes {s.closes}" if s.closes else ""),
            flush=True,
        )
        return
    print(
        f"  run {s.run} {s.server:6} {s.delivered}/{s.expected} delivered  "
        f"{s.deliveries_per_s:8.0f}/s  p50 {s.p50_ms:7.2f} ms  p99 {s.p99_ms:7.2f} ms  "
        f"{s.cpu_us_per_delivery:5.1f} µs CPU/delivery  server {s.server_cpu_util:4.0%}  "
        f"client {s.client_cpu_util:4.0%}  CPU0 other {s.cpu0_other:4.0%}  "
        f"sent {s.sent_rate:.0f}/s"
        + (f"  send errors {s.send_errors}" if s.send_errors else "")
        + (f"  closes {s.closes}" if s.closes else ""),
        flush=True,
    )


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
                serve(order, Path(tmp), src) as servers,
            ):
                for name in group:
                    if run == 1 or p.shared_servers:
                        print(f"{name}:", flush=True)
                    for kind in order:
                        samples.append(measure(name, run, kind, servers[kind], p, py_spy))
        print(f"  ({time.monotonic() - began:.1f} s)", flush=True)
    return samples


# --- report ----------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


CONN_KEYS = ("connections", "connect_s", "rss_before_kb", "rss_after_kb", "kb_per_conn")
MESSAGE_KEYS = (
    "subscribers", "rooms", "messages", "offered_rate", "sent_rate", "delivered", "expected",
    "deliveries_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "cpu_us_per_delivery",
    "server_cpu_util", "cpu0_other", "client_cpu_util",
)  # fmt: skip
OVERRIDABLE = (
    "runs", "connections", "fanout_subscribers", "fanout_messages", "fanout_rate", "rooms_rate",
    "latency_rate",
)  # fmt: skip


def summarise(samples: list[Sample | ConnSample]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in SCENARIOS:
        mine = [s for s in samples if s.scenario == name]
        if not mine:
            continue
        row: dict[str, Any] = {"scenario": name}
        keys = CONN_KEYS if name == "connections" else MESSAGE_KEYS
        for server in SERVERS:
            theirs = [asdict(s) for s in mine if s.server == server]
            for key in keys:
                row[f"{server}_{key}"] = _median([float(s[key]) for s in theirs])
            row[f"{server}_runs"] = len(theirs)
        if name == "connections":
            row["kb_per_conn_ratio"] = row["hubbub_kb_per_conn"] / row["bare_kb_per_conn"]
        else:
            row["throughput_ratio"] = row["hubbub_deliveries_per_s"] / row["bare_deliveries_per_s"]
            row["cpu_ratio"] = row["hubbub_cpu_us_per_delivery"] / row["bare_cpu_us_per_delivery"]
            row["lost"] = {
                server: sum(
                    s.expected - s.delivered
                    for s in mine
                    if isinstance(s, Sample) and s.server == server
                )
                for server in SERVERS
            }
        rows.append(row)
    return rows


def _grid(head: Sequence[str], lines: list[tuple[str, ...]]) -> str:
    widths = [max(len(line[i]) for line in [head, *lines]) for i in range(len(head))]
    fmt = " | ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    rule = "-|-".join("-" * w for w in widths)
    return "\n".join([fmt.format(*head), rule, *(fmt.format(*line) for line in lines)])


def table(rows: list[dict[str, Any]]) -> str:
    """Medians per scenario and server, then the hubbub/bare ratios."""
    head = (
        "scenario", "server", "deliveries/s", "p50 ms", "p99 ms", "µs CPU/deliv",
        "deliv/CPU-s", "server CPU", "CPU0 other", "client CPU",
    )  # fmt: skip
    lines: list[tuple[str, ...]] = []
    ratios: list[str] = []
    conn_lines: list[tuple[str, ...]] = []
    for r in rows:
        name = r["scenario"]
        if name == "connections":
            for server in SERVERS:
                m = {k: r[f"{server}_{k}"] for k in CONN_KEYS}
                conn_lines.append(
                    (
                        f"{m['connections']:.0f} idle",
                        server,
                        f"{m['connect_s']:.1f} s",
                        f"{m['rss_before_kb'] / 1024:.0f} MB",
                        f"{m['rss_after_kb'] / 1024:.0f} MB",
                        f"{m['kb_per_conn']:.1f}",
                    )
                )
            ratios.append(f"connections: hubbub uses {r['kb_per_conn_ratio']:.2f}x the bare memory")
            continue
        for server in SERVERS:
            m = {k: r[f"{server}_{k}"] for k in MESSAGE_KEYS}
            per_room = m["subscribers"] / max(1, m["rooms"])
            label = f"{name} {m['rooms']:.0f}x{per_room:.0f} @{m['offered_rate']:.0f}/s"
            lines.append(
                (
                    label,
                    server,
                    f"{m['deliveries_per_s']:.0f}",
                    f"{m['p50_ms']:.2f}",
                    f"{m['p99_ms']:.2f}",
                    f"{m['cpu_us_per_delivery']:.1f}",
                    f"{1e6 / m['cpu_us_per_delivery']:.0f}",
                    f"{m['server_cpu_util']:.0%}",
                    f"{m['cpu0_other']:.0%}",
                    f"{m['client_cpu_util']:.0%}",
                )
            )
        ratios.append(
            f"{name}: hubbub/bare deliveries/s {r['throughput_ratio']:.2f}x, CPU per delivery "
            f"{r['cpu_ratio']:.2f}x (capacity per core {1 / r['cpu_ratio']:.2f}x), p99 "
            f"{r['hubbub_p99_ms']:.1f} vs {r['bare_p99_ms']:.1f} ms"
        )
    out = [_grid(head, lines)] if lines else []
    if conn_lines:
        conn_head = ("connections", "server", "connect", "RSS before", "RSS after", "KB/conn")
        out.append(_grid(conn_head, conn_lines))
    return "\n\n".join([*out, "\n".join(ratios)])


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
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
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
    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
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
