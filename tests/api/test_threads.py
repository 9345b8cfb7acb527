"""Threads: replies under a root, exact summaries under concurrency, the top-level timeline,
following and unread threads, thread read markers. Both engines."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api.conftest import Account, assert_problem

pytestmark = pytest.mark.anyio


async def reply(account: Account, room: str, root: str, text: str, **body: Any) -> dict[str, Any]:
    return await account.send(room, text, thread_root=root, **body)


async def room_of(owner: Account, *members: Account) -> str:
    room = await owner.create_room("plans", "private")
    for member in members:
        assert (
            await owner.put(f"/rooms/{room['id']}/members/{member.username}")
        ).status_code == 201
    return str(room["id"])


async def test_a_reply_is_a_room_message_and_updates_its_root(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_of(alice, bob, carol)
    root = await alice.send(room, "what shall we eat?")
    assert root["thread"] is None
    first = await reply(bob, room, root["id"], "pizza")
    assert (first["seq"], first["thread_root"], first["also_to_room"]) == (2, root["id"], False)
    await reply(carol, room, root["id"], "sushi")
    await reply(bob, room, root["id"], "or both", also_to_room=True)
    found = (await alice.get(f"/messages/{root['id']}")).json()
    thread = found["thread"]
    assert thread["reply_count"] == 3
    assert [u["username"] for u in thread["participants"]] == ["bob", "carol"]
    assert thread["last_reply_at"] is not None
    # The plain history is every message in seq order; the timeline only roots and replies
    # also sent to the room.
    plain = (await alice.get(f"/rooms/{room}/messages")).json()["messages"]
    assert [m["seq"] for m in plain] == [1, 2, 3, 4]
    top = (await alice.get(f"/rooms/{room}/messages", params={"top_level": "true"})).json()
    assert [m["text"] for m in top["messages"]] == ["what shall we eat?", "or both"]
    assert (top["has_more_before"], top["has_more_after"]) == (False, False)
    # The thread itself.
    page = (await carol.get(f"/messages/{root['id']}/thread")).json()
    assert page["root"]["id"] == root["id"]
    assert [m["text"] for m in page["replies"]] == ["pizza", "sushi", "or both"]
    assert page["has_more"] is False
    page = (
        await carol.get(f"/messages/{root['id']}/thread", params={"after": 2, "limit": 1})
    ).json()
    assert ([m["text"] for m in page["replies"]], page["has_more"]) == (["sushi"], True)


async def test_thread_replies_count_in_the_thread_not_the_room(
    alice: Account, bob: Account
) -> None:
    room = await room_of(alice, bob)
    root = await alice.send(room, "root")
    await reply(alice, room, root["id"], "in the thread")
    await reply(alice, room, root["id"], "also in the room", also_to_room=True)
    me = (await bob.get(f"/rooms/{room}")).json()
    assert me["unread_count"] == 2  # the root and the reply also sent to the room


async def test_what_may_be_a_root(alice: Account, bob: Account) -> None:
    room = await room_of(alice, bob)
    other = await room_of(alice)
    root = await alice.send(room, "root")
    child = await reply(alice, room, root["id"], "reply")
    elsewhere = await alice.send(other, "elsewhere")
    gone = await alice.send(room, "gone")
    assert (await alice.delete(f"/messages/{gone['id']}")).status_code == 204
    before = (await alice.get(f"/rooms/{room}")).json()["last_seq"]
    for target, status, code in (
        (child["id"], 422, "invalid"),
        (elsewhere["id"], 422, "invalid"),
        ("m_nonexistent", 422, "invalid"),
        (gone["id"], 409, "message_deleted"),
    ):
        r = await bob.post(f"/rooms/{room}/messages", {"text": "x", "thread_root": target})
        assert_problem(r, status, code)
    r = await bob.post(f"/rooms/{room}/messages", {"text": "x", "also_to_room": True})
    assert_problem(r, 422, "invalid")
    assert (await alice.get(f"/rooms/{room}")).json()["last_seq"] == before


async def test_concurrent_replies_keep_the_count_exact_and_seqs_gapless(
    alice: Account, bob: Account
) -> None:
    room = await room_of(alice, bob)
    root = await alice.send(room, "count me")
    sent = await asyncio.gather(
        *(reply(bob if i % 2 else alice, room, root["id"], f"r{i}") for i in range(30))
    )
    assert sorted(m["seq"] for m in sent) == list(range(2, 32))
    assert (await alice.get(f"/messages/{root['id']}")).json()["thread"]["reply_count"] == 30
    # Deleting replies, concurrently too, keeps it exact.
    await asyncio.gather(*(alice.delete(f"/messages/{m['id']}") for m in sent[:10]))
    thread = (await alice.get(f"/messages/{root['id']}")).json()["thread"]
    assert thread["reply_count"] == 20
    left = {m["author"]["username"] for m in sent[10:]}
    assert {u["username"] for u in thread["participants"]} == left


async def test_following_and_unread_threads(alice: Account, bob: Account, carol: Account) -> None:
    room = await room_of(alice, bob, carol)
    root = await alice.send(room, "a question")
    other = await carol.send(room, "another")
    # alice wrote the root, bob replies: both follow; carol follows by hand.
    r1 = await reply(bob, room, root["id"], "an answer")
    assert (await carol.put(f"/messages/{other['id']}/follow")).status_code == 204
    await reply(alice, room, other["id"], "on the other")
    threads = (await alice.get("/threads", params={"unread": "true"})).json()["threads"]
    assert [(t["root"]["id"], t["unread_count"]) for t in threads] == [(root["id"], 1)]
    assert (await bob.get("/threads", params={"unread": "true"})).json()["threads"] == []
    carols = (await carol.get("/threads", params={"unread": "true"})).json()["threads"]
    assert [t["root"]["id"] for t in carols] == [other["id"]]
    # Reading the thread clears it; thread.read reaches alice's connections.
    cursor = (await alice.get("/events", params={"timeout": 0})).json()["next"]
    r = await alice.put(f"/messages/{root['id']}/thread/read", {"seq": r1["seq"]})
    assert r.json() == {"last_read_seq": r1["seq"]}
    assert (await alice.get("/threads", params={"unread": "true"})).json()["threads"] == []
    events = (await alice.get("/events", params={"since": cursor, "timeout": 0})).json()["events"]
    assert [e["data"]["unread_count"] for e in events if e["type"] == "thread.read"] == [0]
    # All followed threads (read or not), most recent reply first.
    everything = (await alice.get("/threads")).json()["threads"]
    assert [t["root"]["id"] for t in everything] == [other["id"], root["id"]]
    # Unfollowing; a reader who does not follow has no marker to move.
    assert (await alice.delete(f"/messages/{root['id']}/follow")).status_code == 204
    assert_problem(
        await alice.put(f"/messages/{root['id']}/thread/read", {"seq": 9}), 403, "not_a_member"
    )
    # Unfollowing sticks: later replies by others don't make the root's author follow again
    # (replying yourself does).
    await reply(bob, room, root["id"], "another answer")
    assert root["id"] not in [
        t["root"]["id"] for t in (await alice.get("/threads")).json()["threads"]
    ]
    await reply(alice, room, root["id"], "thanks")
    assert root["id"] in [t["root"]["id"] for t in (await alice.get("/threads")).json()["threads"]]
    # Leaving the room drops its threads from the list.
    assert (await carol.post(f"/rooms/{room}/leave")).status_code == 204
    assert (await carol.get("/threads")).json()["threads"] == []


async def test_thread_updated_events(alice: Account, bob: Account) -> None:
    room = await room_of(alice, bob)
    root = await alice.send(room, "root")
    cursor = (await bob.get("/events", params={"timeout": 0})).json()["next"]
    sent = await reply(alice, room, root["id"], "one")
    assert (await alice.delete(f"/messages/{sent['id']}")).status_code == 204
    events = (await bob.get("/events", params={"since": cursor, "timeout": 0})).json()["events"]
    updates = [e["data"] for e in events if e["type"] == "thread.updated"]
    assert [u["thread"]["reply_count"] for u in updates] == [1, 0]
    assert {u["root_id"] for u in updates} == {root["id"]}


async def test_strangers_see_no_private_thread(alice: Account, bob: Account, dave: Account) -> None:
    room = await room_of(alice, bob)
    root = await alice.send(room, "private")
    assert_problem(await dave.get(f"/messages/{root['id']}/thread"), 404, "message_not_found")
    assert_problem(await dave.put(f"/messages/{root['id']}/follow"), 404, "message_not_found")
