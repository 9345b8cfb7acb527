"""Read markers and exact unread counts."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tests.api.conftest import Account, assert_problem

pytestmark = pytest.mark.anyio


async def unread(account: Account, room_id: str) -> tuple[int, int]:
    room = (await account.get(f"/rooms/{room_id}")).json()
    return room["unread_count"], room["last_read_seq"]


async def read(account: Account, room_id: str, seq: int) -> None:
    r = await account.put(f"/rooms/{room_id}/read", {"seq": seq})
    assert r.status_code == 204, r.text


async def test_unread_counts_others_messages_after_marker(alice: Account, bob: Account) -> None:
    room = await alice.create_room()
    assert (await bob.post(f"/rooms/{room['id']}/join")).status_code == 204
    a = [await alice.send(room["id"], f"a{i}") for i in range(3)]
    await bob.send(room["id"], "b0")
    assert await unread(bob, room["id"]) == (3, 0)
    assert await unread(alice, room["id"]) == (1, 0)  # own messages never count
    await read(bob, room["id"], 2)
    assert await unread(bob, room["id"]) == (1, 2)
    await alice.delete(f"/messages/{a[2]['id']}")  # seq 3, unread for bob: now not counted
    assert await unread(bob, room["id"]) == (0, 2)
    await alice.send(room["id"], "a3")
    await alice.send(room["id"], "a4")
    assert await unread(bob, room["id"]) == (2, 2)
    await read(bob, room["id"], 1)  # never moves back
    assert await unread(bob, room["id"]) == (2, 2)
    await read(bob, room["id"], 10_000)  # capped at the room's last seq
    assert await unread(bob, room["id"]) == (0, 6)
    listed = {r["id"]: r for r in (await bob.get("/rooms")).json()["rooms"]}
    assert listed[room["id"]]["unread_count"] == 0


async def test_unread_is_exact_under_interleaving(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await alice.create_room()
    for who in (bob, carol):
        await who.post(f"/rooms/{room['id']}/join")
    expected_unread_for_bob: set[int] = set()
    sent: list[dict[str, Any]] = []
    for i in range(30):
        author = (alice, carol, bob)[i % 3]
        m = await author.send(room["id"], str(i))
        sent.append(m)
        if author is not bob:
            expected_unread_for_bob.add(m["seq"])
        if i % 7 == 3:
            victim = sent[i - 2]
            owner_or_author = alice if victim["author"]["username"] != "bob" else bob
            await owner_or_author.delete(f"/messages/{victim['id']}")
            expected_unread_for_bob.discard(victim["seq"])
        if i % 10 == 9:
            await read(bob, room["id"], m["seq"] - 2)
            expected_unread_for_bob = {s for s in expected_unread_for_bob if s > m["seq"] - 2}
        count, _ = await unread(bob, room["id"])
        assert count == len(expected_unread_for_bob), f"after message {i}"


async def test_new_member_starts_with_nothing_unread(alice: Account, bob: Account) -> None:
    room = await alice.create_room()
    for i in range(4):
        await alice.send(room["id"], str(i))
    await bob.post(f"/rooms/{room['id']}/join")
    assert await unread(bob, room["id"]) == (0, 4)


async def test_read_rules(alice: Account, bob: Account) -> None:
    room = await alice.create_room()
    assert_problem(await bob.put(f"/rooms/{room['id']}/read", {"seq": 1}), 403, "not_a_member")
    assert_problem(await alice.put(f"/rooms/{room['id']}/read", {"seq": -1}), 422, "invalid")
    assert_problem(await alice.put(f"/rooms/{room['id']}/read", {"seq": "1"}), 422, "invalid")
    assert_problem(await alice.put("/rooms/nope/read", {"seq": 1}), 404, "room_not_found")


async def test_non_member_view_has_no_read_fields(alice: Account, bob: Account) -> None:
    room = await alice.create_room()
    body = (await bob.get(f"/rooms/{room['id']}")).json()
    for field in ("my_role", "last_read_seq", "unread_count"):
        assert field not in body


async def test_added_member_starts_with_nothing_unread(alice: Account, bob: Account) -> None:
    room = await alice.create_room("private", "private")
    for i in range(3):
        await alice.send(room["id"], str(i))
    assert (await alice.put(f"/rooms/{room['id']}/members/bob")).status_code == 201
    assert await unread(bob, room["id"]) == (0, 3)


async def test_rooms_are_listed_by_latest_message(alice: Account) -> None:
    a = await alice.create_room("a")
    b = await alice.create_room("b")
    await alice.send(b["id"], "b first")
    await anyio.sleep(0.01)  # times are kept to the millisecond
    await alice.send(a["id"], "a later")
    ids = [r["id"] for r in (await alice.get("/rooms")).json()["rooms"]]
    assert ids.index(a["id"]) < ids.index(b["id"])
