"""bench/realtime.py's report: a line per sample as it comes, medians per scenario and server,
and the plain-text tables.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from measurements import ConnSample, Sample
from scenarios import REALTIME_SCENARIOS, SERVERS


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


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


CONN_KEYS = ("connections", "connect_s", "rss_before_kb", "rss_after_kb", "kb_per_conn")
MESSAGE_KEYS = (
    "subscribers", "rooms", "messages", "offered_rate", "sent_rate", "delivered", "expected",
    "deliveries_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "cpu_us_per_delivery",
    "server_cpu_util", "cpu0_other", "client_cpu_util",
)  # fmt: skip


def summarise(samples: list[Sample | ConnSample]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in REALTIME_SCENARIOS:
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
