"""The page itself: security headers, a clean load, accessible forms, and the session."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from hubbub.web.client import CSP
from tests.server_process import ServerProcess
from tests.ui.conftest import PASSWORD, Person, save_screenshot


def test_page_is_served_with_a_strict_content_security_policy(server: ServerProcess) -> None:
    r = httpx.get(server.url + "/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = {
        part.split()[0]: part.split()[1:]
        for part in r.headers["content-security-policy"].split("; ")
    }
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]  # 'self' covers this origin's ws: and wss: (CSP 3)
    assert csp["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in v for values in csp.values() for v in values)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in r.text
    assert " style=" not in r.text
    icon = httpx.get(server.url + "/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file

    # The page's files live under a path naming their build: cached for good, never mixed.
    scripts = re.findall(r'src="(/app/[0-9a-f]{16}/js/main\.js)"', r.text)
    assert len(scripts) == 1, r.text
    script = httpx.get(server.url + scripts[0])
    assert script.headers["content-type"].startswith("text/javascript")
    assert "immutable" in script.headers["cache-control"]
    assert httpx.get(server.url + scripts[0].replace("main.js", "nope.js")).status_code == 404
    assert httpx.get(server.url + "/app/x/../../pyproject.toml").status_code == 404


def test_loads_without_console_errors_and_remembers_the_session(
    people: Callable[..., Person],
) -> None:
    alice = people("alice")
    page = alice.page
    failed: list[str] = []
    page.on("requestfailed", lambda req: failed.append(req.url))
    page.on("response", lambda res: failed.append(res.url) if res.status >= 400 else None)
    page.goto(alice.base_url + "/")
    page.get_by_role("button", name="Sign in").wait_for()
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input, textarea')]
             .filter(el => el.type !== 'radio' && !el.labels.length
                           && !el.getAttribute('aria-label'))
             .map(el => el.id)"""
    )
    assert unlabelled == []
    save_screenshot(page, "sign-in")

    alice.sign_up()
    page.locator("#room-title", has_text="general").wait_for()
    page.locator("#history-status", has_text="No messages yet").wait_for()
    assert page.locator("#me").inner_text() == "alice"

    page.reload()  # the session survives a reload
    alice.wait_live()
    assert page.locator("#me").inner_text() == "alice"

    assert alice.console_errors == []
    # Settle first: a request still in flight when the session ends (opening a room fetches
    # its messages and members) would fail with 401, or be cut off by the reload, and this
    # test counts every failed request.
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.evaluate("localStorage.getItem('hubbub.session')") is None
    page.locator("#auth-username").fill("alice")
    page.locator("#auth-password").fill("wrong password")
    page.locator("#auth-submit").click()
    page.locator("#auth-error", has_text="Wrong username or password").wait_for()
    page.locator("#auth-password").fill(PASSWORD)
    page.locator("#auth-submit").click()
    alice.wait_live()

    # The one failure is the wrong password's 401 (which Chromium logs as a console error).
    assert [u for u in failed if not u.endswith("/api/v1/sessions")] == []
    assert [e for e in alice.console_errors if "401" not in e] == []


def test_static_html_is_served_with_the_same_policy(server: ServerProcess) -> None:
    r = httpx.get(f"{server.url}/static/app/index.html")
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["x-content-type-options"] == "nosniff"
