"""Turning outgoing webhooks and bot subscriptions off and on again (PATCH), and changing their
URL, events and trigger words: a hook turned off after failures resumes with its secret and its
delivery log; off stops deliveries; an attempt in flight when it is turned off counts for
nothing; validation and authorization as for delete. Both engines."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hubbub.config import Settings
from tests.api.conftest import Account, assert_problem, sign_up
from tests.api.receiver import Received, Receiver, verify
from tests.api.servers import Node, running
from tests.api.test_outgoing_webhooks import deliveries, fast_hooks, make_hook, payload, until

pytestmark = pytest.mark.anyio


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    """As test_outgoing_webhooks', but a hook is turned off after 3 failures."""
    return dataclasses.replace(fast_hooks(settings), outgoing_disable_after=3)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
async def node(hook_settings: Settings) -> AsyncIterator[Node]:
    async with running(hook_settings) as n:
        yield n


@pytest.fixture
async def owner(node: Node) -> Account:
    return await sign_up(node.client, "alice")


async def down(_: Received) -> tuple[int, bytes]:
    return 500, b""


async def ok(_: Received) -> tuple[int, bytes]:
    return 200, b""


async def listed(owner: Account, room: str) -> dict[str, Any]:
    (hook,) = (await owner.get(f"/rooms/{room}/outgoing-webhooks")).json()["hooks"]
    return dict(hook)


async def audit(owner: Account, action: str) -> list[dict[str, Any]]:
    entries = (await owner.get("/admin/audit")).json()["entries"]
    return [e for e in entries if e["action"] == action]


async def dm_messages(owner: Account) -> list[dict[str, Any]]:
    rooms = (await owner.get("/rooms")).json()["rooms"]
    found: list[dict[str, Any]] = []
    for dm in [r for r in rooms if r["kind"] == "dm"]:
        found += (await owner.get(f"/rooms/{dm['id']}/messages")).json()["messages"]
    return found


async def test_a_hook_turned_off_after_failures_is_turned_on_and_delivers_with_its_secret(
    owner: Account, receiver: Receiver
) -> None:
    receiver.answer = down
    room = (await owner.create_room("ops"))["id"]
    hook = await make_hook(owner, room, receiver.url())
    path = f"/rooms/{room}/outgoing-webhooks/{hook['id']}"
    await owner.send(room, "one")

    async def turned_off() -> dict[str, Any] | None:
        found = await listed(owner, room)
        return found if found["disabled_at"] else None

    off = await until(turned_off)
    assert (off["enabled"], off["failures"]) == (False, 3)
    assert "3 failed deliveries in a row" in off["disabled_reason"]
    (notice,) = await until(lambda: dm_messages(owner))  # sent just after it is turned off
    assert "Turn it back on in the room's settings" in notice["text"]
    await owner.send(room, "while off")
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 3, "nothing is sent while it is off"

    receiver.answer = ok
    r = await owner.patch(path, {"enabled": True})
    assert r.status_code == 200, r.text
    on = r.json()
    assert (on["id"], on["enabled"], on["failures"]) == (hook["id"], True, 0)
    assert (on["disabled_at"], on["disabled_reason"], on["secret"]) == (None, None, None)
    assert on["url"] == hook["url"]
    assert on["bot"]["id"] == hook["bot"]["id"]
    assert await listed(owner, room) == on

    await owner.send(room, "back")
    got = (await receiver.wait_for(4))[3]
    assert payload(got)["data"]["text"] == "back", "the events from while it was off are skipped"
    assert verify(hook["secret"], got.headers["hubbub-signature"], got.body), "the same secret"
    log = await until(lambda: _after(deliveries(owner, room, hook["id"]), 4))
    assert [d["outcome"] for d in log] == ["delivered", "failed", "retry", "retry"], "log kept"
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 4
    (enabled,) = await audit(owner, "outgoing_webhook.enable")
    assert (enabled["actor"], enabled["target"]) == ("alice", hook["id"])


async def _after(getter: Any, count: int) -> Any:
    value = await getter
    return value if len(value) >= count else None


