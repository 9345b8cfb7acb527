"""`hubbub copy-data` moves a SQLite deployment to PostgreSQL with nothing lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.backends import Databases
from tests.server_process import ServerProcess

API = "/api/v1"


def test_copy_data_from_sqlite_to_postgres_keeps_everything(
    tmp_path: Path, pg_databases: Databases
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'old.db'}"
    with ServerProcess(sqlite_url) as old:

        def account(name: str) -> dict[str, str]:
            r = httpx.post(
                f"{old.url}{API}/accounts", json={"username": name, "password": "fuzz-pass-1"}
            )
            return {"Authorization": f"Bearer {r.json()['token']}"}

        alice, bob = account("alice"), account("bob")
        room = httpx.post(
            f"{old.url}{API}/rooms", headers=alice, json={"name": "plans", "visibility": "private"}
        ).json()
        httpx.put(f"{old.url}{API}/rooms/{room['id']}/members/bob", headers=alice)
        cursor = httpx.get(f"{old.url}{API}/events", headers=bob).json()["next"]
        sent = [
            httpx.post(
                f"{old.url}{API}/rooms/{room['id']}/messages", headers=alice, json={"text": f"m{i}"}
            ).json()
            for i in range(5)
        ]
        keyed = httpx.post(
            f"{old.url}{API}/rooms/{room['id']}/messages",
            headers={**alice, "Idempotency-Key": "k"},
            json={"text": "keyed"},
        )
        httpx.put(f"{old.url}{API}/messages/{sent[0]['id']}/reactions/👍", headers=bob)
        httpx.delete(f"{old.url}{API}/messages/{sent[1]['id']}", headers=alice)
        httpx.put(f"{old.url}{API}/rooms/{room['id']}/read", headers=bob, json={"seq": 3})
        httpx.post(f"{old.url}/message", json={"user": "superman", "text": "classic"})
        before = httpx.get(f"{old.url}{API}/rooms/{room['id']}/messages", headers=bob).json()
        old_room = httpx.get(f"{old.url}{API}/rooms/{room['id']}", headers=bob).json()

    pg_url = pg_databases.create_empty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "hubbub", "copy-data", "--from", sqlite_url, "--to", pg_url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "copied and verified" in result.stdout
        again = subprocess.run(
            [sys.executable, "-m", "hubbub", "copy-data", "--from", sqlite_url, "--to", pg_url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert again.returncode == 1
        assert "already has accounts" in again.stderr

        with ServerProcess(pg_url) as new:
            signed_in = httpx.post(
                f"{new.url}{API}/sessions", json={"username": "bob", "password": "fuzz-pass-1"}
            )
            assert signed_in.status_code == 201
            assert httpx.get(f"{new.url}{API}/me", headers=bob).status_code == 200  # old token
            after = httpx.get(f"{new.url}{API}/rooms/{room['id']}/messages", headers=bob).json()
            assert after == before
            assert httpx.get(f"{new.url}{API}/rooms/{room['id']}", headers=bob).json() == old_room
            replay = httpx.post(
                f"{new.url}{API}/rooms/{room['id']}/messages",
                headers={**alice, "Idempotency-Key": "k"},
                json={"text": "keyed"},
            )
            assert replay.headers["idempotent-replayed"] == "true"
            assert replay.json() == keyed.json()
            resumed = httpx.get(
                f"{new.url}{API}/events", headers=bob, params={"since": cursor, "timeout": 0}
            )
            assert resumed.status_code == 200
            texts = [
                e["data"]["text"]
                for e in resumed.json()["events"]
                if e["type"] == "message.created"
            ]
            assert texts == ["m0", "m1", "m2", "m3", "m4", "keyed", "classic"]
            nxt = httpx.post(
                f"{new.url}{API}/rooms/{room['id']}/messages",
                headers=alice,
                json={"text": "on postgres"},
            ).json()
            assert nxt["seq"] == 7
            assert httpx.get(f"{new.url}/users").json() == {"users": ["superman"]}
    finally:
        pg_databases.drop(pg_url)
