"""The resume guarantee, tested at random: a driver interleaves sends, edits, deletes,
reactions, read markers and membership changes across users and rooms through the REST API,
while one subscriber disconnects at random points and resumes with its last cursor over a
randomly chosen transport. It must see exactly the durable events it is entitled to, in
order, each once.

The expected events come from an oracle that replays the driver's own record of what it did
and who was in which room, not from the server's filtering: the subscriber is entitled to the
events of rooms it is in at the event's position, to events about its own membership, and to
its own read.updated.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import pytest

from tests.realtime.conftest import (
    TRANSPORTS,
    Account,
    Chat,
    StreamEnded,
    Transport,
    is_durable,
    position,
)
from tests.realtime.world import Key, build_world, event_key

pytestmark = pytest.mark.anyio


# -- the subscriber ------------------------------------------------------------------------


@dataclass
class Received:
    cursor: str
    key: Key
    transport: Transport


class Subscriber:
    """Reads the stream in short sessions: each on a random transport, resuming from the last
    cursor received, and ending after a random number of events or a random idle time."""

    def __init__(self, chat: Chat, account: Account, since: str, rng: random.Random) -> None:
        self.chat = chat
        self.account = account
        self.cursor = since
        self.rng = rng
        self.received: list[Received] = []
        self.sessions: dict[str, int] = dict.fromkeys(TRANSPORTS, 0)
        self._progress = anyio.Event()

    def transports(self) -> Iterator[Transport]:
        """Random transports, each used once in every three sessions (so all get used)."""
        while True:
            yield from self.rng.sample(TRANSPORTS, len(TRANSPORTS))

    async def run(self, budgets: tuple[int, ...], idle: tuple[float, float]) -> None:
        for transport in self.transports():
            budget = self.rng.choice(budgets)
            self.sessions[transport] += 1
            async with self.chat.stream(transport, self.account, self.cursor) as stream:
                taken = 0
                while taken < budget:
                    try:
                        event = await stream.next_event(self.rng.uniform(*idle))
                    except StreamEnded as ended:
                        raise AssertionError(f"{transport} ended the stream: {ended}") from None
                    if event is None:
                        break
                    if is_durable(event):
                        self.received.append(Received(event["id"], event_key(event), transport))
                        self._progress.set()
                        taken += 1
                assert stream.cursor is not None
                self.cursor = stream.cursor
            if self.rng.random() < 0.5:  # offline for a while: the next session catches up
                await anyio.sleep(self.rng.uniform(0, 0.15))

    async def wait_for(self, count: int, within: float) -> None:
        """Until `count` events have come (at most `within` seconds), and a little longer
        for any surplus (a duplicate) to show up."""
        with anyio.move_on_after(within):
            while True:
                self._progress = anyio.Event()
                if len(self.received) >= count:
                    break
                await self._progress.wait()
        await anyio.sleep(0.3)

    def check_cursors(self) -> None:
        positions = [position(r.cursor) for r in self.received]
        assert all(a < b for a, b in itertools.pairwise(positions)), (
            "cursors must strictly increase across reconnects"
        )

    async def check_nothing_more(self) -> None:
        r = await self.chat.poll(self.account, self.cursor, wait=0.3)
        assert r.status_code == 200, r.text
        extra = [event_key(e) for e in r.json()["events"] if is_durable(e)]
        assert extra == [], "events after everything expected"


def explain(got: list[Key], want: list[Key]) -> str:
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return f"first difference at #{i}: got {a}, expected {b}"
    return f"got {len(got)} events, expected {len(want)}"


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_disconnects_on_random_transports_deliver_each_entitled_event_once_in_order(
    chat: Chat, seed: int
) -> None:
    rng = random.Random(seed)
    world, driver, account = await build_world(chat, rng)
    subscriber = Subscriber(chat, account, await chat.head(account), random.Random(seed + 100))
    world.recording = True
    async with anyio.create_task_group() as tg:
        tg.start_soon(subscriber.run, (0, 1, 2, 3, 5, 8, 20), (0.02, 0.2))
        for _ in range(180):
            await driver.step()
            if rng.random() < 0.3:
                await anyio.sleep(rng.uniform(0, 0.03))
        await subscriber.wait_for(len(world.expected), within=15)
        tg.cancel_scope.cancel()
    got = [r.key for r in subscriber.received]
    assert world.mismatch(got) is None, world.mismatch(got)
    subscriber.check_cursors()
    await subscriber.check_nothing_more()
    assert len(world.expected) > 30, "the run should give the subscriber plenty to receive"
    assert sum(subscriber.sessions.values()) >= 12, subscriber.sessions


async def test_resuming_during_a_burst_of_concurrent_sends_loses_and_repeats_nothing(
    chat: Chat,
) -> None:
    rng = random.Random(7)
    subscriber_account = await chat.sign_up("sub")
    senders = [await chat.sign_up(f"s{i}") for i in range(6)]
    owner = senders[0]
    mine_public = (await owner.create_room("open", "public"))["id"]
    mine_private = (await owner.create_room("closed", "private"))["id"]
    not_mine = (await owner.create_room("elsewhere", "private"))["id"]
    for room in (mine_public, mine_private, not_mine):
        for user in senders[1:]:
            await owner.expect(201, "PUT", f"/rooms/{room}/members/{user.username}")
    for room in (mine_public, mine_private):
        await owner.expect(201, "PUT", f"/rooms/{room}/members/{subscriber_account.username}")
    target = await owner.send(mine_public, "react to me")

    subscriber = Subscriber(
        chat, subscriber_account, await chat.head(subscriber_account), random.Random(8)
    )
    expected: set[Key] = set()
    seqs: dict[str, list[int]] = {mine_public: [], mine_private: []}

    async def burst(sender: Account) -> None:
        for i in range(12):
            room = rng.choice((mine_public, mine_private, not_mine))
            text = f"{sender.username} {i}"
            sent = await sender.send(room, text)
            await anyio.sleep(rng.uniform(0, 0.02))  # stretch the burst over many reconnects
            if room != not_mine:
                expected.add(("message.created", room, sent["id"], sent["seq"], text))
                seqs[room].append(sent["seq"])
            if i % 4 == 0:
                emoji = quote(sender.username)
                await sender.expect(204, "PUT", f"/messages/{target['id']}/reactions/{emoji}")
                key = ("reaction.added", mine_public, target["id"], sender.username, sender.id)
                expected.add(key)

    async with anyio.create_task_group() as tg:
        tg.start_soon(subscriber.run, (0, 1, 2, 3), (0.01, 0.1))
        async with anyio.create_task_group() as senders_group:
            for sender in senders:
                senders_group.start_soon(burst, sender)
        await subscriber.wait_for(len(expected), within=15)
        tg.cancel_scope.cancel()

    got = [r.key for r in subscriber.received]
    assert len(got) == len(set(got)), "an event was delivered twice"
    assert set(got) == expected
    subscriber.check_cursors()
    for room, room_seqs in seqs.items():
        delivered = [k[3] for k in got if k[0] == "message.created" and k[1] == room]
        assert delivered == sorted(room_seqs), f"room {room} out of seq order"
        assert delivered == list(range(delivered[0], delivered[-1] + 1))
    await subscriber.check_nothing_more()
    assert sum(subscriber.sessions.values()) > 10


async def test_resuming_from_further_back_than_one_catch_up_page_delivers_everything(
    chat: Chat,
) -> None:
    sub = await chat.sign_up("sub")
    sender = await chat.sign_up("sender")
    stay = (await sender.create_room("stay", "private"))["id"]
    leave = (await sender.create_room("leave", "public"))["id"]
    for room in (stay, leave):
        await sender.expect(201, "PUT", f"/rooms/{room}/members/{sub.username}")
    start = await chat.head(sub)
    await sub.expect(204, "POST", f"/rooms/{leave}/leave")
    # 600 events after `start`, more than one catch-up page (500); those of the room the
    # subscriber left are read from the log too, and must be filtered out.
    sent: dict[str, list[dict[str, Any]]] = {stay: [], leave: []}

    async def send_many(room: str, count: int) -> None:
        for i in range(count):
            sent[room].append(await sender.send(room, f"{i}"))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(send_many, stay, 35)
            tg.start_soon(send_many, leave, 25)
    expected = [("member.left", leave, sub.id)] + [
        ("message.created", stay, m["id"], m["seq"], m["text"])
        for m in sorted(sent[stay], key=lambda m: m["seq"])
    ]

    for transport in TRANSPORTS:
        got: list[Key] = []
        async with chat.stream(transport, sub, start) as stream:
            while len(got) < len(expected):
                event = await stream.next_event(5)
                assert event is not None, f"{transport} stalled after {len(got)} events"
                if is_durable(event):
                    got.append(event_key(event))
        assert got == expected, f"{transport}: {explain(got, expected)}"
