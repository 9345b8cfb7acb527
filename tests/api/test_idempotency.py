"""Idempotency-Key on sends: durable, user-scoped, exact replay, 24 h lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
from asgi_lifespan import LifespanManager

from hubbub.app import create_app, open_store
from hubbub.config import Settings
from tests.api.conftest import Account, assert_problem, sign_up
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio


async def send_keyed(account: Account, room: str, text: str, key: str) -> httpx.Response:
    return await account.post(
        f"/rooms/{room}/messages", {"text": text}, headers={"Idempotency-Key": key}
    )


async def test_retry_replays_original_answer_and_creates_nothing(alice: Account) -> None:
    first = await send_keyed(alice, "general", "once", "k-1")
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = await send_keyed(alice, "general", "once", "k-1")
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert (await alice.get("/rooms/general")).json()["last_seq"] == 1


async def test_a_replay_after_an_edit_or_a_delete_never_shows_the_old_text(alice: Account) -> None:
    """Redaction: the stored answer follows the message (docs/architecture.md)."""
    first = await send_keyed(alice, "general", "my password is hunter2", "k-1")
    message_id = first.json()["id"]
    await alice.patch(f"/messages/{message_id}", {"text": "edited since"})
    after_edit = await send_keyed(alice, "general", "my password is hunter2", "k-1")
    assert after_edit.status_code == 201
    assert after_edit.headers["idempotent-replayed"] == "true"
    assert after_edit.json()["id"] == message_id
    assert after_edit.json()["text"] == "edited since"
    assert "hunter2" not in after_edit.text
    assert (await alice.delete(f"/messages/{message_id}")).status_code == 204
    after_delete = await send_keyed(alice, "general", "my password is hunter2", "k-1")
    assert after_delete.status_code == 201
    body = after_delete.json()
    assert (body["id"], body["deleted"], body["text"]) == (message_id, True, "")
    assert "hunter2" not in after_delete.text
    assert "edited since" not in after_delete.text
    assert (await alice.get("/rooms/general")).json()["last_seq"] == 1


async def test_same_key_different_request_is_422(alice: Account) -> None:
    await send_keyed(alice, "general", "one", "k")
    assert_problem(await send_keyed(alice, "general", "two", "k"), 422, "idempotency_key_reused")
    room = await alice.create_room()
    assert_problem(await send_keyed(alice, room["id"], "one", "k"), 422, "idempotency_key_reused")


async def test_keys_are_scoped_to_the_user(alice: Account, bob: Account) -> None:
    a = await send_keyed(alice, "general", "same", "shared")
    b = await send_keyed(bob, "general", "same", "shared")
    assert b.status_code == 201
    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]


@pytest.mark.parametrize("key", ["", "x" * 256])
async def test_key_length_is_validated(alice: Account, key: str) -> None:
    assert_problem(await send_keyed(alice, "general", "x", key), 422, "invalid")


async def test_failed_send_does_not_burn_the_key(alice: Account, bob: Account) -> None:
    room = await alice.create_room()
    assert_problem(await send_keyed(bob, room["id"], "x", "k"), 403, "not_a_member")
    await bob.post(f"/rooms/{room['id']}/join")
    assert (await send_keyed(bob, room["id"], "x", "k")).status_code == 201


async def test_concurrent_retries_create_one_message(alice: Account) -> None:
    answers: list[httpx.Response] = []

    async def one() -> None:
        answers.append(await send_keyed(alice, "general", "racing", "race-key"))

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(one)
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["id"] for r in answers}) == 1
    assert sum(1 for r in answers if "idempotent-replayed" not in r.headers) == 1
    assert (await alice.get("/rooms/general")).json()["last_seq"] == 1


@pytest.fixture
async def clocked_client(settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


async def test_keys_live_24_hours(clocked_client: httpx.AsyncClient, clock: FakeClock) -> None:
    alice = await sign_up(clocked_client, "alice")
    first = await send_keyed(alice, "general", "x", "day")
    clock.advance_ms(24 * 3600 * 1000 - 1)
    assert (await send_keyed(alice, "general", "x", "day")).headers["idempotent-replayed"] == "true"
    clock.advance_ms(2)
    fresh = await send_keyed(alice, "general", "x", "day")
    assert "idempotent-replayed" not in fresh.headers
    assert fresh.json()["id"] != first.json()["id"]


async def test_keys_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'h.db'}", password_hashing="fast")
    for attempt in range(2):
        app = create_app(settings)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                if attempt == 0:
                    alice = await sign_up(c, "alice")
                    first = await send_keyed(alice, "general", "durable", "k")
                else:
                    alice.client = c
                    again = await send_keyed(alice, "general", "durable", "k")
                    assert again.headers["idempotent-replayed"] == "true"
                    assert again.json() == first.json()


async def stored_keys(settings: Settings) -> list[str]:
    store = await open_store(settings)
    try:
        rows = await store.read(lambda tx: tx.fetchall("SELECT key FROM idempotency_keys"))
    finally:
        await store.close()
    return sorted(r[0] for r in rows)


async def test_expired_keys_are_purged(settings: Settings, clock: FakeClock) -> None:
    app = create_app(settings, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            alice = await sign_up(c, "alice")
            await send_keyed(alice, "general", "x", "old")
            clock.advance_ms(23 * 3600 * 1000)  # the hourly upkeep runs: "old" is too young
            await send_keyed(alice, "general", "y", "new")
            assert await stored_keys(settings) == ["new", "old"]
            services = app.state.services
            assert await services.messages.purge_expired_keys() == 0
            clock.advance_ms(3600 * 1000 + 1)  # "old" is 24 h + 1 ms old: the upkeep purges it
            # If the upkeep the first advance woke was still running when the clock moved again,
            # its next run is due an hour after that: move on an hour (a few times at most;
            # "new" stays far from 24 h old).
            for _ in range(4):
                with anyio.move_on_after(5):
                    while await stored_keys(settings) != ["new"]:  # noqa: ASYNC110 - a table
                        await anyio.sleep(0.1)
                if await stored_keys(settings) == ["new"]:
                    break
                clock.advance_ms(3600 * 1000)
            assert await stored_keys(settings) == ["new"], "the upkeep never purged the old key"
            assert await services.messages.purge_expired_keys() == 0
            replay = await send_keyed(alice, "general", "y", "new")
            assert replay.headers["idempotent-replayed"] == "true"
