"""A resume from a cursor before a deleted message, on every transport, shows the message's
events only in their redacted forms (docs/architecture.md, "Deleted means deleted")."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from tests.realtime.conftest import (
    API,
    PASSWORD,
    TRANSPORTS,
    Chat,
    Transport,
    collect,
    read_until_closed,
)

pytestmark = pytest.mark.anyio

SECRET, SECOND = "the vault code is 4471-hunter2", "on second thought: swordfish"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_resume_from_before_a_deleted_message_shows_no_trace_of_its_text(
    chat: Chat, transport: Transport
) -> None:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    room = await alice.create_room("vault", "private")
    await alice.expect(201, "PUT", f"/rooms/{room['id']}/members/{bob.username}")
    before = await chat.head(bob)
    message = await alice.send(room["id"], SECRET)
    await bob.expect(204, "PUT", f"/messages/{message['id']}/reactions/{quote('🙈')}")
    await alice.expect(200, "PATCH", f"/messages/{message['id']}", {"text": SECOND})
    await alice.expect(204, "DELETE", f"/messages/{message['id']}")
    async with chat.stream(transport, bob, before) as stream:
        events = await collect(stream, silence=1.0)
    about = [e for e in events if e.get("room_id") == room["id"] and "seq" in e["data"]]
    assert [e["type"] for e in about] == ["message.created"] + ["message.deleted"] * 3
    assert about[0]["data"]["deleted"] is True
    assert about[0]["data"]["text"] == ""
    for event in events:
        assert "hunter2" not in str(event)
        assert "swordfish" not in str(event)


async def test_deleting_an_account_closes_its_streams_within_a_second(chat: Chat) -> None:
    await chat.sign_up("keeper")  # if the server is new, keeper is its admin, not alice
    alice = await chat.sign_up("alice")
    async with chat.ws(alice) as ws, chat.sse(alice) as sse:
        started = time.monotonic()
        r = await alice.http.request(
            "DELETE", f"{API}/me", json={"password": PASSWORD}, headers=alice.headers
        )
        assert r.status_code == 204, r.text
        _, ws_end = await read_until_closed(ws, within=2)
        sse_events, _ = await read_until_closed(sse, within=2)
        elapsed = time.monotonic() - started
    assert ws_end.code == 4401
    assert [e["type"] for e in sse_events][-1:] == ["session_ended"]
    assert elapsed < 2
    assert (await alice.get("/me")).status_code == 401
