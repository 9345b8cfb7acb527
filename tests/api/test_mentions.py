"""Mentions: @username, @room and @here resolved when a message is stored or edited, exact
mention counts under sends, edits, deletes and reads, the permission for @room/@here in big
rooms, and the mentions inbox. Both engines."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hubbub.services.mentions import parse
from tests.api.conftest import Account, assert_problem, sign_up

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("text", "users", "room", "here"),
    [
        ("hi @bob", ("bob",), False, False),
        ("@Bob and @BOB, @carol.", ("bob", "carol"), False, False),
        ("mail bob@example.com", (), False, False),
        ("`@bob` in code", (), False, False),
        ("```\n@bob in a block\n```\nbut @carol", ("carol",), False, False),
        ("@room please, and @here", (), True, True),
        ("@b", (), False, False),  # too short to be a username
        ("no at sign", (), False, False),
        ("@@bob", (), False, False),
    ],
)
def test_parse(text: str, users: tuple[str, ...], room: bool, here: bool) -> None:
    parsed = parse(text)
    assert (parsed.usernames, parsed.room, parsed.here) == (users, room, here)


async def room_of(owner: Account, *members: Account, visibility: str = "private") -> str:
    room = await owner.create_room("plans", visibility)
    for member in members:
        r = await owner.put(f"/rooms/{room['id']}/members/{member.username}")
        assert r.status_code == 201, r.text
    return str(room["id"])


async def counts(account: Account, room_id: str) -> tuple[int, int]:
    r = await account.get(f"/rooms/{room_id}")
    assert r.status_code == 200
    body = r.json()
    return body["unread_count"], body["mention_count"]


async def test_a_mention_of_a_member_is_resolved_and_counted(
    alice: Account, bob: Account, carol: Account, dave: Account
) -> None:
    room = await room_of(alice, bob, carol)
    sent = await alice.send(room, "@bob and @dave (not a member) and @nobody, look")
    assert sent["mentions"] == {"users": [bob.id], "room": False, "here": False}
    assert await counts(bob, room) == (1, 1)
    assert await counts(carol, room) == (1, 0)
    assert (await dave.get("/rooms")).json()["rooms"][0]["mention_count"] == 0  # lobby only
    # History and GET show the same.
    page = (await bob.get(f"/rooms/{room}/messages")).json()
    assert page["messages"][0]["mentions"]["users"] == [bob.id]
    assert (await bob.get(f"/messages/{sent['id']}")).json()["mentions"]["users"] == [bob.id]


async def test_at_room_mentions_every_member_but_the_author(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_of(alice, bob, carol)
    sent = await alice.send(room, "@room meeting at noon")
    assert sent["mentions"] == {"users": [], "room": True, "here": False}
    assert await counts(bob, room) == (1, 1)
    assert await counts(carol, room) == (1, 1)
    assert await counts(alice, room) == (0, 0)


async def test_counts_follow_edits_deletes_and_reads(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_of(alice, bob, carol)
    first = await alice.send(room, "@bob one")
    second = await alice.send(room, "plain two")
    await alice.send(room, "@carol three")
    assert await counts(bob, room) == (3, 1)
    r = await alice.patch(f"/messages/{second['id']}", {"text": "now @bob too"})
    assert r.status_code == 200
    assert r.json()["mentions"]["users"] == [bob.id]
    assert await counts(bob, room) == (3, 2)
    r = await alice.patch(f"/messages/{first['id']}", {"text": "no longer"})
    assert r.json()["mentions"] == {"users": [], "room": False, "here": False}
    assert await counts(bob, room) == (3, 1)
    assert (await alice.delete(f"/messages/{second['id']}")).status_code == 204
    assert await counts(bob, room) == (2, 0)
    await alice.send(room, "@bob four")
    assert await counts(bob, room) == (3, 1)
    r = await bob.put(f"/rooms/{room}/read", {"seq": 3})
    assert r.status_code == 204
    assert await counts(bob, room) == (1, 1)
    r = await bob.put(f"/rooms/{room}/read", {"seq": 4})
    assert await counts(bob, room) == (0, 0)


async def test_read_updated_carries_the_mention_count(alice: Account, bob: Account) -> None:
    room = await room_of(alice, bob)
    cursor = (await bob.get("/events", params={"timeout": 0})).json()["next"]
    await alice.send(room, "@bob a")
    await alice.send(room, "@bob b")
    await alice.send(room, "c")
    assert (await bob.put(f"/rooms/{room}/read", {"seq": 1})).status_code == 204
    events = (await bob.get("/events", params={"since": cursor, "timeout": 0})).json()["events"]
    read = [e["data"] for e in events if e["type"] == "read.updated"]
    assert read == [{"room_id": room, "last_read_seq": 1, "unread_count": 2, "mention_count": 1}]


async def test_at_room_in_a_big_room_needs_a_manager(client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner")
    member = await sign_up(client, "member")
    room = await owner.create_room("crowd", "public")
    # The lobby already holds everyone; make a room of 101 members.
    for i in range(100):
        user = await sign_up(client, f"user{i:03d}")
        assert (await user.post(f"/rooms/{room['id']}/join")).status_code == 204
    assert (await member.post(f"/rooms/{room['id']}/join")).status_code == 204
    before = (await owner.get(f"/rooms/{room['id']}")).json()["last_seq"]
    for text in ("@room hello", "@here hello"):
        r = await member.post(f"/rooms/{room['id']}/messages", {"text": text})
        assert_problem(r, 403, "not_allowed")
    assert (await owner.get(f"/rooms/{room['id']}")).json()["last_seq"] == before
    await owner.send(room["id"], "@room from the owner")
    # A plain mention is fine for anyone.
    await member.send(room["id"], "@owner hello")


async def test_the_mentions_inbox(alice: Account, bob: Account, carol: Account) -> None:
    room = await room_of(alice, bob, carol)
    other = await room_of(carol, bob)
    a = await alice.send(room, "@bob first")
    await alice.send(room, "not you")
    b = await carol.send(other, "@room second")
    c = await carol.send(room, "@BOB third")
    r = await bob.get("/mentions")
    assert r.status_code == 200
    assert [m["id"] for m in r.json()["messages"]] == [c["id"], b["id"], a["id"]]
    # Paging.
    page = (await bob.get("/mentions", params={"limit": 2})).json()
    assert [m["id"] for m in page["messages"]] == [c["id"], b["id"]]
    rest = (await bob.get("/mentions", params={"before": page["next_before"]})).json()
    assert [m["id"] for m in rest["messages"]] == [a["id"]]
    assert_problem(await bob.get("/mentions", params={"before": "nonsense"}), 422, "invalid")
    # Deleted and left rooms drop out.
    assert (await carol.delete(f"/messages/{c['id']}")).status_code == 204
    assert (await bob.post(f"/rooms/{other}/leave")).status_code == 204
    r = await bob.get("/mentions")
    assert [m["id"] for m in r.json()["messages"]] == [a["id"]]
    assert (await alice.get("/mentions")).json()["messages"] == []


async def test_mentions_in_events_and_edits(alice: Account, bob: Account) -> None:
    room = await room_of(alice, bob)
    cursor = (await bob.get("/events", params={"timeout": 0})).json()["next"]
    sent = await alice.send(room, "hey @bob")
    await alice.patch(f"/messages/{sent['id']}", {"text": "hey @room"})
    events: list[dict[str, Any]] = (
        await bob.get("/events", params={"since": cursor, "timeout": 0})
    ).json()["events"]
    created = next(e for e in events if e["type"] == "message.created")
    updated = next(e for e in events if e["type"] == "message.updated")
    # The created event was rewritten to the message as it is now (redaction of edits).
    assert created["data"]["text"] == "hey @room"
    assert updated["data"]["mentions"] == {"users": [], "room": True, "here": False}
