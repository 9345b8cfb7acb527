"""Unsent messages and drafts outlive the page: kept in IndexedDB, resumed once by the next page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.ui.conftest import Person

SEND = re.compile(r".*/api/v1/rooms/[^/]+/messages$")


def wait_until(person: Person, check: Callable[[], bool], what: str, timeout_s: float = 15) -> None:
    for _ in range(int(timeout_s * 10)):
        if check():
            return
        person.page.wait_for_timeout(100)
    raise AssertionError(f"{person.username}: timed out waiting for {what}")


def test_queued_messages_and_the_draft_survive_closing_the_tab_and_are_sent_once(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    a = alice.page

    # 1. The server stores the first message, but its answer is lost (a 503 from a proxy, say);
    # 2. after that no send reaches the server at all (the first one's retries neither).
    posts: list[str] = []

    def proxy(route: Any) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        posts.append(route.request.post_data or "")
        if len(posts) == 1:
            route.fetch()
            route.fulfill(status=503, json={"code": "unavailable", "detail": "proxy hiccup"})
        else:
            route.abort()

    a.route(SEND, proxy)
    alice.send("stored but unanswered")
    alice.message("stored but unanswered").wait_for()  # its echo came on the stream
    alice.send("never reached the server")
    a.locator("#messages li.pending", has_text="never reached the server").wait_for()
    a.locator("#composer-input").press_sequentially("half a thought")
    a.wait_for_timeout(500)  # the draft is written after a pause in typing

    # Leaving now asks first (a reload would keep the messages, but closing loses time).
    a.close(run_before_unload=True)
    asked = lambda: any(d.startswith("beforeunload") for d in alice.dialogs)  # noqa: E731
    wait_until(alice, asked, "the leave-page prompt")
    assert not a.is_closed(), "dismissing the prompt keeps the page"

    held = alice.api("GET", "/rooms/general/messages?limit=50").json()["messages"]
    assert [m["text"] for m in held] == ["stored but unanswered"]

    # The tab is closed; a new one opens the app in the same browser profile.
    a.close()
    page = alice.context.new_page()
    again = Person("alice", page, alice.context, alice.base_url, http=alice.http)
    page.on("console", lambda m: again.console_errors.append(m.text) if m.type == "error" else None)
    page.goto(alice.base_url + "/")
    again.wait_live()

    assert page.locator("#composer-input").input_value() == "half a thought"
    again.message("never reached the server").wait_for()
    page.locator("#messages li.pending").wait_for(state="detached")

    def stored() -> list[str]:
        messages = alice.api("GET", "/rooms/general/messages?limit=50").json()["messages"]
        return [m["text"] for m in messages]

    wait_until(again, lambda: len(stored()) >= 2, "both messages on the server")
    page.wait_for_timeout(1000)  # nothing is sent a second time late
    assert stored() == ["stored but unanswered", "never reached the server"]
    assert again.timeline_texts() == ["stored but unanswered", "never reached the server"]
    assert again.unexpected_console_errors() == []

    # Nothing is left to resume: a third page sends nothing more.
    page.reload()
    again.wait_live()
    page.wait_for_timeout(500)
    assert stored() == ["stored but unanswered", "never reached the server"]
