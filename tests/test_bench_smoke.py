"""Smoke test of the benchmarks: each runs at its smallest size and writes sane results.

bench/realtime.py --quick (fan-out, rooms, latency and idle connections, against hubbub and
the bare ASGI WebSocket server) and bench/classic.py --quick (wrk against hubbub and a bare ASGI
app) run as subprocesses, each writing its results JSON into a temporary folder; so does
bench/run.py --quick --scenario all (`make bench`: every named scenario, tiny sizes, ~30 s).
They need `taskset` (util-linux) and `wrk`, and CPUs 0 and 1; without the tools this test is
skipped, unless HUBBUB_TEST_REQUIRE_SERVICES is set, when it fails instead.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"

pytestmark = pytest.mark.timeout(300)


def _require_tools() -> None:
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if not missing:
        return
    why = f"the benchmark smoke test needs {' and '.join(missing)}"
    why += " (apt-get install -y wrk util-linux)"
    if os.environ.get("HUBBUB_TEST_REQUIRE_SERVICES"):
        pytest.fail(f"{why}, and HUBBUB_TEST_REQUIRE_SERVICES is set")
    pytest.skip(f"{why}; set HUBBUB_TEST_REQUIRE_SERVICES=1 to fail instead of skipping")


def _run(script: str, out_dir: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args, "--out-dir", str(out_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    log = f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    assert done.returncode == 0, f"{script} exited {done.returncode}\n{log}"
    results = list(out_dir.glob("*.json"))
    assert len(results) == 1, f"expected one results file in {out_dir}, found {results}\n{log}"
    report: dict[str, Any] = json.loads(results[0].read_text())
    return report


def _positive(row: dict[str, Any], key: str) -> float:
    value = row[key]
    assert isinstance(value, int | float), (key, value)
    assert math.isfinite(value), (key, value)
    assert value > 0, (key, value, row)
    return float(value)


def test_realtime_quick(tmp_path: Path) -> None:
    _require_tools()
    report = _run("realtime.py", tmp_path, "--quick", "--scenario", "all")
    rows = {row["scenario"]: row for row in report["summary"]}
    assert set(rows) == {"fanout", "rooms", "latency", "idle", "connections"}
    for name in ("fanout", "rooms", "latency", "idle"):
        row = rows[name]
        assert row["lost"] == {"bare": 0, "hubbub": 0}, row
        for server in ("bare", "hubbub"):
            assert row[f"{server}_delivered"] == row[f"{server}_expected"] > 0, row
            _positive(row, f"{server}_deliveries_per_s")
            p50 = _positive(row, f"{server}_p50_ms")
            assert _positive(row, f"{server}_p99_ms") >= p50
            _positive(row, f"{server}_cpu_us_per_delivery")
        _positive(row, "throughput_ratio")
        _positive(row, "cpu_ratio")
    conns = rows["connections"]
    for server in ("bare", "hubbub"):
        assert conns[f"{server}_connections"] > 0
        _positive(conns, f"{server}_rss_before_kb")
        assert conns[f"{server}_rss_after_kb"] > conns[f"{server}_rss_before_kb"], conns
        _positive(conns, f"{server}_kb_per_conn")
    for sample in report["samples"]:
        assert sample.get("send_errors", 0) == 0, sample
        assert not sample["closes"], sample  # no connection closed or lost mid-run


def test_classic_quick(tmp_path: Path) -> None:
    _require_tools()
    report = _run("classic.py", tmp_path, "--quick")
    assert {row["endpoint"] for row in report["summary"]} == {"GET /messages", "POST /message"}
    for row in report["summary"]:
        for server in ("bare", "hubbub"):
            _positive(row, f"{server}_rps")
            _positive(row, f"{server}_p50_ms")
            _positive(row, f"{server}_cpu_us_per_req")
        _positive(row, "ratio")
    assert all(s["non_2xx"] == 0 for s in report["samples"]), report["samples"]
    assert all(check["ok"] for check in report["sanity"]), report["sanity"]


def test_make_bench_quick(tmp_path: Path) -> None:
    """`make bench` (bench/run.py) at its smallest: every scenario measured, sane JSON."""
    _require_tools()
    report = _run("run.py", tmp_path, "--quick", "--scenario", "all")
    summary = report["summary"]
    expected = {"classic-post", "classic-read", "send", "send-mentions", "send-thread", "history"}
    expected |= {"fanout", "rooms", "latency", "idle", "connections"}
    expected |= {"upload", "download"}
    assert set(summary) == expected, sorted(summary)  # redis-hop needs PostgreSQL + Redis URLs
    for name, row in summary.items():
        for server in ("hubbub", "bare"):
            metrics = row[server]
            assert metrics["runs"] == 1, (name, metrics)
            assert metrics["errors"] == 0, (name, metrics)
            _positive(metrics, "throughput")
            _positive(metrics, "rss_mb")
            if name != "connections":
                p50 = _positive(metrics, "p50_ms")
                assert _positive(metrics, "p99_ms") >= p50, (name, metrics)
                _positive(metrics, "cpu_us_per_op")
        _positive(row, "ratio")
    if {0, 1} <= os.sched_getaffinity(0):
        assert "different cores" in report["environment"]["pinning"], report["environment"]
    assert len(report["results"]) == 2 * len(expected)
    upload = summary["upload"]
    _positive(upload, "send_p99_ms_alone")
    _positive(upload, "send_p99_ms_during_uploads")


@pytest.mark.redis  # starts a throwaway redis-server
def test_make_bench_workers_quick(tmp_path: Path) -> None:
    """The workers scenario at its smallest: 1 and 2 workers (on a throwaway Redis) and the
    ceiling, each measured on send and fan-out without errors."""
    _require_tools()
    report = _run("run.py", tmp_path, "--quick", "--scenario", "workers")
    summary = report["summary"]
    assert set(summary) == {"workers-send", "workers-fanout"}, sorted(summary)
    for name, row in summary.items():
        for server in ("workers-2", "workers-1", "bare"):
            metrics = row[server]
            assert metrics["runs"] == 1, (name, metrics)
            assert metrics["errors"] == 0, (name, metrics)
            _positive(metrics, "throughput")
            _positive(metrics, "cpu_us_per_op")
        _positive(row, "ratio")
    assert len(report["results"]) == 6
