"""Passwords: argon2id hashing off the event loop, with bounded concurrency, and the rules a
new password must pass."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import TypeVar

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hubbub.errors import Busy, WeakPassword
from hubbub.services.fields import is_blank

__all__ = ["PASSWORD_MAX", "PASSWORD_MIN", "Passwords", "check_password"]

PASSWORD_MIN, PASSWORD_MAX = 8, 256
T = TypeVar("T")


@cache
def _common() -> frozenset[str]:
    """The 30,000 most common passwords (zxcvbn's list, MIT), folded, of a length we would
    otherwise accept. Loaded once, on the first password checked."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.casefold() for p in FREQUENCY_LISTS["passwords"] if len(p) >= PASSWORD_MIN)


def check_password(password: str, username: str, field: str = "password") -> str:
    """Return `password` if it may be used by `username`; WeakPassword (422, naming `field`,
    the body field it came in) if it is only whitespace, the username (any case), or one of
    the most common passwords."""
    folded = password.casefold()
    if is_blank(password):
        raise WeakPassword("The password must not be only spaces", field=field)
    if folded == username.casefold() or folded.strip() == username.casefold():
        raise WeakPassword("The password must not be the username", field=field)
    if folded in _common():
        raise WeakPassword(
            "This password is one of the most common ones: choose another", field=field
        )
    return password


class Passwords:
    """argon2id in worker threads. At most `concurrency` hashes run at once and at most
    `max_waiting` wait for a turn; more answer Busy (503 with Retry-After) at once, so a flood
    of sign-ins costs a bounded amount of memory and CPU instead of queueing without end."""

    def __init__(
        self, profile: str = "default", *, concurrency: int = 0, max_waiting: int = 64
    ) -> None:
        if profile == "fast":  # cheap parameters: tests and benchmarks only
            self._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
        else:  # OWASP's argon2id recommendation: m=19 MiB, t=2, p=1 (one core per hash)
            self._hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
        # Verified against when the username is unknown, so both failures take as long.
        self._dummy = self._hasher.hash("not a real password")
        self._limit = anyio.CapacityLimiter(concurrency or max(2, os.cpu_count() or 2))
        self._max_waiting = max_waiting
        self._waiting = 0

    async def _run(self, fn: Callable[..., T], *args: str) -> T:
        """`fn(*args)` in a worker thread, waiting for a turn if all are taken; Busy if too
        many are waiting already."""
        try:
            self._limit.acquire_nowait()
        except anyio.WouldBlock:
            if self._waiting >= self._max_waiting:
                raise Busy(
                    "Too many sign-ins are being checked right now: retry in a moment"
                ) from None
            self._waiting += 1
            try:
                await self._limit.acquire()
            finally:
                self._waiting -= 1
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        finally:
            self._limit.release()

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if `password` matches; with no hash, spend the same time and return False."""

        def check(stored: str, given: str) -> bool:
            try:
                return self._hasher.verify(stored, given)
            except (VerificationError, InvalidHashError):
                return False

        ok = await self._run(check, password_hash or self._dummy, password)
        return ok and password_hash is not None
