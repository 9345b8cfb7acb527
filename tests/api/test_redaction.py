"""Deleted means deleted: after a delete or an edit, the old text is in no table, no event
payload and no stored answer, on both engines; on SQLite, not in the database's files either.

The scan reads every table of the schema, so a later feature that copies message text
somewhere new (an index, a queue) fails here until it follows the rule in
docs/architecture.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from asgi_lifespan import LifespanManager

from hubbub.app import create_app, open_store
from hubbub.config import Settings
from hubbub.store import Tx
from tests.api.conftest import Account, sign_up

pytestmark = pytest.mark.anyio

T = TypeVar("T")
SECRET = "my password is hunter2"
SECOND = "second thoughts: swordfish"


def _tables(tx: Tx) -> list[str]:
    if tx.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    return sorted(str(r[0]) for r in tx.fetchall(sql))


async def rows_containing(settings: Settings, *needles: str) -> list[tuple[str, Any]]:
    """Every row, of every table, whose text holds one of `needles`."""

    def scan(tx: Tx) -> list[tuple[str, Any]]:
        found = []
        tables = _tables(tx)
        assert {"messages", "events", "idempotency_keys", "reactions"} <= set(tables)
        for table in tables:
            for row in tx.fetchall(f"SELECT * FROM {table}"):
                if any(needle in str(row) for needle in needles):
                    found.append((table, row))
        return found

    return await _read(settings, scan)


async def _read(settings: Settings, fn: Callable[[Tx], T]) -> T:
    store = await open_store(settings)
    try:
        return await store.read(fn)
    finally:
        await store.close()


async def event_count(settings: Settings) -> int:
    row = await _read(settings, lambda tx: tx.fetchone("SELECT COUNT(*) FROM events"))
    assert row is not None
    return int(row[0])


async def post_react_edit(alice: Account, bob: Account) -> tuple[str, str, dict[str, Any]]:
    """A private room where alice posts the secret (with an Idempotency-Key), bob reacts,
    alice edits it. Returns the room id, the cursor from before the post, and the message."""
    room = await alice.create_room("secrets", "private")
    assert (await alice.put(f"/rooms/{room['id']}/members/bob")).status_code == 201
    head = await alice.get("/events", params={"timeout": 0})
    assert head.status_code == 200
    before = str(head.json()["next"])
    sent = await alice.post(
        f"/rooms/{room['id']}/messages", {"text": SECRET}, headers={"Idempotency-Key": "k1"}
    )
    assert sent.status_code == 201
    message = dict(sent.json())
    assert (await bob.put(f"/messages/{message['id']}/reactions/%F0%9F%99%88")).status_code == 204
    assert (await alice.patch(f"/messages/{message['id']}", {"text": SECOND})).status_code == 200
    return room["id"], before, message


async def test_a_delete_leaves_no_copy_of_any_version_of_the_text(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    alice, bob = await sign_up(client, "alice"), await sign_up(client, "bob")
    _, _, message = await post_react_edit(alice, bob)
    # The check can fail: the current text is stored in more than one place now.
    assert {t for t, _ in await rows_containing(settings, SECOND)} >= {"messages", "events"}
    events_before = await event_count(settings)
    assert (await alice.delete(f"/messages/{message['id']}")).status_code == 204
    assert await rows_containing(settings, SECRET, SECOND, "hunter2", "swordfish") == []
    # Positions stay (rewritten in place); the delete adds its own message.deleted.
    assert await event_count(settings) == events_before + 1


async def test_an_edit_leaves_no_copy_of_the_old_text(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    alice, bob = await sign_up(client, "alice"), await sign_up(client, "bob")
    _, _, message = await post_react_edit(alice, bob)
    assert await rows_containing(settings, "hunter2") == []
    found = await alice.get(f"/messages/{message['id']}")
    assert found.json()["text"] == SECOND


async def test_resuming_from_before_the_post_shows_only_the_redacted_forms(
    client: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(client, "alice"), await sign_up(client, "bob")
    room_id, before, message = await post_react_edit(alice, bob)
    assert (await alice.delete(f"/messages/{message['id']}")).status_code == 204
    for reader in (alice, bob):
        r = await reader.get("/events", params={"since": before, "timeout": 0})
        assert r.status_code == 200
        assert "hunter2" not in r.text
        assert "swordfish" not in r.text
        mine = [e for e in r.json()["events"] if e["room_id"] == room_id and "seq" in str(e)]
        kinds = [e["type"] for e in mine]
        # created (as the tombstone), the reaction and the edit (each now message.deleted),
        # and the delete itself: four positions, as before the delete.
        assert kinds == ["message.created"] + ["message.deleted"] * 3, kinds
        created = mine[0]["data"]
        assert (created["deleted"], created["text"], created["reactions"]) == (True, "", [])
        assert {e["data"]["id"] for e in mine[1:]} == {message["id"]}


async def test_resuming_after_an_edit_shows_only_the_new_text(client: httpx.AsyncClient) -> None:
    alice, bob = await sign_up(client, "alice"), await sign_up(client, "bob")
    room_id, before, message = await post_react_edit(alice, bob)
    r = await bob.get("/events", params={"since": before, "timeout": 0})
    assert r.status_code == 200
    assert "hunter2" not in r.text
    mine = [e for e in r.json()["events"] if e["room_id"] == room_id]
    texts = [e["data"]["text"] for e in mine if e["type"].startswith("message.")]
    assert texts == [SECOND, SECOND]  # the creation and the edit, both as the message is now
    assert message["text"] == SECRET


# -- on disk (SQLite) -------------------------------------------------------------------------


def _files_holding(directory: Path, needle: bytes) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.is_file() and needle in p.read_bytes())


async def test_sqlite_files_hold_no_deleted_text_after_the_flush_window(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'hubbub.db'}",
        password_hashing="fast",
        rate_limits="off",
        redact_flush_seconds=1.0,
    )
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hubbub.test") as client:
            alice, bob = await sign_up(client, "alice"), await sign_up(client, "bob")
            _, _, message = await post_react_edit(alice, bob)
            # The WAL holds both versions now: the check below can fail.
            assert _files_holding(tmp_path, b"hunter2") != []
            assert (await alice.delete(f"/messages/{message['id']}")).status_code == 204
            deadline = asyncio.get_running_loop().time() + 5
            while _files_holding(tmp_path, b"hunter2") or _files_holding(tmp_path, b"swordfish"):
                assert asyncio.get_running_loop().time() < deadline, _files_holding(
                    tmp_path, b"hunter2"
                )
                await asyncio.sleep(0.2)
            # ... and the server still works, with its data.
            assert (await alice.get(f"/messages/{message['id']}")).json()["deleted"] is True
