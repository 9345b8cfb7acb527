"""Notifications (#18): levels and mutes per room, preferences per user, and the rule for who
a stored message notifies (services/notifications.py), through the API. Both engines."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hubbub.app import create_app
from hubbub.config import Settings
from hubbub.services import Services
from tests.api.conftest import Account, assert_problem, sign_up
from tests.conftest import check_stored_events

pytestmark = pytest.mark.anyio

FUTURE = "2999-01-01T00:00:00Z"
PAST = "2001-01-01T00:00:00Z"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """As tests/conftest.py's, but the test can reach the app's services."""
    application = create_app(settings)
    async with LifespanManager(application) as manager:
        manager.app.services = application.state.services  # type: ignore[attr-defined]
        yield manager.app  # type: ignore[misc]
    await check_stored_events(settings)


async def who(app: FastAPI, message: dict[str, Any]) -> dict[str, str]:
    """Who the message notifies, by user id -> reason."""
    svc: Services = app.services  # type: ignore[attr-defined]
    found = await svc.notifications.recipients(message["id"])
    return {r.user_id: r.reason for r in found}


async def room_with(owner: Account, *members: Account) -> str:
    room = await owner.create_room("plans", "private")
    for member in members:
        r = await owner.put(f"/rooms/{room['id']}/members/{member.username}")
        assert r.status_code == 201, r.text
    return str(room["id"])


async def dm(a: Account, b: Account) -> str:
    r = await a.post("/dms", {"username": b.username})
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


async def set_level(account: Account, room_id: str, **body: Any) -> httpx.Response:
    return await account.put(f"/rooms/{room_id}/notifications", body)


async def test_levels_default_to_mentions_in_rooms_and_all_in_dms(
    alice: Account, bob: Account
) -> None:
    room = await room_with(alice, bob)
    direct = await dm(alice, bob)
    by_id = {r["id"]: r for r in (await bob.get("/rooms")).json()["rooms"]}
    assert by_id[room]["notification_level"] == "mentions"
    assert by_id[direct]["notification_level"] == "all"
    assert by_id[room]["notifications_muted_until"] is None


async def test_setting_a_level_and_a_mute_shows_in_the_room_and_can_be_reset(
    alice: Account, bob: Account
) -> None:
    room = await room_with(alice, bob)
    r = await set_level(bob, room, level="all", muted_until="2999-01-01T01:00:00+01:00")
    assert r.status_code == 200, r.text
    assert r.json()["notification_level"] == "all"
    assert r.json()["notifications_muted_until"] == "2999-01-01T00:00:00.000Z"
    seen = (await bob.get(f"/rooms/{room}")).json()
    assert (seen["notification_level"], seen["notifications_muted_until"]) == (
        "all",
        "2999-01-01T00:00:00.000Z",
    )
    assert (await alice.get(f"/rooms/{room}")).json()["notification_level"] == "mentions"
    r = await set_level(bob, room, level=None)
    assert r.status_code == 200, r.text
    assert (r.json()["notification_level"], r.json()["notifications_muted_until"]) == (
        "mentions",
        None,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"level": "loud"},
        {"level": "all", "muted_until": PAST},
        {"level": "all", "muted_until": "tomorrow"},
        {"level": "all", "muted_until": "2999-01-01T00:00:00"},  # no zone
        {"level": "all", "muted_until": 12},
        {},
        {"level": "all", "extra": 1},
    ],
)
async def test_bad_room_settings_are_422_and_change_nothing(
    alice: Account, bob: Account, body: dict[str, Any]
) -> None:
    room = await room_with(alice, bob)
    r = await set_level(bob, room, **body)
    problem = assert_problem(r, 422, "invalid")
    if "muted_until" in body and isinstance(body["muted_until"], str):
        assert problem.get("field") == "muted_until" or "muted_until" in r.text
    seen = (await bob.get(f"/rooms/{room}")).json()
    assert (seen["notification_level"], seen["notifications_muted_until"]) == ("mentions", None)


async def test_non_members_cannot_set_a_level(alice: Account, bob: Account) -> None:
    private = await room_with(alice)
    assert_problem(await set_level(bob, private, level="all"), 404, "room_not_found")
    public = (await alice.create_room("open", "public"))["id"]
    assert_problem(await set_level(bob, public, level="all"), 403, "not_a_member")
    assert_problem(await set_level(bob, "r_nope", level="all"), 404, "room_not_found")


async def test_preferences_have_defaults_and_are_replaced(alice: Account) -> None:
    r = await alice.get("/me/notifications")
    assert r.status_code == 200
    assert r.json() == {"do_not_disturb_until": None, "email": "off", "push_preview": True}
    body = {"do_not_disturb_until": FUTURE, "email": "digest", "push_preview": False}
    r = await alice.put("/me/notifications", body)
    assert r.status_code == 200, r.text
    want = {**body, "do_not_disturb_until": "2999-01-01T00:00:00.000Z"}
    assert r.json() == want
    assert (await alice.get("/me/notifications")).json() == want
    r = await alice.put("/me/notifications", {"email": "off", "push_preview": True})
    assert r.json() == {"do_not_disturb_until": None, "email": "off", "push_preview": True}


@pytest.mark.parametrize(
    "body",
    [
        {"email": "weekly", "push_preview": True},
        {"email": "off"},
        {"email": "off", "push_preview": True, "do_not_disturb_until": PAST},
        {"email": "off", "push_preview": True, "do_not_disturb_until": "soon"},
    ],
)
async def test_bad_preferences_are_422(alice: Account, body: dict[str, Any]) -> None:
    assert_problem(await alice.put("/me/notifications", body), 422, "invalid")
    assert (await alice.get("/me/notifications")).json()["email"] == "off"


async def test_a_dm_notifies_the_other_person_never_the_author(
    app: FastAPI, alice: Account, bob: Account
) -> None:
    direct = await dm(alice, bob)
    assert await who(app, await alice.send(direct, "hi")) == {bob.id: "dm"}


async def test_mentions_notify_at_level_mentions_and_plain_messages_do_not(
    app: FastAPI, alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_with(alice, bob, carol)
    assert await who(app, await alice.send(room, "plain")) == {}
    assert await who(app, await alice.send(room, "@bob look")) == {bob.id: "mention"}
    assert await who(app, await alice.send(room, "@room look")) == {
        bob.id: "mention",
        carol.id: "mention",
    }


async def test_level_all_gets_every_message_and_none_gets_nothing(
    app: FastAPI, alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_with(alice, bob, carol)
    assert (await set_level(bob, room, level="all")).status_code == 200
    assert (await set_level(carol, room, level="none")).status_code == 200
    assert await who(app, await alice.send(room, "plain")) == {bob.id: "message"}
    assert await who(app, await alice.send(room, "@carol @bob")) == {bob.id: "mention"}
    # the author is never notified, even at level all
    assert await who(app, await bob.send(room, "mine @bob")) == {}


async def test_a_reply_notifies_followers_of_the_thread(
    app: FastAPI, alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_with(alice, bob, carol)
    root = await alice.send(room, "a question")
    assert (await bob.put(f"/messages/{root['id']}/follow")).status_code == 204
    reply = await carol.send(room, "an answer", thread_root=root["id"])
    # alice follows as the root's author, bob chose to; carol wrote it
    assert await who(app, reply) == {alice.id: "thread", bob.id: "thread"}
    # a thread-only reply does not count as a timeline message for level all
    assert (await set_level(carol, room, level="all")).status_code == 200
    assert (await carol.delete(f"/messages/{root['id']}/follow")).status_code == 204
    assert carol.id not in await who(app, await bob.send(room, "more", thread_root=root["id"]))
    shown = await bob.send(room, "to all", thread_root=root["id"], also_to_room=True)
    assert (await who(app, shown))[carol.id] == "message"


async def test_muted_rooms_and_do_not_disturb_notify_nobody(
    app: FastAPI, alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_with(alice, bob, carol)
    direct = await dm(alice, bob)
    assert (await set_level(bob, room, level="all", muted_until=FUTURE)).status_code == 200
    assert await who(app, await alice.send(room, "@bob @carol")) == {carol.id: "mention"}
    assert await who(app, await alice.send(direct, "hi")) == {bob.id: "dm"}
    prefs = {"do_not_disturb_until": FUTURE, "email": "off", "push_preview": True}
    assert (await bob.put("/me/notifications", prefs)).status_code == 200
    assert await who(app, await alice.send(direct, "still there?")) == {}
    # unmuting brings the room back
    assert (await bob.put("/me/notifications", {**prefs, "do_not_disturb_until": None})).is_success
    assert (await set_level(bob, room, level="all")).status_code == 200
    assert await who(app, await alice.send(room, "plain")) == {bob.id: "message"}


async def test_leaving_a_room_stops_notifications_and_forgets_the_level(
    app: FastAPI, alice: Account, bob: Account
) -> None:
    room = (await alice.create_room("open", "public"))["id"]
    assert (await bob.post(f"/rooms/{room}/join")).status_code == 204
    assert (await set_level(bob, room, level="all")).status_code == 200
    assert (await bob.post(f"/rooms/{room}/leave")).status_code == 204
    assert await who(app, await alice.send(room, "@bob gone?")) == {}
    assert (await bob.post(f"/rooms/{room}/join")).status_code == 204
    assert (await bob.get(f"/rooms/{room}")).json()["notification_level"] == "mentions"


async def test_deleted_messages_notify_nobody(app: FastAPI, alice: Account, bob: Account) -> None:
    direct = await dm(alice, bob)
    sent = await alice.send(direct, "oops")
    assert (await alice.delete(f"/messages/{sent['id']}")).status_code == 204
    assert await who(app, sent) == {}


@pytest.fixture
async def loud_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(dataclasses.replace(settings, notify_default="all"))
    async with LifespanManager(application) as manager:
        manager.app.services = application.state.services  # type: ignore[attr-defined]
        yield manager.app  # type: ignore[misc]


async def test_the_server_default_is_configurable(loud_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=loud_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hubbub.test") as c:
        alice, bob = await sign_up(c, "alice"), await sign_up(c, "bob")
        room = await room_with(alice, bob)
        assert (await bob.get(f"/rooms/{room}")).json()["notification_level"] == "all"
        assert await who(loud_app, await alice.send(room, "plain")) == {bob.id: "message"}
        assert (await set_level(bob, room, level="mentions")).status_code == 200
        assert await who(loud_app, await alice.send(room, "plain")) == {}


async def test_my_other_devices_hear_of_a_change_and_nobody_else_does(
    alice: Account, bob: Account
) -> None:
    room = await room_with(alice, bob)
    mine = (await bob.get("/events", params={"timeout": 0})).json()["next"]
    theirs = (await alice.get("/events", params={"timeout": 0})).json()["next"]
    assert (await set_level(bob, room, level="none", muted_until=FUTURE)).status_code == 200
    events = (await bob.get("/events", params={"since": mine, "timeout": 0})).json()["events"]
    updates = [e for e in events if e["type"] == "notifications.updated"]
    assert [(e["room_id"], e["data"]) for e in updates] == [
        (
            room,
            {
                "room_id": room,
                "notification_level": "none",
                "notifications_muted_until": "2999-01-01T00:00:00.000Z",
            },
        )
    ]
    events = (await alice.get("/events", params={"since": theirs, "timeout": 0})).json()["events"]
    assert [e for e in events if e["type"] == "notifications.updated"] == []
