"""A subscription: one client connection's bounded buffer of frames, and the ways it ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from hubbub.models import User
from hubbub.realtime.frames import Frame

__all__ = ["SessionEnded", "SlowConsumer", "StreamStopped", "Subscription"]


class StreamStopped(Exception):
    """The server ends this stream; the transport says why and closes it."""


class SlowConsumer(StreamStopped):
    """The subscription's buffer overflowed: its client must reconnect with its cursor."""


class SessionEnded(StreamStopped):
    """The session the stream was opened with was signed out or revoked."""


class Subscription:
    """One client connection's view of the stream: a bounded buffer of frames.

    Durable frames at or below `last_pos` (already delivered, or before the start) are dropped
    when taken, so catch-up from the database and live delivery never double an event. `stop`
    ends the subscription: the next `take` raises why, and frames still buffered are dropped.
    """

    __slots__ = (
        "_gone",
        "_queue",
        "_ready",
        "_stopped",
        "last_pos",
        "max_buffer",
        "session_id",
        "user",
    )

    def __init__(self, user: User, session_id: str, max_buffer: int) -> None:
        self.user = user
        self.session_id = session_id
        self.last_pos = 0
        self.max_buffer = max_buffer
        self._queue: deque[Frame] = deque()
        self._ready = asyncio.Event()
        self._stopped: StreamStopped | None = None
        self._gone = False  # the client went away: no wait blocks any more

    @property
    def stopped(self) -> bool:
        return self._stopped is not None

    def offer(self, frame: Frame) -> None:
        if self._stopped is not None:
            return
        if len(self._queue) >= self.max_buffer:
            self.stop(SlowConsumer())
        else:
            self._queue.append(frame)
            self._ready.set()

    def stop(self, why: StreamStopped) -> None:
        """End the subscription at once: buffered frames are dropped, `take` raises `why`."""
        if self._stopped is None:
            self._stopped = why
            self._queue.clear()
            self._ready.set()

    def forget_room(self, room_id: str) -> None:
        """Drop the buffered frames of `room_id` not yet taken (the user is no longer in it)."""
        if any(f.room_id == room_id for f in self._queue):
            self._queue = deque(f for f in self._queue if f.room_id != room_id)

    def take(self) -> list[Frame]:
        """Every buffered frame not yet delivered, in order. Raises why it stopped, if it did."""
        if self._stopped is not None:
            raise self._stopped
        out = []
        while self._queue:
            frame = self._queue.popleft()
            if frame.pos is not None:
                if frame.pos <= self.last_pos:
                    continue
                self.last_pos = frame.pos
            out.append(frame)
        self._ready.clear()
        return out

    def wake(self) -> None:
        """The client went away: a pending `wait` returns now, and so does every later one.
        Sticky, because `take` clears the ready flag: a wake that lands while the writer is
        between `take` and `wait` (say, in a catch-up read) must not be lost, else the stream
        would be noticed gone only at the next ping."""
        self._gone = True
        self._ready.set()

    async def wait(self, max_wait: float) -> None:
        """Until something is buffered (or it stopped), or `max_wait` seconds pass."""
        if self._queue or self._stopped is not None or self._gone:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max_wait):  # no Task per wait, unlike wait_for
                await self._ready.wait()
