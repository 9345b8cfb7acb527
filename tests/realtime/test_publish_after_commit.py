"""Every kind of write reaches a live WebSocket subscriber because the write published it.

The servers of this suite poll the database once an hour (tests/realtime/conftest.py), so an
event can only arrive within the wait below if the unit of work that committed it also
published it. One case per kind of write.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.realtime.conftest import Account, Chat, wait_for

pytestmark = pytest.mark.anyio

# Generous next to the milliseconds delivery takes, tiny next to the hour-long poll.
WITHIN = 2.0


@dataclass
class World:
    chat: Chat
    alice: Account  # owner of `room`
    bob: Account  # member of `room`
    carol: Account  # in no room with the others
    room: str
    message: dict[str, Any]  # alice's, in `room`


Write = Callable[[World], Awaitable[Any]]


async def _edit(w: World) -> None:
    await w.alice.expect(200, "PATCH", f"/messages/{w.message['id']}", {"text": "edited"})


async def _delete(w: World) -> None:
    await w.alice.expect(204, "DELETE", f"/messages/{w.message['id']}")


async def _react(w: World) -> None:
    await w.alice.expect(204, "PUT", f"/messages/{w.message['id']}/reactions/ok")


async def _unreact(w: World) -> None:
    await w.bob.expect(204, "PUT", f"/messages/{w.message['id']}/reactions/ok")
    await w.bob.expect(204, "DELETE", f"/messages/{w.message['id']}/reactions/ok")


async def _add(w: World) -> None:
    await w.alice.expect(201, "PUT", f"/rooms/{w.room}/members/{w.carol.username}")


async def _remove(w: World) -> None:
    await w.alice.expect(204, "DELETE", f"/rooms/{w.room}/members/{w.bob.username}")


async def _role(w: World) -> None:
    await w.alice.expect(200, "PUT", f"/rooms/{w.room}/members/{w.bob.username}", {"role": "admin"})


async def _classic(w: World) -> None:
    r = await w.chat.http.post("/message", json={"user": "guest", "text": "classic"})
    assert r.status_code == 200


# (name, who watches, the write, the event type it must see, what the event must say)
CASES: list[tuple[str, str, Write, str, Callable[[World, dict[str, Any]], bool]]] = [
    (
        "send",
        "bob",
        lambda w: w.alice.send(w.room, "hi"),
        "message.created",
        lambda w, e: e["data"]["text"] == "hi",
    ),
    (
        "edit",
        "bob",
        _edit,
        "message.updated",
        lambda w, e: e["data"]["id"] == w.message["id"] and e["data"]["text"] == "edited",
    ),
    ("delete", "bob", _delete, "message.deleted", lambda w, e: e["data"]["id"] == w.message["id"]),
    ("react", "bob", _react, "reaction.added", lambda w, e: e["data"]["emoji"] == "ok"),
    ("unreact", "alice", _unreact, "reaction.removed", lambda w, e: e["data"]["emoji"] == "ok"),
    (
        "create room",
        "alice",
        lambda w: w.alice.create_room("fresh"),
        "member.joined",
        lambda w, e: e["data"]["room"]["name"] == "fresh",
    ),
    (
        "update room",
        "bob",
        lambda w: w.alice.expect(200, "PATCH", f"/rooms/{w.room}", {"topic": "new"}),
        "room.updated",
        lambda w, e: e["data"]["topic"] == "new",
    ),
    (
        "join",
        "alice",
        lambda w: w.carol.expect(204, "POST", f"/rooms/{w.room}/join"),
        "member.joined",
        lambda w, e: e["data"]["user"]["id"] == w.carol.id,
    ),
    (
        "leave",
        "alice",
        lambda w: w.bob.expect(204, "POST", f"/rooms/{w.room}/leave"),
        "member.left",
        lambda w, e: e["data"]["user"]["id"] == w.bob.id,
    ),
    ("add member", "carol", _add, "member.joined", lambda w, e: e["room_id"] == w.room),
    (
        "remove member",
        "bob",
        _remove,
        "member.left",
        lambda w, e: e["data"]["user"]["id"] == w.bob.id,
    ),
    ("role change", "bob", _role, "member.updated", lambda w, e: e["data"]["role"] == "admin"),
    (
        "read marker",
        "alice",
        lambda w: w.alice.expect(204, "PUT", f"/rooms/{w.room}/read", {"seq": 1}),
        "read.updated",
        lambda w, e: e["data"]["last_read_seq"] == 1,
    ),
    (
        "open DM",
        "carol",
        lambda w: w.alice.expect(201, "POST", "/dms", {"username": w.carol.username}),
        "member.joined",
        lambda w, e: e["data"]["room"]["kind"] == "dm",
    ),
    (
        "classic POST /message",
        "carol",
        _classic,
        "message.created",
        lambda w, e: e["data"]["author"]["guest"] is True and e["data"]["text"] == "classic",
    ),
]


@pytest.mark.parametrize(
    ("watcher", "write", "event_type", "check"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_each_kind_of_write_reaches_a_live_websocket_without_the_poll(
    chat: Chat,
    watcher: str,
    write: Write,
    event_type: str,
    check: Callable[[World, dict[str, Any]], bool],
) -> None:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    carol = await chat.sign_up("carol", in_lobby=True)  # the lobby: for the classic post
    room = (await alice.create_room("pub", "public"))["id"]
    await alice.expect(201, "PUT", f"/rooms/{room}/members/{bob.username}")
    world = World(chat, alice, bob, carol, room, await alice.send(room, "original"))
    observer = {"alice": alice, "bob": bob, "carol": carol}[watcher]
    async with chat.ws(observer) as stream:
        started = time.monotonic()
        await write(world)
        event, _ = await wait_for(
            stream, lambda e: e["type"] == event_type and check(world, e), within=WITHIN
        )
    assert event["id"], "a durable event, with its cursor"
    assert time.monotonic() - started < WITHIN
