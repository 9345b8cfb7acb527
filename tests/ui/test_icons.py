"""Icons are inline SVG shipped with the client (Lucide, licence kept), not emoji that need a
font the system may not have."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.ui.conftest import Person, save_screenshot

STATIC = Path(__file__).resolve().parents[2] / "src/hubbub/web/static/app"
# Arrows, symbols, dingbats and emoji: what the old icons were drawn with.
PICTOGRAPHS = re.compile("[\u2190-\u2bff\U0001f000-\U0001faff]")


def test_icons_are_svg_and_no_control_is_drawn_with_emoji(people: Callable[..., Person]) -> None:
    licence = (STATIC / "js/vendor/lucide/LICENSE").read_text()
    assert "ISC License" in licence
    assert "Cole Bemis" in licence  # the Feather icons' MIT notice too

    alice = people("alice").sign_up()
    a = alice.page
    alice.api(
        "POST", "/rooms", json={"name": "hideout", "visibility": "private"}
    ).raise_for_status()
    hideout = a.locator("#sidebar .room-item", has_text="hideout")
    hideout.locator("svg.icon-lock").wait_for()
    assert (
        a.locator("#sidebar .room-item", has_text="general").locator("svg.icon-hash").count() == 1
    )

    alice.send("hello")
    row = alice.message("hello")
    row.hover()
    react = row.get_by_role("button", name="Add reaction")
    box = react.locator("svg.icon-smile-plus").bounding_box()
    assert box is not None
    assert box["width"] >= 12
    assert box["height"] >= 12
    for button_id in ("new-room", "new-dm", "refresh-public", "show-sidebar", "hide-members"):
        assert a.locator(f"#{button_id} svg.icon").count() == 1, button_id

    # (Reactions are emoji by nature: the picker's and the counts' are content, not icons.)
    labels = a.locator("button").evaluate_all(
        "(els) => els.filter((el) => !el.closest('.emoji-picker, .reactions'))"
        ".map((el) => el.textContent)"
    )
    drawn = [label for label in labels if PICTOGRAPHS.search(label)]
    assert drawn == [], f"controls still drawn with emoji or symbols: {drawn}"
    save_screenshot(a, "icons")
    assert alice.unexpected_console_errors() == []
