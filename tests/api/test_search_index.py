"""The search index follows every path that removes or rewrites message text (the redaction
rule): delete, edit, retention and account erasure leave no trace of the old words in the
index's own tables, on both engines; messages older than the index are indexed by the
backfill (on a released database too: tests/test_migrations.py); and `around=` opens a
room's history at a hit."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from hubbub.app import create_app, open_store
from hubbub.config import Settings
from hubbub.services import Services
from hubbub.store import Tx
from hubbub.store import search as search_q
from tests.api.conftest import API, Account, assert_problem, sign_up
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio

WORD = "zanzibarquux"  # one token, in nothing else the tests store
DAY = 86_400.0


def _index_tables(tx: Tx) -> list[str]:
    if tx.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'search%'"
    else:
        sql = (
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename LIKE 'search%'"
        )
    return sorted(str(r[0]) for r in tx.fetchall(sql))


async def index_rows_holding(settings: Settings, needle: str) -> list[tuple[str, str]]:
    """Every row of the index's tables (on SQLite: its postings too, raw blobs included)
    whose text or bytes hold `needle`."""

    def scan(tx: Tx) -> list[tuple[str, str]]:
        tables = _index_tables(tx)
        assert "search_docs" in tables
        if tx.dialect == "sqlite":
            assert "search_postings" in tables
        found = []
        for table in tables:
            for row in tx.fetchall(f"SELECT * FROM {table}"):
                raw = b"".join(v for v in row if isinstance(v, bytes))
                if needle in str(row) or needle.encode() in raw:
                    found.append((table, str(row)[:200]))
        return found

    store = await open_store(settings)
    try:
        return await store.read(scan)
    finally:
        await store.close()


async def hits(account: Account, q: str) -> list[str]:
    r = await account.get("/search", params={"q": q, "scope": "all"})
    assert r.status_code == 200, r.text
    return [h["message"]["text"] for h in r.json()["results"]]


async def test_a_deleted_message_leaves_the_index_at_once(
    alice: Account, settings: Settings
) -> None:
    sent = await alice.send("general", f"the {WORD} plan")
    await alice.send("general", "something else entirely")
    assert await index_rows_holding(settings, WORD) != []  # the check below can fail
    assert (await alice.delete(f"/messages/{sent['id']}")).status_code == 204
    assert await hits(alice, WORD) == []
    assert await index_rows_holding(settings, WORD) == []
    assert await hits(alice, "entirely") == ["something else entirely"]


async def test_an_edit_leaves_only_the_new_words_in_the_index(
    alice: Account, settings: Settings
) -> None:
    sent = await alice.send("general", f"first {WORD}")
    r = await alice.patch(f"/messages/{sent['id']}", {"text": "second thoughts"})
    assert r.status_code == 200
    assert await index_rows_holding(settings, WORD) == []
    assert await hits(alice, WORD) == []
    assert await hits(alice, "second") == ["second thoughts"]


async def test_erasing_an_account_with_its_messages_empties_their_index(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await sign_up(client, "root")  # the first account, the server admin, can't go
    alice, bob = await sign_up(client, "alice"), await sign_up(client, "bob")
    await alice.send("general", f"alice says {WORD}")
    await bob.send("general", "bob says hello")
    r = await client.request(
        "DELETE",
        f"{API}/me",
        json={"password": "correct horse", "erase_messages": True},
        headers=alice.headers,
    )
    assert r.status_code == 204
    assert await hits(bob, WORD) == []
    assert await index_rows_holding(settings, WORD) == []
    assert await hits(bob, "says") == ["bob says hello"]


@pytest.fixture
async def timed(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, FakeClock, Services]]:
    """The app on a FakeClock, with sweeps only when a test runs one."""
    clock = FakeClock()
    configured = settings.replace(session_idle_days=365, retention_sweep_interval="3650d")
    app = create_app(configured, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client, clock, app.state.services


async def test_retention_removes_pruned_messages_from_the_index(
    timed: tuple[httpx.AsyncClient, FakeClock, Services], settings: Settings
) -> None:
    client, clock, services = timed
    alice = await sign_up(client, "alice")
    room = await alice.create_room("ephemeral")
    assert (await alice.patch(f"/rooms/{room['id']}", {"retention_days": 1})).status_code == 200
    await alice.send(room["id"], f"old {WORD}")
    clock.advance(2 * DAY)
    await alice.send(room["id"], "fresh news")
    await services.retention.sweep()
    assert await hits(alice, WORD) == []
    assert await index_rows_holding(settings, WORD) == []
    assert await hits(alice, "fresh") == ["fresh news"]


async def test_messages_older_than_the_index_are_found_after_the_backfill(
    alice: Account, settings: Settings
) -> None:
    """As after migration 0012 on a database with history: the index starts empty and the
    backfill (which the server runs at start) indexes every live message, in batches."""
    kept = [await alice.send("general", f"history {i} {WORD}") for i in range(5)]
    gone = await alice.send("general", f"deleted {WORD}")
    assert (await alice.delete(f"/messages/{gone['id']}")).status_code == 204

    def forget(tx: Tx) -> None:
        if tx.dialect == "sqlite":
            tx.execute("DELETE FROM search_postings")
        tx.execute("DELETE FROM search_docs")
        tx.execute("UPDATE search_state SET backfill_after = '', backfill_done = FALSE")

    store = await open_store(settings)
    try:
        await store.write(forget)
        assert await hits(alice, WORD) == []
        fresh = await alice.send("general", f"written meanwhile {WORD}")  # indexed by its write
        batches = 0
        while await store.write(functools.partial(search_q.backfill_batch, limit=2)):
            batches += 1
        assert batches >= 3  # six messages (and the others of the room), two at a time
        assert await store.write(search_q.backfill_batch) == 0  # done, and remembered
    finally:
        await store.close()
    assert await hits(alice, WORD) == [m["text"] for m in reversed([*kept, fresh])]


# -- around: jumping to a message ---------------------------------------------------------


async def page(account: Account, room_id: str, **params: Any) -> dict[str, Any]:
    r = await account.get(f"/rooms/{room_id}/messages", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def seqs(body: dict[str, Any]) -> list[int]:
    return [m["seq"] for m in body["messages"]]


async def test_around_centres_the_page_on_the_seq(alice: Account) -> None:
    room = await alice.create_room("long")
    for i in range(1, 21):
        await alice.send(room["id"], f"m{i}")
    body = await page(alice, room["id"], around=10, limit=5)
    assert seqs(body) == [8, 9, 10, 11, 12]
    assert (body["has_more_before"], body["has_more_after"]) == (True, True)
    body = await page(alice, room["id"], around=10, limit=4)
    assert seqs(body) == [9, 10, 11, 12]
    # At either end the page fills from the other side.
    body = await page(alice, room["id"], around=2, limit=5)
    assert seqs(body) == [1, 2, 3, 4, 5]
    assert (body["has_more_before"], body["has_more_after"]) == (False, True)
    body = await page(alice, room["id"], around=19, limit=5)
    assert seqs(body) == [16, 17, 18, 19, 20]
    assert (body["has_more_before"], body["has_more_after"]) == (True, False)
    body = await page(alice, room["id"], around=500, limit=3)
    assert seqs(body) == [18, 19, 20]
    body = await page(alice, room["id"], around=0, limit=3)
    assert seqs(body) == [1, 2, 3]
    body = await page(alice, room["id"], around=7, limit=50)
    assert seqs(body) == list(range(1, 21))
    assert (body["has_more_before"], body["has_more_after"]) == (False, False)
    body = await page(alice, room["id"], around=7, limit=1)
    assert seqs(body) == [7]


async def test_around_a_search_hit_shows_it_in_its_room(alice: Account) -> None:
    room = await alice.create_room("context")
    for i in range(1, 8):
        await alice.send(room["id"], "the needle" if i == 4 else f"hay {i}")
    [hit] = (await alice.get("/search", params={"q": "needle"})).json()["results"]
    body = await page(alice, hit["room"]["id"], around=hit["message"]["seq"], limit=3)
    assert [m["text"] for m in body["messages"]] == ["hay 3", "the needle", "hay 5"]


async def test_around_in_an_empty_room_and_with_other_parameters(alice: Account) -> None:
    room = await alice.create_room("empty")
    body = await page(alice, room["id"], around=5)
    assert body == {"messages": [], "has_more_before": False, "has_more_after": False}
    for extra in ({"before": 3}, {"after": 3}, {"top_level": "true"}):
        r = await alice.get(f"/rooms/{room['id']}/messages", params={"around": 1, **extra})
        assert_problem(r, 422, "invalid")
    r = await alice.get(f"/rooms/{room['id']}/messages", params={"around": -1})
    assert_problem(r, 422, "invalid")


async def test_around_in_a_private_room_you_are_not_in_is_404(alice: Account, bob: Account) -> None:
    room = await alice.create_room("secret", "private")
    await alice.send(room["id"], "hidden")
    r = await bob.get(f"/rooms/{room['id']}/messages", params={"around": 1})
    assert_problem(r, 404, "room_not_found")
