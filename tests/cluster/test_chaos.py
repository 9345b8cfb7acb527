"""The reliability run (bench/chaos.py, `make bench ARGS="--scenario chaos"`) at a tiny size:
two nodes on their own PostgreSQL and Redis, subscribers over all three transports, while a
node is killed, Redis and PostgreSQL are restarted and clients sleep. Nothing acknowledged may
be lost or duplicated, and no valid cursor reset; the run must also see the faults bite
(failed sends that were retried, reconnections on every transport), or it proved nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]


def test_faults_lose_duplicate_and_reset_nothing(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "chaos.py"),
            "--subscribers",
            "9",
            "--rate",
            "8",
            "--phase",
            "3",
            "--nap",
            "4",
            "--out-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (out,) = tmp_path.glob("chaos-*.json")
    result = json.loads(out.read_text())
    assert result["acknowledged"] > 50
    assert result["expected_deliveries"] == result["acknowledged"] * 9
    assert result["delivered"] == result["expected_deliveries"]
    assert (result["lost"], result["duplicated"], result["resets"]) == (0, 0, 0)
    assert result["failed_attempts"] > 0, "no send failed: the faults did not happen"
    for transport, seen in result["by_transport"].items():
        assert seen["breaks"] > 0, f"no {transport} subscriber was ever cut off"
    assert [f["recovered_after_seconds"] is not None for f in result["faults"]] == [True] * 4