async def test_turning_a_hook_off_stops_its_deliveries_until_it_is_turned_on(
    owner: Account, receiver: Receiver
) -> None:
    room = (await owner.create_room("ops"))["id"]
    hook = await make_hook(owner, room, receiver.url())
    path = f"/rooms/{room}/outgoing-webhooks/{hook['id']}"
    await owner.send(room, "first")
    await receiver.wait_for(1)

    r = await owner.patch(path, {"enabled": False})
    assert r.status_code == 200, r.text
    off = r.json()
    assert (off["enabled"], off["disabled_reason"]) == (False, "turned off by alice")
    assert off["disabled_at"] is not None
    # Asking again changes nothing (no new time, no second audit entry).
    again = await owner.patch(path, {"enabled": False})
    assert again.json() == off
    await owner.send(room, "not sent")
    await asyncio.sleep(0.4)
    assert len(receiver.requests) == 1
    (disabled,) = await audit(owner, "outgoing_webhook.disable")
    assert (disabled["actor"], disabled["target"]) == ("alice", hook["id"])
    assert disabled["reason"] == "turned off by alice"

    assert (await owner.patch(path, {"enabled": True})).json()["enabled"] is True
    assert (await owner.patch(path, {})).json()["enabled"] is True, "an empty change is a no-op"
    await owner.send(room, "sent again")
    got = await receiver.wait_for(2)
    assert [payload(r)["data"]["text"] for r in got] == ["first", "sent again"]
    assert len(await audit(owner, "outgoing_webhook.enable")) == 1


async def test_an_attempt_in_flight_when_the_hook_is_turned_off_counts_for_nothing(
    hook_settings: Settings, receiver: Receiver
) -> None:
    release = asyncio.Event()

    async def slow_failure(_: Received) -> tuple[int, bytes]:
        await release.wait()
        return 500, b""

    receiver.answer = slow_failure
    async with running(dataclasses.replace(hook_settings, outgoing_disable_after=1)) as node:
        owner = await sign_up(node.client, "alice")
        room = (await owner.create_room("ops"))["id"]
        hook = await make_hook(owner, room, receiver.url())
        await owner.send(room, "slow")
        await receiver.wait_for(1)
        r = await owner.patch(f"/rooms/{room}/outgoing-webhooks/{hook['id']}", {"enabled": False})
        assert r.status_code == 200, r.text
        release.set()
        (attempt,) = await until(lambda: deliveries(owner, room, hook["id"]))
        assert (attempt["status"], attempt["outcome"]) == (500, "dropped")
        found = await listed(owner, room)
        # Without the check, this failure (one of one allowed) would turn it off "again",
        # with the failures as the reason, and the bot would message alice.
        assert (found["disabled_reason"], found["failures"]) == ("turned off by alice", 0)
        assert [e["actor"] for e in await audit(owner, "outgoing_webhook.disable")] == ["alice"]
        await asyncio.sleep(0.2)
        assert await dm_messages(owner) == [], "no notice: alice turned it off herself"


