"""@here against real connections: it mentions the members connected (on any transport) when
the message is stored, and nobody who was away, on both engines."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tests.realtime.conftest import TRANSPORTS, Account, Chat, Transport, wait_for

pytestmark = pytest.mark.anyio


async def room_state(account: Account, room_id: str) -> dict[str, Any]:
    r = await account.get(f"/rooms/{room_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_here_mentions_who_is_connected_when_it_is_sent(
    chat: Chat, transport: Transport
) -> None:
    alice = await chat.sign_up("alice")
    bob = await chat.sign_up("bob")  # connected while @here is sent
    carol = await chat.sign_up("carol")  # away
    room = await alice.create_room("standup", "private")
    for member in (bob, carol):
        await alice.expect(201, "PUT", f"/rooms/{room['id']}/members/{member.username}")

    async def bob_online() -> bool:
        r = await alice.get("/presence", params={"user_id": bob.id})
        return bool(r.json()["online"])

    got: list[dict[str, Any]] = []
    async with chat.stream(transport, bob, None) as stream, anyio.create_task_group() as tg:

        async def read() -> None:  # keeps a long-poll request in flight, as a client does
            event, _ = await wait_for(stream, lambda e: e["type"] == "message.created", within=20)
            got.append(event)

        tg.start_soon(read)
        with anyio.fail_after(10):
            while not await bob_online():  # noqa: ASYNC110 - server-side state
                await anyio.sleep(0.02)
        sent = await alice.send(room["id"], "@here standup in 5")
    created = got[0]
    assert created["data"]["id"] == sent["id"]
    # @here is a flag; whom it reached shows in their counts and inboxes, not in `users`
    # (which lists the @usernames written).
    assert sent["mentions"] == {"users": [], "room": False, "here": True}
    assert created["data"]["mentions"] == sent["mentions"]

    assert (await room_state(bob, room["id"]))["mention_count"] == 1
    assert (await room_state(carol, room["id"]))["mention_count"] == 0
    assert (await room_state(alice, room["id"]))["mention_count"] == 0, "not your own"
    inbox = (await bob.get("/mentions")).json()["messages"]
    assert [m["id"] for m in inbox] == [sent["id"]]
    assert (await carol.get("/mentions")).json()["messages"] == []

    # Once bob's stream is gone (and the presence grace is over), @here reaches nobody.
    with anyio.fail_after(20):
        while await bob_online():  # noqa: ASYNC110 - server-side state
            await anyio.sleep(0.05)
    later = await alice.send(room["id"], "@here anyone?")
    assert later["mentions"] == {"users": [], "room": False, "here": True}
    assert (await room_state(bob, room["id"]))["mention_count"] == 1
    assert [m["id"] for m in (await bob.get("/mentions")).json()["messages"]] == [sent["id"]]
