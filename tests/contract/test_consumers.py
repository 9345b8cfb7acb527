"""Log consumers (services/consumers.py) on each database: they start at the log's head, hand
pages to their handler in position order, store what the handler returns in the same
transaction as their new place (so nothing is enqueued twice, across a restart or a lease
changing hands), hold a lease so one node runs each, and wake when the hub sees new events."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable

import pytest

from hubbub.app import open_store
from hubbub.bus.memory import MemoryBus
from hubbub.config import Settings
from hubbub.events import Event, MessageDeleted
from hubbub.realtime.hub import Hub
from hubbub.services.consumers import Handler, LogConsumer
from hubbub.store import Store, Tx
from hubbub.store.consumers import LeaseLost, position
from hubbub.store.events import append_events, prune_before
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio

ROOM = "r_consumers"


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    opened = await open_store(settings)
    await opened.migrate()
    await opened.write(
        lambda tx: tx.execute("CREATE TABLE consumed (pos BIGINT PRIMARY KEY, by_node TEXT)")
    )
    try:
        yield opened
    finally:  # PostgreSQL databases are reused by later tests
        await opened.write(lambda tx: tx.execute("DROP TABLE consumed"))
        await opened.close()


async def commit(store: Store, count: int, ts: int = 1) -> list[Event]:
    bodies = [MessageDeleted(f"m_{i}", ROOM, i) for i in range(count)]
    return await store.write(lambda tx: append_events(tx, list(bodies), ts))


def recorder(node: str, seen: list[int]) -> Handler:
    """A handler that notes each page and asks for one `consumed` row per event: a duplicate
    row would fail the primary key, so a page enqueued twice cannot go unnoticed."""

    async def handle(events: list[Event]) -> Callable[[Tx], None]:
        seen.extend(e.pos for e in events)

        def enqueue(tx: Tx) -> None:
            for e in events:
                tx.execute("INSERT INTO consumed VALUES (:p, :n)", {"p": e.pos, "n": node})

        return enqueue

    return handle


async def consumed(store: Store) -> list[tuple[int, str]]:
    rows = await store.read(
        lambda tx: tx.fetchall("SELECT pos, by_node FROM consumed ORDER BY pos")
    )
    return [(int(r[0]), str(r[1])) for r in rows]


async def test_starts_at_the_head_and_handles_later_events_in_order_in_pages(
    store: Store, clock: FakeClock
) -> None:
    await commit(store, 3)  # before the consumer existed: not its business
    seen: list[int] = []
    consumer = LogConsumer("t", store, clock, recorder("a", seen), holder="a", page=4)
    assert await consumer.step() == 0
    start = consumer.pos
    assert start == 3
    events = await commit(store, 10)
    assert [await consumer.step() for _ in range(4)] == [4, 4, 2, 0]
    assert seen == [e.pos for e in events]
    assert [p for p, _ in await consumed(store)] == seen
    assert await store.read(functools.partial(position, name="t")) == events[-1].pos


async def test_a_failing_handler_moves_nothing_and_the_page_comes_again(
    store: Store, clock: FakeClock
) -> None:
    seen: list[int] = []
    good = recorder("a", seen)
    calls = 0

    async def flaky(events: list[Event]) -> Callable[[Tx], None] | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the handler's database read failed")
        return await good(events)

    consumer = LogConsumer("t", store, clock, flaky, holder="a")
    await consumer.step()
    events = await commit(store, 3)
    with pytest.raises(RuntimeError):
        await consumer.step()
    assert await consumed(store) == []
    assert await consumer.step() == 3
    assert [p for p, _ in await consumed(store)] == [e.pos for e in events]


async def test_a_restart_resumes_where_it_stopped(store: Store, clock: FakeClock) -> None:
    seen: list[int] = []
    first = LogConsumer("t", store, clock, recorder("a", seen), holder="a")
    await first.step()
    await commit(store, 2)
    await first.step()
    later = await commit(store, 2)  # committed while the node was down
    again = LogConsumer("t", store, clock, recorder("a", seen), holder="a")
    assert await again.step() == 2
    assert seen[-2:] == [e.pos for e in later]
    assert len(await consumed(store)) == 4


async def test_one_node_holds_the_lease_until_it_lapses_and_the_old_holder_cannot_commit(
    store: Store, clock: FakeClock
) -> None:
    seen_a: list[int] = []
    seen_b: list[int] = []
    a = LogConsumer("t", store, clock, recorder("a", seen_a), holder="a", lease_seconds=30)
    b = LogConsumer("t", store, clock, recorder("b", seen_b), holder="b", lease_seconds=30)
    assert await a.step() == 0
    await commit(store, 2)
    assert await b.step() is None, "a's lease runs: b must not consume"
    assert await a.step() == 2
    clock.advance(31)  # a hangs past its lease
    events = await commit(store, 2)

    # a wakes up and handles a page, but b took the lease meanwhile: a's page is rolled back.
    stalled = LogConsumer("t", store, clock, recorder("a", seen_a), holder="a")
    assert await b.step() == 2
    more = await commit(store, 1)
    assert await stalled.step() is None, "b holds the lease now"

    assert await b.step() == 1
    rows = await consumed(store)
    assert [p for p, n in rows if n == "b"] == [e.pos for e in events + more]
    assert len(rows) == len({p for p, _ in rows}) == 5


async def test_advancing_without_the_lease_rolls_back_the_handlers_writes(
    store: Store, clock: FakeClock
) -> None:
    seen: list[int] = []
    a = LogConsumer("t", store, clock, recorder("a", seen), holder="a", lease_seconds=30)
    await a.step()
    await commit(store, 2)
    handle = a.handle

    async def slow_then_taken(events: list[Event]) -> Callable[[Tx], None] | None:
        # While a works on its page, its lease lapses and b takes the consumer over.
        clock.advance(31)
        b = LogConsumer("t", store, clock, recorder("b", []), holder="b", page=0)
        await b.step()
        return await handle(events)

    a.handle = slow_then_taken
    with pytest.raises(LeaseLost):
        await a.step()
    assert await consumed(store) == [], "the page handled without the lease was enqueued"


async def test_events_pruned_before_they_were_read_are_skipped_not_waited_for(
    store: Store, clock: FakeClock
) -> None:
    seen: list[int] = []
    consumer = LogConsumer("t", store, clock, recorder("a", seen), holder="a")
    await consumer.step()
    await commit(store, 3, ts=1)
    kept = await commit(store, 2, ts=10_000)
    await store.write(functools.partial(prune_before, before_ms=5_000, batch=100))
    assert await consumer.step() == 2
    assert seen == [e.pos for e in kept]
    assert consumer.skipped == 3


async def test_run_wakes_when_the_hub_dispatches_a_new_event(store: Store) -> None:
    clock = FakeClock()  # idle timeouts never fire: only the hub can wake the consumer
    bus = MemoryBus()
    hub = Hub(store, clock, await store.deployment_id(), bus, poll_interval=3600)
    await hub.start()
    await bus.start(hub)
    seen: list[int] = []
    done = asyncio.Event()
    record = recorder("a", seen)

    async def handle(events: list[Event]) -> Callable[[Tx], None] | None:
        enqueue = await record(events)
        if len(seen) >= 2:
            done.set()
        return enqueue

    consumer = LogConsumer("t", store, clock, handle, wakeups=hub, holder="a", idle_seconds=3600)
    await consumer.step()  # claimed, at the head
    task = asyncio.create_task(consumer.run())
    try:
        await asyncio.sleep(0.2)  # run() steps (nothing new) and waits on the hub
        events = await commit(store, 2)
        hub.on_events(events)  # what the bus does once a write commits
        async with asyncio.timeout(5):
            await done.wait()
        assert seen == [e.pos for e in events]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await hub.close()
    # Cancelled, it gave its lease up: another node may take over at once.
    other = LogConsumer("t", store, clock, recorder("b", []), holder="b")
    assert await other.step() == 0
