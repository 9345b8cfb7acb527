"""One measured real-time run against one server: a message run (deliveries, send -> receive
latency, server CPU per delivery) or a connections run (server RSS per idle WebSocket).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from procs import SERVER_CPU, cpu_between, cpu_busy, rss_kb, runqueue_wait, thread_cpu
from profiles import start_py_spy, stop_py_spy
from targets import send_plan, set_up, warm_up
from ws_client import Tally, connect_all, now_ns

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
    tally: Tally | None = None,
) -> Sample:
    """`tally`: the one the subscribers count into, for a caller that wants the raw latencies
    (made on this run's loop); a fresh one if None."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tally = Tally() if tally is None else tally
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
