"""Who is who, and what a stream reveals: usernames beside look-alike display names, bidi
controls shown instead of obeyed, stream URLs without the token, and a session ended on the
server signing the page out."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from tests.server_process import ServerProcess
from tests.ui.conftest import Person, save_screenshot


def test_two_people_with_one_display_name_are_told_apart_by_username(
    people: Callable[..., Person], server: ServerProcess
) -> None:
    alice = people("alice").sign_up(display_name="Alice")
    mallory = people("mallory").sign_up(display_name="Alice")
    bob = people("bob").sign_up()
    alice.send("hi, it's me")
    mallory.send("no, it's me: send me the keys")
    # A guest of the classic API with the same name: no username, so marked as a guest.
    httpx.post(f"{server.url}/message", json={"user": "Alice", "text": "me too"}).raise_for_status()

    for person in (bob, alice, mallory):
        real = person.message("hi, it's me")
        fake = person.message("no, it's me: send me the keys")
        guest = person.message("me too")
        guest.wait_for()
        assert real.locator(".author").inner_text() == "Alice"
        assert fake.locator(".author").inner_text() == "Alice"
        # The display names clash, so both rows say who it really is, visibly and on hover.
        assert real.locator(".msg-head .username").inner_text() == "@alice"
        assert fake.locator(".msg-head .username").inner_text() == "@mallory"
        assert real.locator(".author-name").get_attribute("title") == "@alice"
        assert fake.locator(".author-name").get_attribute("title") == "@mallory"
        assert guest.locator(".msg-head .username").count() == 0
        assert guest.locator(".msg-head .guest-tag").inner_text() == "guest"
        assert (guest.locator(".author-name").get_attribute("title") or "").startswith("Guest")

    # Replies name the author the same way.
    row = bob.message("no, it's me: send me the keys")
    row.hover()
    row.get_by_role("button", name="Reply", exact=True).click()
    bob.page.locator("#composer-context", has_text="Replying to Alice (@mallory)").wait_for()
    bob.send("who are you?")
    quote = alice.message("who are you?").locator(".reply-quote")
    quote.locator(".username", has_text="@mallory").wait_for()
    assert "Alice (@mallory)" in (quote.get_attribute("aria-label") or "")

    # The members panel shows every username.
    bob.page.get_by_role("button", name="Members").click()
    members = bob.page.locator("#member-list li")
    members.filter(has_text="@mallory").wait_for()
    assert members.filter(has_text="@alice").locator(".member-name").inner_text() == "Alice"
    assert members.filter(has_text="@mallory").locator(".member-name").inner_text() == "Alice"
    bob.page.mouse.move(0, 0)
    save_screenshot(bob.page, "same-display-name")
    for person in (alice, mallory, bob):
        assert person.console_errors == []


def test_a_right_to_left_override_shows_as_a_marker_and_reverses_nothing(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    alice.send("gnp\u202e.exe")
    alice.send("after it")

    for person in (alice, bob):
        row = person.message("gnp")
        row.wait_for()
        text = row.locator(".text")
        assert text.text_content() == "gnp⟨U+202E⟩.exe"  # the character itself is not in the page
        marker = text.locator(".bidi-mark")
        assert marker.count() == 1
        assert marker.inner_text() == "⟨U+202E⟩"
        assert "RIGHT-TO-LEFT OVERRIDE" in (marker.get_attribute("title") or "")
        assert text.get_attribute("dir") == "auto"
        # Laid out left to right, as written: "gnp", the marker, then ".exe" (not "exe.").
        boxes = text.evaluate(
            """el => [...el.childNodes].map(node => {
                 const range = document.createRange();
                 range.selectNodeContents(node);
                 const box = range.getBoundingClientRect();
                 return [node.textContent, box.left, box.right];
               })"""
        )
        assert [b[0] for b in boxes] == ["gnp", "⟨U+202E⟩", ".exe"]
        assert boxes[0][2] <= boxes[1][1] + 0.5
        assert boxes[1][2] <= boxes[2][1] + 0.5
        # Nothing outside the message moved either: the next message reads as sent.
        assert person.message("after it").locator(".text").inner_text() == "after it"
    save_screenshot(bob.page, "bidi-marker")
    assert bob.console_errors == []


def test_the_stream_opens_with_one_time_tickets_never_the_token(
    people: Callable[..., Person], server: ServerProcess
) -> None:
    alice = people("alice")
    sockets: list[str] = []
    requests: list[str] = []
    alice.page.on("websocket", lambda ws: sockets.append(ws.url))
    alice.page.on("request", lambda req: requests.append(req.url))
    alice.sign_up()
    alice.page.evaluate("window.__noReload = true")
    token = alice.token

    server.kill()  # a reconnect must ask for a new ticket
    alice.page.locator("#banner", has_text=re.compile("Reconnecting|offline")).wait_for()
    server.start()
    alice.page.locator("html[data-connection='live']").wait_for(state="attached")
    alice.page.locator("#banner").wait_for(state="hidden")
    assert alice.page.evaluate("window.__noReload") is True

    tickets = [re.search(r"[?&]ticket=([^&]+)", url) for url in sockets]
    assert len(sockets) >= 2, sockets
    assert all(tickets), sockets
    assert len({t[1] for t in tickets if t}) == len(sockets)  # a fresh ticket each time
    for url in sockets + requests:
        assert "access_token" not in url
        assert token not in url
    assert alice.unexpected_console_errors(allow_network_noise=True) == []


def test_signing_out_on_the_server_signs_the_page_out_with_a_notice(
    people: Callable[..., Person], server: ServerProcess
) -> None:
    alice = people("alice").sign_up()
    sockets: list[str] = []
    alice.page.on("websocket", lambda ws: sockets.append(ws.url))
    response = httpx.delete(
        f"{server.url}/api/v1/sessions/current",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert response.status_code == 204

    notice = alice.page.locator("#auth-notice")
    notice.wait_for(timeout=5_000)
    assert "You were signed out" in notice.inner_text()
    assert alice.page.locator("#chat").is_hidden()
    assert alice.page.evaluate("localStorage.getItem('hubbub.session')") is None
    save_screenshot(alice.page, "signed-out-notice")
    alice.page.wait_for_timeout(1500)
    assert sockets == []  # no reconnecting after the end
    # Signing in again works, and the notice goes.
    alice.page.locator("#auth-username").fill("alice")
    alice.page.locator("#auth-password").fill("correct horse")
    alice.page.locator("#auth-submit").click()
    alice.wait_live()
    assert notice.is_hidden()
    # The browser logs the refused ticket request (401) as a console error.
    assert [e for e in alice.console_errors if "401" not in e] == []
