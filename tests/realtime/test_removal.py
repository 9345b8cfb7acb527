"""Streams after moderation and revocation (issue #12), against a real server on both engines
and over every transport: a member who is removed or banned gets nothing more of that room,
not even what was queued for them, and their REST reads of a private room answer 404 from
the 2xx on; a deactivated account's streams close; a password change or a revoked session
closes the other sessions' streams within a second; room.created and user.updated reach
every signed-in user.

Every test here waits for what the server says (an event, a close, presence) rather than
sleeping. To see that nothing of a room arrives after a point, a test posts a sentinel
message in another room the user is still in, and reads up to it: the stream is in position
order, so anything of the room that was going to arrive would have arrived before it.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

from tests.api.conftest import ROOM_FIELDS
from tests.event_schema import check_frame
from tests.realtime.conftest import (
    API,
    PASSWORD,
    TRANSPORTS,
    Account,
    Chat,
    EventStream,
    StreamEnded,
    Transport,
    hubbub_server,
    read_until_closed,
    wait_for,
)
from tests.server_process import ServerProcess

pytestmark = pytest.mark.anyio

WITHIN = 1.0  # revocation must close a stream within a second (the bound)
ADMIN = "root"  # the first account of each server here, so its server admin
NEW_PASSWORD = "battery staple 42"
BIG_TEXT = "x" * 250_000


def messages_to_fill_the_socket() -> int:
    """Enough big messages that a client which does not read holds the server's writer up:
    the kernel's send buffer grows to tcp_wmem's maximum (4 MB by default); send twice
    that (as tests/realtime/test_slow_consumer.py does)."""
    try:
        wmem_max = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        wmem_max = 4 * 1024 * 1024
    return max(40, (2 * wmem_max) // len(BIG_TEXT) + 10)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server of this module's own per engine, so that its first account (the server
    admin, `root`) is made here; it takes big messages, to stall a stream that is not read."""
    database_url = None
    if request.param == "postgres":
        database_url = request.getfixturevalue("pg_databases").create_empty()
    with hubbub_server(
        tmp_path_factory.mktemp("removal"),
        database_url,
        HUBBUB_MESSAGE_TEXT_MAX="300000",
        HUBBUB_MAX_BODY_BYTES="400000",
    ) as running:
        r = httpx.post(
            f"{running.url}{API}/accounts",
            json={"username": ADMIN, "password": PASSWORD},
            trust_env=False,
            timeout=30,
        )
        assert r.status_code == 201, r.text
        assert r.json()["user"]["is_admin"] is True
        yield running


async def sign_in(chat: Chat, username: str, password: str = PASSWORD) -> Account:
    """A new session of an existing account."""
    r = await chat.http.post(f"{API}/sessions", json={"username": username, "password": password})
    assert r.status_code == 201, r.text
    return Account(username, r.json()["token"], r.json()["user"]["id"], chat.http)


@pytest.fixture
async def admin(chat: Chat) -> Account:
    return await sign_in(chat, ADMIN)


