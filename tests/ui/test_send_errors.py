"""Send errors say what happened (server error, refused and why, offline), server errors are
tried a few times and then offer Retry/Delete without holding the room's later messages, and
going offline shows the banner at once and reconnects on the way back."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.ui.conftest import Person

SEND = re.compile(r".*/api/v1/rooms/[^/]+/messages$")


def stored(person: Person) -> list[str]:
    messages = person.api("GET", "/rooms/general/messages?limit=50").json()["messages"]
    return [m["text"] for m in messages]


def test_server_errors_and_refusals_say_so_and_do_not_hold_the_queue(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    a = alice.page

    def proxy(route: Any) -> None:
        body = route.request.post_data
        text = json.loads(body)["text"] if route.request.method == "POST" and body else ""
        if text == "boom":
            route.fulfill(status=500, json={"code": "internal", "detail": "Internal error"})
        elif text == "nope":
            route.fulfill(status=422, json={"code": "invalid", "detail": "Not allowed here"})
        else:
            route.fallback()

    a.route(SEND, proxy)
    pending = a.locator("#messages li.pending")

    alice.send("nope")
    refused = pending.filter(has_text="nope")
    refused.locator(
        ".pending-status", has_text="Not sent: Refused by the server: Not allowed here"
    ).wait_for()

    alice.send("boom")
    alice.send("after")
    boom = pending.filter(has_text="boom")
    boom.locator(".pending-status", has_text="Server error (500). Trying again…").wait_for()
    assert "connection" not in boom.inner_text()
    # A few quick tries, then it gives up and the next message goes.
    boom.locator(".pending-status", has_text="Not sent: Server error (500)").wait_for(
        timeout=15_000
    )
    alice.message("after").wait_for()
    assert stored(alice) == ["after"]

    a.unroute(SEND)
    boom.get_by_role("button", name="Retry").click()
    alice.message("boom").wait_for()
    boom.wait_for(state="detached")
    refused.get_by_role("button", name="Delete").click()
    refused.wait_for(state="detached")
    a.wait_for_timeout(300)
    assert stored(alice) == ["after", "boom"]


def test_going_offline_shows_the_banner_at_once_and_coming_back_sends(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    a = alice.page
    banner = a.locator("#banner")

    alice.context.set_offline(True)
    banner.filter(has_text="You are offline").wait_for(timeout=1500)
    alice.send("written offline")
    row = a.locator("#messages li.pending", has_text="written offline")
    row.locator(".pending-status", has_text="You are offline").wait_for()
    a.wait_for_timeout(1000)
    assert stored(alice) == []

    alice.context.set_offline(False)
    a.locator("html[data-connection='live']").wait_for()
    alice.message("written offline").wait_for()
    row.wait_for(state="detached")
    banner.wait_for(state="hidden")
    assert stored(alice) == ["written offline"]
