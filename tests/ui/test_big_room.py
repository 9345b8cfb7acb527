"""A big room opens at the first unread in two requests, loads both ways as one scrolls, and
keeps the page small (old rows are dropped and fetched again when scrolled back to)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.ui.conftest import Person

TOTAL = 600
READ = 100  # alice has read this far
MAX_ROWS = 250  # MAX_HELD in client.js, plus the page that crossed it


def scroll_until(
    person: Person, step: str, done: Callable[[], bool], watch: list[int], tries: int = 400
) -> None:
    """Scroll the timeline by `step` (JS: el => ...) until `done`, noting the row count."""
    page = person.page
    for _ in range(tries):
        page.locator("#timeline").evaluate(step)
        page.wait_for_timeout(60)
        watch.append(page.locator("#messages li.msg").count())
        if done():
            return
    raise AssertionError("scrolling never got there")


@pytest.mark.parametrize("server_env", [{"HUBBUB_RATE_LIMITS": "off"}], ids=["no-limits"])
def test_a_600_message_room_opens_at_the_first_unread_and_stays_small(
    people: Callable[..., Person], capsys: Any
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    ids = {}
    for name in ("big", "slow"):  # "slow": the same, opened over a slow network
        room = alice.api("POST", "/rooms", json={"name": name, "visibility": "public"}).json()
        ids[name] = rid = room["id"]
        bob.api("POST", f"/rooms/{rid}/join").raise_for_status()
        for i in range(1, TOTAL + 1):
            bob.api("POST", f"/rooms/{rid}/messages", json={"text": f"m{i}"}).raise_for_status()
        alice.api("PUT", f"/rooms/{rid}/read", json={"seq": READ}).raise_for_status()
    rid = ids["big"]
    a = alice.page
    a.locator("#sidebar .room-item", has_text="big").locator(".badge", has_text="99+").wait_for()

    # 100 ms latency and 5 Mbit/s each way (Chromium's network emulation).
    cdp = alice.context.new_cdp_session(a)
    rate = 5_000_000 / 8
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 100, "downloadThroughput": rate, "uploadThroughput": rate},
    )
    started = time.monotonic()
    alice.open_room("slow")
    a.locator(f"#msg-{READ + 1}").wait_for()
    slow_ms = (time.monotonic() - started) * 1000
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    assert slow_ms < 1200, f"{slow_ms:.0f} ms to the first unread at 100 ms and 5 Mbit/s"

    pages: list[str] = []
    a.on("request", lambda r: pages.append(r.url) if f"/rooms/{rid}/messages" in r.url else None)
    started = time.monotonic()
    alice.open_room("big")
    first = a.locator(f"#msg-{READ + 1}")
    first.wait_for()
    a.locator("#unread-divider").wait_for()
    opened_ms = (time.monotonic() - started) * 1000
    opened_requests = len(pages)
    assert first.evaluate(
        "(el) => { const r = el.getBoundingClientRect(),"
        " b = document.getElementById('timeline').getBoundingClientRect();"
        " return r.top >= b.top && r.bottom <= b.bottom; }"
    ), "the first unread is on screen"
    # Two requests for what is on screen (then, maybe, the page above it, as it is near)
    # where paging back from the newest took twelve one after another.
    assert sorted(url.split("?")[1] for url in pages[:2]) == [
        f"after={READ}&limit=50&top_level=true",
        f"before={READ + 1}&limit=10&top_level=true",
    ], pages
    assert len(pages) <= 3, pages

    # Down to the newest, a screen at a time: it loads as it goes and stays small.
    rows: list[int] = []
    at_end = a.locator(f"#msg-{TOTAL}")
    scroll_until(
        alice,
        "(el) => { el.scrollTop += el.clientHeight * 0.9; }",
        lambda: (
            at_end.count() == 1
            and bool(
                a.locator("#timeline").evaluate(
                    "(el) => el.scrollHeight - el.scrollTop - el.clientHeight < 2"
                )
            )
        ),
        rows,
    )
    elements_at_end = a.locator("#messages *").count()
    assert max(rows) <= MAX_ROWS, max(rows)
    item = a.locator("#sidebar .room-item", has_text="big")
    item.locator(".badge").wait_for(state="detached")  # read, message by message

    # A live message at the end shows; then all the way back up to the first message.
    bob.api("POST", f"/rooms/{rid}/messages", json={"text": "live one"}).raise_for_status()
    alice.message("live one").wait_for()
    scroll_until(
        alice,
        "(el) => { el.scrollTop = 0; }",
        lambda: (
            a.locator("#msg-1").count() == 1
            and a.locator("#history-status", has_text="beginning of the room").count() == 1
        ),
        rows,
    )
    assert max(rows) <= MAX_ROWS, max(rows)
    assert a.locator(f"#msg-{TOTAL}").count() == 0, "far-away rows were dropped"

    # Sending from up there goes to the end, where the message shows.
    alice.send("back to the end")
    alice.message("back to the end").wait_for()
    a.locator(f"#msg-{TOTAL}").wait_for()
    with capsys.disabled():
        print(
            f"\n[big room] first unread on screen in {opened_ms:.0f} ms"
            f" ({opened_requests} requests); {slow_ms:.0f} ms at 100 ms latency and 5 Mbit/s;"
            f" rows held at most {max(rows)}; {elements_at_end} elements in #messages at the end"
        )
    assert alice.unexpected_console_errors() == []
