"""The per-node hub, in process, on a real SQLite file: it dispatches committed events in
position order whatever order (and how often) they are announced, fills gaps from the
database, and finds events that were never announced by polling. The hub's time is a
FakeClock: its poll runs only when a test moves the clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from hubbub.app import open_store
from hubbub.bus.memory import MemoryBus
from hubbub.config import Settings
from hubbub.events import (
    DurableEvent,
    Ephemeral,
    Event,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    Presence,
    ReadUpdated,
    Typing,
)
from hubbub.models import Room, User
from hubbub.realtime.hub import Hub
from hubbub.realtime.subscriptions import SlowConsumer, Subscription
from hubbub.store import Store, Tx
from hubbub.store.events import append_events
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio

POLL_SECONDS = 0.2
ROOM = "r_hubtest"
ALICE = User("u_alice", "alice", "Alice", 0)
BOB = User("u_bob", "bob", "Bob", 0)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hub.db'}", password_hashing="fast")
    opened = await open_store(settings)
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def hub(store: Store, clock: FakeClock) -> AsyncIterator[Hub]:
    running = await start_hub(store, clock)
    try:
        yield running
    finally:
        await running.close()


async def start_hub(store: Store, clock: FakeClock) -> Hub:
    """A hub on the in-process bus that polls every POLL_SECONDS of `clock`'s time."""
    bus = MemoryBus()
    hub = Hub(store, clock, await store.deployment_id(), bus, poll_interval=POLL_SECONDS)
    await hub.start()
    await bus.start(hub)
    return hub


def subscribe(hub: Hub, user: User = ALICE, rooms: tuple[str, ...] = (ROOM,)) -> Subscription:
    sub = Subscription(user, f"s_{user.id}", max_buffer=1000)
    if hub.register(sub):
        hub.set_rooms(user, rooms, hub.pos)
    return sub


async def commit(store: Store, *items: DurableEvent) -> list[Event]:
    """Store events in one transaction WITHOUT announcing them to any hub."""

    def tx_fn(tx: Tx) -> list[Event]:
        return append_events(tx, list(items), 1)

    return await store.write(tx_fn)


def message(n: int, room: str = ROOM) -> DurableEvent:
    """A cheap durable event of `room` (which one does not matter to the hub)."""
    return MessageDeleted(f"m_{n}", room, n)


def taken(sub: Subscription) -> list[int]:
    """Positions of the durable frames `sub` has buffered now (presence frames left out)."""
    return [f.pos for f in sub.take() if f.pos is not None]


async def received(sub: Subscription, count: int, within: float = 3.0) -> list[int]:
    """Positions of the durable frames `sub` takes until it has `count` (at most `within`
    seconds)."""
    got: list[int] = []
    with anyio.move_on_after(within):
        while len(got) < count:
            await sub.wait(0.05)
            got.extend(f.pos for f in sub.take() if f.pos is not None)
    return got


async def test_shuffled_announcements_in_one_batch_are_dispatched_in_position_order(
    store: Store, hub: Hub
) -> None:
    sub = subscribe(hub)
    events = await commit(store, *(message(i) for i in range(20)))
    shuffled = events[:]
    random.Random(4).shuffle(shuffled)
    hub.on_events(shuffled)
    assert taken(sub) == [e.pos for e in events]


async def test_a_gap_is_filled_from_the_database_before_later_events_are_dispatched(
    store: Store, hub: Hub
) -> None:
    sub = subscribe(hub)
    events = await commit(store, *(message(i) for i in range(5)))
    hub.on_events([events[4]])  # 1-4 were committed but their announcements are late
    assert taken(sub) == [], "an event after a gap must wait for the gap to be filled"
    assert await received(sub, 5) == [e.pos for e in events]
    hub.on_events(events[:4])  # the late announcements change nothing
    assert taken(sub) == []


async def test_announcements_in_reverse_one_by_one_still_deliver_in_order(
    store: Store, hub: Hub
) -> None:
    sub = subscribe(hub)
    events = []
    for i in range(8):
        events += await commit(store, message(i))
    for event in reversed(events):
        hub.on_events([event])
    assert await received(sub, 8) == [e.pos for e in events]


async def test_duplicate_announcements_are_dispatched_once(store: Store, hub: Hub) -> None:
    sub = subscribe(hub)
    events = await commit(store, message(1), message(2), message(3))
    delivered = hub.delivered
    hub.on_events(events[:1])
    hub.on_events(events[:2])
    hub.on_events(events)
    hub.on_events(events[1:])
    hub.on_events([events[2], events[2]])
    assert taken(sub) == [e.pos for e in events]
    assert hub.delivered - delivered == 3


