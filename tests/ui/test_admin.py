"""The admin page: promote and demote, deactivate (the account's pages sign out), password
reset and new-account links that work end to end, paging, the audit log, and invites that let
people sign up on an invite-only server."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.server_process import ServerProcess
from tests.ui.conftest import PASSWORD, Person, save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

NEW_PASSWORD = "a much better passphrase"


def open_admin(person: Person) -> Page:
    page = person.page
    page.get_by_role("button", name="Server admin").click()
    page.locator("#admin-title").wait_for()
    return page


def user_row(page: Page, username: str) -> Locator:
    return page.locator(f"#admin-user-rows tr[data-username='{username}']")


def link_from_panel(slot: Locator) -> str:
    field = slot.locator(".link-panel input")
    field.wait_for()
    return field.input_value()


def set_password_from_link(person: Person, url: str, password: str) -> None:
    """Open a password link (the server redirects it into the page) and set the password."""
    page = person.page
    page.goto(url)
    assert "#/reset/" in page.url
    form = page.locator("#reset-form")
    form.get_by_role("heading", name="Set a new password").wait_for()
    form.get_by_label("New password", exact=True).fill(password)
    form.get_by_label("New password, again").fill(password)
    save_screenshot(page, "set-new-password")
    page.get_by_role("button", name="Set password").click()
    page.locator("#auth-notice", has_text="Your new password is set").wait_for()
    assert "#/reset/" not in page.url
    person.sign_in(password)


def test_admin_promotes_deactivates_and_makes_links_that_work(
    people: Callable[..., Person], server: ServerProcess
) -> None:
    root = people("root").sign_up()  # the first account runs the server
    bob = people("bob").sign_up()
    assert bob.page.get_by_role("button", name="Server admin").is_hidden()
    page = open_admin(root)
    bob_row = user_row(page, "bob")
    bob_row.wait_for()
    assert user_row(page, "root").locator(".tag", has_text="server admin").count() == 1

    # Searching by prefix.
    page.get_by_label("Username starts with").fill("b")
    page.locator("#admin-users-status", has_text="starting with “b”").wait_for()
    assert page.locator("#admin-user-rows tr").count() == 1

    # Promote, then demote.
    bob_row.get_by_role("button", name="Make admin: @bob").click()
    bob_row.locator(".tag", has_text="server admin").wait_for()
    bob_row.get_by_role("button", name="Remove admin: @bob").click()
    bob_row.locator(".tag", has_text="server admin").wait_for(state="detached")
    # The last admin stays one.
    page.get_by_label("Username starts with").fill("")
    user_row(page, "root").get_by_role("button", name="Remove admin: @root").click()
    page.get_by_role("button", name="Remove admin", exact=True).click()  # the confirmation
    page.locator("#admin-users-status", has_text="last active server admin").wait_for()

    # Deactivating asks first; then bob's page is signed out, and bob cannot sign in.
    bob_row.get_by_role("button", name="Deactivate @bob").click()
    dialog = page.locator("#confirm-dialog")
    dialog.get_by_text("signed out everywhere at once").wait_for()
    save_screenshot(page, "admin-deactivate-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    assert bob_row.locator(".tag", has_text="deactivated").count() == 0
    bob_row.get_by_role("button", name="Deactivate @bob").click()
    dialog.get_by_role("button", name="Deactivate").click()
    bob_row.locator(".tag", has_text="deactivated").wait_for()
    bob.wait_signed_out()
    bob.page.locator("#auth-username").fill("bob")
    bob.page.locator("#auth-password").fill(PASSWORD)
    bob.page.locator("#auth-submit").click()
    bob.page.locator("#auth-error", has_text="This account is deactivated").wait_for()
    bob_row.get_by_role("button", name="Reactivate @bob").click()
    bob_row.locator(".tag", has_text="deactivated").wait_for(state="detached")

    # A reset link sets a new password (and only once).
    bob_row.get_by_role("button", name="Reset link for @bob").click()
    slot = page.locator("#admin-user-link")
    slot.get_by_text("Password reset link for @bob").wait_for()
    url = link_from_panel(slot)
    assert url.startswith(f"{server.url}/reset/")
    save_screenshot(page, "admin-users")
    set_password_from_link(bob, url, NEW_PASSWORD)
    bob.page.get_by_role("button", name="Sign out").click()
    bob.page.locator("#auth").wait_for()  # after the page reloads
    bob.page.goto(url)
    form = bob.page.locator("#reset-form")
    form.get_by_label("New password", exact=True).fill(PASSWORD)
    form.get_by_label("New password, again").fill(PASSWORD)
    bob.page.get_by_role("button", name="Set password").click()
    bob.page.locator("#reset-error", has_text="expired or was already used").wait_for()

    # A new account, whose link sets its first password.
    create = page.locator("#admin-create-user")
    create.get_by_label("Username", exact=True).fill("carol")
    create.get_by_label("Display name (optional)").fill("Carol")
    create.get_by_role("button", name="Create account").click()
    slot.get_by_text("New account @carol").wait_for()
    carol = people("carol")
    set_password_from_link(carol, link_from_panel(slot), NEW_PASSWORD)
    assert carol.page.locator("#me").inner_text() == "Carol"
    user_row(page, "carol").wait_for()

    # Chromium logs the refusals it was shown (409 last admin, 403 deactivated, 410 used link).
    assert [e for e in root.console_errors if "409" not in e] == []
    assert carol.console_errors == []


def test_user_list_and_audit_log_page_on_request(people: Callable[..., Person]) -> None:
    root = people("root").sign_up()
    for i in range(30):
        root.api("POST", "/admin/users", json={"username": f"user{i:02d}"}).raise_for_status()
    page = open_admin(root)
    rows = page.locator("#admin-user-rows tr")
    page.locator("#admin-users-status", has_text="25+ accounts").wait_for()
    page.get_by_role("button", name="Show more").click()
    page.locator("#admin-users-status", has_text="31 accounts").wait_for()
    assert rows.count() == 31
    assert page.get_by_role("button", name="Show more").is_hidden()

    page.get_by_role("tab", name="Audit log").click()
    entries = page.locator("#audit-rows tr")
    entries.nth(24).wait_for()
    assert entries.count() == 25
    # Newest first: the last account made heads the list.
    assert "created the account" in entries.first.inner_text()
    assert "user29" in entries.first.inner_text()
    assert "@root" in entries.first.inner_text()
    save_screenshot(page, "admin-audit")
    page.get_by_role("button", name="Older entries").click()
    entries.nth(29).wait_for()
    assert "user00" in entries.nth(29).inner_text()
    # Keyboard: arrows move between the tabs.
    page.get_by_role("tab", name="Audit log").press("ArrowLeft")
    assert page.get_by_role("tab", name="Invites").get_attribute("aria-selected") == "true"
    page.locator("#admin-invites").wait_for()
    # Back to the chat.
    page.get_by_role("button", name="Back to chat").click()
    page.locator("#room-title", has_text="general").wait_for()
    assert page.locator("#admin").is_hidden()
    assert root.console_errors == []


def test_invite_only_server_signs_people_up_through_invite_links(
    people: Callable[..., Person], server: ServerProcess
) -> None:
    root = people("root").sign_up()  # while sign-up is open: the first account
    server.kill()
    server.extra_env["HUBBUB_REGISTRATION"] = "invite"
    server.start()
    root.page.locator("html[data-connection='live']").wait_for(state="attached")

    # Without an invite, the sign-up form says why not, and offers a field for a code.
    dave = people("dave")
    dave.page.goto(server.url + "/")
    dave.page.get_by_role("tab", name="Create account").click()
    dave.page.locator("#auth-username").fill("dave")
    dave.page.locator("#auth-password").fill(PASSWORD)
    dave.page.locator("#auth-submit").click()
    dave.page.locator("#auth-error", has_text="This server is invite-only").wait_for()
    assert dave.page.get_by_label("Invite code").is_visible()

    page = open_admin(root)
    page.get_by_role("tab", name="Invites").click()
    page.get_by_label("Sign-ups it allows").fill("2")
    page.get_by_label("Expires after").select_option(label="1 day")
    page.get_by_role("button", name="Create invite").click()
    slot = page.locator("#invite-link")
    url = link_from_panel(slot)
    assert url.startswith(f"{server.url}/invite/")
    row = page.locator("#invite-rows tr")
    row.filter(has_text="0 of 2").wait_for()
    save_screenshot(page, "admin-invites")

    # The link opens sign-up with the code filled in.
    dave.page.goto(url)
    dave.page.locator("#auth-notice", has_text="You have an invite").wait_for()
    signup_tab = dave.page.get_by_role("tab", name="Create account")
    assert signup_tab.get_attribute("aria-selected") == "true"
    assert dave.page.get_by_label("Invite code").input_value() == url.rsplit("/", 1)[1]
    save_screenshot(dave.page, "invite-sign-up")
    dave.page.locator("#auth-username").fill("dave")
    dave.page.locator("#auth-password").fill(PASSWORD)
    dave.page.locator("#auth-submit").click()
    dave.wait_live()
    assert not re.search(r"#/invite/", dave.page.url)

    page.get_by_role("tab", name="Users").click()
    page.get_by_role("tab", name="Invites").click()
    row.filter(has_text="1 of 2").wait_for()
    row.get_by_role("button", name=re.compile("^Revoke invite")).click()
    row.filter(has_text="revoked").wait_for()
    erin = people("erin")
    erin.page.goto(url)
    erin.page.locator("#auth-username").fill("erin")
    erin.page.locator("#auth-password").fill(PASSWORD)
    erin.page.locator("#auth-submit").click()
    erin.page.locator("#auth-error", has_text="That invite no longer works").wait_for()
    # Chromium reports the page's reconnect attempts while the server restarted.
    assert root.unexpected_console_errors(allow_network_noise=True) == []


@pytest.mark.parametrize("server_env", [{"HUBBUB_REGISTRATION": "closed"}], ids=["closed"])
def test_a_closed_server_says_that_its_admins_make_accounts(people: Callable[..., Person]) -> None:
    eve = people("eve")
    eve.page.goto(eve.base_url + "/")
    eve.page.get_by_role("tab", name="Create account").click()
    eve.page.locator("#auth-username").fill("eve")
    eve.page.locator("#auth-password").fill(PASSWORD)
    eve.page.locator("#auth-submit").click()
    eve.page.locator("#auth-error", has_text="its admins make accounts").wait_for()
