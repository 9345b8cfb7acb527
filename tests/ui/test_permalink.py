"""Message permalinks (#/r/<room>/<seq>) open the room at the message, in context, without
paging back from the newest; each message's "Link" action gives its permalink."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.ui.conftest import Person

ON_SCREEN = (
    "(el) => { const r = el.getBoundingClientRect(),"
    " b = document.getElementById('timeline').getBoundingClientRect();"
    " return r.top >= b.top && r.bottom <= b.bottom; }"
)


@pytest.mark.parametrize("server_env", [{"HUBBUB_RATE_LIMITS": "off"}], ids=["no-limits"])
def test_a_permalink_opens_the_message_in_context(people: Callable[..., Person]) -> None:
    alice = people("alice").sign_up()
    for i in range(1, 301):
        alice.api("POST", "/rooms/general/messages", json={"text": f"n{i}"}).raise_for_status()
    a = alice.page
    pages: list[str] = []
    a.on("request", lambda r: pages.append(r.url) if "/rooms/general/messages?" in r.url else None)

    a.goto(alice.base_url + "/#/r/general/40")
    a.reload()  # a fresh page opened at the link (not a hash change in the open one)
    alice.wait_live()
    target = a.locator("#msg-40")
    target.wait_for()
    for _ in range(50):
        if target.evaluate(ON_SCREEN):
            break
        a.wait_for_timeout(100)
    seen = a.locator("#messages li.msg[data-seq]").evaluate_all(
        "(els) => { const b = document.getElementById('timeline').getBoundingClientRect();"
        " return els.filter((el) => { const r = el.getBoundingClientRect();"
        " return r.bottom > b.top && r.top < b.bottom; }).map((el) => el.dataset.seq); }"
    )
    assert target.evaluate(ON_SCREEN), f"the linked message is on screen; shown: {seen}"
    a.wait_for_timeout(500)
    assert target.evaluate(ON_SCREEN), "and stays there as pages around it load"
    assert a.locator("#msg-300").count() == 0, "the newest page was not needed"
    assert len(pages) <= 3, pages
    assert a.evaluate("location.hash") == "#/r/general/40"

    # Scrolling on loads the rest, and the newest message comes into reach.
    a.get_by_role("button", name="Jump to latest").click()
    a.locator("#msg-300").wait_for()

    # A message's "Link" action puts its permalink in the address (and the clipboard).
    row = a.locator("#msg-299")
    row.hover()
    row.get_by_role("button", name="Link").click()
    assert a.evaluate("location.hash") == "#/r/general/299"
    a.locator(".toast").first.wait_for()
    assert alice.unexpected_console_errors() == []