async def test_url_events_and_trigger_words_change_with_the_same_secret(
    owner: Account, receiver: Receiver
) -> None:
    room = (await owner.create_room("ops"))["id"]
    hook = await make_hook(owner, room, receiver.url())
    r = await owner.patch(
        f"/rooms/{room}/outgoing-webhooks/{hook['id']}",
        {
            "url": receiver.url("/moved"),
            "events": ["message.created", "reaction.added"],
            "trigger_words": ["!ci"],
        },
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["url"] == receiver.url("/moved")
    assert changed["events"] == ["message.created", "reaction.added"]
    assert (changed["trigger_words"], changed["enabled"]) == (["!ci"], True)
    await owner.send(room, "chatting")
    await owner.send(room, "!ci run")
    (got,) = await receiver.wait_for(1)
    assert (got.path, payload(got)["data"]["text"]) == ("/moved", "!ci run")
    assert verify(hook["secret"], got.headers["hubbub-signature"], got.body)
    (updated,) = await audit(owner, "outgoing_webhook.update")
    assert (updated["target"], updated["reason"]) == (hook["id"], receiver.url("/moved"))


async def test_bad_changes_get_a_precise_422_and_change_nothing(node: Node, owner: Account) -> None:
    room = (await owner.create_room("ops"))["id"]
    hook = await make_hook(owner, room, "https://192.0.2.1/h")
    path = f"/rooms/{room}/outgoing-webhooks/{hook['id']}"
    bad_bodies: list[dict[str, Any]] = [
        {"enabled": "yes"},
        {"enabled": 1},
        {"url": "ftp://example.com/h"},
        {"url": ""},
        {"url": "https://example.com/" + "a" * 2100},
        {"events": []},
        {"events": ["typing"]},
        {"trigger_words": ["two words"]},
        {"trigger_words": ["w"] * 11},
        {"secret": "whsec_mine"},
        {"enabled": False, "extra": 1},
    ]
    for bad in bad_bodies:
        r = await owner.patch(path, bad)
        assert r.status_code == 422, (bad, r.text)
    assert_problem(await owner.patch(path, {"url": "javascript:alert(1)"}), 422, "invalid")
    assert await listed(owner, room) == {**hook, "secret": None}

    r = await owner.post("/bots", {"username": "helper"})
    assert r.status_code == 201, r.text
    sub = await owner.post(
        "/bots/helper/subscriptions", {"url": "https://192.0.2.1/s", "events": ["message.created"]}
    )
    assert sub.status_code == 201, sub.text
    sub_path = f"/bots/helper/subscriptions/{sub.json()['id']}"
    bad_bodies = [{"trigger_words": ["!ci"]}, {"enabled": None, "url": "ftp://x/"}, {"events": []}]
    for bad in bad_bodies:
        assert (await owner.patch(sub_path, bad)).status_code == 422, bad


async def test_only_those_who_may_delete_a_hook_may_change_it(
    node: Node, owner: Account, receiver: Receiver
) -> None:
    bob = await sign_up(node.client, "bob")
    carol = await sign_up(node.client, "carol")
    room = (await owner.create_room("ops", "private"))["id"]
    assert (await owner.put(f"/rooms/{room}/members/bob", {"role": "member"})).status_code == 201
    hook = await make_hook(owner, room, "https://192.0.2.1/h")
    path = f"/rooms/{room}/outgoing-webhooks/{hook['id']}"
    off = {"enabled": False}
    assert_problem(await bob.patch(path, off), 403, "not_allowed")
    assert_problem(await carol.patch(path, off), 404, "room_not_found")
    r = await owner.patch(f"/rooms/{room}/outgoing-webhooks/oh_none", off)
    assert_problem(r, 404, "outgoing_webhook_not_found")
    other = (await owner.create_room("other"))["id"]
    r = await owner.patch(f"/rooms/{other}/outgoing-webhooks/{hook['id']}", off)
    assert_problem(r, 404, "outgoing_webhook_not_found")
    # A room admin may, like its owner.
    assert (await owner.put(f"/rooms/{room}/members/bob", {"role": "admin"})).status_code == 200
    assert (await listed(owner, room))["enabled"] is True, "nothing refused changed anything"
    r = await bob.patch(path, off)
    assert r.status_code == 200, r.text
    assert r.json()["disabled_reason"] == "turned off by bob"

    # A bot's subscription: its owner (or a server admin); to anyone else the bot is unknown.
    r = await owner.post("/bots", {"username": "helper"})
    assert r.status_code == 201, r.text
    bot = Account("helper", r.json()["token"], r.json()["bot"], node.client)
    assert (await owner.put(f"/rooms/{room}/members/helper", {"role": "member"})).status_code == 201
    r = await owner.post(
        "/bots/helper/subscriptions", {"url": receiver.url(), "events": ["message.created"]}
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    sub_path = f"/bots/helper/subscriptions/{sub['id']}"
    assert_problem(await carol.patch(sub_path, off), 404, "bot_not_found")
    assert_problem(await bot.patch(sub_path, off), 404, "bot_not_found")
    r = await owner.patch(f"/bots/helper/subscriptions/{hook['id']}", off)
    assert_problem(r, 404, "outgoing_webhook_not_found")
    r = await owner.patch(sub_path, off)
    assert r.status_code == 200, r.text
    assert (r.json()["kind"], r.json()["enabled"]) == ("bot", False)
    await owner.send(room, "not for the bot")
    await asyncio.sleep(0.3)
    assert receiver.requests == []
    r = await owner.patch(sub_path, {"enabled": True})
    assert (r.json()["enabled"], r.json()["failures"]) == (True, 0)
    await owner.send(room, "for the bot")
    (got,) = await receiver.wait_for(1)
    assert payload(got)["data"]["text"] == "for the bot"
    assert verify(sub["secret"], got.headers["hubbub-signature"], got.body)


async def test_turned_on_after_a_restart_it_skips_what_came_while_it_was_off(
    hook_settings: Settings, receiver: Receiver
) -> None:
    # With no hook on, a node does not match events at all (the matcher waits for one), so
    # the matcher's place is behind what came meanwhile: turned on, the hook must not get it.
    async with running(hook_settings) as node:
        owner = await sign_up(node.client, "alice")
        room = (await owner.create_room("ops"))["id"]
        hook = await make_hook(owner, room, receiver.url())
        path = f"/rooms/{room}/outgoing-webhooks/{hook['id']}"
        await owner.send(room, "before")
        await receiver.wait_for(1)  # (the matcher holds its place: it gives it up on stopping)
        assert (await owner.patch(path, {"enabled": False})).status_code == 200
    async with running(hook_settings) as node:
        alice = dataclasses.replace(owner, client=node.client)  # her session outlives the node
        for i in range(3):
            await alice.send(room, f"while off {i}")
        assert (await alice.patch(path, {"enabled": True})).json()["enabled"] is True
        await alice.send(room, "back")
        got = await receiver.wait_for(2)
        assert [payload(r)["data"]["text"] for r in got] == ["before", "back"]
        await asyncio.sleep(0.3)
        assert len(receiver.requests) == 2
