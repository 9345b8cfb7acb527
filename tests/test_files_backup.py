"""`hubbub backup` / `restore` and `copy-data` carry the files too (a local directory)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hubbub.config import Settings
from tests.api.conftest import sign_up
from tests.api.files_support import png, uploaded
from tests.api.servers import running

pytestmark = pytest.mark.anyio


def hubbub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    return subprocess.run(
        [sys.executable, "-m", "hubbub", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean | (env or {}),
    )


async def make_files(settings: Settings) -> list[dict[str, Any]]:
    """Alice posts a message with a random file and an image; returns the attachments."""
    async with running(settings) as node:
        alice = await sign_up(node.client, "alice")
        room = await alice.create_room("r", "private")
        one = await uploaded(alice, room["id"], os.urandom(100_000), filename="r.bin")
        two = await uploaded(alice, room["id"], png(), filename="p.png")
        sent = await alice.send(room["id"], "files", attachments=[one["id"], two["id"]])
        return [
            dict(a) | {"sha256": u["sha256"]}
            for a, u in zip(sent["attachments"], (one, two), strict=True)
        ]


async def downloads(settings: Settings) -> list[str]:
    """The SHA-256 of each attachment of the newest message, as served (alice signs in)."""
    async with running(settings) as node:
        r = await node.client.post(
            "/api/v1/sessions", json={"username": "alice", "password": "correct horse"}
        )
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        rooms = (await node.client.get("/api/v1/rooms", headers=headers)).json()["rooms"]
        room = next(r for r in rooms if r["name"] == "r")
        page = await node.client.get(f"/api/v1/rooms/{room['id']}/messages", headers=headers)
        found = []
        for attachment in page.json()["messages"][-1]["attachments"]:
            body = await node.client.get(attachment["url"])
            assert body.status_code == 200, body.text
            found.append(hashlib.sha256(body.content).hexdigest())
        return found


async def test_backup_and_restore_carry_the_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(database_url=f"sqlite:///{data / 'hubbub.db'}", password_hashing="fast")
    attachments = await make_files(settings)
    backup = tmp_path / "backups" / "b.db"
    backup.parent.mkdir()
    result = hubbub("backup", str(backup), "--database-url", settings.database_url)
    assert result.returncode == 0, result.stderr
    assert "backed up 3 files" in result.stdout  # two files and a thumbnail
    shutil.rmtree(data / "files")
    result = hubbub("restore", str(backup), "--database-url", settings.database_url)
    assert result.returncode == 0, result.stderr
    assert "restored 3 files" in result.stdout
    assert await downloads(settings) == [a["sha256"] for a in attachments]


async def test_copy_data_copies_the_files_to_the_destination(tmp_path: Path) -> None:
    source = Settings(
        database_url=f"sqlite:///{tmp_path / 'a' / 'hubbub.db'}", password_hashing="fast"
    )
    attachments = await make_files(source)
    dest_db = f"sqlite:///{tmp_path / 'b' / 'hubbub.db'}"
    result = hubbub(
        "copy-data",
        "--from",
        source.database_url,
        "--to",
        dest_db,
        "--files-to",
        str(tmp_path / "b-files"),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "3 copied" in result.stdout
    dest = Settings(
        database_url=dest_db, password_hashing="fast", files_url=str(tmp_path / "b-files")
    )
    shutil.rmtree(tmp_path / "a")
    assert await downloads(dest) == [a["sha256"] for a in attachments]
