"""Ids: opaque, URL-safe, unique, and sorting in the order they were made (to the ms)."""

from __future__ import annotations

import re

from hubbub.ids import new_id
from tests.fakes import START_MS


def test_ids_made_later_sort_later_as_plain_strings() -> None:
    # Every step of the time bits that share a character with the random ones, and beyond.
    made = [new_id("a", START_MS + ms) for ms in range(0, 5000, 1)]
    assert made == sorted(made)
    far = [new_id("a", t) for t in (0, 1, 2**20, 2**40, START_MS, 2**48 - 1)]
    assert far == sorted(far)


def test_ids_are_url_safe_and_unique_within_a_millisecond() -> None:
    ids = {new_id("m", START_MS) for _ in range(10_000)}
    assert len(ids) == 10_000
    for made in ids:
        assert re.fullmatch(r"m_[0-9a-v]{24}", made), made
