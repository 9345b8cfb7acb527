"""A long paste is not cut: a counter near the limit, a clear refusal past it. My display name
in the header is shown whole."""

from __future__ import annotations

from collections.abc import Callable

from tests.ui.conftest import Person, save_screenshot

LONG_NAME = "Alice Wonderland-Liddell of Hargreaves and Daresbury"


def test_a_long_paste_is_counted_and_refused_not_cut(people: Callable[..., Person]) -> None:
    alice = people("alice").sign_up()
    a = alice.page
    box = a.locator("#composer-input")
    count = a.locator("#composer-count")

    box.fill("x" * 3000)
    assert count.is_hidden()
    box.fill("y" * 4200)
    assert len(box.input_value()) == 4200, "the paste is kept whole"
    count.filter(has_text="4,200 / 4,000 characters: 200 too many").wait_for()
    assert box.get_attribute("aria-invalid") == "true"
    assert a.locator("#composer-send").is_disabled()
    box.press("Enter")
    a.wait_for_timeout(500)
    assert len(box.input_value()) == 4200
    assert alice.api("GET", "/rooms/general/messages").json()["messages"] == []

    box.fill("z" * 3900)
    count.filter(has_text="3,900 / 4,000 characters").wait_for()
    assert box.get_attribute("aria-invalid") is None
    box.press("Enter")
    alice.message("z" * 100).wait_for()
    assert count.is_hidden()
    texts = [m["text"] for m in alice.api("GET", "/rooms/general/messages").json()["messages"]]
    assert texts == ["z" * 3900]


def test_my_long_display_name_is_shown_whole(people: Callable[..., Person]) -> None:
    alice = people("alice").sign_up(display_name=LONG_NAME)
    me = alice.page.locator("#me")
    me.filter(has_text=LONG_NAME).wait_for()
    assert me.evaluate("(el) => el.scrollWidth <= el.clientWidth"), "not cut off"
    assert me.inner_text() == LONG_NAME
    assert me.get_attribute("title") == f"Signed in as {LONG_NAME} (@alice)"
    save_screenshot(alice.page, "long-display-name")
