"""Zero-copy file bodies: the ASGI `http.response.zerocopysend` extension, with sendfile(2).

A download read in Python copies every byte twice more than the kernel needs to (file to
Python, Python to the socket) and costs a thread hop per chunk; sendfile(2) moves the bytes
from the page cache to the socket inside the kernel. uvicorn does not implement the
extension, and uvloop has no `loop.sendfile`, so `serving.LimitedHttpToolsProtocol` calls
`offer` for each plain-TCP request (never under TLS, where the kernel cannot encrypt): the
scope then lists the extension, and the request's `send` accepts

    {"type": "http.response.zerocopysend", "file": <an open file>, "offset": int,
     "count": int, "more_body": bool}

after `http.response.start` (the spec: https://asgi.readthedocs.io/en/latest/extensions.html).
The copy runs in a worker thread on a duplicate of the socket's descriptor, in slices, so the
event loop never waits; reading is paused meanwhile (no request can be read and answered in
the middle of this body). A client that accepts nothing for IDLE_TIMEOUT seconds, or leaves,
ends the connection. Anything that is not plain TCP keeps the ordinary body messages
(web/files.py falls back to streaming when the scope lacks the extension).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
from typing import Any, Protocol

__all__ = ["EXTENSION", "IDLE_TIMEOUT", "offer", "send_slices"]

EXTENSION = "http.response.zerocopysend"
IDLE_TIMEOUT = 30.0  # seconds a client may take to accept more bytes
SLICE = 8 << 20  # bytes per sendfile call: between slices the copy checks it should go on
TICK = 0.25  # seconds between those checks while the client's window is full


class _Cycle(Protocol):
    """What we use of uvicorn's RequestResponseCycle."""

    scope: dict[str, Any]
    transport: asyncio.Transport
    disconnected: bool
    response_started: bool
    expected_content_length: int

    async def send(self, message: Any) -> None: ...


def send_slices(
    sock_fd: int, file_fd: int, offset: int, count: int, stop: threading.Event, idle: float
) -> int:
    """Send `count` bytes of `file_fd` from `offset` to the non-blocking socket `sock_fd`;
    return how many went (fewer when the file is shorter, or `stop` was set: checked at
    least every TICK seconds). Raises TimeoutError when the socket took nothing for `idle`
    seconds, OSError when it broke."""
    poller = select.poll()
    poller.register(sock_fd, select.POLLOUT)
    sent = 0
    waited = 0.0
    while sent < count and not stop.is_set():
        try:
            n = os.sendfile(sock_fd, file_fd, offset + sent, min(SLICE, count - sent))
        except BlockingIOError:
            if poller.poll(int(TICK * 1000)):
                waited = 0.0
            else:
                waited += TICK
                if waited >= idle:
                    raise TimeoutError(f"the client took nothing for {idle:g} s") from None
            continue
        if n == 0:
            break  # the file ended early
        sent += n
        waited = 0.0
    return sent


def offer(cycle: _Cycle) -> None:
    """Advertise the extension in `cycle`'s scope and let its `send` carry it (plain TCP
    sockets only; a no-op otherwise)."""
    transport = cycle.transport
    sock = transport.get_extra_info("socket")
    if sock is None or transport.get_extra_info("sslcontext") is not None:
        return
    cycle.scope.setdefault("extensions", {})[EXTENSION] = {}
    plain_send = cycle.send

    async def send(message: Any) -> None:
        if message["type"] != EXTENSION:
            await plain_send(message)
            return
        if not cycle.response_started:
            raise RuntimeError("http.response.zerocopysend before http.response.start")
        if cycle.disconnected:
            return
        file = message["file"]
        offset = int(message.get("offset") or 0)
        count = message.get("count")
        if count is None:
            count = os.fstat(file.fileno()).st_size - offset
        sending = count > 0 and cycle.scope["method"] != "HEAD"
        if sending and not await _send_file(cycle, sock.fileno(), file.fileno(), offset, count):
            return
        if not message.get("more_body", False):
            await plain_send({"type": "http.response.body", "body": b"", "more_body": False})

    cycle.send = send  # type: ignore[method-assign]


async def _send_file(cycle: _Cycle, sock_fd: int, file_fd: int, offset: int, count: int) -> bool:
    """Send the bytes after whatever the transport still buffers (the head); False when the
    connection ended instead (it is closed)."""
    transport = cycle.transport
    # Rarely anything: the head went straight to the socket unless its window was full. The
    # transport says nothing when its buffer empties (only below its low-water mark).
    while transport.get_write_buffer_size() and not transport.is_closing():  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    if transport.is_closing():
        cycle.disconnected = True
        return False
    reading = transport.is_reading()
    if reading:
        transport.pause_reading()
    stop = threading.Event()
    dup = os.dup(sock_fd)  # the thread's own descriptor: never a number reused meanwhile
    copy = asyncio.get_running_loop().run_in_executor(
        None, send_slices, dup, file_fd, offset, count, stop, IDLE_TIMEOUT
    )
    try:
        sent = await asyncio.shield(copy)
    except BaseException as exc:
        stop.set()  # cancelled (shutdown), or the copy failed: the thread ends within a TICK
        with contextlib.suppress(BaseException):
            await asyncio.wait([copy])
        transport.abort()
        cycle.disconnected = True
        if isinstance(exc, OSError):
            return False
        raise
    finally:
        await_close = copy.done()
        if await_close:
            os.close(dup)
        if reading and not transport.is_closing():
            transport.resume_reading()
    if sent < count:  # the file shrank under us: the promised length cannot be kept
        transport.abort()
        cycle.disconnected = True
        return False
    cycle.expected_content_length -= sent
    return True
