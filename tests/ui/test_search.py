"""Message search in the browser (#16): the dialog opened by Ctrl+K and by `/`, results with
their matches marked (diacritics, and emoji before the match: the server's code-point offsets
converted to JavaScript's UTF-16), keyboard navigation, filter chips that edit the query, the
scope chip, "More results", a 422 explained, and opening a result deep in a room's history
(around=) where its "Link" gives a permalink that opens it again."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.ui.conftest import PASSWORD, Person, save_screenshot

pytestmark = pytest.mark.parametrize(
    "server_env", [{"HUBBUB_RATE_LIMITS": "off"}], ids=["no-limits"]
)

ON_SCREEN = (
    "(el) => { const r = el.getBoundingClientRect(),"
    " b = document.getElementById('timeline').getBoundingClientRect();"
    " return r.top >= b.top && r.bottom <= b.bottom; }"
)


class Account:
    """Someone who only uses the API (no browser of their own)."""

    def __init__(self, base_url: str, username: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/api/v1")
        answer = self.http.post("/accounts", json={"username": username, "password": PASSWORD})
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['token']}"

    def post(self, room_id: str, text: str, **extra: Any) -> dict[str, Any]:
        answer = self.http.post(f"/rooms/{room_id}/messages", json={"text": text, **extra})
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body


@pytest.fixture
def bob(server: Any) -> Iterator[Account]:
    account = Account(server.url, "bob")
    yield account
    account.http.close()


def post(person: Person, text: str, room: str = "general") -> dict[str, Any]:
    answer = person.api("POST", f"/rooms/{room}/messages", json={"text": text})
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def open_search(person: Person) -> None:
    person.page.keyboard.press("Control+k")
    person.page.locator("#search-dialog[open]").wait_for()


def results(person: Person) -> Any:
    return person.page.locator("#search-results [role=option]")


def marks(person: Person) -> list[str]:
    texts: list[str] = person.page.locator("#search-results mark").all_inner_texts()
    return texts


def wait_results(person: Person, n: int) -> None:
    """The answer to the query typed last has come: `n` results ("n+" when there are more)."""
    status = re.compile(rf"^{n}\+? results?\b")
    person.page.locator("#search-status", has_text=status).wait_for()
    assert results(person).count() == n


def test_search_opens_by_keys_marks_matches_and_navigates_by_keyboard(
    people: Callable[..., Person], bob: Account
) -> None:
    alice = people("alice").sign_up()
    page = alice.page
    bob.http.post("/rooms/general/join").raise_for_status()
    post(alice, "Meet at the Café on Friday")
    bob.post("general", "🎉🎉 \U0001d4b3 party at the café, bring 😀 cafe snacks")
    post(alice, "nothing to see here")
    alice.message("nothing to see here").wait_for()

    # Ctrl+K opens the dialog with focus in the box, from the composer too.
    page.locator("#composer-input").focus()
    open_search(alice)
    box = page.locator("#search-input")
    assert page.evaluate("document.activeElement.id") == "search-input"
    assert box.get_attribute("role") == "combobox"

    box.fill("cafe")
    wait_results(alice, 2)
    # Newest first; "cafe" finds "Café" and "café"; the marks cover exactly the matches, also
    # after emoji and a mathematical letter (each two UTF-16 units, one code point).
    first, second = results(alice).nth(0), results(alice).nth(1)
    assert first.locator("mark").all_inner_texts() == ["café", "cafe"]
    assert first.locator(".search-text").inner_text() == (
        "🎉🎉 \U0001d4b3 party at the café, bring 😀 cafe snacks"
    )
    assert second.locator("mark").all_inner_texts() == ["Café"]
    assert "#general" in first.locator(".search-room").inner_text()
    assert "bob" in first.locator(".author-name").inner_text()
    assert first.locator("time").get_attribute("datetime")
    assert page.locator("#search-status").inner_text().startswith("2 results")
    # Marks are elements, and the text around them text (nothing went through innerHTML).
    assert first.locator(".search-text mark").count() == 2

    # Up and Down move the active option (aria-activedescendant), Enter opens it.
    assert first.get_attribute("aria-selected") == "true"
    box.press("ArrowDown")
    assert second.get_attribute("aria-selected") == "true"
    assert first.get_attribute("aria-selected") == "false"
    assert box.get_attribute("aria-activedescendant") == second.get_attribute("id")
    box.press("ArrowDown")  # stays on the last
    assert second.get_attribute("aria-selected") == "true"
    box.press("ArrowUp")
    assert first.get_attribute("aria-selected") == "true"
    box.press("ArrowDown")
    target_seq = second.get_attribute("data-seq")
    box.press("Enter")
    page.locator("#search-dialog").wait_for(state="hidden")
    row = page.locator(f"#msg-{target_seq}")
    row.wait_for()
    assert page.evaluate("location.hash") == f"#/r/general/{target_seq}"
    page.locator(f"#msg-{target_seq}:focus").wait_for()
    assert row.evaluate(ON_SCREEN)

    # Escape closes, and focus goes back where it was.
    page.locator("#composer-input").focus()
    open_search(alice)
    assert box.input_value() == "cafe", "the last search is kept"
    page.keyboard.press("Escape")
    page.locator("#search-dialog").wait_for(state="hidden")
    assert page.evaluate("document.activeElement.id") == "composer-input"

    # `/` is a character in the composer, and opens search elsewhere.
    page.locator("#composer-input").press("/")
    assert page.locator("#composer-input").input_value() == "/"
    assert page.locator("#search-dialog").is_hidden()
    page.locator("#composer-input").fill("")
    page.locator("#timeline").focus()
    page.keyboard.press("/")
    page.locator("#search-dialog[open]").wait_for()
    assert page.evaluate("document.activeElement.id") == "search-input"
    assert box.input_value() == "cafe"
    page.keyboard.press("Escape")

    # The header's Search button opens it too.
    page.get_by_role("button", name="Search").click()
    page.locator("#search-dialog[open]").wait_for()
    save_screenshot(page, "search")
    assert alice.unexpected_console_errors() == []


def test_chips_edit_the_query_and_scope_and_errors_are_explained(
    people: Callable[..., Person], bob: Account
) -> None:
    alice = people("alice").sign_up()
    page = alice.page
    bob.http.post("/rooms/general/join").raise_for_status()
    post(alice, "release notes at https://example.org/notes")
    post(alice, "release party tonight")
    bob.post("general", "release checklist is done")
    garden = bob.http.post("/rooms", json={"name": "garden", "visibility": "public"})
    garden.raise_for_status()
    garden_id = garden.json()["id"]
    in_garden = bob.post(garden_id, "release the garden gnomes")
    alice.message("release party tonight").wait_for()

    open_search(alice)
    box = page.locator("#search-input")
    box.fill("release")
    wait_results(alice, 3)

    # "From me": the query gets from:alice, and only my messages are found.
    page.locator("#search-chip-from-me").click()
    assert box.input_value() == "release from:alice"
    assert page.locator("#search-chip-from-me").get_attribute("aria-pressed") == "true"
    wait_results(alice, 2)
    assert all("alice" in t for t in results(alice).locator(".author-name").all_inner_texts())

    # "Has link" adds has:link; the filter shows as a chip that removes it.
    page.locator("#search-chip-link").click()
    assert box.input_value() == "release from:alice has:link"
    wait_results(alice, 1)
    assert results(alice).nth(0).locator(".search-text").inner_text().startswith("release notes")
    page.get_by_role("button", name="Remove filter from: alice").click()
    assert box.input_value() == "release has:link"
    page.get_by_role("button", name="Remove filter has: link").click()
    assert box.input_value() == "release"
    # "Has file" toggles has:file.
    page.locator("#search-chip-file").click()
    assert box.input_value() == "release has:file"
    assert page.locator("#search-chip-file").get_attribute("aria-pressed") == "true"
    page.locator("#search-chip-file").click()
    assert box.input_value() == "release"
    assert page.locator("#search-chip-file").get_attribute("aria-pressed") == "false"
    wait_results(alice, 3)

    # "In #general" (the room on screen) and typed filters become chips.
    page.locator("#search-chip-in").click()
    assert box.input_value() == "release in:general"
    assert page.get_by_role("button", name="Remove filter in: general").count() == 1
    box.fill("release from:bob")
    page.get_by_role("button", name="Remove filter from: bob").wait_for()
    wait_results(alice, 1)

    # The date chips: before: a day long ago finds nothing, and says so.
    box.fill("release")
    wait_results(alice, 3)
    page.locator("#search-before").fill("2000-01-01")
    assert box.input_value() == "release before:2000-01-01"
    page.locator("#search-status", has_text="No messages match “release”").wait_for()
    assert results(alice).count() == 0
    page.locator("#search-after").fill("2000-01-01")
    assert box.input_value() == "release before:2000-01-01 after:2000-01-01"
    page.get_by_role("button", name="Remove filter before: 2000-01-01").click()
    page.get_by_role("button", name="Remove filter after: 2000-01-01").click()
    assert page.locator("#search-before").input_value() == ""
    assert box.input_value() == "release"

    # A query the server cannot run: 422 invalid_query, explained.
    box.fill("release before:2026-13-45")
    error = page.locator("#search-error")
    error.filter(has_text="This search cannot run").wait_for()
    assert "before:" in error.inner_text()
    assert results(alice).count() == 0
    box.fill("release -from:bob")
    page.locator("#search-error", has_text="leave out the '-'").wait_for()

    # "All public rooms": the garden's message, in a room I am not in; opening it asks to join.
    box.fill("gnomes")
    page.locator("#search-status", has_text="No messages match “gnomes”").wait_for()
    page.locator("#search-chip-scope").click()
    assert page.locator("#search-chip-scope").get_attribute("aria-pressed") == "true"
    wait_results(alice, 1)
    hit = results(alice).nth(0)
    assert "#garden" in hit.inner_text()
    assert "not joined" in hit.inner_text()
    hit.click()
    page.locator("#confirm-dialog[open]").wait_for()
    assert "Join #garden?" in page.locator("#confirm-title").inner_text()
    page.locator("#confirm-ok").click()
    page.locator("#room-title", has_text="garden").wait_for()
    page.locator(f"#msg-{in_garden['seq']}").wait_for()
    assert page.evaluate("location.hash") == f"#/r/{garden_id}/{in_garden['seq']}"
    # (Chromium logs each answer of 422 as a console error: the bad queries'.)
    refused = [e for e in alice.unexpected_console_errors() if "status of 422" in e]
    assert len(refused) >= 2
    assert [e for e in alice.unexpected_console_errors() if e not in refused] == []


def test_more_results_page_by_cursor_and_a_deep_hit_opens_in_place_with_its_permalink(
    people: Callable[..., Person], bob: Account
) -> None:
    alice = people("alice").sign_up()
    page = alice.page
    bob.http.post("/rooms/general/join").raise_for_status()
    needle = bob.post("general", "the 🧵 needle is here, deep down")
    for i in range(1, 301):
        text = f"haystack {i}" + (" straw" if i % 12 == 0 else "")
        post(alice, text)
    assert needle["seq"] < 10
    last = post(alice, "haystack done")["seq"]
    alice.api("PUT", "/rooms/general/read", json={"seq": last}).raise_for_status()
    page.reload()  # a fresh page holds the newest page only, not all that arrived live
    alice.wait_live()
    alice.message("haystack done").wait_for()
    assert page.locator(f"#msg-{needle['seq']}").count() == 0

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/v1/" in r.url else None)

    # 25 messages say "straw": 20 first, then "More results" (next_cursor) for the other 5.
    open_search(alice)
    box = page.locator("#search-input")
    box.fill("straw")
    wait_results(alice, 20)
    assert page.locator("#search-status").inner_text().startswith("20+ results")
    page.locator("#search-more").click()
    wait_results(alice, 25)
    assert page.locator("#search-more").is_hidden()
    assert page.locator("#search-status").inner_text().startswith("25 results")
    assert sum("cursor=" in u for u in requests if "/search?" in u) == 1
    texts = results(alice).locator(".search-text").all_inner_texts()
    assert texts[0] == "haystack 300 straw"
    assert texts[-1] == "haystack 12 straw"

    # Down past the last result of a page loads the next one.
    box.fill("haystack")
    wait_results(alice, 20)
    box.press("Control+End")
    assert results(alice).nth(19).get_attribute("aria-selected") == "true"
    box.press("ArrowDown")
    wait_results(alice, 40)
    assert results(alice).nth(20).get_attribute("aria-selected") == "true"

    # A hit 300 messages back: the room opens around it (not paging back from the newest),
    # scrolled to it and highlighted.
    box.fill("needle")
    wait_results(alice, 1)
    assert marks(alice) == ["needle"]
    requests.clear()
    box.press("Enter")
    row = page.locator(f"#msg-{needle['seq']}")
    page.locator(f"#msg-{needle['seq']}.flash").wait_for()
    for _ in range(50):
        if row.evaluate(ON_SCREEN):
            break
        page.wait_for_timeout(100)
    assert row.evaluate(ON_SCREEN)
    around = [u for u in requests if "around=" in u]
    assert len(around) == 1, requests
    assert f"around={needle['seq']}" in around[0]
    assert page.locator(f"#msg-{last}").count() == 0, "the newest page was not needed"
    assert page.evaluate("location.hash") == f"#/r/general/{needle['seq']}"

    # Its "Link" gives the permalink; following it in a fresh page opens it there again.
    alice.context.grant_permissions(["clipboard-read", "clipboard-write"])
    row.hover()
    row.get_by_role("button", name="Link").click()
    page.locator(".toast", has_text="Link to the message copied.").wait_for()
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == f"{alice.base_url}/#/r/general/{needle['seq']}"

    other = alice.context.new_page()
    other.goto(link)
    other.locator("html[data-connection='live']").wait_for(state="attached")
    linked = other.locator(f"#msg-{needle['seq']}")
    linked.wait_for()
    for _ in range(50):
        if linked.evaluate(ON_SCREEN):
            break
        other.wait_for_timeout(100)
    assert linked.evaluate(ON_SCREEN)
    assert "needle" in linked.inner_text()
    other.close()
    assert alice.unexpected_console_errors() == []


def test_a_reply_in_a_thread_opens_its_thread(people: Callable[..., Person], bob: Account) -> None:
    alice = people("alice").sign_up()
    page = alice.page
    bob.http.post("/rooms/general/join").raise_for_status()
    root = post(alice, "plans for the offsite")
    reply = bob.post("general", "the lighthouse venue is free", thread_root=root["id"])
    alice.message("plans for the offsite").wait_for()

    open_search(alice)
    page.locator("#search-input").fill("lighthouse")
    wait_results(alice, 1)
    assert "in a thread" in results(alice).nth(0).inner_text()
    page.locator("#search-input").press("Enter")
    panel = page.locator("#side-panel")
    panel.locator(f".thread-reply[data-seq='{reply['seq']}']").wait_for()
    assert "lighthouse" in panel.inner_text()
    assert page.evaluate("location.hash") == f"#/r/general/{root['seq']}"
    assert alice.unexpected_console_errors() == []
