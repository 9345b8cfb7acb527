"""Missed-message email (#18) in Chromium against a real server with a real SMTP server on
127.0.0.1: in Settings → Notifications a person sets an address (it shows as not confirmed),
opens the confirmation link from the mail and confirms it on the page it leads to, sees it
confirmed, and turns digests on and off."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import pytest

from tests.mailbox import Inbox, local_inbox
from tests.ui.conftest import Person


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with local_inbox() as box:
        yield box


@pytest.fixture
def server_env(inbox: Inbox) -> dict[str, str]:
    return {
        "HUBBUB_SMTP_URL": f"smtp://127.0.0.1:{inbox.port}?starttls=false",
        "HUBBUB_MAIL_FROM": "hubbub <chat@example.com>",
    }


def wait_email_pref(person: Person, wanted: str) -> None:
    """Poll the server (the page saves in the background) until `email` is `wanted`."""
    deadline = time.monotonic() + 10
    while person.api("GET", "/me/notifications").json()["email"] != wanted:
        assert time.monotonic() < deadline, f"email never became {wanted}"
        person.page.wait_for_timeout(50)


def test_set_confirm_and_turn_on_email_from_settings(
    people: Callable[..., Person], inbox: Inbox
) -> None:
    bob = people("bob").sign_up("Bob")
    page = bob.page
    page.locator("#open-settings").click()
    status = page.locator("#notify-email-status")
    status.filter(has_text="No address").wait_for()

    page.locator("#notify-email-address").fill("bob@example.org")
    page.locator("#notify-email-save").click()
    unconfirmed = "Not confirmed yet: open the link we mailed to bob@example.org"
    status.filter(has_text=unconfirmed).wait_for()
    [mail] = inbox.wait_sync(1)
    body = mail.get_body(("plain",))
    assert body is not None
    found = re.search(r"/email/confirm/\S+", body.get_content())
    assert found, body.get_content()

    # The link, opened in the browser: a page with a button that confirms.
    confirm = bob.context.new_page()
    confirm.goto(bob.base_url + found.group(0))
    confirm.get_by_role("button", name="Confirm my address").click()
    confirm.get_by_role("heading", name="Address confirmed").wait_for()
    confirm.close()

    page.keyboard.press("Escape")
    page.locator("#open-settings").click()
    status.filter(has_text="bob@example.org is confirmed.").wait_for()
    digest = page.locator("#notify-email-digest")
    assert not digest.is_checked()
    digest.check()
    wait_email_pref(bob, "digest")
    digest.uncheck()
    wait_email_pref(bob, "off")

    page.locator("#notify-email-remove").click()
    status.filter(has_text="No address").wait_for()
    assert bob.api("GET", "/me").json()["email"] is None
    assert bob.console_errors == []
