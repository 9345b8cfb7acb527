"""Password hashing with argon2id, always off the event loop."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Passwords"]


class Passwords:
    def __init__(self, profile: str = "default") -> None:
        if profile == "fast":  # cheap parameters: tests and benchmarks only
            self._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
        else:  # OWASP's argon2id recommendation: m=19 MiB, t=2, p=1 (one core per hash)
            self._hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
        # Verified against when the username is unknown, so both failures take as long.
        self._dummy = self._hasher.hash("not a real password")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if `password` matches; with no hash, spend the same time and return False."""

        def check() -> bool:
            try:
                return self._hasher.verify(password_hash or self._dummy, password)
            except (VerificationError, InvalidHashError):
                return False

        ok = await anyio.to_thread.run_sync(check)
        return ok and password_hash is not None
