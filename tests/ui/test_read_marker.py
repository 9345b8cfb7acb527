"""The read marker moves only over messages that were on screen; the divider stays while I am in
the room."""

from __future__ import annotations

from collections.abc import Callable

from tests.ui.conftest import Person

UNREAD = 90  # the badge shows counts up to 99


def marker(person: Person, room_id: str) -> int:
    return int(person.api("GET", f"/rooms/{room_id}").json()["last_read_seq"])


def test_opening_a_busy_room_marks_only_what_was_seen_and_keeps_the_divider(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    room = alice.api("POST", "/rooms", json={"name": "busy", "visibility": "public"}).json()
    bob.api("POST", f"/rooms/{room['id']}/join").raise_for_status()
    for i in range(1, UNREAD + 1):
        bob.api("POST", f"/rooms/{room['id']}/messages", json={"text": f"line {i}"})
    a = alice.page
    item = a.locator("#sidebar .room-item", has_text="busy")
    item.locator(".badge", has_text=str(UNREAD)).wait_for()

    alice.open_room("busy")
    a.locator("#unread-divider").wait_for()
    a.locator("#msg-1").wait_for()
    scroller = a.locator("#timeline")
    a.wait_for_timeout(1200)  # longer than the marker's debounce
    first = marker(alice, room["id"])
    on_screen = a.locator("#messages li.msg[data-seq]").evaluate_all(
        """(els) => {
          const box = document.getElementById('timeline').getBoundingClientRect();
          return els.filter((el) => {
            const r = el.getBoundingClientRect();
            return r.bottom > box.top && r.top < box.bottom;
          }).map((el) => Number(el.dataset.seq));
        }"""
    )
    assert 1 <= first <= max(on_screen), (first, on_screen)
    assert first < UNREAD
    item.locator(".badge", has_text=str(UNREAD - first)).wait_for()

    # Scrolling down a screen at a time reads the rest; the divider stays while in the room.
    for _ in range(200):
        done = scroller.evaluate(
            "(el) => { el.scrollTop += el.clientHeight * 0.8;"
            " return el.scrollHeight - el.scrollTop - el.clientHeight < 2; }"
        )
        a.wait_for_timeout(60)
        if done:
            break
    item.locator(".badge").wait_for(state="detached")
    for _ in range(30):
        if marker(alice, room["id"]) == UNREAD:
            break
        a.wait_for_timeout(100)
    assert marker(alice, room["id"]) == UNREAD
    assert a.locator("#unread-divider").count() == 1

    # Leaving the room and coming back: nothing is new any more.
    alice.open_room("general")
    alice.open_room("busy")
    a.locator(f"#msg-{UNREAD}").wait_for()
    assert a.locator("#unread-divider").count() == 0
    assert alice.unexpected_console_errors() == []
