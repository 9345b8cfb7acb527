"""Integrations (#19) and room pictures in the browser, against a real server: a webhook made in
room settings shows its URL once; a Slack payload posted to it shows as a card (title link,
fields, coloured border) under a BOT badge, while a javascript: link and a bogus colour are
not obeyed; revoking it makes the URL answer 404. Bots made in account settings show their key
once, the key works, a new key stops the old one, and deleting stops the bot. A room's picture
set in room settings shows in the sidebar and the header, for others too."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest
from PIL import Image

from tests.ui.conftest import Person, save_screenshot
from tests.ui.test_moderation import create_room, open_room_settings

if TYPE_CHECKING:
    from playwright.sync_api import FilePayload

SLACK_PAYLOAD = {
    "username": "CI",
    "text": "*api* deployed to <https://example.com|prod>",
    "attachments": [
        {
            "fallback": "Build 42 passed",
            "color": "#36a64f",
            "pretext": "A build finished",
            "title": "Build 42",
            "title_link": "https://ci.example.com/builds/42",
            "text": "All _green_",
            "fields": [
                {"title": "Branch", "value": "main", "short": True},
                {"title": "Took", "value": "3 min", "short": True},
                {"title": "Changes", "value": "Fix the thing", "short": False},
            ],
            "footer": "ci.example.com",
            "ts": 1700000000,
        },
        {
            "fallback": "evil",
            "color": "red;background:url(https://evil.example/x)",
            "title": "Not a link",
            "title_link": "javascript:alert(1)",
            "text": "plain",
        },
    ],
}


def png(color: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), color).save(out, "PNG")
    return out.getvalue()


def confirm(person: Person, button: str) -> None:
    dialog = person.page.locator("#confirm-dialog")
    dialog.wait_for()
    dialog.get_by_role("button", name=button, exact=True).click()
    dialog.wait_for(state="hidden")


def test_a_webhook_posts_cards_under_a_bot_badge_and_revoking_it_stops_its_url(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    a = alice.page
    create_room(alice, "ops")

    dialog = open_room_settings(alice)
    dialog.locator("#webhook-list", has_text="No webhooks yet.").wait_for()
    dialog.get_by_label("New webhook's name").fill("Deploys")
    dialog.get_by_role("button", name="Create webhook").click()
    panel = dialog.locator("#webhook-link .link-panel")
    panel.wait_for()
    assert "Shown only now" in panel.inner_text()
    panel.get_by_role("button", name="Copy link").wait_for()
    url = panel.locator("input").input_value()
    assert re.match(r"^http://127\.0\.0\.1:\d+/hooks/\S+$", url), url
    row = dialog.locator("#webhook-list li", has_text="Deploys")
    row.wait_for()
    assert "BOT" in row.inner_text()
    # Its URL is never listed again: the list answers url null, and reopening shows no panel.
    listed = alice.api("GET", f"/rooms/{room_id(alice)}/webhooks").json()["webhooks"]
    assert [w["url"] for w in listed] == [None]
    dialog.get_by_role("button", name="Close room settings").click()
    dialog = open_room_settings(alice)
    dialog.locator("#webhook-list li", has_text="Deploys").wait_for()
    assert dialog.locator("#webhook-link .link-panel").count() == 0
    dialog.get_by_role("button", name="Close room settings").click()

    answer = httpx.post(url, json=SLACK_PAYLOAD, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.text == "ok"

    msg = a.locator("#messages li.msg").filter(has=a.locator(".card"))
    msg.wait_for()
    head = msg.locator(".msg-head")
    assert head.locator(".author").inner_text() == "CI"
    assert head.locator(".bot-tag").inner_text() == "BOT"
    assert msg.locator(".text strong", has_text="api").count() == 1
    cards = msg.locator(".card")
    assert cards.count() == 2
    good = cards.nth(0)
    link = good.locator(".card-title a")
    assert link.inner_text() == "Build 42"
    assert link.get_attribute("href") == "https://ci.example.com/builds/42"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert good.evaluate("el => getComputedStyle(el).borderLeftColor") == "rgb(54, 166, 79)"
    assert msg.locator(".card-pretext").inner_text() == "A build finished"
    assert good.locator(".card-text em").inner_text() == "green"
    assert good.locator(".card-field dt").all_inner_texts() == ["Branch", "Took", "Changes"]
    assert good.locator(".card-field dd").all_inner_texts() == ["main", "3 min", "Fix the thing"]
    # Two short fields share a row, side by side; the long one has its own.
    rows = good.locator(".card-field-row")
    assert rows.count() == 2
    branch = good.locator(".card-field", has_text="Branch").bounding_box()
    took = good.locator(".card-field", has_text="Took").bounding_box()
    assert branch is not None
    assert took is not None
    assert abs(branch["y"] - took["y"]) < 2
    assert took["x"] > branch["x"]
    assert "ci.example.com" in good.locator(".card-footer").inner_text()
    assert good.locator(".card-footer time").get_attribute("datetime") == "2023-11-14T22:13:20.000Z"

    # The javascript: link is not a link, and the bogus colour is not applied.
    evil = cards.nth(1)
    assert evil.locator(".card-title").inner_text() == "Not a link"
    assert evil.locator("a").count() == 0
    assert evil.evaluate("el => el.style.getPropertyValue('--card-color')") == ""
    border = evil.evaluate("el => getComputedStyle(el).borderLeftColor")
    plain = a.locator("#messages").evaluate(
        "el => { const d = document.createElement('div'); d.className = 'card'; el.append(d);"
        " const c = getComputedStyle(d).borderLeftColor; d.remove(); return c; }"
    )
    assert border == plain
    save_screenshot(a, "integrations-cards")

    # A payload with thread_ts replies in the message's thread: its card shows in the panel.
    root_id = msg.get_attribute("data-id")
    reply = {"thread_ts": root_id, "attachments": [{"color": "danger", "title": "Rollback"}]}
    assert httpx.post(url, json=reply, timeout=10).status_code == 200
    summary = msg.locator(".thread-summary", has_text="1 reply")
    summary.click()
    in_thread = a.locator("#side-panel .thread-replies li .card", has_text="Rollback")
    in_thread.wait_for()
    assert in_thread.evaluate("el => getComputedStyle(el).borderLeftColor") == "rgb(163, 2, 0)"
    assert a.locator("#side-panel .thread-replies li .bot-tag").inner_text() == "BOT"
    a.locator("#side-panel-close").click()

    # Pinned, it shows in the Pins list with its cards and the bot's badge (#17 lists, #19).
    assert alice.api("PUT", f"/messages/{root_id}/pin").status_code == 204
    a.get_by_role("button", name="Pins", exact=True).click()
    pinned = a.locator("#side-panel li", has=a.locator(".card"))
    pinned.locator(".card-title a", has_text="Build 42").wait_for()
    assert pinned.locator(".bot-tag").inner_text() == "BOT"
    assert pinned.locator(".card").count() == 2
    a.locator("#side-panel-close").click()

    # The members panel lists the webhook's bot with its badge.
    a.locator("#show-members").click()
    a.locator("#member-list li", has_text="Deploys").locator(".bot-tag").wait_for()
    a.locator("#hide-members").click()

    # Revoked, after asking: the URL answers 404 at once.
    dialog = open_room_settings(alice)
    dialog.get_by_role("button", name="Revoke webhook Deploys").click()
    confirm(alice, "Revoke")
    dialog.locator("#webhook-list", has_text="No webhooks yet.").wait_for()
    dialog.locator("#webhook-status", has_text="revoked").wait_for()
    gone = httpx.post(url, json={"text": "still there?"}, timeout=10)
    assert gone.status_code == 404
    assert alice.unexpected_console_errors() == []


def room_id(person: Person) -> str:
    """The room on screen, from the address (#/room/<id>)."""
    match = re.search(r"#/room/([^/]+)", person.page.url)
    assert match, person.page.url
    return match.group(1)


def me_as(base_url: str, key: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {key}"}
    return httpx.get(f"{base_url}/api/v1/me", headers=auth, timeout=10)


def test_bots_in_account_settings_show_their_key_once_and_rotate_and_delete(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    a = alice.page
    a.locator("#open-settings").click()
    dialog = a.locator("#settings-dialog")
    section = dialog.locator("#bots-section")
    section.locator("#bot-list", has_text="No bots yet.").wait_for()
    section.get_by_label("Bot's username").fill("deploy-bot")
    section.get_by_label("Bot's name as shown (optional)").fill("Deploys")
    section.get_by_role("button", name="Create bot").click()
    panel = section.locator("#bot-key .link-panel")
    panel.wait_for()
    assert "Shown only now" in panel.inner_text()
    panel.get_by_role("button", name="Copy key").wait_for()
    key = panel.locator("input").input_value()
    row = section.locator("#bot-list li[data-username='deploy-bot']")
    row.wait_for()
    assert "Deploys" in row.inner_text()
    assert "BOT" in row.inner_text()

    me = me_as(alice.base_url, key)
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "deploy-bot"
    assert me.json()["kind"] == "bot"
    # Shown once: the list never carries it, and the dialog opened again shows no key.
    assert "token" not in alice.api("GET", "/bots").json()["bots"][0]
    dialog.get_by_role("button", name="Close account settings").click()
    a.locator("#open-settings").click()
    row.wait_for()
    assert section.locator("#bot-key .link-panel").count() == 0

    # A new key, after asking: shown once, and the old one stops.
    row.get_by_role("button", name="New key for @deploy-bot").click()
    confirm(alice, "Make a new key")
    panel.wait_for()
    assert "New API key of @deploy-bot" in panel.inner_text()
    new_key = panel.locator("input").input_value()
    assert new_key
    assert new_key != key
    assert me_as(alice.base_url, key).status_code == 401
    assert me_as(alice.base_url, new_key).status_code == 200

    # Deleted, after asking: gone from the list, and its key stops.
    row.get_by_role("button", name="Delete @deploy-bot").click()
    confirm(alice, "Delete")
    section.locator("#bot-list", has_text="No bots yet.").wait_for()
    assert section.locator("#bot-key .link-panel").count() == 0
    assert me_as(alice.base_url, new_key).status_code == 401
    assert alice.api("GET", "/bots").json()["bots"] == []
    assert alice.unexpected_console_errors() == []


def test_a_room_picture_set_in_settings_shows_in_the_sidebar_and_header_for_everyone(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    create_room(alice, "design")
    join = bob.page.get_by_role("button", name="Join design")
    join.wait_for()
    join.click()
    bob.page.locator("#room-title", has_text="design").wait_for()

    dialog = open_room_settings(alice)
    picture: FilePayload = {"name": "room.png", "mimeType": "image/png", "buffer": png()}
    dialog.locator("#room-avatar-file").set_input_files(files=[picture])
    dialog.locator("#room-avatar-status", has_text="Saved").wait_for()
    dialog.locator("#room-avatar-preview .room-picture img").wait_for()
    dialog.get_by_role("button", name="Close room settings").click()
    url = alice.api("GET", f"/rooms/{room_id(alice)}").json()["avatar_url"]
    assert url

    for person in (alice, bob):  # bob's page learns of it from room.updated
        item = person.page.locator("#sidebar .room-item", has_text="design")
        img = item.locator(".room-picture img")
        img.wait_for()
        assert img.get_attribute("src") == url
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")
        header = person.page.locator("#room-picture img")
        header.wait_for()
        assert header.get_attribute("src") == url
    save_screenshot(bob.page, "integrations-room-picture")

    # Removed: the room's icon again, everywhere.
    dialog = open_room_settings(alice)
    dialog.get_by_role("button", name="Remove picture").click()
    dialog.locator("#room-avatar-status", has_text="Picture removed").wait_for()
    dialog.get_by_role("button", name="Close room settings").click()
    for person in (alice, bob):
        item = person.page.locator("#sidebar .room-item", has_text="design")
        item.locator(".room-picture").wait_for(state="detached")
        item.locator(".room-icon").wait_for()
        assert person.page.locator("#room-picture").is_hidden()
    assert alice.unexpected_console_errors() == []
    assert bob.unexpected_console_errors() == []


def test_room_settings_list_outgoing_webhooks_with_their_latest_deliveries(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    create_room(alice, "ops")
    room = room_id(alice)
    # Nothing listens on port 9: the delivery fails (refused by the guard, or by the port).
    url = "http://127.0.0.1:9/hook"
    made = alice.api(
        "POST",
        f"/rooms/{room}/outgoing-webhooks",
        json={"url": url, "events": ["message.created"], "trigger_words": ["!ci"]},
    )
    assert made.status_code == 201, made.text
    alice.api("POST", f"/rooms/{room}/messages", json={"text": "!ci run"})
    deliveries = f"/rooms/{room}/outgoing-webhooks/{made.json()['id']}/deliveries"
    for _ in range(100):
        if alice.api("GET", deliveries).json()["deliveries"]:
            break
        alice.page.wait_for_timeout(100)
    dialog = open_room_settings(alice)
    row = dialog.locator("#outgoing-list li", has_text=url)
    row.wait_for()
    assert row.locator(".tag").text_content() == "ON"
    assert "message.created · starting with !ci" in row.inner_text()
    button = row.get_by_role("button", name="Deliveries")
    button.click()
    attempt = row.locator(".deliveries li.delivery").first
    attempt.wait_for()
    assert attempt.get_attribute("data-outcome") == "retry"
    assert "no answer" in attempt.inner_text()
    assert button.get_attribute("aria-expanded") == "true"
    save_screenshot(alice.page, "outgoing-webhooks")


@pytest.mark.parametrize(
    "server_env", [{"HUBBUB_OUTGOING_DISABLE_AFTER": "1"}], ids=["off-after-one-failure"]
)
def test_a_hook_turned_off_after_failures_is_turned_on_and_off_in_room_settings(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    create_room(alice, "ops")
    room = room_id(alice)
    url = "http://127.0.0.1:9/hook"  # refused (a loopback address): one failure turns it off
    made = alice.api(
        "POST", f"/rooms/{room}/outgoing-webhooks", json={"url": url, "events": ["message.created"]}
    )
    assert made.status_code == 201, made.text
    alice.api("POST", f"/rooms/{room}/messages", json={"text": "hello"})

    def state() -> dict[str, object]:
        (hook,) = alice.api("GET", f"/rooms/{room}/outgoing-webhooks").json()["hooks"]
        return dict(hook)

    for _ in range(100):
        if state()["disabled_at"]:
            break
        alice.page.wait_for_timeout(100)
    assert state()["enabled"] is False
    dialog = open_room_settings(alice)
    row = dialog.locator("#outgoing-list li", has_text=url)
    row.wait_for()
    assert row.locator(".tag").text_content() == "OFF"
    assert "1 failed deliveries in a row" in row.inner_text()
    row.scroll_into_view_if_needed()
    save_screenshot(alice.page, "outgoing-webhook-off")

    row.get_by_role("button", name="Enable", exact=True).click()
    row.get_by_role("button", name="Disable", exact=True).wait_for()
    assert row.locator(".tag").text_content() == "ON"
    assert "turned off" not in row.inner_text()
    on = state()
    assert (on["enabled"], on["failures"], on["disabled_reason"]) == (True, 0, None)

    row.get_by_role("button", name="Disable", exact=True).click()
    row.get_by_role("button", name="Enable", exact=True).wait_for()
    assert row.locator(".tag").text_content() == "OFF"
    assert "turned off by alice" in row.inner_text()
    assert state()["disabled_reason"] == "turned off by alice"
    assert alice.unexpected_console_errors() == []


def test_a_slash_commands_answer_shows_to_its_caller_only_and_posts_nothing(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    create_room(alice, "ops")
    room = room_id(alice)
    assert alice.api("PUT", f"/rooms/{room}/members/bob").status_code == 201
    bob.open_room("ops")
    alice.send("/nosuchcommand please")
    replies = alice.page.locator("#command-replies")
    reply = replies.locator(".command-reply")
    reply.wait_for()
    assert reply.locator(".command-name").inner_text() == "/nosuchcommand"
    assert "is not a command here" in reply.inner_text()
    assert "Only visible to you" in reply.inner_text()
    # Posted nothing: an ordinary message after it is the only one, for both of them.
    alice.send("//nosuchcommand is not a command")
    alice.message("/nosuchcommand is not a command").wait_for()
    bob.message("/nosuchcommand is not a command").wait_for()
    assert alice.page.locator("#messages li.msg").count() == 1
    assert bob.page.locator("#command-replies .command-reply").count() == 0
    assert alice.page.locator("#composer-input").input_value() == ""
    save_screenshot(alice.page, "slash-command-reply")
    replies.get_by_role("button", name="Dismiss").click()
    replies.wait_for(state="hidden")


def test_typing_a_slash_suggests_the_servers_commands(people: Callable[..., Person]) -> None:
    alice = people("alice").sign_up()  # the server's first account: a server admin
    create_room(alice, "ops")
    for name, description in (("weather", "Weather for a city"), ("wiki", "Search the wiki")):
        made = alice.api(
            "POST",
            "/commands",
            json={"name": name, "url": "https://192.0.2.1/x", "description": description},
        )
        assert made.status_code in (201, 409), made.text
    box = alice.page.locator("#composer-input")
    box.press_sequentially("/we")
    options = alice.page.locator("#command-suggestions [role=option]")
    options.first.wait_for()
    assert [" ".join(t.split()) for t in options.all_inner_texts()] == [
        "/weather Weather for a city"
    ]
    box.press("Tab")
    assert box.input_value() == "/weather "
    assert alice.page.locator("#command-suggestions").is_hidden()
    box.fill("")
    box.press_sequentially("/w")
    alice.page.locator("#command-suggestions [role=option]", has_text="/wiki").wait_for()
    assert options.count() == 2
    box.press("Escape")
    assert alice.page.locator("#command-suggestions").is_hidden()
    box.fill("see /we")
    assert alice.page.locator("#command-suggestions").is_hidden()
