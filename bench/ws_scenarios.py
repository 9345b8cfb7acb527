"""make bench's WebSocket scenarios: bench/realtime.py's runs (its code, its sizes) as Results,
and redis-hop, the latency scenario across two hubbub nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import asdict, replace
from typing import Any

from measurements import Sample, arun, connections_run, message_run, pct
from procs import cpu_between, thread_cpu
from results import CURVE, Result
from scenarios import Params, scenario_shape
from servers import NO_PID, Server, rss_mb
from targets import send_plan, set_up, warm_up
from ws_client import Tally, connect_all, now_ns

HOP_SUBSCRIBERS, HOP_RATE = 20, 100.0  # redis-hop: 2,000 deliveries/s, far below capacity


def lat_result(
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
    return lat_result(name, run, label, s, server, tally.latencies_ns)


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
        cpu0, wall0 = {pid: thread_cpu(pid) for pid in pids}, now_ns()
        sent_rate, send_errors, _ = await send_plan(target, plan, rate)
        while not tally.done.done():
            seen = len(tally.latencies_ns)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(tally.done), p.drain_timeout)
            if len(tally.latencies_ns) == seen:
                break
        cpu = sum(cpu_between(cpu0[pid], thread_cpu(pid)) for pid in pids)
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
