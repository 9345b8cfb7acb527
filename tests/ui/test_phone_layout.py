"""Phones and tablets (touch, no hover): one action bar at a time that does not cover the text,
a backdrop that closes the side menu and the members panel on a tap outside, and the members as
a sheet over part of the screen. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.server_process import ServerProcess
from tests.ui.conftest import TIMEOUT_MS, Chromium, Person, save_screenshot


@pytest.fixture(params=[(390, 844), (768, 1024)], ids=["phone", "tablet"])
def touch_person(request: Any, chromium: Chromium, server: ServerProcess) -> Iterator[Person]:
    width, height = request.param
    context = chromium.get().new_context(
        viewport={"width": width, "height": height},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        reduced_motion="reduce",
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    person = Person("alice", page, context, server.url)
    page.on(
        "console", lambda m: person.console_errors.append(m.text) if m.type == "error" else None
    )
    try:
        yield person
    finally:
        context.close()
        if person.http is not None:
            person.http.close()


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return dict(found)


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_touch_layout_has_one_action_bar_a_backdrop_and_a_members_sheet(
    touch_person: Person,
) -> None:
    alice = touch_person.sign_up()
    page = alice.page
    width, height = page.viewport_size["width"], page.viewport_size["height"]  # type: ignore[index]
    name = "phone" if width < 500 else "tablet"
    for text in ("first message", "second message", "third message"):
        alice.send(text)
        alice.message(text).wait_for()

    # One tap shows that message's actions, under its text; another message's tap moves them.
    bars = page.locator("#messages .actions:visible")
    assert bars.count() == 0
    for text in ("first message", "third message"):
        row = alice.message(text)
        row.locator(".text").tap()
        bars.first.wait_for()
        assert bars.count() == 1, f"{bars.count()} action bars"
        assert not overlaps(box(row.locator(".actions")), box(row.locator(".text")))
        for gutter in row.locator(".gutter-time:visible").all():
            assert not overlaps(box(gutter), box(row.locator(".text")))
    save_screenshot(
        page, f"{name}-actions", for_readme=name == "phone", docs_name="screenshot-phone"
    )
    alice.message("third message").locator(".text").tap()
    page.wait_for_timeout(100)
    assert bars.count() == 0

    backdrop = page.locator("#backdrop")
    if name == "phone":
        page.locator("#show-sidebar").tap()
        sidebar = page.locator("#sidebar")
        sidebar.wait_for()
        backdrop.wait_for()
        save_screenshot(page, "phone-sidebar")
        side = box(sidebar)
        page.touchscreen.tap(side["x"] + side["width"] + 20, height / 2)  # outside it
        sidebar.wait_for(state="hidden")
        backdrop.wait_for(state="hidden")

    page.locator("#show-members").tap()
    members = page.locator("#members")
    members.locator(".member-name", has_text="alice").wait_for()
    backdrop.wait_for()
    sheet = box(members)
    save_screenshot(page, f"{name}-members")
    covered = sheet["width"] * sheet["height"] / (width * height)
    assert covered <= 0.6, f"the members panel covers {covered:.0%} of the screen"
    # A tap outside it (top-left corner, over the backdrop) closes it.
    page.touchscreen.tap(10, 10 if sheet["y"] > 20 else height - 10)
    members.wait_for(state="hidden")
    backdrop.wait_for(state="hidden")
    assert alice.unexpected_console_errors() == []
