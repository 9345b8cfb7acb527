"""Account settings: a new display name reaches everyone live, the sessions list signs other
devices out, and a password change signs out every other session."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.ui.conftest import PASSWORD, Person, save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Locator

NEW_PASSWORD = "a much better passphrase"


def open_settings(person: Person) -> Locator:
    """The account settings dialog, opened from the sidebar."""
    person.page.get_by_role("button", name="Account settings").click()
    dialog = person.page.locator("#settings-dialog")
    dialog.wait_for()
    return dialog


def test_renaming_shows_the_new_name_everywhere_at_once(people: Callable[..., Person]) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    alice.send("hello from alice")
    row = bob.message("hello from alice")
    row.wait_for()
    assert row.locator(".author").inner_text() == "alice"

    dialog = open_settings(alice)
    page = alice.page
    assert page.locator("#settings-username").inner_text() == "@alice"
    dialog.get_by_label("Display name").fill("\u200b")
    dialog.get_by_role("button", name="Save name").click()
    page.locator("#profile-error", has_text="visible character").wait_for()
    dialog.get_by_label("Display name").fill("Alice Liddell")
    dialog.get_by_role("button", name="Save name").click()
    page.locator("#profile-status", has_text="Alice Liddell").wait_for()
    page.locator("#me", has_text="Alice Liddell").wait_for()

    # Others see it without reloading (user.updated): in the timeline, with the username now
    # beside it (the display name no longer reads as the username).
    row.locator(".author", has_text="Alice Liddell").wait_for()
    assert row.locator(".username").inner_text() == "@alice"
    # And it survives a reload.
    page.keyboard.press("Escape")
    page.reload()
    alice.wait_live()
    assert page.locator("#me").inner_text() == "Alice Liddell"
    assert alice.console_errors == []
    assert bob.console_errors == []


def test_sessions_list_signs_out_another_device(people: Callable[..., Person]) -> None:
    alice = people("alice").sign_up()
    laptop = people("alice").sign_in()
    open_settings(alice)
    page = alice.page
    rows = page.locator("#session-list li")
    rows.nth(1).wait_for()
    assert rows.count() == 2
    this_device = rows.filter(has_text="this device")
    assert this_device.count() == 1
    assert "Chrome on Linux" in this_device.inner_text()
    assert "Signed in" in this_device.inner_text()
    assert this_device.get_by_role("button").count() == 0  # this one signs out from the header
    save_screenshot(page, "account-settings")

    other = rows.filter(has_not_text="this device")
    other.get_by_role("button", name="Sign out").click()
    page.locator("#sessions-status", has_text="Signed out Chrome on Linux").wait_for()
    assert rows.count() == 1
    laptop.wait_signed_out()

    # "Sign out everywhere else" does the same to every other session at once.
    laptop.sign_in()
    phone = people("alice").sign_in()
    page.keyboard.press("Escape")
    open_settings(alice)
    rows.nth(2).wait_for()
    page.get_by_role("button", name="Sign out everywhere else").click()
    page.locator("#sessions-status", has_text="Every other session is signed out").wait_for()
    assert rows.count() == 1
    laptop.wait_signed_out()
    phone.wait_signed_out()
    assert page.get_by_role("button", name="Sign out everywhere else").is_disabled()
    assert alice.console_errors == []


def test_changing_the_password_signs_out_the_other_sessions(people: Callable[..., Person]) -> None:
    alice = people("alice").sign_up()
    laptop = people("alice").sign_in()
    dialog = open_settings(alice)
    page = alice.page
    current = dialog.get_by_label("Current password")
    new = dialog.get_by_label("New password")
    change = dialog.get_by_role("button", name="Change password")

    current.fill("not my password")
    new.fill(NEW_PASSWORD)
    change.click()
    page.locator("#password-error", has_text="That is not your current password").wait_for()
    current.fill(PASSWORD)
    new.fill("password")  # one of the most common
    change.click()
    page.locator("#password-error", has_text="Choose another new password").wait_for()
    new.fill("short")
    change.click()
    page.locator("#password-error", has_text="at least 8 characters").wait_for()
    new.fill(NEW_PASSWORD)
    change.click()
    page.locator("#password-status", has_text="Password changed").wait_for()
    assert page.locator("#password-error").inner_text() == ""
    assert current.input_value() == ""
    save_screenshot(page, "password-changed")

    laptop.wait_signed_out()
    page.keyboard.press("Escape")
    alice.send("still here")
    alice.message("still here").wait_for()  # this session stays
    laptop.sign_in(NEW_PASSWORD)
    # The wrong and weak passwords answer 403 and 422, which Chromium logs as console errors.
    assert [e for e in alice.console_errors if "403" not in e and "422" not in e] == []
