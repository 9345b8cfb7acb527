"""Every Bus honours the same contract (memory and Redis); Redis also across nodes."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable

import anyio
import pytest

from hubbub.bus import Bus
from hubbub.bus.memory import MemoryBus
from hubbub.bus.redis import RedisBus
from hubbub.clock import SystemClock
from hubbub.events import CommandReply, Ephemeral, Event, MessageDeleted, Typing

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
    return Event(pos=pos, ts=1, body=MessageDeleted(f"m_{pos}", "general", pos))


def typing(user: str, ts: int = 5) -> Ephemeral:
    return Ephemeral(ts, Typing("general", f"u_{user}", user, ts + 6000), ("general",), f"u_{user}")


async def until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll state that another component (a bus, over a socket) changes."""
    with anyio.fail_after(seconds):
        while not predicate():  # noqa: ASYNC110 - no event to wait on: Redis state
            await anyio.sleep(0.01)


def make_bus(kind: str, redis_url: str | None, node: str, prefix: str) -> Bus:
    if kind == "memory":
        return MemoryBus()
    assert redis_url is not None
    return RedisBus(redis_url, node_id=node, clock=SystemClock(), prefix=prefix)


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


async def test_published_events_reach_the_handler_once(bus_pair: tuple[str, Bus, Recorder]) -> None:
    _, bus, recorder = bus_pair
    await bus.publish_events([event(1), event(2)])
    await bus.publish_events([])
    await bus.publish_events([event(3)])  # a sentinel: a duplicate of 1 or 2 would come first
    await until(lambda: len(recorder.events) >= 3)
    assert [e.pos for e in recorder.events] == [1, 2, 3]
    assert recorder.events[0] == event(1)


async def test_ephemeral_events_reach_the_handler_once(bus_pair: tuple[str, Bus, Recorder]) -> None:
    _, bus, recorder = bus_pair
    await bus.publish_ephemeral(typing("alice"))
    await bus.publish_ephemeral(typing("zoe"))  # a sentinel: a duplicate would come first
    await until(lambda: len(recorder.ephemeral) >= 2)
    assert recorder.ephemeral == [typing("alice"), typing("zoe")]


async def test_presence_of_a_single_node(bus_pair: tuple[str, Bus, Recorder]) -> None:
    _, bus, _ = bus_pair
    assert await bus.set_online("u_1", True) is True
    assert await bus.set_online("u_1", False) is False
    assert await bus.online_among(["u_1"]) in (None, set())  # None: no view beyond the node


async def test_connected_state(bus_pair: tuple[str, Bus, Recorder]) -> None:
    _, bus, _ = bus_pair
    assert bus.state == "connected"


async def test_redis_nodes_see_each_others_events_once(redis_url: str) -> None:
    prefix = f"t{secrets.token_hex(4)}"
    a = RedisBus(redis_url, "a", SystemClock(), prefix=prefix)
    b = RedisBus(redis_url, "b", SystemClock(), prefix=prefix)
    got_a, got_b = Recorder(), Recorder()
    await a.start(got_a)
    await b.start(got_b)
    try:
        await until(lambda: a.state == b.state == "connected")
        await a.publish_events([event(1)])
        await b.publish_events([event(2)])
        await b.publish_ephemeral(typing("bob"))
        await until(lambda: len(got_a.events) == 2 and len(got_b.events) == 2)
        await until(lambda: len(got_a.ephemeral) == 1)
        # Sentinels from each node: anything doubled through Redis would arrive before them.
        await a.publish_events([event(3)])
        await b.publish_ephemeral(typing("zoe"))
        await until(lambda: len(got_b.events) == 3 and len(got_a.ephemeral) == 2)
        assert sorted(e.pos for e in got_a.events) == [1, 2, 3]
        assert sorted(e.pos for e in got_b.events) == [1, 2, 3]
        assert event(1) in got_a.events
        assert event(1) in got_b.events
        assert [e.body for e in got_b.ephemeral] == [typing("bob").body, typing("zoe").body]
    finally:
        await a.close()
        await b.close()


async def test_a_command_reply_for_one_user_crosses_nodes_whole(redis_url: str) -> None:
    """A slash command's answer is for its caller only (`only_user`): another node gets it with
    that addressing intact (#19)."""
    prefix = f"t{secrets.token_hex(4)}"
    a = RedisBus(redis_url, "a", SystemClock(), prefix=prefix)
    b = RedisBus(redis_url, "b", SystemClock(), prefix=prefix)
    got_b = Recorder()
    await a.start(Recorder())
    await b.start(got_b)
    try:
        await until(lambda: a.state == b.state == "connected")
        reply = Ephemeral(
            7, CommandReply("r_1", "u_bob", "/weather", "Sunny"), (), only_user="u_bob"
        )
        await a.publish_ephemeral(reply)
        await until(lambda: len(got_b.ephemeral) == 1)
        assert got_b.ephemeral == [reply]
    finally:
        await a.close()
        await b.close()


async def test_redis_presence_spans_nodes(redis_url: str) -> None:
    prefix = f"t{secrets.token_hex(4)}"
    a = RedisBus(redis_url, "a", SystemClock(), prefix=prefix)
    b = RedisBus(redis_url, "b", SystemClock(), prefix=prefix)
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