def is_message(message: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == "message.created" and e["data"]["id"] == message["id"]


async def shared_room(owner: Account, *others: Account, visibility: str = "private") -> str:
    room = (await owner.create_room("r", visibility))["id"]
    for other in others:
        await owner.expect(201, "PUT", f"/rooms/{room}/members/{other.username}")
    return str(room)


async def take_out(owner: Account, room: str, user: Account, how: str) -> None:
    """Remove or ban `user`; fails the test unless it answers 204."""
    if how == "removed":
        await owner.expect(204, "DELETE", f"/rooms/{room}/members/{user.username}")
    else:
        await owner.expect(204, "PUT", f"/rooms/{room}/bans/{user.username}", {"reason": "test"})


async def assert_private_room_hidden(user: Account, room: str, message_id: str) -> None:
    for path in (f"/rooms/{room}", f"/rooms/{room}/messages", f"/rooms/{room}/members"):
        r = await user.get(path)
        assert r.status_code == 404, f"{path}: {r.text}"
        assert r.json()["code"] == "room_not_found"
    r = await user.get(f"/messages/{message_id}")
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "message_not_found"


def assert_left_last(seen: list[dict[str, Any]], room: str, user: Account, how: str) -> int:
    """`seen` holds exactly one member.left of `user` from `room`, with `how`, and nothing of
    the room after it. Returns its index."""
    left = [
        i
        for i, e in enumerate(seen)
        if e["type"] == "member.left"
        and e["room_id"] == room
        and e["data"]["user"]["id"] == user.id
    ]
    assert len(left) == 1, seen
    assert seen[left[0]]["data"]["how"] == how
    after = [e for e in seen[left[0] + 1 :] if e.get("room_id") == room]
    assert after == [], f"events of the room after member.left: {after}"
    return left[0]


async def wait_until_online(asker: Account, user: Account) -> None:
    """Until the server counts `user` as connected: their (long-poll) subscription is live.
    `asker` must share a room with them."""
    with anyio.fail_after(10):
        while True:
            r = await asker.get("/presence", params={"user_id": [user.id]})
            assert r.status_code == 200, r.text
            if r.json()["online"] == [user.id]:
                return
            await anyio.sleep(0.02)


# -- removal and ban ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["removed", "banned"])
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_member_taken_out_gets_nothing_more_of_the_room(
    chat: Chat, transport: Transport, how: str
) -> None:
    alice, bob, carol = [await chat.sign_up(name) for name in ("alice", "bob", "carol")]
    room = await shared_room(alice, bob)
    other = await shared_room(alice, bob)
    async with chat.stream(transport, bob, None) as stream:
        before = await alice.send(room, "before")
        await wait_for(stream, is_message(before))
        await take_out(alice, room, bob, how)
        await assert_private_room_hidden(bob, room, before["id"])
        after = await alice.send(room, "after")
        await alice.expect(200, "PATCH", f"/rooms/{room}", {"topic": "after"})
        await alice.expect(201, "PUT", f"/rooms/{room}/members/{carol.username}")
        sentinel = await alice.send(other, "sentinel")
        _, seen = await wait_for(stream, is_message(sentinel))
    assert_left_last(seen, room, bob, how)
    assert after["id"] not in [e["data"].get("id") for e in seen]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_user_banned_from_the_lobby_by_the_server_admin_gets_nothing_more_of_it(
    chat: Chat, admin: Account, transport: Transport
) -> None:
    bob = await chat.sign_up("bob", in_lobby=True)
    alice = await chat.sign_up("alice")
    other = await shared_room(alice, bob)
    async with chat.stream(transport, bob, None) as stream:
        await admin.expect(204, "PUT", f"/rooms/general/bans/{bob.username}", {"reason": "spam"})
        await chat.classic_post("guest", "after the ban")
        await admin.send("general", "after the ban, too")
        sentinel = await alice.send(other, "sentinel")
        _, seen = await wait_for(stream, is_message(sentinel))
    assert_left_last(seen, "general", bob, "banned")
    await bob.expect(403, "POST", "/rooms/general/join")
    await admin.expect(204, "DELETE", f"/rooms/general/bans/{bob.username}")


class StalledSse:
    """An SSE response read off a socket with a tiny receive buffer, and only when the test
    reads: until then the server's writes back up, as with a client that has stalled."""

    def __init__(self, raw: SocketStream) -> None:
        self._raw = raw
        self._in = BufferedByteReceiveStream(raw)
        self._text = b""
        self._chunk: int | None = None  # the size of the chunk being read, once its line is
        self.cursor: str | None = None

    @classmethod
    @asynccontextmanager
    async def open(cls, chat: Chat, account: Account) -> AsyncIterator[StalledSse]:
        port = int(chat.url.rpartition(":")[2])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        raw = await SocketStream.from_socket(sock)
        async with raw:
            request = (
                f"GET {API}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {account.token}\r\nAccept: text/event-stream\r\n\r\n"
            )
            await raw.send(request.encode())
            stream = cls(raw)
            with anyio.fail_after(10):
                head = await stream._in.receive_until(b"\r\n\r\n", 16_384)
            assert head.startswith(b"HTTP/1.1 200"), head
            assert b"transfer-encoding: chunked" in head.lower(), head
            hello = await stream.next_event(10)
            assert hello is not None
            assert hello["type"] == "hello"
            yield stream

    async def _record(self) -> bytes:
        """The next SSE record. Safe to cancel: partial reads stay buffered."""
        while b"\n\n" not in self._text:
            if self._chunk is None:
                line = await self._in.receive_until(b"\r\n", 64)
                self._chunk = int(line.split(b";")[0], 16)
                if self._chunk == 0:
                    raise StreamEnded(None, "SSE response ended")
            data = await self._in.receive_exactly(self._chunk + 2)  # the chunk and its CRLF
            self._chunk = None
            self._text += data[:-2]
        record, _, self._text = self._text.partition(b"\n\n")
        return record

    async def next_event(self, within: float) -> dict[str, Any] | None:
        with anyio.move_on_after(within):
            while True:
                lines = (await self._record()).split(b"\n")
                data = [line[5:].removeprefix(b" ") for line in lines if line.startswith(b"data:")]
                if not data:  # `retry:`, a keep-alive comment
                    continue
                frame = dict(json.loads(b"\n".join(data)))
                check_frame(frame)
                return frame
        return None


@asynccontextmanager
async def stalled_stream(
    chat: Chat, transport: Transport, account: Account
) -> AsyncIterator[EventStream]:
    """A WebSocket or SSE stream that reads nothing until the test asks for an event."""
    if transport == "ws":
        async with chat.ws(account, rcvbuf=4096) as ws:
            yield ws
    else:
        async with StalledSse.open(chat, account) as sse:
            yield sse


@pytest.mark.parametrize("how", ["removed", "banned", "deactivated"])
@pytest.mark.parametrize("transport", ["ws", "sse"])
async def test_what_was_queued_for_a_stalled_stream_is_dropped_when_taken_out(
    chat: Chat, admin: Account, transport: Transport, how: str
) -> None:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    room = await shared_room(alice, bob)
    other = await shared_room(alice, bob)
    count = messages_to_fill_the_socket()
    async with stalled_stream(chat, transport, bob) as stream:
        # bob reads nothing: the socket fills, then the server queues the rest for him.
        sent = [(await alice.send(room, f"{i} {BIG_TEXT}"))["id"] for i in range(count)]
        # Queued behind them: messages of a room bob stays in.
        kept = [(await alice.send(other, f"kept {i}"))["id"] for i in range(3)]
        if how == "deactivated":
            await admin.expect(200, "PATCH", f"/admin/users/{bob.username}", {"deactivated": True})
            with anyio.fail_after(30):
                seen, ended = await read_until_closed(stream)
            assert ended.code == (4401 if transport == "ws" else None)
            if transport == "sse":
                assert seen.pop()["type"] == "session_ended"
            assert all(e["type"] == "message.created" for e in seen), seen
            end = len(seen)
        else:
            await take_out(alice, room, bob, how)
            sentinel = await alice.send(other, "sentinel")
            _, seen = await wait_for(stream, is_message(sentinel), within=30)
            end = assert_left_last(seen, room, bob, how)
            # Only the room's frames were dropped: the other room's all came, in order.
            assert [e["data"]["id"] for e in seen if e["room_id"] == other] == kept
    got = [e["data"]["id"] for e in seen[:end] if e["room_id"] == room]
    assert got == sent[: len(got)], "what arrived is the start of what was sent, in order"
    assert len(got) < count, "the messages still queued when bob was taken out reached him"


async def test_a_long_poll_that_is_behind_gets_nothing_of_the_room_after_the_ban(
    chat: Chat,
) -> None:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    room = await shared_room(alice, bob)
    other = await shared_room(alice, bob)
    async with chat.longpoll(bob, wait=0.5) as stream:
        # Events are pending for bob, who is not polling, when he is banned.
        for i in range(5):
            await alice.send(room, f"pending {i}")
        await take_out(alice, room, bob, "banned")
        after = await alice.send(room, "after")
        sentinel = await alice.send(other, "sentinel")
        _, seen = await wait_for(stream, is_message(sentinel))
    assert_left_last(seen, room, bob, "banned")
    assert after["id"] not in [e["data"].get("id") for e in seen]


# -- deactivation and revoked sessions -----------------------------------------------------------


async def assert_closed_for_the_session(
    chat: Chat, transport: Transport, account: Account, stream: EventStream | None
) -> list[dict[str, Any]]:
    """The stream ends as a signed-out session's does (WebSocket 4401, SSE `session_ended`),
    within WITHIN; returns the events read before the end."""
    assert stream is not None
    with anyio.fail_after(WITHIN):
        events, ended = await read_until_closed(stream, within=WITHIN)
    if transport == "ws":
        assert ended.code == 4401, ended
    else:
        assert [e["type"] for e in events][-1:] == ["session_ended"], events
        assert ended.code is None
        events = events[:-1]
    return events


@asynccontextmanager
async def doomed_stream(
    chat: Chat, transport: Transport, account: Account, witness: Account
) -> AsyncIterator[tuple[EventStream | None, dict[str, Any]]]:
    """A stream of `account` that the test expects the server to end. For long-poll, one poll
    waits in the background (live once `witness`, who shares a room, sees the user online),
    and the dict gets its answer's status and the time it came."""
    answer: dict[str, Any] = {}
    if transport == "longpoll":
        since = await chat.head(account)

        async def poll() -> None:
            r = await chat.poll(account, since, wait=20)
            answer.update(status=r.status_code, at=time.monotonic(), body=r.json())

        async with anyio.create_task_group() as tg:
            tg.start_soon(poll)
            await wait_until_online(witness, account)
            yield None, answer
    else:
        async with chat.stream(transport, account, None) as stream:
            yield stream, answer


async def assert_ended(
    chat: Chat,
    transport: Transport,
    account: Account,
    stream: EventStream | None,
    answer: dict[str, Any],
    since: float,
) -> list[dict[str, Any]]:
    """The doomed stream ended within WITHIN of `since` (long-poll: answered 401)."""
    if transport == "longpoll":
        with anyio.fail_after(WITHIN):
            while "status" not in answer:  # noqa: ASYNC110 - the poll task's answer
                await anyio.sleep(0.01)
        assert answer["status"] == 401, answer
        assert answer["body"]["code"] == "unauthenticated"
        assert answer["at"] - since < WITHIN
        return []
    return await assert_closed_for_the_session(chat, transport, account, stream)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_deactivation_closes_the_accounts_streams_at_once(
    chat: Chat, admin: Account, transport: Transport
) -> None:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    room = await shared_room(alice, bob)
    async with doomed_stream(chat, transport, bob, alice) as (stream, answer):
        # Events on their way to bob when the account goes (a waiting long-poll would answer
        # them at once, and then not be waiting: it gets none).
        count = 0 if transport == "longpoll" else 3
        queued = [await alice.send(room, f"queued {i}") for i in range(count)]
        r = await admin.patch(f"/admin/users/{bob.username}", {"deactivated": True})
        assert r.status_code == 200, r.text
        assert r.json()["deactivated"] is True
        done = time.monotonic()
        after = await alice.send(room, "after")
        events = await assert_ended(chat, transport, bob, stream, answer, done)
    ids = [e["data"].get("id") for e in events if "data" in e]
    assert after["id"] not in ids
    assert set(ids) <= {m["id"] for m in queued} | {None}
    assert (await bob.get(f"/rooms/{room}")).status_code == 401
    r = await chat.http.post(
        f"{API}/sessions", json={"username": bob.username, "password": PASSWORD}
    )
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "account_deactivated"
    # Reactivated, bob signs in again and gets the room's events.
    await admin.expect(200, "PATCH", f"/admin/users/{bob.username}", {"deactivated": False})
    again = await sign_in(chat, bob.username)
    async with chat.stream(transport, again, None) as stream:
        back = await alice.send(room, "welcome back")
        await wait_for(stream, is_message(back))


REVOCATIONS = ["password_change", "revoke_one", "revoke_others"]


async def revoke(kind: str, survivor: Account, doomed_id: str) -> None:
    """End the doomed session from the survivor's, one of three ways."""
    if kind == "password_change":
        body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        await survivor.expect(204, "PUT", "/me/password", body)
    elif kind == "revoke_one":
        await survivor.expect(204, "DELETE", f"/me/sessions/{doomed_id}")
    else:
        await survivor.expect(204, "DELETE", "/me/sessions")


@pytest.mark.parametrize("kind", REVOCATIONS)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_ending_another_session_closes_its_streams_within_a_second(
    chat: Chat, transport: Transport, kind: str
) -> None:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    survivor = await sign_in(chat, bob.username)  # a second session of bob's
    room = await shared_room(alice, bob)
    r = await survivor.get("/me/sessions")
    assert r.status_code == 200, r.text
    [doomed_id] = [s["id"] for s in r.json()["sessions"] if not s["current"]]
    # The doomed stream first: bob is online only once it is live (see doomed_stream).
    async with (
        doomed_stream(chat, transport, bob, alice) as (stream, answer),
        chat.ws(survivor) as kept,
    ):
        await revoke(kind, survivor, doomed_id)
        await assert_ended(chat, transport, bob, stream, answer, time.monotonic())
        revoked, _ = await wait_for(kept, lambda e: e["type"] == "session.revoked")
        message = await alice.send(room, "the survivor still hears")
        await wait_for(kept, is_message(message))
    assert revoked["room_id"] is None
    assert revoked["data"]["session_ids"] == [doomed_id]
    assert (await bob.get("/me")).status_code == 401
    assert (await survivor.get("/me")).status_code == 200
    if kind == "password_change":
        await sign_in(chat, bob.username, NEW_PASSWORD)
        old = {"username": bob.username, "password": PASSWORD}
        assert (await chat.http.post(f"{API}/sessions", json=old)).status_code == 401


# -- announcements to everyone -------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_new_public_room_is_announced_to_every_signed_in_user(
    chat: Chat, transport: Transport
) -> None:
    alice = await chat.sign_up("alice")
    carol = await chat.sign_up("carol")  # shares no room with alice
    dave = await chat.sign_up("dave", in_lobby=True)
    async with (
        chat.stream(transport, carol, None) as far,
        chat.stream(transport, dave, None) as near,
    ):
        rooms = [
            await alice.create_room(name, visibility)
            for name, visibility in [
                ("secret", "private"),
                ("open", "public"),
                ("hidden", "private"),
                ("open again", "public"),
            ]
        ]
        private = {rooms[0]["id"], rooms[2]["id"]}
        for stream in (far, near):
            last, before = await wait_for(
                stream, lambda e: e["type"] == "room.created" and e["room_id"] == rooms[3]["id"]
            )
            created = [e for e in [*before, last] if e["type"] == "room.created"]
            assert [e["room_id"] for e in created] == [rooms[1]["id"], rooms[3]["id"]]
            for event, room in zip(created, (rooms[1], rooms[3]), strict=True):
                assert set(event["data"]) == ROOM_FIELDS, "no viewer's fields"
                assert event["data"]["id"] == room["id"]
                assert event["data"]["name"] == room["name"]
                assert event["data"]["visibility"] == "public"
            assert not [e for e in before if e.get("room_id") in private]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_display_name_change_is_announced_to_every_signed_in_user(
    chat: Chat, transport: Transport
) -> None:
    alice = await chat.sign_up("alice")
    carol = await chat.sign_up("carol")  # shares no room with alice
    async with chat.stream(transport, carol, None) as stream, chat.ws(alice) as own:
        r = await alice.patch("/me", {"display_name": "Alice Liddell"})
        assert r.status_code == 200, r.text
        for s in (stream, own):
            updated, _ = await wait_for(s, lambda e: e["type"] == "user.updated")
            assert updated["room_id"] is None
            assert updated["data"]["id"] == alice.id
            assert updated["data"]["display_name"] == "Alice Liddell"
            assert updated["data"]["username"] == alice.username
        # The same name again changes nothing and announces nothing.
        await alice.expect(200, "PATCH", "/me", {"display_name": "Alice Liddell"})
        await alice.expect(200, "PATCH", "/me", {"display_name": "Alice"})
        updated, _ = await wait_for(stream, lambda e: e["type"] == "user.updated")
        assert updated["data"]["display_name"] == "Alice"


