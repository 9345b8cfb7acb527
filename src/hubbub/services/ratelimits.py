"""Rate limits on everything a person (or a script pretending to be many) can repeat.

Budgets are named; each is a `limits` rate ("120/minute") counted per key: an account, a
client address, or a pair. The counting is the `limits` library's sliding-window counter, in
memory on one node or in Redis when the cluster has one (then a budget is shared by every
node). `HUBBUB_RATE_LIMITS=off` turns them all off (benchmarks, tests); `name=rate;...`
changes single budgets. Defaults are sized for people, not bots, and let the classic
exercise's bursts through.

Every hit made while serving a request is reported to the web layer (`QuotaReport`), which
writes the IETF `RateLimit-Policy` and `RateLimit` headers; a refusal is RateLimited (429
with Retry-After). Windows follow the limiter's clock (the wall clock, or Redis's), not
hubbub's injectable one: the library reads time itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from hubbub.errors import RateLimited

__all__ = ["DEFAULT_LIMITS", "Quota", "QuotaReport", "RateLimits", "parse_overrides"]

# name -> (rate, what it counts); docs/api.md lists the same table (a test checks).
DEFAULT_LIMITS: dict[str, tuple[str, str]] = {
    "sign_up": ("20/hour", "sign-ups per client address"),
    "sign_in": ("30/minute", "failed sign-ins per client address"),
    "sign_in_account": ("10/15minutes", "failed sign-ins per account (a lock-out)"),
    "classic_post": ("1000/minute", "classic POST /message per client address"),
    "messages": ("120/minute", "message sends, edits and deletions per account"),
    "bot_messages": ("600/minute", "message sends, edits and deletions per bot account"),
    "reactions": ("120/minute", "reactions added or removed per account"),
    "rooms": ("50/day", "rooms created per account"),
    "dms": ("100/hour", "direct messages opened per account"),
    "member_adds": ("200/hour", "members added to rooms per account"),
    "member_adds_per_user": ("20/hour", "rooms one account adds one other user to"),
    "invites": ("50/day", "invites made per account"),
    "profile": ("20/hour", "profile changes (display name) per account"),
    "email": ("5/hour", "email confirmation links mailed per account"),
    "password_resets": ("20/hour", "password-reset links used per client address"),
    "exports": ("5/day", "data exports asked for per account"),
    "webhooks": ("60/minute", "messages posted per incoming webhook"),
    "bots": ("20/day", "bot accounts made per account"),
    "push_subscriptions": ("30/hour", "push subscriptions made or renewed per account"),
    "uploads": ("100/hour", "file uploads (attachments and avatars) per account"),
    "typing": ("1/2seconds", "typing notifications per account and room (extras dropped)"),
    "stream_frames": ("30/second", "frames a client sends per WebSocket (extras dropped)"),
}
# Not abuse budgets but how the protocol thins what it relays: always on (also when the rest
# is off), counted in this node's memory (a connection's frames are only ever seen here).
LOCAL_LIMITS = frozenset({"typing", "stream_frames"})


def parse_overrides(spec: str) -> dict[str, str] | None:
    """`HUBBUB_RATE_LIMITS`: "" (defaults), "off" (None: no limits), or "name=rate;..."
    overriding single budgets. Raises ValueError naming what is wrong."""
    spec = spec.strip()
    if spec.lower() == "off":
        return None
    found: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, sep, rate = part.partition("=")
        name, rate = name.strip(), rate.strip()
        if not sep or name not in DEFAULT_LIMITS:
            raise ValueError(f"unknown rate limit {name!r} (known: {', '.join(DEFAULT_LIMITS)})")
        parse(rate)  # raises ValueError for a malformed rate
        found[name] = rate
    return found


@dataclass(frozen=True, slots=True)
class Quota:
    """One budget as it stands after a request: `limit` per `window` seconds, `remaining`,
    and `reset` seconds until it is whole again."""

    name: str
    limit: int
    window: int
    remaining: int
    reset: int


class QuotaReport:
    """The budgets the current request touched (set up by the web layer per request)."""

    __slots__ = ("quotas",)

    def __init__(self) -> None:
        self.quotas: list[Quota] = []


REPORT: ContextVar[QuotaReport | None] = ContextVar("hubbub_quota_report", default=None)


class RateLimits:
    """The named budgets of this deployment. `storage` None: every limit is off."""

    def __init__(self, storage: Storage | None, overrides: Mapping[str, str] | None) -> None:
        self.enabled = storage is not None
        rates = {name: rate for name, (rate, _) in DEFAULT_LIMITS.items()}
        rates.update(overrides or {})
        self._items: dict[str, RateLimitItem] = {n: parse(r) for n, r in rates.items()}
        self._limiter = SlidingWindowCounterRateLimiter(storage) if storage is not None else None
        self._local = SlidingWindowCounterRateLimiter(MemoryStorage())

    def rate(self, name: str) -> RateLimitItem:
        return self._items[name]

    async def hit(self, name: str, *key: str) -> None:
        """Spend one unit of budget `name` for `key`; RateLimited if none is left."""
        if self._limiter is None:
            return
        item = self._items[name]
        allowed = await self._limiter.hit(item, *key)
        quota = await self._report(name, item, key)
        if not allowed:
            raise RateLimited(
                f"Too many requests ({item.amount} per {_window_words(item)}): wait and try again",
                retry_after=max(1, quota.reset if quota else 1),
            )

    async def allow(self, name: str, *key: str) -> bool:
        """Like `hit`, but answer False instead of raising (for what is silently dropped).
        The LOCAL_LIMITS are counted here even when the other limits are off."""
        limiter = self._local if name in LOCAL_LIMITS else self._limiter
        if limiter is None:
            return True
        return await limiter.hit(self._items[name], *key)

    async def check(self, name: str, *key: str) -> None:
        """RateLimited if budget `name` for `key` is used up, without spending any."""
        if self._limiter is None:
            return
        item = self._items[name]
        if not await self._limiter.test(item, *key):
            quota = await self._report(name, item, key)
            raise RateLimited(
                f"Too many attempts ({item.amount} per {_window_words(item)}): wait and try again",
                retry_after=max(1, quota.reset if quota else 1),
            )

    async def clear(self, name: str, *key: str) -> None:
        """Give `key` its whole budget back (a successful sign-in lifts a lock-out; a message
        sent ends "typing", so typing again may say so at once)."""
        limiter = self._local if name in LOCAL_LIMITS else self._limiter
        if limiter is not None:
            await limiter.clear(self._items[name], *key)

    async def _report(self, name: str, item: RateLimitItem, key: tuple[str, ...]) -> Quota | None:
        report = REPORT.get()
        if report is None or self._limiter is None:
            return None
        stats = await self._limiter.get_window_stats(item, *key)
        now = _now()
        quota = Quota(
            name=name,
            limit=item.amount,
            window=item.get_expiry(),
            remaining=max(0, stats.remaining),
            reset=max(0, math.ceil(stats.reset_time - now)),
        )
        report.quotas.append(quota)
        return quota


def _now() -> float:
    # The limiter's own clock (see the module docstring): its windows end at wall-clock
    # times, so the seconds until a reset are counted on the same clock.
    return time.time()


def _window_words(item: RateLimitItem) -> str:
    seconds = item.get_expiry()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    return "second" if seconds == 1 else f"{seconds} seconds"
