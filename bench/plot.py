"""Render PNG plots from a bench/run.py results JSON.

    .venv/bin/python bench/plot.py bench/results/run-<timestamp>.json [--out docs/benchmarks]
        [--prefix sqlite-]

Writes <prefix>throughput.png (hubbub beside its ceiling, per scenario, medians; one panel per
unit) and <prefix>latency.png (latency percentile curves, hubbub and ceiling, one panel per
scenario with latencies).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

COLOURS = {"main": "#d9534f", "ceiling": "#5b8def"}


def sides(name: str) -> tuple[str, str]:
    return ("cross-node", "same-node") if name == "redis-hop" else ("hubbub", "bare")


def throughput(report: dict[str, Any], out: Path) -> None:
    summary = report["summary"]
    units = sorted({row["unit"] for row in summary.values()})
    fig, axes = plt.subplots(1, len(units), figsize=(3 + 1.4 * len(summary), 4.8), squeeze=False)
    for ax, unit in zip(axes[0], units, strict=True):
        names = [n for n, row in summary.items() if row["unit"] == unit]
        xs = range(len(names))
        for offset, (key, index) in ((-0.2, ("main", 0)), (0.2, ("ceiling", 1))):
            values = [summary[n][sides(n)[index]]["throughput"] or 0 for n in names]
            bars = ax.bar([x + offset for x in xs], values, 0.4, color=COLOURS[key])
            for bar, value in zip(bars, values, strict=True):
                ax.annotate(f"{value:,.0f}", (bar.get_x() + bar.get_width() / 2, value),
                            ha="center", va="bottom", fontsize=7)  # fmt: skip
        ax.set_xticks(list(xs))
        labels = []
        for n in names:
            ratio = summary[n].get("ratio")
            labels.append(f"{n}\n{ratio:.2f}x" if ratio else n)
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel(f"{unit} (median)")
        ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in COLOURS.values()]
    fig.legend(handles, ["hubbub (redis-hop: cross-node)", "bare ceiling (redis-hop: same-node)"],
               loc="lower center", ncol=2, fontsize=8)  # fmt: skip
    env = report["environment"]
    fig.suptitle(
        f"Throughput, hubbub vs ceiling ({report.get('backend', 'sqlite')}; "
        f"{env['cpu']}, Python {env['python']}); x labels: hubbub/ceiling",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.06, 1, 0.93))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def latency(report: dict[str, Any], out: Path) -> None:
    summary = {n: r for n, r in report["summary"].items() if r[sides(n)[0]].get("curve_ms")}
    cols = min(4, len(summary)) or 1
    rows = math.ceil(len(summary) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(summary) :]:
        ax.set_visible(False)
    for ax, (name, row) in zip(axes.flat, summary.items(), strict=False):
        for key, side in zip(("main", "ceiling"), sides(name), strict=True):
            curve = {float(p): v for p, v in row[side]["curve_ms"].items() if v is not None}
            ps = sorted(curve)
            # x: "nines" (log of 1/(1-p)), so the tail gets room
            xs = [math.log10(100 / (100 - p)) for p in ps]
            ax.plot(xs, [curve[p] for p in ps], marker="o", ms=3, color=COLOURS[key], label=side)
        ticks = [50, 90, 99, 99.9]
        ax.set_xticks([math.log10(100 / (100 - p)) for p in ticks])
        ax.set_xticklabels([f"p{p:g}" for p in ticks], fontsize=8)
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("ms", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(
        f"Latency percentiles (median of runs; {report.get('backend', 'sqlite')}): wrk request "
        "latency, or send -> receive for WebSocket scenarios",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
    )
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()
    report = json.loads(args.results.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    for kind, render in (("throughput", throughput), ("latency", latency)):
        path = args.out / f"{args.prefix}{kind}.png"
        render(report, path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
