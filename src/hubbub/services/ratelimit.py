"""Token buckets per key (e.g. a client address): a burst up to the per-minute budget, refilled
continuously. In memory, per node: a cluster of N nodes allows up to N times the budget."""

from __future__ import annotations

import math

from hubbub.clock import Clock
from hubbub.errors import RateLimited

__all__ = ["RateLimiter"]

MAX_KEYS = 100_000  # past this many tracked clients, full buckets are forgotten


class RateLimiter:
    def __init__(self, per_minute: int, clock: Clock) -> None:
        """`per_minute` attempts per key per minute; 0 turns the limiter off."""
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, int]] = {}  # key -> (tokens, at ms)

    def take(self, key: str) -> None:
        """Spend one attempt for `key`, or raise RateLimited with the seconds to wait."""
        if self.per_minute <= 0:
            return
        now = self._clock.now_ms()
        rate = self.per_minute / 60_000  # tokens per ms
        tokens, at = self._buckets.get(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - at) * rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            raise RateLimited(
                "Too many attempts: wait and try again",
                retry_after=max(1, math.ceil((1 - tokens) / rate / 1000)),
            )
        self._buckets[key] = (tokens - 1, now)
        if len(self._buckets) > MAX_KEYS:
            self._forget_full(now, rate)

    def _forget_full(self, now: int, rate: float) -> None:
        for key, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * rate >= self.per_minute:
                del self._buckets[key]
