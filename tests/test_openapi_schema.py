"""Fuzz the whole API against its own OpenAPI document (schemathesis, fixed seed).

Every response must be documented (status, content type, body schema) and nothing may answer
5xx, whatever the input. Runs schemathesis' CLI against a real server process, signed in.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.server_process import ServerProcess

ST = Path(sys.executable).parent / "st"
CONFIG = Path(__file__).parent / "schemathesis.toml"


def test_api_matches_its_openapi_document(tmp_path: Path) -> None:
    with ServerProcess(f"sqlite:///{tmp_path / 'h.db'}") as server:
        # The account schemathesis.toml signs in with, and some data to find.
        token = httpx.post(
            f"{server.url}/api/v1/accounts",
            json={"username": "fuzzer", "password": "fuzz-pass-1"},
        ).json()["token"]
        httpx.post(
            f"{server.url}/api/v1/rooms/general/messages",
            json={"text": "seed"},
            headers={"Authorization": f"Bearer {token}"},
        )
        result = subprocess.run(
            [
                str(ST),
                "--config-file",
                str(CONFIG),
                "run",
                f"{server.url}/openapi.json",
                "--max-examples",
                "25",
                "--seed",
                "20261126",
                "--request-timeout",
                "10",
                "--generation-database",
                "none",
                "--no-color",
                # One worker: CPython 3.11.7's ast.parse (used by hypothesis) is not
                # thread-safe ("AST constructor recursion depth mismatch").
                "--workers",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
    assert result.returncode == 0, result.stdout[-15000:]
    assert "passed" in result.stdout.lower() or "no issues" in result.stdout.lower(), result.stdout
