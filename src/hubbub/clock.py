"""Time as an injectable dependency: every read of the time and every timer goes through one.

Services, the hub, the buses, ids, rate limits and idempotency expiry all take a Clock, so a
test can control time with one fake (tests/fakes.py) instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "SystemClock", "Timer"]


class Timer(Protocol):
    def cancel(self) -> None:
        """Stop the timer; harmless if it already fired."""
        ...


class Clock(Protocol):
    def now_ms(self) -> int:
        """Wall-clock time in integer milliseconds since the Unix epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back: for durations and deadlines."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` (of this clock's time)."""
        ...

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Timer:
        """Run `callback` once, `seconds` from now, on the running event loop."""
        ...


class SystemClock:
    """The real time and the running event loop's timers."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(seconds, callback)
