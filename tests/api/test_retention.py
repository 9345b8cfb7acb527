"""Retention: per-room and server-wide message windows erase for good, the event log is pruned
with an explicit reset for older cursors, and the sweep is periodic, bounded and idempotent.
Time is a FakeClock; both engines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hubbub.app import create_app, open_store
from hubbub.config import Settings
from hubbub.services import Services
from hubbub.services.retention import BATCH
from tests.api.conftest import Account, assert_problem, sign_up
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio

DAY = 86_400.0


@dataclass
class Server:
    app: FastAPI
    client: httpx.AsyncClient
    clock: FakeClock
    settings: Settings

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services


async def running(settings: Settings, clock: FakeClock) -> AsyncIterator[Server]:
    # Sessions outlive the month these tests skip over; the periodic sweep waits for ten
    # years unless a test sets it, so the sweeps a test runs itself are the only ones.
    changes: dict[str, Any] = {"session_idle_days": 365}
    if settings.retention_sweep_interval == Settings().retention_sweep_interval:
        changes["retention_sweep_interval"] = "3650d"
    settings = settings.replace(**changes)
    app = create_app(settings, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Server(app, client, clock, settings)


@pytest.fixture
async def server(settings: Settings, clock: FakeClock) -> AsyncIterator[Server]:
    async for s in running(settings, clock):
        yield s


@pytest.fixture
async def server_30d(settings: Settings, clock: FakeClock) -> AsyncIterator[Server]:
    """Messages kept 30 days by default; the sweep every 10 minutes."""
    configured = settings.replace(message_retention="30d", retention_sweep_interval="10m")
    async for s in running(configured, clock):
        yield s


async def texts(account: Account, room_id: str, **params: Any) -> tuple[list[str], bool]:
    r = await account.get(f"/rooms/{room_id}/messages", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    return [m["text"] for m in body["messages"]], body["has_more_before"]


async def stored_text(settings: Settings, needle: str) -> list[str]:
    """The tables whose rows hold `needle`."""
    store = await open_store(settings)
    try:

        def scan(tx: Any) -> list[str]:
            found = []
            for table in ("messages", "events", "idempotency_keys"):
                for row in tx.fetchall(f"SELECT * FROM {table}"):
                    if needle in str(row):
                        found.append(table)
            return found

        return list(await store.read(scan))
    finally:
        await store.close()


# -- the room setting -------------------------------------------------------------------------


async def test_retention_days_is_set_by_owner_or_admin_and_shown_on_the_room(
    server: Server,
) -> None:
    alice, bob = await sign_up(server.client, "alice"), await sign_up(server.client, "bob")
    room = await alice.create_room("ephemeral")
    assert room["retention_days"] is None
    r = await alice.patch(f"/rooms/{room['id']}", {"retention_days": 7})
    assert r.status_code == 200, r.text
    assert r.json()["retention_days"] == 7
    assert (await bob.get(f"/rooms/{room['id']}")).json()["retention_days"] == 7
    # Other fields leave it alone; null goes back to the server's default.
    assert (await alice.patch(f"/rooms/{room['id']}", {"topic": "t"})).json()["retention_days"] == 7
    r = await alice.patch(f"/rooms/{room['id']}", {"retention_days": None})
    assert r.json()["retention_days"] is None


@pytest.mark.parametrize("value", [0, -1, 36501, "7", 1.5, True])
async def test_bad_retention_days_is_422(server: Server, value: Any) -> None:
    alice = await sign_up(server.client, "alice")
    room = await alice.create_room("ephemeral")
    r = await alice.patch(f"/rooms/{room['id']}", {"retention_days": value})
    assert_problem(r, 422, "invalid")
    assert (await alice.get(f"/rooms/{room['id']}")).json()["retention_days"] is None


async def test_only_managers_set_retention_and_never_on_a_dm(server: Server) -> None:
    alice, bob = await sign_up(server.client, "alice"), await sign_up(server.client, "bob")
    room = await alice.create_room("ephemeral")
    assert (await bob.post(f"/rooms/{room['id']}/join")).status_code == 204
    assert_problem(
        await bob.patch(f"/rooms/{room['id']}", {"retention_days": 1}), 403, "not_allowed"
    )
    dm = await alice.post("/dms", {"username": "bob"})
    assert_problem(
        await alice.patch(f"/rooms/{dm.json()['id']}", {"retention_days": 1}), 403, "not_allowed"
    )
    assert (await alice.get(f"/rooms/{room['id']}")).json()["retention_days"] is None


# -- the sweep --------------------------------------------------------------------------------


async def test_messages_past_the_room_window_are_erased_and_history_starts_later(
    server: Server,
) -> None:
    alice, bob = await sign_up(server.client, "alice"), await sign_up(server.client, "bob")
    room = await alice.create_room("ephemeral")
    assert (await bob.post(f"/rooms/{room['id']}/join")).status_code == 204
    old = [await alice.send(room["id"], f"old secret {i}") for i in range(3)]
    await alice.post(
        f"/rooms/{room['id']}/messages",
        {"text": "old keyed secret"},
        headers={"Idempotency-Key": "k-old"},
    )
    assert (await bob.put(f"/messages/{old[0]['id']}/reactions/x")).status_code == 204
    server.clock.advance(2 * DAY)
    new = [await alice.send(room["id"], f"new {i}") for i in range(2)]
    assert (await alice.patch(f"/rooms/{room['id']}", {"retention_days": 1})).status_code == 200
    assert (await bob.get("/rooms")).json()["rooms"]  # bob has 6 unread now
    swept = await server.services.retention.sweep()
    assert swept.messages == 4
    assert await texts(bob, room["id"]) == (["new 0", "new 1"], False)
    assert await texts(bob, room["id"], before=new[0]["seq"]) == ([], False)
    assert await texts(bob, room["id"], after=0, limit=1) == (["new 0"], False)
    r = await bob.get(f"/messages/{old[0]['id']}")
    assert_problem(r, 404, "message_not_found")
    mine = next(r for r in (await bob.get("/rooms")).json()["rooms"] if r["id"] == room["id"])
    assert mine["unread_count"] == 2  # exact: only what is still there
    assert await stored_text(server.settings, "old secret") == []
    assert await stored_text(server.settings, "old keyed secret") == []
    # The key is forgotten with its message: reusing it sends anew.
    again = await alice.post(
        f"/rooms/{room['id']}/messages",
        {"text": "old keyed secret"},
        headers={"Idempotency-Key": "k-old"},
    )
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    # A second sweep finds nothing more (idempotent).
    assert (await server.services.retention.sweep()).messages == 0


async def test_the_server_default_applies_to_rooms_without_their_own(server_30d: Server) -> None:
    s = server_30d
    alice = await sign_up(s.client, "alice")
    default = await alice.create_room("default")
    longer = await alice.create_room("longer")
    assert (await alice.patch(f"/rooms/{longer['id']}", {"retention_days": 60})).status_code == 200
    for room in (default, longer):
        await alice.send(room["id"], "from the old days")
    s.clock.advance(31 * DAY)
    await alice.send(default["id"], "recent")
    await s.services.retention.sweep()
    assert await texts(alice, default["id"]) == (["recent"], False)
    assert await texts(alice, longer["id"]) == (["from the old days"], False)


async def test_the_periodic_sweep_runs_on_its_interval(server_30d: Server) -> None:
    s = server_30d
    alice = await sign_up(s.client, "alice")
    room = await alice.create_room("r")
    await alice.send(room["id"], "soon gone")
    s.clock.advance(30 * DAY + 1)  # many 10-minute sweeps fall due; one suffices
    with anyio.fail_after(10):
        while (await texts(alice, room["id"]))[0]:  # noqa: ASYNC110 - polling the API
            await anyio.sleep(0.02)
    # The sweep counts what it erased once its run is over (after the event-log step too).
    erased = 'hubbub_retention_erased_total{kind="messages"} 1.0'
    with anyio.fail_after(10):
        while erased not in (metrics := (await s.client.get("/metrics")).text):  # noqa: ASYNC110
            await anyio.sleep(0.02)
    assert "hubbub_retention_last_run_timestamp_seconds" in metrics


async def test_erasing_more_than_a_batch_takes_several_bounded_transactions(
    server: Server,
) -> None:
    alice = await sign_up(server.client, "alice")
    room = await alice.create_room("busy")
    for i in range(BATCH + 7):
        await alice.send(room["id"], f"m{i}")
    assert (await alice.patch(f"/rooms/{room['id']}", {"retention_days": 1})).status_code == 200
    server.clock.advance(2 * DAY)
    last = await alice.send(room["id"], "kept")
    assert (await server.services.retention.sweep()).messages == BATCH + 7
    assert await texts(alice, room["id"]) == (["kept"], False)
    assert last["seq"] == BATCH + 8


async def test_concurrent_sweeps_erase_each_message_once(server: Server) -> None:
    """Two nodes may sweep at once: each step is idempotent."""
    alice = await sign_up(server.client, "alice")
    rooms = [await alice.create_room(f"r{i}") for i in range(3)]
    for room in rooms:
        for i in range(5):
            await alice.send(room["id"], f"old {i}")
        await alice.patch(f"/rooms/{room['id']}", {"retention_days": 1})
    server.clock.advance(2 * DAY)
    retention = server.services.retention
    results = await asyncio.gather(*(retention.sweep_messages() for _ in range(3)))
    assert sum(results) >= 15  # a race may redo a batch; none is lost or left
    for room in rooms:
        assert await texts(alice, room["id"]) == ([], False)
        assert (await alice.get(f"/rooms/{room['id']}")).json()["last_seq"] == 5


# -- the event log ----------------------------------------------------------------------------


async def test_events_older_than_event_retention_are_pruned_and_old_cursors_reset(
    server: Server,
) -> None:
    alice = await sign_up(server.client, "alice")
    start = (await alice.get("/events", params={"timeout": 0})).json()["next"]
    await alice.send("general", "an event from long ago")
    server.clock.advance(31 * DAY)
    await alice.send("general", "a recent event")
    middle = (await alice.get("/events", params={"timeout": 0})).json()["next"]
    await alice.send("general", "after the middle")
    assert (await server.services.retention.sweep()).events >= 1
    # The old cursor cannot be resumed without a gap: an explicit reset.
    assert_problem(
        await alice.get("/events", params={"since": start, "timeout": 0}), 410, "cursor_expired"
    )
    # A cursor inside the kept log resumes as ever.
    r = await alice.get("/events", params={"since": middle, "timeout": 0})
    assert r.status_code == 200
    assert [e["data"]["text"] for e in r.json()["events"]] == ["after the middle"]
    assert (await server.services.retention.sweep()).events == 0


async def test_a_quiet_server_prunes_its_whole_log_and_the_head_cursor_still_resumes(
    server: Server,
) -> None:
    alice = await sign_up(server.client, "alice")
    await alice.send("general", "hello")
    head = (await alice.get("/events", params={"timeout": 0})).json()["next"]
    server.clock.advance(31 * DAY)
    await server.services.retention.sweep()
    r = await alice.get("/events", params={"since": head, "timeout": 0})
    assert r.status_code == 200
    assert r.json()["events"] == []
    await alice.send("general", "and again")
    r = await alice.get("/events", params={"since": head, "timeout": 0})
    assert [e["data"]["text"] for e in r.json()["events"]] == ["and again"]


async def test_an_export_expires_after_seven_days_and_its_chunks_go(server: Server) -> None:
    alice = await sign_up(server.client, "alice")
    await alice.send("general", "exported text")
    assert (await alice.post("/me/export")).status_code == 202
    with anyio.fail_after(30):
        while (await alice.get("/me/export")).status_code == 202:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    assert (await alice.get("/me/export")).status_code == 200
    server.clock.advance(7 * DAY - 60)
    assert (await alice.get("/me/export")).status_code == 200
    server.clock.advance(120)
    assert_problem(await alice.get("/me/export"), 404, "export_not_found")
    assert await server.services.exports.purge_expired() == 1
    store = await open_store(server.settings)
    try:
        row = await store.read(lambda tx: tx.fetchone("SELECT COUNT(*) FROM export_chunks"))
    finally:
        await store.close()
    assert row is not None
    assert row[0] == 0
