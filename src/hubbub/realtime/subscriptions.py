"""A subscription: one client connection's bounded buffer of frames, and the ways it ends."""

from __future__ import annotations

import asyncio

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
        "_stopped",
        "_waiter",
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
        self._queue: list[Frame] = []  # (an empty deque is ~600 bytes; a list, 56)
        # The writer waiting in `wait`, if one is: a bare future (an Event costs a deque per
        # connection, and idle connections are what a server holds most of).
        self._waiter: asyncio.Future[None] | None = None
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
            self._wake()

    def stop(self, why: StreamStopped) -> None:
        """End the subscription at once: buffered frames are dropped, `take` raises `why`."""
        if self._stopped is None:
            self._stopped = why
            self._queue.clear()
            self._wake()

    def forget_room(self, room_id: str) -> None:
        """Drop the buffered frames of `room_id` not yet taken (the user is no longer in it)."""
        if any(f.room_id == room_id for f in self._queue):
            self._queue = [f for f in self._queue if f.room_id != room_id]

    def take(self) -> list[Frame]:
        """Every buffered frame not yet delivered, in order. Raises why it stopped, if it did."""
        if self._stopped is not None:
            raise self._stopped
        if not self._queue:
            return []
        queued, self._queue = self._queue, []
        out = []
        for frame in queued:
            if frame.pos is not None:
                if frame.pos <= self.last_pos:
                    continue
                self.last_pos = frame.pos
            out.append(frame)
        return out

    def wake(self) -> None:
        """The client went away: a pending `wait` returns now, and so does every later one.
        Sticky (`wait` checks it first): a wake that lands while the writer is between `take`
        and `wait` (say, in a catch-up read) must not be lost, else the stream would be
        noticed gone only at the next ping."""
        self._gone = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, max_wait: float) -> None:
        """Until something is buffered (or it stopped), or `max_wait` seconds pass. One
        waiter at a time: the transport's writer."""
        if self._queue or self._stopped is not None or self._gone:
            return
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(max_wait, _release, waiter)  # no Task or context per wait
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
