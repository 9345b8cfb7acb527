"""`hubbub backup` under write load and `hubbub restore`: every write acknowledged before the
backup began is in the restored database, the copy passes an integrity check, restore refuses
while a server has the database open, and clients get a reset instead of resuming."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.server_process import ServerProcess

API = "/api/v1"


def hubbub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubbub", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Writer(threading.Thread):
    """Sends messages as fast as the server takes them, noting when each was acknowledged."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.acked: list[tuple[float, str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=10) as http:
            n = 0
            while not self.stop.is_set():
                text = f"load {n}"
                r = http.post(f"{API}/rooms/general/messages", json={"text": text})
                if r.status_code == 201:
                    self.acked.append((time.monotonic(), text))
                n += 1


def test_a_backup_under_load_restores_every_write_acknowledged_before_it(
    tmp_path: Path,
) -> None:
    database = tmp_path / "hubbub.db"
    url = f"sqlite:///{database}"
    copy = tmp_path / "backups" / "hubbub-backup.db"
    with ServerProcess(url) as server:
        r = httpx.post(
            f"{server.url}{API}/accounts", json={"username": "alice", "password": "fuzz-pass-1"}
        )
        token = r.json()["token"]
        old_cursor = httpx.get(
            f"{server.url}{API}/events", headers={"Authorization": f"Bearer {token}"}
        ).json()["next"]
        writer = Writer(server.url, token)
        writer.start()
        # A backlog of writes (waited for, not slept for: a loaded machine writes slowly),
        # and the writes keep coming during the backup.
        deadline = time.monotonic() + 30
        while len(writer.acked) <= 20:
            assert time.monotonic() < deadline, "the writer wrote too little in 30 s"
            time.sleep(0.05)
        started = time.monotonic()
        result = hubbub("backup", str(copy), "--database-url", url)
        after = len(writer.acked)
        deadline = time.monotonic() + 30
        while len(writer.acked) <= after:  # at least one write after the backup, too
            assert time.monotonic() < deadline, "the writer stopped writing"
            time.sleep(0.05)
        writer.stop.set()
        writer.join(10)
        assert result.returncode == 0, result.stderr
        assert "integrity check: ok" in result.stdout
        assert "100%" in result.stderr  # progress was shown
        before = [text for at, text in writer.acked if at < started]
        assert len(before) > 20, "the writer should have had time to write"
        # Restoring while the server runs is refused, and changes nothing.
        refused = hubbub("restore", str(copy), "--database-url", url)
        assert refused.returncode == 1
        assert "stop it" in refused.stderr
        assert len(writer.acked) > len(before)  # writes continued during the backup

    result = hubbub("restore", str(copy), "--database-url", url)
    assert result.returncode == 0, result.stderr
    assert "new deployment id" in result.stdout
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with ServerProcess(url) as server:
        headers = {"Authorization": f"Bearer {token}"}
        texts: set[str] = set()
        after = 0
        while True:
            page = httpx.get(
                f"{server.url}{API}/rooms/general/messages",
                headers=headers,
                params={"after": after, "limit": 200},
            ).json()
            texts.update(m["text"] for m in page["messages"])
            if not page["has_more_after"]:
                break
            after = page["messages"][-1]["seq"]
        missing = [t for t in before if t not in texts]
        assert missing == []
        # The log was rewound: a client's old cursor gets a reset, not a silent gap.
        r = httpx.get(
            f"{server.url}{API}/events", headers=headers, params={"since": old_cursor, "timeout": 0}
        )
        assert r.status_code == 410
        assert r.json()["code"] == "cursor_expired"


def test_restore_refuses_what_is_not_a_hubbub_backup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hubbub.db'}"
    assert hubbub("migrate", "--database-url", url).returncode == 0
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    result = hubbub("restore", str(junk), "--database-url", url)
    assert result.returncode == 1
    assert "not a readable SQLite database" in result.stderr or "damaged" in result.stderr
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    result = hubbub("restore", str(other), "--database-url", url)
    assert result.returncode == 1
    assert "not a hubbub database" in result.stderr
    assert hubbub("backup", str(tmp_path / "b.db"), "--database-url", url).returncode == 0
    again = hubbub("backup", str(tmp_path / "b.db"), "--database-url", url)
    assert again.returncode == 1
    assert "exists already" in again.stderr


def test_postgres_backups_are_pg_dump(tmp_path: Path) -> None:
    result = hubbub("backup", str(tmp_path / "x"), "--database-url", "postgresql://u@127.0.0.1/db")
    assert result.returncode == 2
    assert "pg_dump" in result.stderr
    assert "new-deployment-id" in result.stderr
