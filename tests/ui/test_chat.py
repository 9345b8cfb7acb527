"""Two people chatting: rooms, live messages, typing, reactions, edits, replies, DMs, markup."""

from __future__ import annotations

from collections.abc import Callable

from tests.ui.conftest import Person, save_screenshot


def test_two_people_see_messages_typing_reactions_edits_and_replies_live(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob", color_scheme="dark").sign_up()
    a, b = alice.page, bob.page

    # alice creates a public room; bob finds it under "public rooms to join" without a reload.
    a.get_by_role("button", name="Create a room").click()
    a.locator("#room-name").fill("design")
    a.locator("#room-topic-input").fill("Pixels and words")
    a.get_by_role("button", name="Create", exact=True).click()
    a.locator("#room-title", has_text="design").wait_for()
    b.get_by_role("button", name="Refresh public rooms").click()
    b.get_by_role("button", name="Join design").click()
    b.locator("#room-title", has_text="design").wait_for()
    b.locator("#room-topic", has_text="Pixels and words").wait_for()

    alice.send("hi bob")
    bob.message("hi bob").wait_for()

    # Typing shows on the other side, and goes away when the message arrives.
    b.locator("#composer-input").press_sequentially("hello al")
    a.locator("#typing", has_text="bob is typing").wait_for()
    b.locator("#composer-input").press_sequentially("ice")
    b.locator("#composer-input").press("Enter")
    alice.message("hello alice").wait_for()
    a.locator("#typing", has_text="bob is typing").wait_for(state="hidden")

    # Reactions: alice adds one from the picker, bob sees it and toggles his own on and off.
    row = alice.message("hello alice")
    row.hover()
    row.get_by_role("button", name="Add reaction").click()
    row.get_by_role("button", name="React with 👍").click()
    theirs = bob.message("hello alice").locator(".reaction")
    theirs.filter(has_text="1").wait_for()
    assert theirs.get_attribute("aria-pressed") == "false"
    theirs.click()
    alice.message("hello alice").locator(".reaction", has_text="2").wait_for()
    assert theirs.get_attribute("aria-pressed") == "true"
    theirs.click()
    alice.message("hello alice").locator(".reaction", has_text="1").wait_for()
    bob.message("hello alice").locator(".reaction", has_text="1").wait_for()

    # Up in the empty composer edits alice's last message; bob sees the edit and the marker.
    box = a.locator("#composer-input")
    box.click()
    box.press("ArrowUp")
    assert box.input_value() == "hi bob"
    box.fill("hi bob, welcome to design")
    box.press("Enter")
    edited = bob.message("hi bob, welcome to design")
    edited.wait_for()
    assert "(edited)" in edited.inner_text()
    assert b.locator("#messages .text", has_text="hi bob").count() == 1

    # bob replies; alice sees what the reply refers to.
    original = bob.message("hi bob, welcome to design")
    original.hover()
    original.get_by_role("button", name="Reply", exact=True).click()
    b.locator("#composer-context", has_text="Replying to alice").wait_for()
    bob.send("thanks! Shift+Enter works too")
    reply = alice.message("thanks! Shift+Enter works too")
    reply.locator(".reply-quote", has_text="hi bob, welcome to design").wait_for()

    # Keyboard: from the timeline, Up reaches the last message and Tab its actions.
    a.locator("#timeline").focus()
    a.keyboard.press("ArrowUp")
    assert a.evaluate("document.activeElement.matches('li.msg')")
    a.keyboard.press("Tab")
    assert a.evaluate("document.activeElement.closest('li.msg') !== null")
    a.keyboard.press("Escape")
    assert a.evaluate("document.activeElement.id") == "composer-input"

    # Shift+Enter adds a line instead of sending.
    box.fill("line one")
    box.press("Shift+Enter")
    box.press_sequentially("line two")
    box.press("Enter")
    bob.message("line one\nline two").wait_for()

    # Deleting leaves a tombstone on both sides.
    row = alice.message("line one\nline two")
    row.hover()
    row.get_by_role("button", name="Delete").click()
    row.get_by_role("button", name="Press again to delete this message").click()
    b.locator("#messages .deleted-text").wait_for()

    # For the screenshot: a DM waiting for alice, the members panel, bob typing.
    dm = bob.api("POST", "/dms", json={"username": "alice"}).json()
    bob.api("POST", f"/rooms/{dm['id']}/messages", json={"text": "lunch later?"})
    a.locator("#dm-list .room-item", has_text="bob").locator(".badge", has_text="1").wait_for()
    a.get_by_role("button", name="Members").click()
    a.locator("#member-list li", has_text="@bob").wait_for()
    b.locator("#composer-input").press_sequentially("let me think")
    a.locator("#typing", has_text="bob is typing").wait_for()
    a.mouse.move(0, 0)
    b.mouse.move(0, 0)
    save_screenshot(a, "chat-light", for_readme=True)
    save_screenshot(b, "chat-dark")
    assert alice.console_errors == []
    assert bob.console_errors == []


def test_direct_message_appears_live_with_an_unread_badge_that_clears_when_opened(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    a, b = alice.page, bob.page
    b.evaluate("window.__noReload = true")

    # Search as you type, pick with the keyboard.
    a.get_by_role("button", name="Message someone").click()
    a.locator("#dm-input").press_sequentially("bo")
    a.get_by_role("option", name="bob").wait_for()
    a.locator("#dm-input").press("ArrowDown")
    a.locator("#dm-input").press("Enter")
    a.locator("#room-title", has_text="bob").wait_for()
    alice.send("psst, bob")
    alice.send("are you there?")

    dm = b.locator("#dm-list .room-item", has_text="alice")
    dm.locator(".badge", has_text="2").wait_for()
    assert b.title() == "(2) hubbub"
    save_screenshot(b, "dm-unread-badge")

    dm.click()
    bob.message("are you there?").wait_for()
    dm.locator(".badge").wait_for(state="detached")
    room_id = dm.get_attribute("data-room-id")
    assert room_id
    assert room_id.startswith("d_")
    for _ in range(50):  # the read marker reaches the server (debounced)
        if bob.api("GET", f"/rooms/{room_id}").json()["unread_count"] == 0:
            break
        b.wait_for_timeout(100)
    assert bob.api("GET", f"/rooms/{room_id}").json()["unread_count"] == 0

    # While bob is looking at the DM, new messages are read at once: no badge.
    alice.send("great")
    bob.message("great").wait_for()
    b.wait_for_timeout(300)
    assert dm.locator(".badge").count() == 0
    assert b.evaluate("window.__noReload") is True
    assert alice.console_errors == []
    assert bob.console_errors == []


def test_markup_in_a_message_is_shown_as_text_and_links_are_safe(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    attack = "<img src=x onerror=alert(1)>"
    alice.send(attack)
    alice.send("see https://example.com/a?b=1&c=2. and javascript:alert(2)")

    for person in (alice, bob):
        row = person.message(attack)
        row.wait_for()
        assert row.locator(".text").inner_text() == attack
        assert person.page.locator("#messages img").count() == 0
        link = person.page.locator("#messages a")
        link.wait_for()
        assert link.count() == 1
        assert link.get_attribute("href") == "https://example.com/a?b=1&c=2"
        assert link.get_attribute("rel") == "noopener noreferrer"
        assert link.get_attribute("target") == "_blank"
    bob.page.wait_for_timeout(300)
    assert alice.dialogs == []
    assert bob.dialogs == []
    assert alice.console_errors == []
    assert bob.console_errors == []


def test_dm_partner_already_online_shows_online_on_load(people: Callable[..., Person]) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    alice.page.get_by_role("button", name="Message someone").click()
    alice.page.locator("#dm-input").press_sequentially("bob")
    alice.page.get_by_role("option", name="bob").wait_for()
    alice.page.locator("#dm-input").press("Enter")
    alice.page.locator("#room-title", has_text="bob").wait_for()
    # bob is connected all along; alice reloads and must see him online without any new
    # presence event (she asks GET /api/v1/presence when her rooms load).
    bob.wait_live()
    alice.page.reload()
    alice.wait_live()
    dot = alice.page.locator("#dm-list .room-item", has_text="bob").locator(".dot")
    dot.and_(alice.page.locator(".online")).wait_for()
    assert dot.get_attribute("aria-label") == "online"
