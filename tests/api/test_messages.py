"""Messages: send, get, edit, delete (tombstones), replies, reactions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.conftest import Account, assert_problem

pytestmark = pytest.mark.anyio

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_send_returns_message_with_seq_author_and_time(alice: Account) -> None:
    room = await alice.create_room()
    r = await alice.post(f"/rooms/{room['id']}/messages", {"text": "hello"})
    assert r.status_code == 201
    m = r.json()
    assert m["seq"] == 1
    assert m["room_id"] == room["id"]
    assert m["text"] == "hello"
    assert m["author"] == {
        "id": alice.id,
        "username": "alice",
        "display_name": "alice",
        "guest": False,
        "bot": False,
        "avatar_url": None,
    }
    assert m["cards"] == []
    assert RFC3339_MS.match(m["created_at"])
    assert m["edited_at"] is None
    assert m["deleted"] is False
    assert m["reply_to"] is None
    assert m["reactions"] == []
    assert (await alice.get(f"/messages/{m['id']}")).json() == m


async def test_seqs_count_up_per_room(alice: Account) -> None:
    a = await alice.create_room("a")
    b = await alice.create_room("b")
    seqs = [(await alice.send(a["id"], "x"))["seq"] for _ in range(3)]
    assert seqs == [1, 2, 3]
    assert (await alice.send(b["id"], "y"))["seq"] == 1
    assert (await alice.get(f"/rooms/{a['id']}")).json()["last_seq"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   \n\t"}, "text"),
        ({"text": "x" * 4001}, "text"),
        ({}, "text"),
        ({"text": 5}, "text"),
        ({"text": "ok", "extra": 1}, "extra"),
    ],
)
async def test_invalid_message_is_422_naming_the_field(
    alice: Account, body: dict[str, Any], field: str
) -> None:
    r = await alice.post("/rooms/general/messages", body)
    problem = assert_problem(r, 422, "invalid")
    assert field in problem["detail"]
    assert (await alice.get("/rooms/general")).json()["last_seq"] == 0


async def test_message_text_limits_are_inclusive(alice: Account) -> None:
    assert (await alice.send("general", "x" * 4000))["text"] == "x" * 4000
    assert (await alice.send("general", "y"))["seq"] == 2


async def test_unicode_text_round_trips(alice: Account) -> None:
    text = "👩‍👩‍👧 你好 مرحبا <script>alert(1)</script> &amp;"
    m = await alice.send("general", text)
    assert (await alice.get(f"/messages/{m['id']}")).json()["text"] == text


async def test_send_to_missing_room_is_404(alice: Account) -> None:
    assert_problem(await alice.post("/rooms/nope/messages", {"text": "x"}), 404, "room_not_found")


async def test_send_to_public_room_needs_membership(alice: Account, bob: Account) -> None:
    room = await alice.create_room()
    assert_problem(
        await bob.post(f"/rooms/{room['id']}/messages", {"text": "x"}), 403, "not_a_member"
    )


async def test_private_room_messages_are_invisible_to_strangers(
    alice: Account, bob: Account
) -> None:
    room = await alice.create_room("secret", "private")
    m = await alice.send(room["id"], "psst")
    assert_problem(
        await bob.post(f"/rooms/{room['id']}/messages", {"text": "x"}), 404, "room_not_found"
    )
    assert_problem(await bob.get(f"/rooms/{room['id']}/messages"), 404, "room_not_found")
    assert_problem(await bob.get(f"/messages/{m['id']}"), 404, "message_not_found")
    assert_problem(await bob.patch(f"/messages/{m['id']}", {"text": "y"}), 404, "message_not_found")
    assert_problem(await bob.delete(f"/messages/{m['id']}"), 404, "message_not_found")
    assert_problem(await bob.put(f"/messages/{m['id']}/reactions/👍"), 404, "message_not_found")


async def test_public_room_history_is_readable_by_non_members(alice: Account, bob: Account) -> None:
    room = await alice.create_room()
    await alice.send(room["id"], "hi all")
    r = await bob.get(f"/rooms/{room['id']}/messages")
    assert r.status_code == 200
    assert [m["text"] for m in r.json()["messages"]] == ["hi all"]


async def test_reply_to_must_be_in_same_room(alice: Account) -> None:
    a = await alice.create_room("a")
    b = await alice.create_room("b")
    parent = await alice.send(a["id"], "parent")
    reply = await alice.send(a["id"], "child", reply_to=parent["id"])
    assert reply["reply_to"] == parent["id"]
    r = await alice.post(f"/rooms/{b['id']}/messages", {"text": "x", "reply_to": parent["id"]})
    assert assert_problem(r, 422, "invalid")["field"] == "reply_to"
    r = await alice.post(f"/rooms/{a['id']}/messages", {"text": "x", "reply_to": "m_nope"})
    assert_problem(r, 422, "invalid")


async def test_edit_own_message_sets_edited_at(alice: Account) -> None:
    m = await alice.send("general", "frist")
    r = await alice.patch(f"/messages/{m['id']}", {"text": "first"})
    assert r.status_code == 200
    edited = r.json()
    assert edited["text"] == "first"
    assert RFC3339_MS.match(edited["edited_at"])
    assert edited["seq"] == m["seq"]
    assert edited["created_at"] == m["created_at"]


async def test_only_the_author_edits(alice: Account, bob: Account) -> None:
    m = await alice.send("general", "mine")
    assert_problem(await bob.patch(f"/messages/{m['id']}", {"text": "yours"}), 403, "not_author")
    assert (await alice.get(f"/messages/{m['id']}")).json()["text"] == "mine"


async def test_edit_validates_text(alice: Account) -> None:
    m = await alice.send("general", "x")
    assert_problem(await alice.patch(f"/messages/{m['id']}", {"text": ""}), 422, "invalid")
    assert_problem(await alice.patch("/messages/m_nope", {"text": "y"}), 404, "message_not_found")


async def test_delete_leaves_tombstone_and_keeps_seq_gapless(alice: Account) -> None:
    room = await alice.create_room()
    ids = [(await alice.send(room["id"], f"m{i}"))["id"] for i in range(3)]
    await alice.put(f"/messages/{ids[1]}/reactions/👍")
    assert (await alice.delete(f"/messages/{ids[1]}")).status_code == 204
    assert (await alice.delete(f"/messages/{ids[1]}")).status_code == 204  # idempotent
    messages = (await alice.get(f"/rooms/{room['id']}/messages")).json()["messages"]
    assert [m["seq"] for m in messages] == [1, 2, 3]
    tomb = messages[1]
    assert (tomb["deleted"], tomb["text"], tomb["reactions"]) == (True, "", [])
    assert_problem(
        await alice.patch(f"/messages/{ids[1]}", {"text": "back"}), 409, "message_deleted"
    )
    assert_problem(await alice.put(f"/messages/{ids[1]}/reactions/👍"), 409, "message_deleted")


async def test_delete_by_author_owner_or_admin_only(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await alice.create_room()
    for who in (bob, carol):
        assert (await who.post(f"/rooms/{room['id']}/join")).status_code == 204
    assert (
        await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"})
    ).status_code == 200
    by_carol = await carol.send(room["id"], "carol's")
    by_alice = await alice.send(room["id"], "alice's")
    assert_problem(await carol.delete(f"/messages/{by_alice['id']}"), 403, "not_author")
    assert (await bob.delete(f"/messages/{by_carol['id']}")).status_code == 204  # admin
    assert (await alice.delete(f"/messages/{by_alice['id']}")).status_code == 204  # author


async def test_reactions_count_and_mark_mine(alice: Account, bob: Account) -> None:
    m = await alice.send("general", "react to me")
    for who, emoji in ((alice, "👍"), (bob, "👍"), (bob, "🎉"), (bob, "🎉")):
        assert (await who.put(f"/messages/{m['id']}/reactions/{emoji}")).status_code == 204
    mine = (await alice.get(f"/messages/{m['id']}")).json()["reactions"]
    assert mine == [
        {"emoji": "👍", "count": 2, "me": True},
        {"emoji": "🎉", "count": 1, "me": False},
    ]
    assert (await bob.delete(f"/messages/{m['id']}/reactions/👍")).status_code == 204
    assert (await bob.delete(f"/messages/{m['id']}/reactions/👍")).status_code == 204
    theirs = (await bob.get(f"/messages/{m['id']}")).json()["reactions"]
    assert theirs == [
        {"emoji": "👍", "count": 1, "me": False},
        {"emoji": "🎉", "count": 1, "me": True},
    ]


async def test_reaction_rules(alice: Account, bob: Account) -> None:
    room = await alice.create_room()
    m = await alice.send(room["id"], "x")
    assert_problem(await bob.put(f"/messages/{m['id']}/reactions/👍"), 403, "not_a_member")
    assert_problem(await alice.put(f"/messages/{m['id']}/reactions/{'x' * 33}"), 422, "invalid")
    assert (await alice.put(f"/messages/{m['id']}/reactions/{'x' * 32}")).status_code == 204
    assert_problem(await alice.put("/messages/m_nope/reactions/x"), 404, "message_not_found")


async def test_classic_posts_appear_as_guest_messages(alice: Account) -> None:
    r = await alice.client.post("/message", json={"user": "superman", "text": "up, up"})
    assert r.status_code == 200
    m = (await alice.get("/rooms/general/messages")).json()["messages"][-1]
    assert m["author"] == {
        "id": None,
        "username": None,
        "display_name": "superman",
        "guest": True,
        "bot": False,
        "avatar_url": None,
    }
    await alice.send("general", "hi superman")
    classic = (await alice.client.get("/messages")).json()["messages"]
    assert [(c["user"], c["text"]) for c in classic] == [
        ("superman", "up, up"),
        ("alice", "hi superman"),
    ]


async def test_editing_needs_membership(alice: Account, bob: Account) -> None:
    room = await alice.create_room()
    await bob.post(f"/rooms/{room['id']}/join")
    m = await bob.send(room["id"], "before leaving")
    assert (await bob.post(f"/rooms/{room['id']}/leave")).status_code == 204
    assert_problem(await bob.patch(f"/messages/{m['id']}", {"text": "after"}), 403, "not_a_member")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/rooms/general/messages", {"text": "a\u0000b"}),
        ("POST", "/rooms", {"name": "a\u0000", "visibility": "public"}),
        ("POST", "/dms", {"username": "bob\u0000"}),
        ("GET", "/users/al%00ice", None),
        ("GET", "/users?prefix=a%00", None),
        ("GET", "/rooms/gen%00eral", None),
    ],
)
async def test_nul_characters_are_422_everywhere(
    alice: Account, method: str, path: str, body: dict[str, Any] | None
) -> None:
    r = await alice.client.request(method, "/api/v1" + path, json=body, headers=alice.headers)
    assert_problem(r, 422, "invalid")