# -- mutes on the stream -------------------------------------------------------------------------


async def test_a_muted_members_typing_reaches_nobody(chat: Chat) -> None:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    room = await shared_room(alice, bob)
    other = await shared_room(alice, bob)
    async with chat.ws(alice) as watcher, chat.ws(bob) as muted:
        await alice.expect(200, "PUT", f"/rooms/{room}/members/{bob.username}", {"muted": True})
        update, _ = await wait_for(muted, lambda e: e["type"] == "member.updated")
        assert (update["room_id"], update["data"]["muted"]) == (room, True)
        await bob.expect(403, "POST", f"/rooms/{room}/typing")
        # The socket's frames are handled in order: once the typing in `other` comes through,
        # the one in `room` has been handled too.
        await muted.send_json({"type": "typing", "room_id": room})
        await muted.send_json({"type": "typing", "room_id": other})
        first, before = await wait_for(watcher, lambda e: e["type"] == "typing")
        typing = [e for e in [*before, first] if e["type"] == "typing"]
        assert [e["room_id"] for e in typing] == [other]
        # Unmuted, bob's typing in the room comes through.
        await alice.expect(200, "PUT", f"/rooms/{room}/members/{bob.username}", {"muted": False})
        await muted.send_json({"type": "typing", "room_id": room})
        typing_again, _ = await wait_for(watcher, lambda e: e["type"] == "typing")
    assert (typing_again["room_id"], typing_again["data"]["user_id"]) == (room, bob.id)
