"""A raw keep-alive HTTP/1.1 client: the sender of a real-time run, and its set-up.

Raw (no HTTP library) so that the load generator, one process on one core, spends as little CPU
per request as it can: the server, not the client, must be the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from procs import HOST

HTTP_POOL = 16  # keep-alive connections the sender (and the set-up) use
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.I)


class Http:
    """A few keep-alive connections; `request` borrows one (waiting if all are busy)."""

    def __init__(self, port: int, size: int = HTTP_POOL) -> None:
        self.port = port
        self.size = size
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = (
            asyncio.Queue()
        )
        for _ in range(size):
            self._idle.put_nowait(None)  # opened on first use

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | Callable[[], bytes] = b"",
        token: str | None = None,
    ) -> tuple[int, bytes]:
        """`body` may be a callable, called just before the request is written (timestamps)."""
        conn = await self._idle.get()
        try:
            for attempt in (1, 2):
                if conn is None or conn[0].at_eof():  # uvicorn closes idle ones after 5 s
                    if conn is not None:
                        conn[1].close()
                    conn = await asyncio.open_connection(HOST, self.port)
                reader, writer = conn
                data = body() if callable(body) else body
                auth = f"Authorization: Bearer {token}\r\n" if token else ""
                writer.write(
                    f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n{auth}"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                    break
                except (asyncio.IncompleteReadError, ConnectionResetError) as exc:
                    partial = getattr(exc, "partial", b"")
                    if attempt == 2 or partial:
                        raise
                    writer.close()  # closed as we reused it, before any answer: once more
                    conn = None
            status = int(head[9:12])
            length = _CONTENT_LENGTH.search(head)
            payload = await reader.readexactly(int(length[1])) if length else b""
            if b"\r\nconnection: close" in head.lower():
                writer.close()
                conn = None
            return status, payload
        except BaseException:
            if conn is not None:
                conn[1].close()
            conn = None
            raise
        finally:
            self._idle.put_nowait(conn)

    async def json(
        self, method: str, path: str, payload: Any, token: str | None, expect: int
    ) -> Any:
        status, body = await self.request(method, path, json.dumps(payload).encode(), token)
        if status != expect:
            raise RuntimeError(f"{method} {path}: HTTP {status} {body[:300]!r}")
        return json.loads(body) if body else None

    async def close(self) -> None:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                conn[1].close()
