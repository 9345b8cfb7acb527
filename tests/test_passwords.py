"""Password hashing is bounded: a flood of sign-ins waits in a short queue or is told to come
back (Busy, 503), instead of running without bound in threads (the hostile pass drove memory
to 1 GB with 240 parallel attempts)."""

from __future__ import annotations

import anyio
import pytest

from hubbub.errors import Busy
from hubbub.services.passwords import Passwords

pytestmark = pytest.mark.anyio


async def test_hashes_past_the_running_and_waiting_bounds_are_refused_at_once() -> None:
    passwords = Passwords("default", concurrency=1, max_waiting=2)  # ~0.1 s per hash here
    outcomes: list[str] = []

    async def attempt(i: int) -> None:
        try:
            await passwords.hash(f"password number {i}")
            outcomes.append("hashed")
        except Busy:
            outcomes.append("busy")

    async with anyio.create_task_group() as tg:
        for i in range(6):
            tg.start_soon(attempt, i)
    assert sorted(outcomes) == ["busy"] * 3 + ["hashed"] * 3  # 1 running + 2 waiting
    # Once the queue has drained, hashing works again.
    assert await passwords.verify(await passwords.hash("afterwards ok"), "afterwards ok")


async def test_verify_counts_against_the_same_bound() -> None:
    passwords = Passwords("default", concurrency=1, max_waiting=0)
    stored = await passwords.hash("the right one")
    results: list[object] = []

    async def attempt() -> None:
        try:
            results.append(await passwords.verify(stored, "the right one"))
        except Busy as busy:
            results.append(busy)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(attempt)
    assert results.count(True) == 1
    assert sum(isinstance(r, Busy) for r in results) == 2
