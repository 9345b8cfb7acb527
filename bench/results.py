"""make bench's results: one Result per measurement, their medians per scenario and side, the
rich tables (the summary, the change against older results), and strict JSON.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from scenarios import CEILING_NOTE, REPORTED, WORKER_SCENARIOS

CURVE = (1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9)  # percentiles kept for the plots
SHORT_UNIT = {"deliveries/s": "deliv/s", "connections/s": "conn/s"}


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


def result_line(r: Result) -> str:
    cpu = f"{r.cpu_us_per_op:6.1f} µs CPU/op" if r.cpu_us_per_op is not None else "CPU n/a"
    return (
        f"  run {r.run} {r.scenario:12} {r.server:10} {r.throughput:9.0f} {r.unit:13} "
        f"p50 {r.p50_ms:7.2f}  p95 {r.p95_ms:7.2f}  p99 {r.p99_ms:7.2f} ms  {cpu}"
        + (f"  ERRORS {r.errors}" if r.errors else "")
    )


def labels(name: str) -> tuple[str, ...]:
    """The sides of a scenario: the measured one, what its ratio divides by (the ceiling, or
    for the workers scenarios one worker), then any shown beside them."""
    if name in WORKER_SCENARIOS:
        return ("workers-2", "workers-1", "bare")
    return ("cross-node", "same-node") if name == "redis-hop" else ("hubbub", "bare")


METRICS = ("throughput", "p50_ms", "p95_ms", "p99_ms", "cpu_us_per_op", "rss_mb")


def _median(values: list[float | None]) -> float | None:
    real = [v for v in values if v is not None and v == v]
    return statistics.median(real) if real else None


def summarise(results: list[Result]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in REPORTED:
        mine = [r for r in results if r.scenario == name]
        if not mine:
            continue
        main, ceiling = labels(name)[:2]
        row: dict[str, Any] = {"unit": mine[0].unit, "ceiling": CEILING_NOTE[name]}
        for label in labels(name):
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
        if name == "download":  # the second ceiling: nginx serving the same bytes (transfers.py)
            for key in ("nginx_mb_per_s", "ratio_to_nginx"):
                row[key] = _median([r.extra.get(key) for r in mine if r.server == main])
        if name == "redis-hop":
            row["hop_p50_ms"] = _diff(row[main]["p50_ms"], row[ceiling]["p50_ms"])
            row["hop_p99_ms"] = _diff(row[main]["p99_ms"], row[ceiling]["p99_ms"])
        out[name] = row
    return out


def _diff(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def fmt(value: float | None, spec: str) -> str:
    """`value` formatted by `spec`, or n/a when there is none (None or NaN)."""
    return "n/a" if value is None or value != value else format(value, spec)


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
        main, ceiling = labels(name)[:2]
        for label in labels(name):
            m = row[label]
            ratio = fmt(row["ratio"], ".3f") if label == main else ""
            if name == "connections" and label == main:
                kb = (fmt(row[lbl].get("kb_per_conn"), ".1f") for lbl in (main, ceiling))
                ratio = "{} (KB/conn {} vs {})".format(ratio, *kb)
            if name == "download" and label == main and row.get("ratio_to_nginx") is not None:
                ratio = f"{ratio} ({fmt(row['ratio_to_nginx'], '.2f')} of nginx)"
            table.add_row(
                name if label == main else "",
                label,
                f"{fmt(m['throughput'], '.0f')} {SHORT_UNIT.get(row['unit'], row['unit'])}",
                fmt(m["p50_ms"], ".2f"),
                fmt(m["p95_ms"], ".2f"),
                fmt(m["p99_ms"], ".2f"),
                fmt(m["cpu_us_per_op"], ".1f"),
                fmt(m["rss_mb"], ".0f"),
                ratio,
                fmt(row.get("cpu_ratio"), ".2f") if label == main else "",
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


def clean(value: Any) -> Any:
    """NaN (no samples) becomes null: the JSON stays strict."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value
