"""`hubbub copy-data` moves a SQLite deployment to PostgreSQL with nothing lost."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

from hubbub.store.copy import DERIVED, PER_DATABASE, SHARED_KEYS, TABLES
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
        # Rows of the later tables: a ban (and its audit entry), an invite, a mute.
        other = httpx.post(
            f"{old.url}{API}/rooms", headers=alice, json={"name": "club", "visibility": "public"}
        ).json()
        assert (
            httpx.put(
                f"{old.url}{API}/rooms/{other['id']}/bans/bob", headers=alice, json={"reason": "x"}
            ).status_code
            == 204
        )
        invite = httpx.post(f"{old.url}{API}/invites", headers=alice, json={}).json()
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
        # The deployment's keys came along (links and push subscriptions signed before the
        # copy still verify), and no key of the source's meta was left behind.
        with sqlite3.connect(tmp_path / "old.db") as conn:
            source_meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        with psycopg.connect(pg_url) as pg:
            dest_meta: dict[str, str] = dict(pg.execute("SELECT key, value FROM meta").fetchall())
        assert set(source_meta) == {"deployment_id", *SHARED_KEYS}
        assert {k: dest_meta.get(k) for k in source_meta} == source_meta

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
            assert texts == ["m0", "", "m2", "m3", "m4", "keyed", "classic"]  # m1: deleted
            nxt = httpx.post(
                f"{new.url}{API}/rooms/{room['id']}/messages",
                headers=alice,
                json={"text": "on postgres"},
            ).json()
            assert nxt["seq"] == 7
            # The search index is rebuilt from the copied messages as the server starts.
            deadline = time.monotonic() + 30
            while True:
                found = httpx.get(f"{new.url}{API}/search", headers=bob, params={"q": "keyed"})
                if found.json()["results"] or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert [h["message"]["text"] for h in found.json()["results"]] == ["keyed"]
            assert (
                httpx.get(f"{new.url}{API}/search", headers=bob, params={"q": "m1"}).json()[
                    "results"
                ]
                == []
            )
            assert httpx.get(f"{new.url}/users").json() == {"users": ["superman"]}
            bans = httpx.get(f"{new.url}{API}/rooms/{other['id']}/bans", headers=alice).json()
            assert [b["user"]["username"] for b in bans["bans"]] == ["bob"]
            invites = httpx.get(f"{new.url}{API}/invites", headers=alice).json()["invites"]
            assert [i["code"] for i in invites] == [invite["code"]]
            audit = httpx.get(f"{new.url}{API}/admin/audit", headers=alice).json()["entries"]
            assert "room.ban" in [e["action"] for e in audit]
    finally:
        pg_databases.drop(pg_url)


def test_copy_data_knows_every_table_of_the_schema(tmp_path: Path) -> None:
    """A table added by a migration but not to copy.TABLES would be silently left behind."""
    url = f"sqlite:///{tmp_path / 'h.db'}"
    subprocess.run([sys.executable, "-m", "hubbub", "migrate", "--database-url", url], check=True)
    with sqlite3.connect(tmp_path / "h.db") as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert {r[0] for r in rows} == {t for t, _ in TABLES} | PER_DATABASE | DERIVED
