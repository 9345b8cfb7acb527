"""Smoke test of bench/search.py (#16): the search benchmark at its smallest size writes a
report with a latency for every kind of query, each kind finding something, and the
latency of deletes and edits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.bench, pytest.mark.timeout(300)]


def test_the_search_benchmark_runs_at_its_smallest_size(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "search.py"), "--quick", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    [result] = list(tmp_path.glob("search-*.json"))
    report = json.loads(result.read_text())
    assert report["messages"] == 2000
    assert report["engine"] == "sqlite"
    assert set(report["kinds"]) == {
        "word",
        "two words",
        "phrase",
        "prefix",
        "cjk substring",
        "from filter",
    }
    for kind, row in report["kinds"].items():
        assert 0 < row["p50_ms"] <= row["p99_ms"], kind
        assert row["mean_hits"] > 0, kind
    writes = report["writes"]  # deletes and edits through the store, each its own transaction
    assert 0 < writes["delete_p50_ms"] <= writes["delete_p99_ms"]
    assert 0 < writes["edit_p50_ms"] <= writes["edit_p99_ms"]
    assert writes["appends_per_second"] > 0
