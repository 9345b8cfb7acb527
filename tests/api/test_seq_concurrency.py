"""Per-room seq is gapless and strictly increasing in commit order under concurrency."""

from __future__ import annotations

import anyio
import pytest

from tests.api.conftest import Account, sign_up

pytestmark = pytest.mark.anyio


async def test_20_concurrent_senders_get_seqs_exactly_1_to_n(alice: Account) -> None:
    room = await alice.create_room()
    senders = [await sign_up(alice.client, f"sender{i}") for i in range(20)]
    for s in senders:
        assert (await s.post(f"/rooms/{room['id']}/join")).status_code == 204
    got: list[int] = []

    async def burst(s: Account) -> None:
        for j in range(5):
            got.append((await s.send(room["id"], f"{s.username} {j}"))["seq"])

    async with anyio.create_task_group() as tg:
        for s in senders:
            tg.start_soon(burst, s)
    assert sorted(got) == list(range(1, 101))
    history = (await alice.get(f"/rooms/{room['id']}/messages", params={"limit": 200})).json()
    assert [m["seq"] for m in history["messages"]] == list(range(1, 101))
    # Each sender's own messages appear in the order that sender sent them.
    for s in senders:
        mine = [m["text"] for m in history["messages"] if m["author"]["username"] == s.username]
        assert mine == [f"{s.username} {j}" for j in range(5)]
