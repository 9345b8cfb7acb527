"""Scrolling back through 5,000 messages keeps the page small: the timeline holds a bounded
window of rows (far-away ones are dropped), so the element count and the JS heap stay flat.
Prints the figures the closing note quotes (#13's performance section)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.ui.conftest import Person
from tests.ui.test_big_room import MAX_ROWS, scroll_until

TOTAL = 5000
ELEMENTS_MAX = 5000  # "under a few thousand elements", the whole document included


def heap_mb(person: Person) -> float:
    """The page's used JS heap after a full garbage collection (Chromium's DevTools protocol)."""
    cdp = person.context.new_cdp_session(person.page)
    cdp.send("HeapProfiler.collectGarbage")
    used = cdp.send("Runtime.getHeapUsage")["usedSize"]
    cdp.detach()
    return float(used) / 1e6


def elements(person: Person) -> int:
    return int(person.page.evaluate("document.getElementsByTagName('*').length"))


@pytest.mark.parametrize("server_env", [{"HUBBUB_RATE_LIMITS": "off"}], ids=["no-limits"])
def test_scrolling_back_5000_messages_keeps_the_page_small(
    people: Callable[..., Person], capsys: Any
) -> None:
    alice = people("alice").sign_up()
    room = alice.api("POST", "/rooms", json={"name": "archive", "visibility": "public"}).json()
    for i in range(1, TOTAL + 1):
        r = alice.api("POST", f"/rooms/{room['id']}/messages", json={"text": f"line {i} " * 3})
        r.raise_for_status()
    page = alice.page
    alice.open_room("archive")
    page.locator(f"#msg-{TOTAL}").wait_for()
    start_heap, start_elements = heap_mb(alice), elements(alice)

    rows: list[int] = []
    scroll_until(
        alice,
        "(el) => { el.scrollTop = 0; }",
        lambda: page.locator("#msg-1").count() == 1,
        rows,
        tries=2000,
    )
    end_heap, end_elements = heap_mb(alice), elements(alice)
    assert max(rows) <= MAX_ROWS, max(rows)
    assert end_elements < ELEMENTS_MAX, end_elements
    assert page.locator(f"#msg-{TOTAL}").count() == 0, "far-away rows were dropped"
    # Flat, give or take caches: not growing with the 5,000 messages scrolled through.
    assert end_heap < start_heap + 20, (start_heap, end_heap)
    with capsys.disabled():
        print(
            f"\n[scrollback] {TOTAL} messages scrolled back: rows held at most {max(rows)};"
            f" elements {start_elements} -> {end_elements};"
            f" JS heap {start_heap:.1f} -> {end_heap:.1f} MB"
        )
    assert alice.unexpected_console_errors() == []
