"""Streams under a hostile or careless client (issue #11), against a real server on both
engines: signing out ends live streams at once; a user's streams are capped; stream tickets
work once; typing floods are thinned; presence is private; tokens never reach the logs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.realtime.conftest import (
    API,
    Account,
    Chat,
    hubbub_server,
    read_until_closed,
    wait_for,
)
from tests.server_process import ServerProcess

pytestmark = pytest.mark.anyio

WITHIN = 1.0  # sign-out must close a stream within a second (the bound)


async def sign_in_again(chat: Chat, account: Account) -> Account:
    """A second session of the same user."""
    r = await chat.http.post(
        f"{API}/sessions", json={"username": account.username, "password": "correct horse"}
    )
    assert r.status_code == 201, r.text
    return Account(account.username, r.json()["token"], account.id, chat.http)


async def recv(ws: ClientConnection) -> str:
    """The next text frame, within 10 s."""
    with anyio.fail_after(10):
        message = await ws.recv()
    assert isinstance(message, str)
    return message


# -- revocation -------------------------------------------------------------------------------


async def test_signing_out_closes_that_sessions_streams_at_once_and_only_those(
    chat: Chat,
) -> None:
    alice = await chat.sign_up("alice")
    other = await sign_in_again(chat, alice)
    room = (await alice.create_room("r"))["id"]
    async with (
        chat.ws(alice) as ws,
        chat.sse(alice) as sse,
        chat.ws(other) as survivor,
        anyio.create_task_group() as tg,
    ):
        poll_answer: dict[str, Any] = {}

        async def long_poll() -> None:
            since = await chat.head(alice)
            r = await chat.poll(alice, since, wait=20)
            poll_answer.update(status=r.status_code, body=r.json())

        tg.start_soon(long_poll)
        await anyio.sleep(0.3)  # a long-poll says nothing while it waits: let it arrive
        started = time.monotonic()
        await alice.expect(204, "DELETE", "/sessions/current")
        _, ws_end = await read_until_closed(ws, within=WITHIN + 1)
        sse_events, sse_end = await read_until_closed(sse, within=WITHIN + 1)
        elapsed = time.monotonic() - started
    assert ws_end.code == 4401
    assert [e["type"] for e in sse_events][-1:] == ["session_ended"]
    assert sse_end.code is None  # the response ended
    assert poll_answer["status"] == 401
    assert elapsed < WITHIN + 1
    # The other session's stream is live, and was told which session ended.
    revoked, _ = await wait_for(survivor, lambda e: e["type"] == "session.revoked")
    assert revoked["data"]["session_ids"]
    assert revoked["room_id"] is None
    await other.send(room, "still here")


async def test_a_stream_cannot_be_opened_with_a_signed_out_token(chat: Chat) -> None:
    alice = await chat.sign_up("alice")
    await alice.expect(204, "DELETE", "/sessions/current")
    async with chat.ws(alice) as ws:
        assert ws.hello is None
        _, ended = await read_until_closed(ws)
    assert ended.code == 4401


# -- caps -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with hubbub_server(tmp_path_factory.mktemp("capped"), HUBBUB_STREAMS_PER_USER="3") as running:
        yield running


async def test_streams_past_the_per_user_cap_are_refused_on_every_transport(
    capped_server: ServerProcess,
) -> None:
    async with Chat.open(capped_server.url) as chat:
        alice = await chat.sign_up("alice")
        bob = await chat.sign_up("bob")
        async with chat.ws(alice), chat.ws(alice), chat.sse(alice):
            async with chat.ws(alice) as fourth:
                _, ended = await read_until_closed(fourth)
            assert ended.code == 4429
            async with chat.sse(alice) as sse:
                events, _ = await read_until_closed(sse)
            assert events[-1] == {"type": "too_many_streams"}
            r = await chat.poll(alice, await chat.head(alice), wait=0)
            assert r.status_code == 429
            assert r.json()["code"] == "too_many_streams"
            async with chat.ws(bob) as other_user:  # a cap per user, not per server
                assert other_user.hello is not None
        async with chat.ws(alice) as again:  # the others closed: room again
            assert again.hello is not None


# -- stream tickets ---------------------------------------------------------------------------


async def ticket_for(account: Account) -> str:
    r = await account.post("/stream-tickets")
    assert r.status_code == 201, r.text
    assert r.json()["expires_at"]
    return str(r.json()["ticket"])


async def test_a_stream_ticket_opens_one_stream_once(chat: Chat) -> None:
    alice = await chat.sign_up("alice")
    ticket = await ticket_for(alice)
    uri = f"{chat.ws_url}{API}/stream?ticket={ticket}"
    async with connect(uri, proxy=None, open_timeout=10) as ws:
        hello = json.loads(await recv(ws))
        assert hello["type"] == "hello"
    async with connect(uri, proxy=None, open_timeout=10) as ws:  # used up
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    sse_ticket = await ticket_for(alice)
    async with chat.http.stream(
        "GET",
        f"{API}/events",
        params={"ticket": sse_ticket},
        headers={"Accept": "text/event-stream"},
        timeout=httpx.Timeout(10, read=10),
    ) as r:
        assert r.status_code == 200
        lines = r.aiter_lines()
        seen = []
        async for line in lines:
            seen.append(line)
            if line.startswith("data:"):
                break
    assert json.loads(seen[-1].removeprefix("data: "))["type"] == "hello"


async def test_a_ticket_of_a_signed_out_session_opens_nothing(chat: Chat) -> None:
    alice = await chat.sign_up("alice")
    ticket = await ticket_for(alice)
    await alice.expect(204, "DELETE", "/sessions/current")
    async with connect(f"{chat.ws_url}{API}/stream?ticket={ticket}", proxy=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


# -- typing floods ----------------------------------------------------------------------------


async def test_a_typing_flood_reaches_others_as_a_trickle(chat: Chat) -> None:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    room = (await alice.create_room("flood", "private"))["id"]
    await alice.expect(201, "PUT", f"/rooms/{room}/members/{bob.username}")
    async with chat.ws(alice) as flooder, chat.ws(bob) as watcher:
        started = time.monotonic()
        frame = json.dumps({"type": "typing", "room_id": room})
        for _ in range(30_000):
            await flooder.ws.send(frame)
        sentinel = await alice.send(room, "sentinel")
        _, before = await wait_for(
            watcher, lambda e: e.get("data", {}).get("id") == sentinel["id"], within=30
        )
        elapsed = time.monotonic() - started
    typings = [e for e in before if e["type"] == "typing"]
    # One per 2 s window at most (plus one for a window boundary), however many were sent.
    assert 1 <= len(typings) <= elapsed / 2 + 2, (len(typings), elapsed)


# -- presence privacy -------------------------------------------------------------------------


async def test_presence_is_only_told_to_people_who_share_a_room(chat: Chat) -> None:
    alice, bob, carol = [await chat.sign_up(name) for name in ("alice", "bob", "carol")]
    room = (await alice.create_room("pair", "private"))["id"]
    await alice.expect(201, "PUT", f"/rooms/{room}/members/{bob.username}")
    async with chat.ws(bob):

        async def online_to(asker: Account) -> list[str]:
            r = await asker.get("/presence", params={"user_id": [bob.id]})
            assert r.status_code == 200
            return list(r.json()["online"])

        with anyio.fail_after(10):
            while await online_to(alice) != [bob.id]:  # noqa: ASYNC110 - server state
                await anyio.sleep(0.02)
        assert await online_to(carol) == [], "carol shares no room with bob"


# -- tokens never reach the logs --------------------------------------------------------------


async def test_tokens_in_stream_urls_are_masked_however_they_are_spelled(
    tmp_path: Path,
) -> None:
    log = tmp_path / "server.log"
    env = {"HUBBUB_LOG_LEVEL": "debug"}
    with ServerProcess(f"sqlite:///{tmp_path / 'h.db'}", log_path=log, env=env) as server:
        async with Chat.open(server.url) as chat:
            alice = await chat.sign_up("alice")
            ticket = await ticket_for(alice)
            for query in (f"access%5Ftoken={alice.token}", f"access_token={alice.token}"):
                uri = f"{chat.ws_url}{API}/stream?{query}"
                async with connect(uri, proxy=None) as ws:
                    await recv(ws)
            async with connect(f"{chat.ws_url}{API}/stream?ticket={ticket}", proxy=None) as ws:
                await recv(ws)
    text = log.read_text()
    assert "/stream?" in text, "the debug log should mention the stream URLs"
    assert alice.token not in text
    assert ticket not in text
