"""Pins: who may pin, the room's pins, events, and a deleted message's pin. Both engines."""

from __future__ import annotations

import pytest

from tests.api.conftest import Account, assert_problem

pytestmark = pytest.mark.anyio


async def test_owners_and_admins_pin_and_members_when_the_room_allows(
    alice: Account, bob: Account, carol: Account, dave: Account
) -> None:
    room = (await alice.create_room("plans", "private"))["id"]
    for name, role in (("bob", "admin"), ("carol", "member")):
        assert (await alice.put(f"/rooms/{room}/members/{name}", {"role": role})).status_code == 201
    first = await carol.send(room, "the plan")
    second = await carol.send(room, "the backup plan")
    assert_problem(await carol.put(f"/messages/{first['id']}/pin"), 403, "not_allowed")
    assert_problem(await dave.put(f"/messages/{first['id']}/pin"), 404, "message_not_found")
    assert (await bob.put(f"/messages/{first['id']}/pin")).status_code == 204
    assert (await bob.put(f"/messages/{first['id']}/pin")).status_code == 204  # idempotent
    r = await alice.patch(f"/rooms/{room}", {"members_can_pin": True})
    assert r.json()["members_can_pin"] is True
    assert (await carol.put(f"/messages/{second['id']}/pin")).status_code == 204
    pins = (await carol.get(f"/rooms/{room}/pins")).json()["messages"]
    assert [m["id"] for m in pins] == [second["id"], first["id"]]
    assert all(m["pinned_at"] for m in pins)
    assert_problem(await dave.get(f"/rooms/{room}/pins"), 404, "room_not_found")
    assert (await carol.delete(f"/messages/{first['id']}/pin")).status_code == 204
    pins = (await carol.get(f"/rooms/{room}/pins")).json()["messages"]
    assert [m["id"] for m in pins] == [second["id"]]
    assert (await carol.get(f"/messages/{first['id']}")).json()["pinned_at"] is None


async def test_a_deleted_message_is_unpinned_and_cannot_be_pinned(alice: Account) -> None:
    room = (await alice.create_room("plans"))["id"]
    message = await alice.send(room, "pinned, then gone")
    assert (await alice.put(f"/messages/{message['id']}/pin")).status_code == 204
    assert (await alice.delete(f"/messages/{message['id']}")).status_code == 204
    assert (await alice.get(f"/rooms/{room}/pins")).json()["messages"] == []
    assert_problem(await alice.put(f"/messages/{message['id']}/pin"), 409, "message_deleted")


async def test_pin_events(alice: Account, bob: Account) -> None:
    room = (await alice.create_room("plans"))["id"]
    assert (await bob.post(f"/rooms/{room}/join")).status_code == 204
    message = await alice.send(room, "pin me")
    cursor = (await bob.get("/events", params={"timeout": 0})).json()["next"]
    assert (await alice.put(f"/messages/{message['id']}/pin")).status_code == 204
    assert (await alice.delete(f"/messages/{message['id']}/pin")).status_code == 204
    events = (await bob.get("/events", params={"since": cursor, "timeout": 0})).json()["events"]
    kinds = [(e["type"], e["data"]["id"]) for e in events]
    assert kinds == [("message.pinned", message["id"]), ("message.unpinned", message["id"])]
    assert events[0]["data"]["by"]["username"] == "alice"
