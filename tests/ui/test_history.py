"""Reading back: the "new messages" divider, infinite scroll through history, jump to latest."""

from __future__ import annotations

from collections.abc import Callable

from tests.ui.conftest import Person, save_screenshot


def test_history_scrolls_back_from_the_unread_divider_to_the_first_message(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    b = bob.page
    room = alice.api("POST", "/rooms", json={"name": "history", "visibility": "public"}).json()
    rid = room["id"]
    assert bob.api("POST", f"/rooms/{rid}/join").status_code == 204
    for i in range(1, 101):
        alice.api("POST", f"/rooms/{rid}/messages", json={"text": f"old {i}"})
    assert bob.api("PUT", f"/rooms/{rid}/read", json={"seq": 100}).status_code == 204
    for i in range(1, 31):
        alice.api("POST", f"/rooms/{rid}/messages", json={"text": f"new {i}"})

    # The room came to bob's sidebar live, with the exact unread count.
    item = b.locator("#room-list .room-item", has_text="history")
    item.locator(".badge", has_text="30").wait_for()
    item.click()

    # Opened at the divider, which sits right before the first unread message.
    divider = b.locator("#unread-divider")
    divider.wait_for()
    assert divider.is_visible()
    following = divider.evaluate("el => el.nextElementSibling.querySelector('.text').textContent")
    assert following == "new 1"
    save_screenshot(b, "unread-divider")

    # Scrolling up loads earlier pages until the beginning.
    timeline = b.locator("#timeline")
    beginning = b.locator("#history-status", has_text="This is the beginning of the room.")
    for _ in range(20):
        timeline.evaluate("el => { el.scrollTop = 0; }")
        if beginning.count():
            break
        b.wait_for_timeout(150)
    beginning.wait_for()
    texts = bob.timeline_texts()
    assert texts == [f"old {i}" for i in range(1, 101)] + [f"new {i}" for i in range(1, 31)]

    # Far from the bottom, "jump to latest" brings the newest message back.
    jump = b.get_by_role("button", name="Jump to latest")
    jump.click()
    jump.wait_for(state="hidden")
    assert bob.message("new 30").is_visible()
    assert bob.console_errors == []
