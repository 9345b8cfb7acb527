"""Raw WebSocket subscribers that only find the send timestamp in each frame, and their tally.

Raw (an asyncio Protocol parsing frames itself) so that thousands of subscribers fit in one
process on one core without becoming the bottleneck.

hubbub's control frames are not events: `{"type":"hello","cursor":...}`, the first frame of a
stream once its subscription is live (servers that send it), and `{"type":"ping"}` heartbeats.
Neither is ever a delivery or a latency sample.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import cast

from procs import HOST

CONNECT_CONCURRENCY = 200  # WebSocket handshakes in flight at once
CONTROL_TYPES = ("hello", "ping")
# Only frames shorter than this are looked at as control frames (a fast path, not a rule): hello
# and ping are far shorter, and a bench message's text alone is 200 characters (TEXT_CHARS).
CONTROL_MAX = 200

now_ns = time.monotonic_ns  # CLOCK_MONOTONIC: one clock for every process on the machine


def control_type(frame: bytes) -> str | None:
    """The type of one of hubbub's control frames ("hello" or "ping"); None for anything else."""
    if b'"hello"' not in frame and b'"ping"' not in frame:
        return None  # no JSON parsing for anything else (presence, bench messages)
    try:
        message = json.loads(frame)
    except ValueError:
        return None
    kind = message.get("type") if isinstance(message, dict) else None
    return str(kind) if kind in CONTROL_TYPES else None


class Tally:
    """What every subscriber of one run received, shared by all of them."""

    def __init__(self) -> None:
        # A subscriber is live from its first frame: hubbub's hello (sent once the subscription
        # is made), or, from a server that sends none, whatever comes first. Not reset: it is
        # about the connections, not about a measurement.
        self.hellos = 0  # subscribers that received a hello frame
        self.live = 0
        self.live_target = 0
        self.all_live = asyncio.Event()
        self.reset(0)

    async def wait_live(self, clients: int) -> None:
        """Return once `clients` subscribers are live (the caller bounds the wait)."""
        self.live_target = clients
        while self.live < clients:
            self.all_live.clear()
            await self.all_live.wait()

    def reset(self, expected: int) -> None:
        self.expected = expected
        self.latencies_ns: list[int] = []
        self.last_ns = 0
        self.other = 0  # frames that are not bench messages (presence, pings, ...)
        self.warmed = 0  # clients that received a warm-up message
        self.warm_target = 0
        self.all_warm = asyncio.Event()
        self.closes: Counter[str] = Counter()
        self.closing = False  # we are closing the clients: losses are ours
        self.done = asyncio.get_running_loop().create_future()


class WsClient(asyncio.Protocol):
    """A WebSocket client that only finds the send timestamp in each text frame.

    Server frames are never masked; our pongs and close frames use the all-zero mask key.
    """

    def __init__(self, handshake: bytes, tally: Tally) -> None:
        self.handshake = handshake
        self.tally = tally
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.upgraded = False
        self.live = False  # it received a frame: see Tally
        self.warm = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.handshake)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during the handshake: {exc}"))
        elif not self.tally.closing:
            self.tally.closes["lost"] += 1

    def data_received(self, data: bytes) -> None:
        now = now_ns()
        if self.buf:
            data = self.buf + data
        if not self.upgraded:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buf = data
                return
            if not data.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(data[:200].decode("latin-1")))
                assert self.transport is not None
                self.transport.close()
                return
            self.upgraded = True
            self.opened.set_result(None)
            data = data[end + 4 :]
        tally = self.tally
        pos, size = 0, len(data)
        while size - pos >= 2:
            b0, n = data[pos], data[pos + 1] & 0x7F
            start = pos + 2
            if n == 126:
                if size - pos < 4:
                    break
                n = (data[start] << 8) | data[start + 1]
                start += 2
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(data[start : start + 8], "big")
                start += 8
            end = start + n
            if end > size:
                break
            pos = end
            opcode = b0 & 0x0F
            if opcode <= 2:  # text, binary, continuation
                if not self.live:
                    self.live = True
                    tally.live += 1
                    if tally.live >= tally.live_target > 0:
                        tally.all_live.set()
                kind = control_type(data[start:end]) if n < CONTROL_MAX else None
                if kind == "hello":
                    tally.hellos += 1
                elif kind:
                    tally.other += 1  # pings: not bench messages, counted as always
                elif (at := data.find(b"~T", start, end)) >= 0:
                    stop_at = data.find(b"~", at + 2, end)
                    tally.latencies_ns.append(now - int(data[at + 2 : stop_at]))
                    tally.last_ns = now
                    if len(tally.latencies_ns) >= tally.expected and not tally.done.done():
                        tally.done.set_result(None)
                elif data.find(b"~W", start, end) >= 0:
                    if not self.warm:
                        self.warm = True
                        tally.warmed += 1
                        if tally.warmed >= tally.warm_target:
                            tally.all_warm.set()
                else:
                    tally.other += 1
            elif opcode == 9:  # ping -> pong with the same payload
                self._send(0x8A, data[start:end])
            elif opcode == 8:
                code = (data[start] << 8) | data[start + 1] if n >= 2 else 1005
                tally.closes[str(code)] += 1
                self._send(0x88, data[start : start + 2])
                assert self.transport is not None
                self.transport.close()
                return
        self.buf = data[pos:] if pos < size else b""

    def _send(self, head: int, payload: bytes) -> None:
        assert self.transport is not None
        assert len(payload) < 126
        self.transport.write(bytes((head, 0x80 | len(payload), 0, 0, 0, 0)) + payload)

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()


async def connect_all(port: int, paths: Sequence[str], tally: Tally) -> list[WsClient]:
    """Open one WebSocket per path, CONNECT_CONCURRENCY handshakes at a time."""
    loop = asyncio.get_running_loop()
    clients: list[WsClient] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(path: str) -> None:
        handshake = (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        async with gate:
            client = WsClient(handshake, tally)
            await loop.create_connection(lambda: client, HOST, port)
            clients.append(client)
            await asyncio.wait_for(client.opened, 30)

    try:
        await asyncio.gather(*(one(p) for p in paths))
    except BaseException:
        for client in clients:
            client.abort()
        raise
    return clients
