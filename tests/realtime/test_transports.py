"""Each transport (WebSocket, Server-Sent Events, long-poll) against a real server process:
delivery, where a stream starts, resuming, auth, bad cursors, heartbeats, typing, read state,
membership and presence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import anyio
import pytest

from tests.realtime.conftest import (
    TRANSPORTS,
    Account,
    Chat,
    StreamEnded,
    Transport,
    collect,
    hubbub_server,
    is_durable,
    next_durable,
    position,
    read_until_closed,
    wait_for,
)
from tests.server_process import ServerProcess

pytestmark = pytest.mark.anyio

ENVELOPE_KEYS = {"id", "type", "room_id", "ts", "data"}


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def is_message(event: dict[str, Any], message: dict[str, Any]) -> bool:
    return bool(event["type"] == "message.created" and event["data"]["id"] == message["id"])


def is_presence(event: dict[str, Any], who: Account, *, online: bool) -> bool:
    return (
        event["type"] == "presence"
        and event["data"]["user_id"] == who.id
        and event["data"]["online"] is online
    )


async def pair_in_room(chat: Chat, visibility: str = "private") -> tuple[Account, Account, str]:
    """alice (owner) and bob (member) in a fresh room, both outside the lobby."""
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    room = await alice.create_room("pair", visibility)
    await alice.expect(201, "PUT", f"/rooms/{room['id']}/members/{bob.username}")
    return alice, bob, room["id"]


# -- delivery and where a stream starts ----------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_each_transport_delivers_message_created_for_a_post(
    chat: Chat, transport: Transport
) -> None:
    alice, bob, room = await pair_in_room(chat)
    async with chat.stream(transport, bob, await chat.head(bob)) as stream:
        sent = await alice.send(room, "hello 👋")
        event = await next_durable(stream)
    assert set(event) == ENVELOPE_KEYS
    assert event["type"] == "message.created"
    assert event["room_id"] == room
    assert event["data"]["id"] == sent["id"]
    assert event["data"]["seq"] == sent["seq"] == 1
    assert event["data"]["text"] == "hello 👋"
    assert event["data"]["author"]["id"] == alice.id
    parse_time(event["ts"])
    assert stream.cursor == event["id"]


async def test_long_poll_without_since_answers_the_head_at_once(chat: Chat) -> None:
    alice = await chat.sign_up("alice")
    room = await alice.create_room("r")
    started = time.monotonic()
    r = await chat.poll(alice, None, wait=30)
    assert time.monotonic() - started < 2
    assert r.status_code == 200
    body = r.json()
    assert body["events"] == []
    head = body["next"]
    sent = await alice.send(room["id"], "after the head")
    assert position(await chat.head(alice)) > position(head)
    page = (await chat.poll(alice, head, wait=5)).json()
    assert [e["data"]["id"] for e in page["events"] if e["type"] == "message.created"] == [
        sent["id"]
    ]


@pytest.mark.parametrize("transport", ["ws", "sse"])
async def test_stream_without_since_starts_at_the_present(chat: Chat, transport: str) -> None:
    alice, bob, room = await pair_in_room(chat)
    await alice.send(room, "before the stream")
    opened = chat.ws(bob) if transport == "ws" else chat.sse(bob)
    async with opened as stream:
        after = await alice.send(room, "after the stream opened")
        event = await next_durable(stream)
    assert is_message(event, after), event


async def test_long_poll_waits_and_returns_as_soon_as_an_event_arrives(chat: Chat) -> None:
    alice, bob, room = await pair_in_room(chat)
    since = await chat.head(bob)
    answer: dict[str, Any] = {}

    async def poll() -> None:
        started = time.monotonic()
        r = await chat.poll(bob, since, wait=20)
        answer.update(body=r.json(), status=r.status_code, took=time.monotonic() - started)

    async with chat.ws(bob), anyio.create_task_group() as tg:
        tg.start_soon(poll)
        await anyio.sleep(0.7)
        assert not answer, "the long-poll answered before anything happened"
        sent = await alice.send(room, "wake up")
    assert answer["status"] == 200
    assert 0.6 < answer["took"] < 5
    durable = [e for e in answer["body"]["events"] if is_durable(e)]
    assert [e["data"]["id"] for e in durable] == [sent["id"]]
    assert answer["body"]["next"] == durable[-1]["id"]


async def test_long_poll_timeout_returns_no_events_and_the_same_next(chat: Chat) -> None:
    alice, _bob, _room = await pair_in_room(chat)
    since = await chat.head(alice)
    async with chat.ws(alice):  # alice is already online: her poll has nothing to announce
        started = time.monotonic()
        r = await chat.poll(alice, since, wait=1)
        took = time.monotonic() - started
    assert r.status_code == 200
    assert r.json() == {"events": [], "next": since}
    assert 0.9 < took < 3


async def test_long_poll_next_skips_events_for_others_and_resumes_after_them(chat: Chat) -> None:
    alice, bob, room = await pair_in_room(chat)
    carol = await chat.sign_up("carol")
    elsewhere = await carol.create_room("carol's", "private")
    since = await chat.head(bob)
    await carol.send(elsewhere["id"], "not for bob")
    mine = await alice.send(room, "for bob")
    body = (await chat.poll(bob, since, wait=5)).json()
    assert [e["data"]["id"] for e in body["events"] if is_durable(e)] == [mine["id"]]
    again = (await chat.poll(bob, body["next"], wait=0.5)).json()
    assert [e for e in again["events"] if is_durable(e)] == []


@pytest.mark.parametrize("wait", ["61", "-1", "soon"])
async def test_long_poll_timeout_outside_0_to_60_is_rejected(chat: Chat, wait: str) -> None:
    bob = await chat.sign_up("bob")
    r = await chat.http.get(
        "/api/v1/events",
        params={"since": await chat.head(bob), "timeout": wait},
        headers={**bob.headers, "Accept": "application/json"},
    )
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream"])
async def test_events_without_a_token_answer_401(chat: Chat, accept: str) -> None:
    r = await chat.http.get("/api/v1/events", headers={"Accept": accept})
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"


async def test_a_replayed_idempotent_send_announces_nothing_more(chat: Chat) -> None:
    alice, bob, room = await pair_in_room(chat)
    since = await chat.head(bob)
    for _ in range(3):
        r = await alice.http.post(
            f"/api/v1/rooms/{room}/messages",
            json={"text": "once"},
            headers={**alice.headers, "Idempotency-Key": "k-1"},
        )
        assert r.status_code == 201, r.text
    sentinel = await alice.send(room, "sentinel")
    page = (await chat.poll(bob, since, wait=1)).json()
    durable = [e for e in page["events"] if is_durable(e)]
    assert [e["data"]["text"] for e in durable] == ["once", "sentinel"]
    assert durable[-1]["data"]["id"] == sentinel["id"]


# -- Server-Sent Events --------------------------------------------------------------------


async def test_sse_sends_a_retry_hint_and_a_hello_then_uses_cursors_as_event_ids(
    chat: Chat,
) -> None:
    alice, bob, room = await pair_in_room(chat)
    head = await chat.head(bob)
    async with chat.sse(bob, last_event_id=head) as stream:
        # The `retry:` record and the hello came first (taken while opening the stream).
        assert stream.retry is not None
        assert stream.retry > 0
        assert stream.hello == {"type": "hello", "cursor": head}
        sent = await alice.send(room, "with an id")
        event = await next_durable(stream)
    assert is_message(event, sent)
    # SseStream checks that each record's `id:` equals its event's `id`.
    assert stream.cursor == event["id"]


async def test_sse_resumes_after_last_event_id_with_nothing_missed_or_repeated(chat: Chat) -> None:
    alice, bob, room = await pair_in_room(chat)
    async with chat.sse(bob, last_event_id=await chat.head(bob)) as stream:
        m1 = await alice.send(room, "one")
        m2 = await alice.send(room, "two")
        seen = [await next_durable(stream), await next_durable(stream)]
    assert [e["data"]["id"] for e in seen] == [m1["id"], m2["id"]]
    m3 = await alice.send(room, "three (while away)")
    m4 = await alice.send(room, "four (while away)")
    async with chat.sse(bob, last_event_id=seen[-1]["id"]) as stream:
        m5 = await alice.send(room, "five (live)")
        resumed = [await next_durable(stream) for _ in range(3)]
        extra = [e for e in await collect(stream, 0.5) if is_durable(e)]
    assert extra == []
    assert [e["data"]["id"] for e in resumed] == [m3["id"], m4["id"], m5["id"]]
    assert [position(e["id"]) for e in resumed] == sorted(position(e["id"]) for e in resumed)


async def test_sse_last_event_id_wins_over_since(chat: Chat) -> None:
    alice, bob, room = await pair_in_room(chat)
    since = await chat.head(bob)
    first = await alice.send(room, "already seen")
    async with chat.sse(bob, since=since) as stream:
        seen = await next_durable(stream)
    assert is_message(seen, first)
    second = await alice.send(room, "new")
    # EventSource reconnects to the same URL (same ?since=) and adds Last-Event-ID.
    async with chat.sse(bob, since=since, last_event_id=seen["id"]) as stream:
        assert is_message(await next_durable(stream), second)


async def test_sse_resumes_from_since_when_there_is_no_last_event_id(chat: Chat) -> None:
    alice, bob, room = await pair_in_room(chat)
    since = await chat.head(bob)
    sent = await alice.send(room, "while away")
    async with chat.sse(bob, since=since) as stream:
        event = await next_durable(stream)
    assert is_message(event, sent)


async def test_idle_streams_get_sse_comment_heartbeats_and_websocket_pings(chat: Chat) -> None:
    _alice, bob, _room = await pair_in_room(chat)
    async with chat.sse(bob) as sse, chat.ws(bob) as ws:
        # HUBBUB_SSE_HEARTBEAT_SECONDS=1 and HUBBUB_WS_PING_SECONDS=1 (jittered by 15%).
        assert [e for e in await collect(sse, 2.3) if is_durable(e)] == []
        await collect(ws, 0.1)
    assert sse.heartbeats >= 2
    assert ws.pings >= 2


# -- WebSocket: auth and pings -------------------------------------------------------------


@pytest.mark.parametrize("token_in", ["query", "header"])
async def test_websocket_accepts_the_token_in_the_query_or_the_authorization_header(
    chat: Chat, token_in: Any
) -> None:
    alice, bob, room = await pair_in_room(chat)
    async with chat.ws(bob, await chat.head(bob), token_in=token_in) as stream:
        sent = await alice.send(room, "authenticated")
        assert is_message(await next_durable(stream), sent)


@pytest.mark.parametrize("token", ["not-a-token", ""])
async def test_websocket_with_a_bad_token_is_closed_with_4401(chat: Chat, token: str) -> None:
    async with chat.ws(None, token=token) as stream:
        with pytest.raises(StreamEnded) as ended:
            await stream.next_message(5)
    assert ended.value.code == 4401


async def test_websocket_after_sign_out_is_closed_with_4401(chat: Chat) -> None:
    bob = await chat.sign_up("bob")
    await bob.expect(204, "DELETE", "/sessions/current")
    async with chat.ws(bob, token_in="header") as stream:
        with pytest.raises(StreamEnded) as ended:
            await stream.next_message(5)
    assert ended.value.code == 4401


# -- cursors the server cannot honour ------------------------------------------------------


async def bad_cursors(chat: Chat, account: Account) -> dict[str, str]:
    head = await chat.head(account)
    deployment, _, pos = head.rpartition("-")
    other = "0" * len(deployment) if deployment != "0" * len(deployment) else "1" * len(deployment)
    return {
        "malformed": "garbage",
        "not a number": f"{deployment}-abc",
        "other deployment": f"{other}-{pos}",
        "ahead of the head": f"{deployment}-{int(pos) + 1000}",
    }


CURSOR_KINDS = ["malformed", "not a number", "other deployment", "ahead of the head"]


@pytest.mark.parametrize("kind", CURSOR_KINDS)
async def test_long_poll_answers_410_cursor_expired_for_a_cursor_it_cannot_resume(
    chat: Chat, kind: str
) -> None:
    bob = await chat.sign_up("bob")
    cursor = (await bad_cursors(chat, bob))[kind]
    r = await chat.poll(bob, cursor, wait=5)
    assert r.status_code == 410, r.text
    assert r.json()["code"] == "cursor_expired"


@pytest.mark.parametrize("kind", CURSOR_KINDS)
async def test_websocket_sends_one_reset_then_closes_4410_for_a_bad_cursor(
    chat: Chat, kind: str
) -> None:
    bob = await chat.sign_up("bob")
    cursor = (await bad_cursors(chat, bob))[kind]
    async with chat.ws(bob, cursor) as stream:
        assert await stream.next_message(5) == {"type": "reset"}
        with pytest.raises(StreamEnded) as ended:
            await stream.next_message(5)
    assert ended.value.code == 4410


@pytest.mark.parametrize("kind", CURSOR_KINDS)
async def test_sse_sends_one_reset_then_ends_for_a_bad_cursor(chat: Chat, kind: str) -> None:
    bob = await chat.sign_up("bob")
    cursor = (await bad_cursors(chat, bob))[kind]
    async with chat.sse(bob, last_event_id=cursor) as stream:
        events, _ended = await read_until_closed(stream, 5)
    assert events == [{"type": "reset"}]


# -- what is delivered to whom -------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_classic_post_arrives_as_message_created_in_general(
    chat: Chat, transport: Transport
) -> None:
    bob = await chat.sign_up("bob", in_lobby=True)
    async with chat.stream(transport, bob, await chat.head(bob)) as stream:
        await chat.classic_post("superman", f"hello from classic via {transport}")
        event, _ = await wait_for(
            stream, lambda e: e["type"] == "message.created" and e["room_id"] == "general"
        )
    assert event["data"]["text"] == f"hello from classic via {transport}"
    assert event["data"]["author"] == {
        "id": None,
        "username": None,
        "display_name": "superman",
        "guest": True,
        "bot": False,
        "avatar_url": None,
    }


async def test_typing_over_websocket_reaches_other_members_but_not_the_typer(chat: Chat) -> None:
    alice, bob, room = await pair_in_room(chat)
    async with chat.ws(alice) as alice_ws, chat.ws(alice) as alice_other, chat.ws(bob) as bob_ws:
        await alice_ws.send_json({"type": "typing", "room_id": room})
        typing, _ = await wait_for(bob_ws, lambda e: e["type"] == "typing")
        sentinel = await bob.send(room, "sentinel")
        for stream in (alice_ws, alice_other):
            _, before = await wait_for(stream, lambda e: is_message(e, sentinel))
            assert [e for e in before if e["type"] == "typing"] == []
    assert typing["room_id"] == room
    assert "id" not in typing or not typing["id"], "typing is ephemeral: it has no cursor"
    assert typing["data"]["user"] == alice.username
    until = parse_time(typing["data"]["until"])
    ts = parse_time(typing["ts"])
    assert 3 <= (until - ts).total_seconds() <= 10


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_post_typing_returns_204_and_reaches_other_members(
    chat: Chat, transport: Transport
) -> None:
    alice, bob, room = await pair_in_room(chat)
    since = await chat.head(bob)
    # Typing is live-only: a long-poll sees it only while a poll is waiting, so bob's poll
    # waits long, and bob is online beforehand (else his poll returns his own presence).
    opened = chat.longpoll(bob, since, wait=10) if transport == "longpoll" else None
    async with chat.ws(bob), opened or chat.stream(transport, bob, since) as stream:
        found: list[dict[str, Any]] = []

        async def watch() -> None:
            found.append((await wait_for(stream, lambda e: e["type"] == "typing"))[0])

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            if transport == "longpoll":
                # Nothing tells a client that its poll is waiting on the server (streams
                # say `hello`): give the poll time to arrive before the typing does.
                await anyio.sleep(0.5)
            await alice.expect(204, "POST", f"/rooms/{room}/typing")
        typing = found[0]
    assert typing["room_id"] == room
    assert typing["data"]["user"] == alice.username
    assert "until" in typing["data"]


async def test_post_typing_needs_membership(chat: Chat) -> None:
    alice, _bob, room = await pair_in_room(chat)
    carol = await chat.sign_up("carol")
    await carol.expect(404, "POST", f"/rooms/{room}/typing")  # private: not even visible
    public = await alice.create_room("open", "public")
    await carol.expect(403, "POST", f"/rooms/{public['id']}/typing")


async def test_read_updated_goes_only_to_the_readers_own_connections(chat: Chat) -> None:
    alice, bob, room = await pair_in_room(chat)
    since = await chat.head(alice)
    m1 = await bob.send(room, "unread")
    async with (
        chat.ws(alice, since) as alice_ws,
        chat.sse(alice, last_event_id=since) as alice_sse,
        chat.ws(bob, since) as bob_ws,
    ):
        await alice.expect(204, "PUT", f"/rooms/{room}/read", {"seq": m1["seq"]})
        sentinel = await alice.send(room, "sentinel")
        for stream in (alice_ws, alice_sse):
            read, _ = await wait_for(stream, lambda e: e["type"] == "read.updated")
            assert read["room_id"] == room
            assert read["data"]["last_read_seq"] == m1["seq"]
            assert read["data"]["unread_count"] == 0
        _, before = await wait_for(bob_ws, lambda e: is_message(e, sentinel))
        assert [e["type"] for e in before if is_durable(e)] == ["message.created"]
    # Nor does bob get it when he catches up from a cursor.
    page = (await chat.poll(bob, since, wait=1)).json()
    assert "read.updated" not in [e["type"] for e in page["events"]]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_removed_member_gets_member_left_and_then_nothing_from_that_room(
    chat: Chat, transport: Transport
) -> None:
    alice, bob, room = await pair_in_room(chat)
    other = await alice.create_room("still shared", "private")
    await alice.expect(201, "PUT", f"/rooms/{other['id']}/members/{bob.username}")
    since = await chat.head(bob)
    async with chat.stream(transport, bob, since) as stream:
        await alice.expect(204, "DELETE", f"/rooms/{room}/members/{bob.username}")
        left = await next_durable(stream)
        await alice.send(room, "bob must not see this")
        await alice.patch(f"/rooms/{room}", {"topic": "nor this"})
        sentinel = await alice.send(other["id"], "sentinel")
        after = await next_durable(stream)
    assert left["type"] == "member.left"
    assert left["room_id"] == room
    assert left["data"]["user"]["id"] == bob.id
    assert is_message(after, sentinel), after
    # The same from the stored log: resuming from before the removal.
    page = (await chat.poll(bob, since, wait=1)).json()
    assert [(e["type"], e["room_id"]) for e in page["events"] if is_durable(e)] == [
        ("member.left", room),
        ("message.created", other["id"]),
    ]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_added_member_gets_member_joined_with_the_room_then_its_messages(
    chat: Chat, transport: Transport
) -> None:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    room = await alice.create_room("secret", "private")
    async with chat.stream(transport, bob, await chat.head(bob)) as stream:
        await alice.send(room["id"], "before bob")
        await alice.expect(201, "PUT", f"/rooms/{room['id']}/members/{bob.username}")
        joined = await next_durable(stream)
        sent = await alice.send(room["id"], "welcome")
        message = await next_durable(stream)
    assert joined["type"] == "member.joined"
    assert joined["room_id"] == room["id"]
    assert joined["data"]["user"]["id"] == bob.id
    assert joined["data"]["room"]["id"] == room["id"]
    assert joined["data"]["room"]["visibility"] == "private"
    assert is_message(message, sent)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_new_dm_gives_the_other_user_member_joined_for_themselves(
    chat: Chat, transport: Transport
) -> None:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    async with chat.stream(transport, bob, await chat.head(bob)) as stream:
        r = await alice.post("/dms", {"username": bob.username})
        assert r.status_code == 201, r.text
        dm = r.json()
        joined, _ = await wait_for(
            stream,
            lambda e: e["type"] == "member.joined" and e["data"]["user"]["id"] == bob.id,
        )
        sent = await alice.send(dm["id"], "psst")
        message = await next_durable(stream)
    assert joined["room_id"] == dm["id"]
    assert joined["data"]["room"]["id"] == dm["id"]
    assert joined["data"]["room"]["kind"] == "dm"
    assert is_message(message, sent)


async def test_private_room_events_never_reach_a_non_member(chat: Chat) -> None:
    alice, bob, room = await pair_in_room(chat)
    carol = await chat.sign_up("carol")
    shared = await alice.create_room("with carol", "private")
    await alice.expect(201, "PUT", f"/rooms/{shared['id']}/members/{carol.username}")
    since = await chat.head(carol)
    async with chat.ws(carol, since) as stream:
        secret = await alice.send(room, "secret")
        await alice.put(f"/messages/{secret['id']}/reactions/%F0%9F%91%8D")
        await alice.patch(f"/messages/{secret['id']}", {"text": "edited secret"})
        await alice.delete(f"/messages/{secret['id']}")
        await alice.expect(200, "PUT", f"/rooms/{room}/members/{bob.username}", {"role": "admin"})
        sentinel = await alice.send(shared["id"], "sentinel")
        assert is_message(await next_durable(stream), sentinel)
    page = (await chat.poll(carol, since, wait=1)).json()
    assert [e["room_id"] for e in page["events"] if is_durable(e)] == [shared["id"]]


# -- presence ------------------------------------------------------------------------------


async def test_presence_online_reaches_a_member_when_a_user_connects(chat: Chat) -> None:
    alice, bob, _room = await pair_in_room(chat)
    async with chat.ws(bob) as bob_ws, chat.ws(alice):
        presence, _ = await wait_for(
            bob_ws,
            lambda e: e["type"] == "presence" and e["data"]["user"] == alice.username,
            within=2,
        )
    assert presence["data"]["online"] is True


async def test_presence_offline_reaches_a_member_after_the_grace_period(chat: Chat) -> None:
    alice, bob, _room = await pair_in_room(chat)
    async with chat.ws(bob) as bob_ws:
        async with chat.ws(alice):
            await wait_for(bob_ws, lambda e: is_presence(e, alice, online=True))
        closed = time.monotonic()
        offline, _ = await wait_for(
            bob_ws,
            lambda e: (
                e["type"] == "presence"
                and e["data"]["user"] == alice.username
                and e["data"]["online"] is False
            ),
            within=5,
        )
        waited = time.monotonic() - closed
    assert offline["data"]["online"] is False
    assert 0.7 < waited < 3, "HUBBUB_PRESENCE_GRACE_SECONDS=1"


async def test_reconnecting_within_the_grace_period_does_not_go_offline(chat: Chat) -> None:
    alice, bob, room = await pair_in_room(chat)
    async with chat.ws(bob) as bob_ws:
        async with chat.ws(alice):
            pass
        async with chat.ws(alice):
            await anyio.sleep(1.4)  # past the 1 s grace of the first connection
            sentinel = await alice.send(room, "still here")
            _, before = await wait_for(bob_ws, lambda e: is_message(e, sentinel))
    assert [
        e
        for e in before
        if e["type"] == "presence"
        and e["data"]["user"] == alice.username
        and not e["data"]["online"]
    ] == []


@pytest.fixture(scope="module")
def quiet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """WebSocket pings and SSE heartbeats only every 20 s; presence grace still 1 s."""
    directory = tmp_path_factory.mktemp("quiet")
    with hubbub_server(
        directory, HUBBUB_WS_PING_SECONDS="20", HUBBUB_SSE_HEARTBEAT_SECONDS="20"
    ) as running:
        yield running


@pytest.mark.parametrize("transport", ["ws", "sse"])
async def test_presence_goes_offline_one_grace_period_after_close_even_between_heartbeats(
    quiet_server: ServerProcess, transport: str
) -> None:
    async with Chat.open(quiet_server.url) as chat:
        alice, bob, _room = await pair_in_room(chat)
        async with chat.sse(bob) as watcher:
            async with chat.ws(alice) if transport == "ws" else chat.sse(alice):
                await wait_for(watcher, lambda e: is_presence(e, alice, online=True))
            closed = time.monotonic()
            await wait_for(
                watcher,
                lambda e: (
                    e["type"] == "presence"
                    and e["data"]["user"] == alice.username
                    and e["data"]["online"] is False
                ),
                within=4,
            )
            waited = time.monotonic() - closed
    assert waited < 3, f"offline {waited:.1f} s after the close; the grace is 1 s"


# -- hello -----------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["ws", "sse"])
async def test_a_stream_says_hello_first_with_the_cursor_it_starts_after(
    chat: Chat, transport: str
) -> None:
    alice, bob, room = await pair_in_room(chat)
    head = await chat.head(bob)
    async with chat.ws(bob) if transport == "ws" else chat.sse(bob) as fresh:
        assert fresh.hello == {"type": "hello", "cursor": head}, "no since: from the present"
    await alice.send(room, "one")
    resumed = chat.ws(bob, head) if transport == "ws" else chat.sse(bob, last_event_id=head)
    async with resumed as stream:
        assert stream.hello == {"type": "hello", "cursor": head}
        event = await next_durable(stream)
    assert event["data"]["text"] == "one"


async def test_a_cursor_that_cannot_be_resumed_gets_reset_instead_of_hello(chat: Chat) -> None:
    _alice, bob, _room = await pair_in_room(chat)
    async with chat.ws(bob, "nope-1") as stream:
        assert stream.hello is None
        assert await stream.next_message(5) == {"type": "reset"}
        _, ended = await read_until_closed(stream)
    assert ended.code == 4410