async def test_events_never_announced_are_delivered_by_the_next_poll(
    store: Store, hub: Hub, clock: FakeClock
) -> None:
    sub = subscribe(hub)
    clock.advance(POLL_SECONDS / 2)  # out of phase with the poll's ticks
    events = await commit(store, message(1), message(2))
    events += await commit(store, message(3))
    assert await received(sub, 1, within=0.3) == [], "nothing announced them: not yet"
    clock.advance(POLL_SECONDS / 2)  # the poll's tick
    assert await received(sub, 3) == [e.pos for e in events]
    assert hub.pos == events[-1].pos


async def test_the_hub_starts_at_the_head_and_does_not_replay_older_events(
    store: Store, clock: FakeClock
) -> None:
    old = await commit(store, message(1), message(2))
    hub = await start_hub(store, clock)
    try:
        assert hub.pos == old[-1].pos
        sub = subscribe(hub)
        new = await commit(store, message(3))
        hub.on_events(new)
        clock.advance(POLL_SECONDS)
        assert await received(sub, 1) == [new[0].pos]
        assert taken(sub) == []
    finally:
        await hub.close()


async def test_events_of_other_rooms_do_not_reach_a_subscription(store: Store, hub: Hub) -> None:
    sub = subscribe(hub)
    events = await commit(store, message(1, "r_other"), message(2), message(3, "r_other"))
    hub.on_events(events)
    assert taken(sub) == [events[1].pos]


async def test_joining_and_leaving_move_a_subscription_in_and_out_of_a_room(
    store: Store, hub: Hub
) -> None:
    sub = subscribe(hub, rooms=())
    other = subscribe(hub, BOB)
    room = Room(ROOM, "hub test", "", "public", "room", 0, 0, 0)
    events = await commit(
        store,
        message(1),  # alice is not in the room yet
        MemberJoined(room, ALICE, "member"),
        message(2),
        ReadUpdated(ROOM, BOB.id, 2, 0),  # bob's own
        MemberLeft(ROOM, ALICE),
        message(3),  # alice has left
    )
    hub.on_events(events)
    assert taken(sub) == [events[1].pos, events[2].pos, events[4].pos]
    assert taken(other) == [e.pos for e in events]


async def test_a_subscription_that_overflows_its_buffer_raises_slow_consumer(
    store: Store, hub: Hub
) -> None:
    sub = Subscription(ALICE, "s_alice", max_buffer=3)
    hub.register(sub)
    hub.set_rooms(ALICE, [ROOM], hub.pos)
    hub.on_events(await commit(store, *(message(i) for i in range(4))))
    with pytest.raises(SlowConsumer):
        sub.take()


async def test_presence_is_pushed_only_in_rooms_small_enough(hub: Hub) -> None:
    hub.presence_room_max = 2
    crowd = [
        subscribe(hub, User(f"u_{i}", f"user{i}", f"user{i}", 0), ("lobby",)) for i in range(3)
    ]
    pair = [
        subscribe(hub, User(f"u_p{i}", f"pair{i}", f"pair{i}", 0), ("small",)) for i in range(2)
    ]
    for sub in crowd + pair:
        sub.take()  # drop the subscribers' own start-up presence traffic
    hub.on_ephemeral(Ephemeral(1, Presence("u_carol", "carol", True), ("lobby", "small")))
    assert [len(sub.take()) for sub in crowd] == [0, 0, 0]  # 3 > 2: the lobby gets none
    assert [len(sub.take()) for sub in pair] == [1, 1]
    hub.on_ephemeral(Ephemeral(1, Typing("lobby", "u_carol", "carol", 2), ("lobby",)))
    assert [len(sub.take()) for sub in crowd] == [1, 1, 1]  # typing is not limited


async def test_a_client_gone_between_take_and_wait_is_not_waited_for() -> None:
    """The writer learns that its client left through `wake`. A wake that lands before a
    `take` (say, while the writer reads a catch-up page) still ends the next `wait` at once:
    it used to be cleared by `take`, and the stream lingered (the user stayed online) until
    the next ping, 20 s or more later."""
    sub = Subscription(ALICE, "s_alice", max_buffer=10)
    sub.wake()
    assert sub.take() == []
    with anyio.fail_after(1):
        await sub.wait(60)
    with anyio.fail_after(1):
        await sub.wait(60)  # and any later wait too: the client does not come back
