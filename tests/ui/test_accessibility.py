"""Keyboard and contrast: login errors linked to their fields, focus in the composer after
load, one Tab stop for the room list, Escape in the reaction picker and the members panel,
and a readable unread badge in dark mode."""

from __future__ import annotations

from collections.abc import Callable

from tests.ui.conftest import PASSWORD, Person, save_screenshot

CONTRAST = """(selector) => {
  const el = document.querySelector(selector);  // now: the sidebar rebuilds its rows
  const rgb = (s) => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const style = getComputedStyle(el);
  const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def active(person: Person) -> str:
    return str(person.page.evaluate("document.activeElement && document.activeElement.id"))


def test_login_errors_are_linked_to_their_fields(people: Callable[..., Person]) -> None:
    visitor = people("nobody")
    page = visitor.page
    page.goto(visitor.base_url + "/")
    username, password = page.locator("#auth-username"), page.locator("#auth-password")
    username.fill("nobody")
    password.fill("short")
    page.locator("#auth-submit").click()
    page.locator("#auth-error", has_text="at least 8 characters").wait_for()
    assert password.get_attribute("aria-invalid") == "true"
    assert "auth-error" in (password.get_attribute("aria-describedby") or "")
    assert username.get_attribute("aria-invalid") is None

    password.fill(PASSWORD)
    page.locator("#auth-submit").click()
    page.locator("#auth-error", has_text="Wrong username or password").wait_for()
    for field in (username, password):
        assert field.get_attribute("aria-invalid") == "true"
        assert "auth-error" in (field.get_attribute("aria-describedby") or "")


def test_keyboard_paths_and_dark_badge_contrast(people: Callable[..., Person]) -> None:
    alice = people("alice", color_scheme="dark").sign_up()
    bob = people("bob").sign_up()
    a = alice.page
    a.locator("#composer-input:focus").wait_for()  # ready to type after load

    for name in ("side", "zebra"):
        room = alice.api("POST", "/rooms", json={"name": name, "visibility": "public"}).json()
        bob.api("POST", f"/rooms/{room['id']}/join").raise_for_status()
    side = alice.api("GET", "/rooms?scope=mine").json()["rooms"]
    side_id = next(r["id"] for r in side if r["name"] == "side")
    bob.api("POST", f"/rooms/{side_id}/messages", json={"text": "ping"}).raise_for_status()
    badge = a.locator("#sidebar .room-item", has_text="side").locator(".badge")
    badge.wait_for()
    ratio = a.evaluate(CONTRAST, "#sidebar .room-item .badge")
    assert ratio >= 4.5, f"badge contrast {ratio:.2f}:1"

    # The rooms are one Tab stop: the room on screen; arrows move it.
    items = a.locator("#sidebar .room-item")
    a.locator("#sidebar .room-item", has_text="zebra").wait_for()
    stops = items.evaluate_all(
        "(els) => els.filter((el) => el.tabIndex === 0).map((el) => el.textContent)"
    )
    assert len(stops) == 1
    assert "general" in stops[0]
    a.locator("#new-room").focus()
    a.keyboard.press("Tab")
    assert "general" in a.evaluate("document.activeElement.textContent")
    a.keyboard.press("ArrowDown")
    assert "side" in a.evaluate("document.activeElement.textContent")
    a.keyboard.press("End")
    assert "zebra" in a.evaluate("document.activeElement.textContent")
    stops = items.evaluate_all(
        "(els) => els.filter((el) => el.tabIndex === 0).map((el) => el.textContent)"
    )
    assert len(stops) == 1
    assert "zebra" in stops[0]

    # Escape in the reaction picker goes back to the message, not to the composer.
    alice.send("react to me")
    row = alice.message("react to me")
    row.hover()
    row.get_by_role("button", name="Add reaction").click()
    picker = row.locator(".emoji-picker")
    picker.wait_for()
    a.keyboard.press("Escape")
    picker.wait_for(state="hidden")
    assert a.evaluate("document.activeElement.closest('li.msg')?.id") == row.get_attribute("id")
    assert a.evaluate("document.activeElement.getAttribute('aria-label')") == "Add reaction"

    save_screenshot(a, "dark-mode", for_readme=True, docs_name="screenshot-dark")

    # Escape closes the members panel wherever focus is.
    a.locator("#show-members").click()
    a.locator("#members").wait_for()
    a.locator("#composer-input").focus()
    a.keyboard.press("Escape")
    a.locator("#members").wait_for(state="hidden")
    assert alice.unexpected_console_errors() == []
