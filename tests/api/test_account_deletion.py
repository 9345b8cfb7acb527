"""Deleting an account, by its owner (`DELETE /api/v1/me`) or a server admin: sessions end,
personal data goes from every table (event log included), the username stays reserved, and
messages stay as "Deleted user" or are erased as deletes are. Both engines."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hubbub.app import open_store
from hubbub.config import Settings
from hubbub.services.erasure import BATCH, DELETED_NAME
from hubbub.store import Tx
from tests.api.conftest import API, Account, assert_problem, sign_up

pytestmark = pytest.mark.anyio

NAME = "Alice Liddell-Wonder"


async def rows_containing(settings: Settings, needle: str) -> list[tuple[str, str]]:
    """(table, row) of every row whose text holds `needle`."""

    def scan(tx: Tx) -> list[tuple[str, str]]:
        if tx.dialect == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        found = []
        for (table,) in tx.fetchall(sql):
            for row in tx.fetchall(f"SELECT * FROM {table}"):
                if needle in str(row):
                    found.append((str(table), str(row)))
        return found

    store = await open_store(settings)
    try:
        return list(await store.read(scan))
    finally:
        await store.close()


async def delete_me(account: Account, password: str, **body: Any) -> httpx.Response:
    return await account.client.request(
        "DELETE",
        f"{API}/me",
        json={"password": password, **body},
        headers=account.headers,
    )


async def cast(client: httpx.AsyncClient) -> tuple[Account, Account, Account, dict[str, Any]]:
    """root (the server admin), alice with a display name, bob; a room alice owns with bob as
    admin, messages and reactions from both, a DM between them."""
    root = await sign_up(client, "root")
    alice, bob = await sign_up(client, "alice"), await sign_up(client, "bob")
    assert (await alice.patch("/me", {"display_name": NAME})).status_code == 200
    room = await alice.create_room("garden", "private")
    assert (
        await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"})
    ).status_code == 201
    mine = await alice.send(room["id"], "alice was here: the tarts")
    theirs = await bob.send(room["id"], "bob replies")
    assert (await alice.put(f"/messages/{theirs['id']}/reactions/x")).status_code == 204
    assert (await bob.put(f"/messages/{mine['id']}/reactions/y")).status_code == 204
    dm = await alice.post("/dms", {"username": "bob"})
    await alice.send(dm.json()["id"], "psst, bob")
    await alice.send("general", "hello lobby")
    return root, alice, bob, {"room": room, "mine": mine, "dm": dm.json()}


async def test_a_wrong_password_deletes_nothing(client: httpx.AsyncClient) -> None:
    _, alice, _, _ = await cast(client)
    assert_problem(await delete_me(alice, "not it"), 403, "wrong_password")
    assert (await alice.get("/me")).json()["display_name"] == NAME


async def test_deleting_your_account_removes_everything_personal(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    _, alice, bob, world = await cast(client)
    assert await rows_containing(settings, NAME) != []  # the check below can fail
    assert (await delete_me(alice, "correct horse")).status_code == 204
    # Signed out everywhere, and can't sign in.
    assert_problem(await alice.get("/me"), 401, "unauthenticated")
    r = await client.post(
        f"{API}/sessions", json={"username": "alice", "password": "correct horse"}
    )
    assert_problem(r, 401, "invalid_credentials")
    # Nothing of the display name anywhere: tables, event log, stored answers.
    assert await rows_containing(settings, NAME) == []
    # The username survives only as the reservation (users.username_key).
    holders = await rows_containing(settings, "'alice'")
    # ... and as a word of the message "alice was here", which stays, in the search index:
    # PostgreSQL's tsvector quotes each word; SQLite keeps the token in a posting row.
    indexed = [row for t, row in holders if t == "search_docs"]
    assert all(world["mine"]["id"] in str(row) for row in indexed), indexed
    assert [t for t, _ in holders if t not in ("search_docs", "search_postings")] == ["users"]
    assert_problem(await bob.get("/users/alice"), 404, "user_not_found")
    r = await client.post(f"{API}/accounts", json={"username": "ALICE", "password": "x y z w v"})
    assert_problem(r, 409, "username_taken")
    # Messages stay, attributed to "Deleted user".
    found = (await bob.get(f"/messages/{world['mine']['id']}")).json()
    assert found["text"] == "alice was here: the tarts"
    assert found["author"]["display_name"] == DELETED_NAME
    assert found["author"]["username"].startswith("deleted-")
    # Out of rooms (ownership handed to bob), still in the DM.
    room = (await bob.get(f"/rooms/{world['room']['id']}")).json()
    assert room["my_role"] == "owner"
    members = (await bob.get(f"/rooms/{world['room']['id']}/members")).json()["members"]
    assert [m["user"]["username"] for m in members] == ["bob"]
    dm_members = (await bob.get(f"/rooms/{world['dm']['id']}/members")).json()["members"]
    assert sorted(m["user"]["display_name"] for m in dm_members) == ["Deleted user", "bob"]


async def test_erase_messages_erases_them_as_deletes_do(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    _, alice, bob, world = await cast(client)
    r = await delete_me(alice, "correct horse", erase_messages=True)
    assert r.status_code == 204
    for text in ("the tarts", "psst, bob", "hello lobby"):
        assert await rows_containing(settings, text) == []
    found = (await bob.get(f"/messages/{world['mine']['id']}")).json()
    assert (found["deleted"], found["text"]) == (True, "")
    # Bob's own message is untouched.
    texts = [
        m["text"]
        for m in (await bob.get(f"/rooms/{world['room']['id']}/messages")).json()["messages"]
    ]
    assert texts == ["", "bob replies"]


async def test_erasing_more_messages_than_a_batch(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await sign_up(client, "root")
    alice = await sign_up(client, "alice")
    room = await alice.create_room("diary")
    for i in range(BATCH + 5):
        await alice.send(room["id"], f"entry {i:04d}")
    assert (await delete_me(alice, "correct horse", erase_messages=True)).status_code == 204
    assert await rows_containing(settings, "entry 0") == []


async def test_admins_delete_accounts_and_the_last_admin_stays(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    root, alice, bob, _ = await cast(client)
    assert_problem(await bob.delete("/admin/users/alice"), 403, "not_allowed")
    assert_problem(await root.delete("/admin/users/nobody"), 404, "user_not_found")
    assert_problem(await root.delete("/admin/users/root"), 409, "last_admin")
    assert_problem(await delete_me(root, "correct horse"), 409, "last_admin")
    r = await root.delete("/admin/users/alice", params={"erase_messages": "true"})
    assert r.status_code == 204
    assert_problem(await alice.get("/me"), 401, "unauthenticated")
    assert await rows_containing(settings, "the tarts") == []
    assert await rows_containing(settings, NAME) == []
    # Gone from the admin's list; a second delete finds nobody.
    users = (await root.get("/admin/users")).json()["users"]
    assert sorted(u["username"] for u in users) == ["bob", "root"]
    assert_problem(await root.delete("/admin/users/alice"), 404, "user_not_found")
    audit = (await root.get("/admin/audit")).json()["entries"]
    assert audit[0]["action"] == "user.delete_erasing"
