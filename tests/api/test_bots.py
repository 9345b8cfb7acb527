"""Bot accounts with API keys (issue #19): made and owned by a person; the key works on the
v1 API as the bot; bots never sign in with a password, see only the rooms they were added
to, write on budgets of their own, keep their key however long it sits unused; rotating and
deleting end the old key at once. Both engines."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hubbub.config import Settings
from hubbub.services.bots import BOTS_PER_OWNER
from tests.api.conftest import API, Account, assert_problem, sign_up
from tests.api.servers import Node, running
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio

DAY_S = 24 * 3600


async def make_bot(owner: Account, username: str, **body: Any) -> tuple[Account, dict[str, Any]]:
    r = await owner.post("/bots", {"username": username, **body})
    assert r.status_code == 201, r.text
    made = r.json()
    assert set(made) == {"bot", "owner_id", "token"}
    return Account(username, made["token"], made["bot"], owner.client), made


async def test_a_bot_is_made_with_a_key_that_works_as_the_bot(alice: Account) -> None:
    bot, made = await make_bot(alice, "ci-bot", display_name="CI")
    assert made["owner_id"] == alice.id
    assert made["bot"]["kind"] == "bot"
    assert made["bot"]["display_name"] == "CI"
    me = await bot.get("/me")
    assert me.status_code == 200
    assert me.json()["username"] == "ci-bot"
    assert me.json()["kind"] == "bot"
    # Everyone sees it as a bot.
    seen = await alice.get("/users/ci-bot")
    assert seen.json()["kind"] == "bot"
    # It starts in no room, not even the lobby.
    assert (await bot.get("/rooms")).json()["rooms"] == []


async def test_a_bot_never_signs_in_with_a_password(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await make_bot(alice, "ci-bot")
    for password in ("!", "", "correct horse", "ci-bot"):
        r = await client.post(f"{API}/sessions", json={"username": "ci-bot", "password": password})
        assert r.status_code in (401, 422), r.text
        assert "token" not in r.text


async def test_a_bot_sees_only_the_rooms_it_was_added_to(alice: Account, bob: Account) -> None:
    bot, _ = await make_bot(alice, "helper")
    public = await alice.create_room("town-square", "public")
    await alice.send(public["id"], "hello people")
    # A public room it is not in: not found, not joinable, not in the directory or search.
    assert_problem(await bot.get(f"/rooms/{public['id']}"), 404, "room_not_found")
    assert_problem(await bot.get(f"/rooms/{public['id']}/messages"), 404, "room_not_found")
    assert_problem(await bot.post(f"/rooms/{public['id']}/join"), 404, "room_not_found")
    assert_problem(await bot.get("/rooms/general"), 404, "room_not_found")
    directory = await bot.get("/rooms", params={"scope": "public"})
    assert directory.status_code == 200
    assert directory.json()["rooms"] == []
    found = await bot.get("/search", params={"q": "hello", "scope": "all"})
    assert found.status_code == 200
    assert found.json()["results"] == []
    # People still see the public room.
    assert (await bob.get(f"/rooms/{public['id']}")).status_code == 200
    # Added by a member, it reads and writes like anyone.
    assert (await alice.put(f"/rooms/{public['id']}/members/helper")).status_code == 201
    history = await bot.get(f"/rooms/{public['id']}/messages")
    assert [m["text"] for m in history.json()["messages"]] == ["hello people"]
    sent = await bot.send(public["id"], "beep")
    assert sent["author"]["bot"] is True
    found = await bot.get("/search", params={"q": "hello"})
    assert [h["message"]["text"] for h in found.json()["results"]] == ["hello people"]


async def test_listing_shows_your_bots_and_an_admin_sees_all(alice: Account, bob: Account) -> None:
    # alice signed up first: she is the server admin.
    await make_bot(alice, "alice-bot")
    await make_bot(bob, "bob-bot-2")
    await make_bot(bob, "bob-bot-1")
    room = await bob.create_room("ops", "private")
    assert (await bob.post(f"/rooms/{room['id']}/webhooks", {"name": "alerts"})).status_code == 201
    mine = (await bob.get("/bots")).json()["bots"]
    assert [b["bot"]["username"] for b in mine] == ["bob-bot-1", "bob-bot-2"]
    assert {b["owner_id"] for b in mine} == {bob.id}
    assert all("token" not in b for b in mine)
    everyone = (await alice.get("/bots")).json()["bots"]
    # A webhook's bot is not a bot with a key: it is managed with its webhook.
    assert [b["bot"]["username"] for b in everyone] == ["alice-bot", "bob-bot-1", "bob-bot-2"]


async def test_rotating_the_key_ends_the_old_one(alice: Account, bob: Account) -> None:
    bot, _ = await make_bot(bob, "rotor")
    assert_problem(await alice.post("/bots/nope/tokens"), 404, "bot_not_found")
    carol = await sign_up(bob.client, "carol")
    assert_problem(await carol.post("/bots/rotor/tokens"), 404, "bot_not_found")  # not hers
    assert (await bot.get("/me")).status_code == 200  # ... and nothing changed
    r = await bob.post("/bots/rotor/tokens")
    assert r.status_code == 201, r.text
    fresh = r.json()["token"]
    assert fresh != bot.token
    assert_problem(await bot.get("/me"), 401, "unauthenticated")
    renewed = dataclasses.replace(bot, token=fresh)
    assert (await renewed.get("/me")).status_code == 200
    # A server admin may rotate anyone's bot.
    assert (await alice.post("/bots/rotor/tokens")).status_code == 201
    assert_problem(await renewed.get("/me"), 401, "unauthenticated")


async def test_deleting_a_bot_ends_its_key_and_membership_but_keeps_its_messages(
    alice: Account, bob: Account
) -> None:
    bot, _ = await make_bot(bob, "temp-bot")
    room = await bob.create_room("work", "private")
    assert (await bob.put(f"/rooms/{room['id']}/members/temp-bot")).status_code == 201
    said = await bot.send(room["id"], "I was here")
    carol = await sign_up(bob.client, "carol")
    assert_problem(await carol.delete("/bots/temp-bot"), 404, "bot_not_found")
    assert (await bob.delete("/bots/temp-bot")).status_code == 204
    assert_problem(await bot.get("/me"), 401, "unauthenticated")
    members = (await bob.get(f"/rooms/{room['id']}/members")).json()["members"]
    assert "temp-bot" not in {m["user"]["username"] for m in members}
    history = (await bob.get(f"/rooms/{room['id']}/messages")).json()["messages"]
    assert [m["id"] for m in history if m["text"] == "I was here"] == [said["id"]]
    assert (await bob.get("/bots")).json()["bots"] == []
    # Gone is gone: a second delete is 404, and the name stays reserved.
    assert_problem(await bob.delete("/bots/temp-bot"), 404, "bot_not_found")
    r = await bob.post("/bots", {"username": "temp-bot"})
    assert_problem(r, 409, "username_taken")


async def test_names_limits_and_who_may_make_bots(alice: Account, bob: Account) -> None:
    assert_problem(await bob.post("/bots", {"username": "alice"}), 409, "username_taken")
    assert_problem(await bob.post("/bots", {"username": "x"}), 422, "invalid")
    assert_problem(
        await bob.post("/bots", {"username": "ok-bot", "display_name": ""}), 422, "invalid"
    )
    bot, _ = await make_bot(bob, "maker")
    assert_problem(await bot.post("/bots", {"username": "child"}), 403, "not_allowed")
    for i in range(BOTS_PER_OWNER - 1):
        await make_bot(bob, f"b{i:02d}")
    assert_problem(await bob.post("/bots", {"username": "one-more"}), 409, "too_many_bots")
    assert (await bob.delete("/bots/b00")).status_code == 204
    await make_bot(bob, "one-more")  # a deleted bot frees its place


async def test_bots_write_on_a_budget_of_their_own(settings: Settings) -> None:
    limited = settings.replace(rate_limits="messages=2/minute;bot_messages=4/minute")
    async with running(limited) as node:
        alice = await sign_up(node.client, "alice")
        bot, _ = await make_bot(alice, "chatty")
        room = await alice.create_room("r", "private")
        assert (await alice.put(f"/rooms/{room['id']}/members/chatty")).status_code == 201
        for i in range(4):
            await bot.send(room["id"], f"bot {i}")
        refused = await bot.post(f"/rooms/{room['id']}/messages", {"text": "too many"})
        assert_problem(refused, 429, "rate_limited")
        # The person's budget is their own: untouched by the bot's four.
        await alice.send(room["id"], "one")
        await alice.send(room["id"], "two")
        assert_problem(
            await alice.post(f"/rooms/{room['id']}/messages", {"text": "three"}),
            429,
            "rate_limited",
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def clocked(settings: Settings, clock: FakeClock) -> AsyncIterator[Node]:
    async with running(settings.replace(session_idle_days=30), clock) as node:
        yield node


async def test_a_bot_key_does_not_idle_out(clocked: Node, clock: FakeClock) -> None:
    alice = await sign_up(clocked.client, "alice")
    bot, _ = await make_bot(alice, "patient")
    clock.advance(90 * DAY_S)
    await clocked.services.sessions.sweep_idle()
    assert (await bot.get("/me")).status_code == 200
    assert_problem(await alice.get("/me"), 401, "unauthenticated")  # a person's session did
