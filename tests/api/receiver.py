"""A loopback HTTP receiver for outgoing webhooks and slash commands: it records each request
(headers, body) and answers with what the test's `answer` function says."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["Received", "Receiver", "verify"]


# The verification snippet of docs/integrations.md, as a receiver would write it.
def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256)
    fresh = abs(time.time() - int(fields["t"])) <= tolerance
    return fresh and hmac.compare_digest(expected.hexdigest(), fields["v1"])


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Received], Awaitable[tuple[int, bytes]]]


async def _ok(_: Received) -> tuple[int, bytes]:
    return 200, b""


@dataclass
class Receiver:
    answer: Answer = _ok
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _servers: list[asyncio.Server] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def start(self) -> Receiver:
        v4 = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = v4.sockets[0].getsockname()[1]
        v6 = await asyncio.start_server(self._serve, "::1", self.port, family=socket.AF_INET6)
        self._servers = [v4, v6]
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            server.close()
            await server.wait_closed()

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:  # noqa: ASYNC109
        """Wait until `count` requests arrived (the test fails after `timeout`)."""
        async with asyncio.timeout(timeout):
            while len(self.requests) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.requests

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                received = Received(method, path, headers, body)
                self.requests.append(received)
                self._arrived.set()
                status, answer = await self.answer(received)
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (status, len(answer), answer)
                )
                await writer.drain()
        finally:
            writer.close()
            self._tasks.discard(task)
