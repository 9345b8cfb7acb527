"""The benchmarks' raw WebSocket subscriber and warm-up (bench/ws_client.py, bench/targets.py).

hubbub's control frames, `{"type":"hello","cursor":...}` first on a stream and `{"type":"ping"}`
heartbeats, are never a delivery or a latency sample. A hello (or, from a server that sends
none, a subscriber's first frame of any kind) marks the subscription live, and the warm-up
waits for that signal rather than for a timeout. No server: frames are fed in directly.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
UPGRADE = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
HELLO = '{"type":"hello","cursor":"d1-7"}'
PING = '{"type":"ping"}'

pytestmark = pytest.mark.anyio


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    monkeypatch.syspath_prepend(str(BENCH))  # the bench scripts import their siblings by name
    return importlib.import_module


def frame(text: str) -> bytes:
    """An unmasked text frame, as a server sends it."""
    payload = text.encode()
    if len(payload) < 126:
        return bytes((0x81, len(payload))) + payload
    return bytes((0x81, 126)) + len(payload).to_bytes(2, "big") + payload


def message_event(text: str) -> str:
    return json.dumps({"id": "d1-8", "type": "message", "room_id": "r1", "data": {"text": text}})


def stamped(ws: ModuleType) -> str:
    head = f"~T{ws.now_ns()}~0~"
    return head + "x" * (200 - len(head))


async def test_hello_and_ping_frames_are_neither_deliveries_nor_latency_samples(
    bench: Callable[[str], ModuleType],
) -> None:
    ws = bench("ws_client")
    tally = ws.Tally()
    client = ws.WsClient(b"", tally)
    tally.reset(1)
    client.data_received(UPGRADE + frame(HELLO) + frame(PING))
    client.data_received(frame('{"type":"hello","cursor":"~T12~"}'))  # even if it looked like one
    assert (tally.hellos, tally.live, tally.other) == (2, 1, 1)
    assert tally.latencies_ns == []
    assert not tally.done.done()

    client.data_received(frame(message_event(stamped(ws))))
    assert len(tally.latencies_ns) == 1
    assert tally.done.done()


async def test_without_a_hello_the_first_frame_of_any_kind_makes_a_subscriber_live(
    bench: Callable[[str], ModuleType],
) -> None:
    ws = bench("ws_client")
    tally = ws.Tally()
    client = ws.WsClient(b"", tally)
    client.data_received(UPGRADE)
    assert tally.live == 0
    client.data_received(frame(json.dumps({"id": "d1-1", "type": "presence", "data": {}})))
    assert (tally.hellos, tally.live, tally.other) == (0, 1, 1)


class Subscriptions:
    """Subscribers of one room on a server that starts each stream at the present (as hubbub):
    a post reaches only those subscribed when it is made. `hello`: whether the server says so."""

    ok = 200

    def __init__(self, ws: ModuleType, count: int, hello: bool) -> None:
        self.tally = ws.Tally()
        self.clients = [ws.WsClient(b"", self.tally) for _ in range(count)]
        self.subscribed: set[int] = set()
        self.hello = hello
        self.posts = 0
        for client in self.clients:
            client.data_received(UPGRADE)

    def subscribe(self, k: int) -> None:
        self.subscribed.add(k)
        if self.hello:
            self.clients[k].data_received(frame(HELLO))

    async def post(self, room: int, text: Callable[[], str]) -> tuple[int, bytes]:
        self.posts += 1
        data = frame(message_event(text()))
        for k in self.subscribed:
            self.clients[k].data_received(data)
        return 200, b""


async def warm_up(bench: Callable[[str], ModuleType], subs: Subscriptions) -> tuple[int, float]:
    targets = bench("targets")
    target: Any = subs  # duck-typed: warm_up only posts and reads `ok`
    began = time.monotonic()
    rounds = await targets.warm_up(target, [len(subs.clients)], subs.tally, len(subs.clients), 0)
    return rounds, time.monotonic() - began


async def test_warm_up_posts_once_every_hello_is_in(bench: Callable[[str], ModuleType]) -> None:
    subs = Subscriptions(bench("ws_client"), 3, hello=True)
    subs.subscribe(0)
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, subs.subscribe, 1)
    loop.call_later(0.1, subs.subscribe, 2)
    rounds, took = await warm_up(bench, subs)
    assert (rounds, subs.posts, subs.tally.warmed) == (1, 1, 3)
    assert took < 2


async def test_a_hello_after_the_round_was_posted_brings_the_next_round_at_once(
    bench: Callable[[str], ModuleType],
) -> None:
    subs = Subscriptions(bench("ws_client"), 2, hello=True)
    loop = asyncio.get_running_loop()
    for k in range(2):  # both subscribe after round 1 was posted: they miss it
        loop.call_later(0.05, subs.subscribe, k)
    rounds, took = await warm_up(bench, subs)
    assert (rounds, subs.tally.warmed) == (2, 2)
    assert took < 2  # not the 5 s a round waits for a server that sends no hello


async def test_warm_up_without_hellos_posts_until_every_subscriber_received_one(
    bench: Callable[[str], ModuleType],
) -> None:
    subs = Subscriptions(bench("ws_client"), 2, hello=False)
    subs.subscribe(0)
    subs.subscribe(1)
    rounds, _ = await warm_up(bench, subs)
    assert (rounds, subs.posts, subs.tally.warmed, subs.tally.hellos) == (1, 1, 2, 0)
