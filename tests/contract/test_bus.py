"""Every Bus honours the same contract (memory and Redis); Redis also across nodes."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable

import anyio
import pytest

from hubbub.bus import Bus
from hubbub.bus.memory import MemoryBus
from hubbub.bus.redis import RedisBus
from hubbub.models import Ephemeral, Event

pytestmark = pytest.mark.anyio


class Recorder:
    """A BusHandler that remembers what it was given."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.ephemeral: list[Ephemeral] = []
        self.resyncs = 0

    def on_events(self, events: list[Event]) -> None:
        self.events.extend(events)

    def on_ephemeral(self, event: Ephemeral) -> None:
        self.ephemeral.append(event)

    def on_resync(self) -> None:
        self.resyncs += 1


def event(pos: int) -> Event:
    return Event(
        pos=pos,
        type="message.created",
        room_id="general",
        ts=1,
        data={"n": pos},
        subject=None,
        private=False,
    )


async def until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll state that another component (a bus, over a socket) changes."""
    with anyio.fail_after(seconds):
        while not predicate():  # noqa: ASYNC110 - no event to wait on: Redis state
            await anyio.sleep(0.01)


def make_bus(kind: str, redis_url: str | None, node: str, prefix: str) -> Bus:
    if kind == "memory":
        return MemoryBus()
    assert redis_url is not None
    return RedisBus(redis_url, node_id=node, prefix=prefix)


@pytest.fixture(params=["memory", "redis"])
async def bus_pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Bus, Recorder]]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    bus = make_bus(request.param, redis_url, "node-a", f"t{secrets.token_hex(4)}")
    recorder = Recorder()
    await bus.start(recorder)
    if request.param == "redis":
        await until(lambda: bus.state == "connected")
    try:
        yield request.param, bus, recorder
    finally:
        await bus.close()


async def test_published_events_reach_the_handler_once(bus_pair: tuple[str, Bus, Recorder]):
    _, bus, recorder = bus_pair
    await bus.publish_events([event(1), event(2)])
    await bus.publish_events([])
    await anyio.sleep(0.2)  # time for a duplicate to arrive, if the bus made one
    assert [e.pos for e in recorder.events] == [1, 2]
    assert recorder.events[0].data == {"n": 1}


async def test_ephemeral_events_reach_the_handler_once(bus_pair: tuple[str, Bus, Recorder]):
    _, bus, recorder = bus_pair
    typing = Ephemeral("typing", ("general",), 5, {"user": "alice"}, except_user="u_1")
    await bus.publish_ephemeral(typing)
    await anyio.sleep(0.2)
    assert recorder.ephemeral == [typing]


async def test_presence_of_a_single_node(bus_pair: tuple[str, Bus, Recorder]):
    _, bus, _ = bus_pair
    assert await bus.set_online("u_1", True) is True
    assert await bus.set_online("u_1", False) is False
    assert await bus.online_among(["u_1"]) in (None, set())  # None: no view beyond the node


async def test_connected_state(bus_pair: tuple[str, Bus, Recorder]):
    _, bus, _ = bus_pair
    assert bus.state == "connected"


async def test_redis_nodes_see_each_others_events_once(redis_url: str):
    prefix = f"t{secrets.token_hex(4)}"
    a, b = RedisBus(redis_url, "a", prefix=prefix), RedisBus(redis_url, "b", prefix=prefix)
    got_a, got_b = Recorder(), Recorder()
    await a.start(got_a)
    await b.start(got_b)
    try:
        await until(lambda: a.state == b.state == "connected")
        await a.publish_events([event(1)])
        await b.publish_events([event(2)])
        await b.publish_ephemeral(Ephemeral("typing", ("general",), 1, {"user": "bob"}))
        await until(lambda: len(got_a.events) == 2 and len(got_b.events) == 2)
        await until(lambda: len(got_a.ephemeral) == 1)
        await anyio.sleep(0.2)
        assert sorted(e.pos for e in got_a.events) == [1, 2]
        assert sorted(e.pos for e in got_b.events) == [1, 2]
        assert len(got_b.ephemeral) == 1  # delivered locally, not again from Redis
    finally:
        await a.close()
        await b.close()


async def test_redis_presence_spans_nodes(redis_url: str):
    prefix = f"t{secrets.token_hex(4)}"
    a, b = RedisBus(redis_url, "a", prefix=prefix), RedisBus(redis_url, "b", prefix=prefix)
    await a.start(Recorder())
    await b.start(Recorder())
    try:
        await until(lambda: a.state == b.state == "connected")
        await a.set_online("u_1", True)
        await b.set_online("u_1", True)
        assert await b.online_among(["u_1", "u_2"]) == {"u_1"}
        assert await a.set_online("u_1", False) is True  # still connected through b
        assert await a.online_among(["u_1"]) == {"u_1"}
        assert await b.set_online("u_1", False) is False
    finally:
        await a.close()
        await b.close()
