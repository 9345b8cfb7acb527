"""Fakes at the true edges only. Time is one: FakeClock implements hubbub.clock.Clock and
moves only when a test calls `advance`."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

__all__ = ["FakeClock"]

START_MS = 1_800_000_000_000  # 2027-01-15: far from any real clock, so mix-ups show


class _Timer:
    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """Wall time starts at START_MS and monotonic time at 0; both move together, by
    `advance`. Timers (`call_later`) and sleepers (`sleep`) whose time has come fire, in time
    order, during `advance`; woken coroutines run at the test's next await."""

    def __init__(self, start_ms: int = START_MS) -> None:
        self._start_ms = start_ms
        self._now = 0.0  # seconds since start
        self._due: list[tuple[float, int, _Timer]] = []
        self._order = itertools.count()

    def now_ms(self) -> int:
        return self._start_ms + round(self._now * 1000)

    def monotonic(self) -> float:
        return self._now

    def call_later(self, seconds: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(callback)
        heapq.heappush(self._due, (self._now + max(0.0, seconds), next(self._order), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        timer = self.call_later(seconds, wake)
        try:
            await woken
        finally:
            timer.cancel()

    def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer that falls due on the way."""
        assert seconds >= 0, "time does not go back"
        target = self._now + seconds
        while self._due and self._due[0][0] <= target:
            due, _, timer = heapq.heappop(self._due)
            self._now = max(self._now, due)
            if not timer.cancelled:
                timer.callback()
        self._now = target

    def skip(self, seconds: float) -> None:
        """Move the wall clock (now_ms) forward without firing any timer: time that passed
        while nothing was scheduled to wake, so a test can then run the work itself."""
        assert seconds >= 0, "time does not go back"
        self._start_ms += round(seconds * 1000)

    def advance_ms(self, ms: int) -> None:
        self.advance(ms / 1000)
