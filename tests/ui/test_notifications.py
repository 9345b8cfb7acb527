"""Desktop notifications (#18) in Chromium against a real server: the opt-in (never asked on
load), what notifies while the page is hidden (a DM, a mention; not a plain message at level
`mentions`, not a muted room), a click opening the room at the message, and the favicon's
mention badge. The Notification constructor is wrapped to record calls: the edge of the page
(what the OS would show)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.ui.conftest import Person

# Records each Notification made and each permission request; lets the test hide the page.
RECORDER = """
(() => {
  const Real = window.Notification;
  window.__notes = [];
  window.__asked = 0;
  window.__hidden = false;
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: options && options.body, note: this });
    }
    static requestPermission() {
      window.__asked += 1;
      return Real.requestPermission();
    }
  }
  window.Notification = Recorded;
  Object.defineProperty(document, "visibilityState", {
    get: () => (window.__hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(document, "hidden", { get: () => window.__hidden });
  document.hasFocus = () => !window.__hidden;
})();
"""


def notes(person: Person) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = person.page.evaluate(
        "window.__notes.map((n) => ({ title: n.title, body: n.body }))"
    )
    return found


def wait_notes(person: Person, count: int) -> list[dict[str, Any]]:
    """Poll the recorder (the page's CSP forbids wait_for_function's eval) until `count`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        seen = notes(person)
        if len(seen) >= count:
            return seen
        person.page.wait_for_timeout(50)
    raise AssertionError(f"expected {count} notifications, got {notes(person)}")


def hide(person: Person, hidden: bool) -> None:
    person.page.evaluate(
        "(h) => { window.__hidden = h; document.dispatchEvent(new Event('visibilitychange')); }",
        hidden,
    )


def favicon(person: Person) -> tuple[str, str | None]:
    """The favicon's address and the count its badge shows (None before any)."""
    href, count = person.page.evaluate(
        "(() => { const l = document.querySelector('link[rel=icon]');"
        " return [l.href, l.dataset.count || null]; })()"
    )
    return str(href), None if count is None else str(count)


def wait_favicon(person: Person, count: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        href, shown = favicon(person)
        if shown == count and (count == "0") != href.startswith("blob:"):
            return href
        person.page.wait_for_timeout(50)
    raise AssertionError(f"favicon never showed {count}: {favicon(person)}")


@pytest.mark.parametrize("server_env", [{"HUBBUB_RATE_LIMITS": "off"}], ids=["no-limits"])
def test_desktop_notifications_for_what_notifies_while_hidden(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up("Alice")
    bob_person = people("bob")
    bob_person.context.grant_permissions(["notifications"], origin=bob_person.base_url)
    bob_person.context.add_init_script(RECORDER)
    bob = bob_person.sign_up("Bob")
    b = bob.page

    room = alice.api("POST", "/rooms", json={"name": "plans", "visibility": "private"}).json()
    alice.api("PUT", f"/rooms/{room['id']}/members/bob").raise_for_status()
    dm = alice.api("POST", "/dms", json={"username": "bob"}).json()
    b.locator("#sidebar .room-item", has_text="plans").wait_for()
    assert b.evaluate("window.__asked") == 0, "never asked on load"
    original, _ = favicon(bob)

    # The opt-in, from a clear button in Settings → Notifications.
    b.locator("#open-settings").click()
    b.get_by_role("button", name="Turn on desktop notifications").click()
    b.locator("#notify-status", has_text="Desktop notifications are on.").wait_for()
    assert b.evaluate("window.__asked") == 1
    b.keyboard.press("Escape")

    hide(bob, True)
    alice.api("POST", f"/rooms/{room['id']}/messages", json={"text": "plain words"})
    mention = alice.api(
        "POST", f"/rooms/{room['id']}/messages", json={"text": "@bob look at this"}
    ).json()
    seen = wait_notes(bob, 1)
    assert seen == [{"title": "Alice in #plans mentioned you", "body": "@bob look at this"}], (
        "the mention notifies; the plain message before it did not"
    )
    assert wait_favicon(bob, "1") != original

    alice.api("POST", f"/rooms/{dm['id']}/messages", json={"text": "psst"})
    seen = wait_notes(bob, 2)
    assert seen[1] == {"title": "Alice", "body": "psst"}

    # An edit that adds a mention notifies (once: editing it again does not).
    later = alice.api("POST", f"/rooms/{room['id']}/messages", json={"text": "nobody yet"}).json()
    alice.api("PATCH", f"/messages/{later['id']}", json={"text": "@bob on second thought"})
    seen = wait_notes(bob, 3)
    assert seen[2] == {"title": "Alice in #plans mentioned you", "body": "@bob on second thought"}
    alice.api("PATCH", f"/messages/{later['id']}", json={"text": "@bob on third thought"})

    # Mute the room from its header; its mentions stop, the DM still notifies.
    hide(bob, False)
    bob.open_room("plans")
    b.locator("#open-room-notify").click()
    b.locator("#room-notify-mute").select_option("8")
    b.locator("#room-notify-save").click()
    b.locator("#room-notify").wait_for(state="hidden")
    bob.open_room("general")
    hide(bob, True)
    alice.api("POST", f"/rooms/{room['id']}/messages", json={"text": "@bob are you muted?"})
    alice.api("POST", f"/rooms/{dm['id']}/messages", json={"text": "after the mute"})
    seen = wait_notes(bob, 4)
    assert [n["body"] for n in seen] == [
        "@bob look at this",
        "psst",
        "@bob on second thought",
        "after the mute",
    ]
    b.wait_for_timeout(300)
    assert len(notes(bob)) == 4

    # Clicking the mention's notification opens its room at the message.
    hide(bob, False)
    b.evaluate("window.__notes[0].note.onclick()")
    b.locator("#room-title", has_text="plans").wait_for()
    assert b.evaluate("location.hash") == f"#/r/{room['id']}/{mention['seq']}"
    b.locator(f"#msg-{mention['seq']}").wait_for()
    assert wait_favicon(bob, "0") == original, "read: the badge goes"
    assert bob.unexpected_console_errors() == []
