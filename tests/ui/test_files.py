"""Files and pictures (#15) in the browser, against a real server: images pasted and dropped
show as thumbnails with their space reserved and open in an accessible lightbox; other files
are cards whose download gives the bytes back; a refused upload says why and can be retried or
replaced; an upload can be cancelled; a picture set in settings shows beside my messages."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from tests.ui.conftest import Person, save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import FilePayload


def payload(name: str, mime: str, data: bytes) -> FilePayload:
    """A file for an <input type=file>, made in memory."""
    return {"name": name, "mimeType": mime, "buffer": data}


def png(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


# Files made in the page from base64, then pasted into the composer or dropped on the timeline
# (what the browser does with a real clipboard or drag, minus the OS).
PASTE = """([b64, name, type]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  const input = document.getElementById("composer-input");
  input.focus();
  const how = { clipboardData: data, bubbles: true, cancelable: true };
  input.dispatchEvent(new ClipboardEvent("paste", how));
}"""
DROP = """([b64, name, type]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  const target = document.getElementById("timeline");
  for (const kind of ["dragenter", "dragover", "drop"]) {
    const how = { dataTransfer: data, bubbles: true, cancelable: true };
    target.dispatchEvent(new DragEvent(kind, how));
  }
}"""


def wait_until(person: Person, check: Callable[[], bool], what: str, timeout_s: float = 15) -> None:
    """Poll (wait_for_function needs the eval the page's CSP forbids)."""
    for _ in range(int(timeout_s * 10)):
        if check():
            return
        person.page.wait_for_timeout(100)
    raise AssertionError(f"{person.username}: timed out waiting for {what}")


LOADED = "i => i.complete && i.naturalWidth > 0"
SEND = re.compile(r".*/api/v1/rooms/[^/]+/messages$")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def tray(person: Person) -> Any:
    return person.page.locator("#composer-uploads li.upload")


def send_files(person: Person, text: str = "") -> None:
    """Send what is in the tray once it is all ready (Enter in the composer)."""
    person.page.locator("#composer-uploads li.upload.uploading").first.wait_for(state="detached")
    box = person.page.locator("#composer-input")
    if text:
        box.fill(text)
    box.press("Enter")
    person.page.locator("#composer-uploads").wait_for(state="hidden")


def last_message(person: Person) -> Any:
    return person.page.locator("#messages li.msg:not(.pending)").last


def focused_label(person: Person) -> str:
    return str(person.page.evaluate("document.activeElement?.getAttribute('aria-label')"))


def test_pasted_and_dropped_images_show_reserved_thumbnails_and_open_in_a_lightbox(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    a = alice.page

    # Pasted: a wide image, uploaded at once, shown ready in the tray, sent with no text.
    wide = png(800, 400)
    a.evaluate(PASTE, [b64(wide), "wide.png", "image/png"])
    tray(alice).filter(has_text="wide.png").filter(has_text="Ready to send").wait_for()
    send_files(alice)
    row = last_message(alice)
    thumb = row.locator(".attachment-image img")
    thumb.wait_for()
    # Its space is reserved from the start: width/height and aspect ratio from the server's
    # dimensions (scaled to at most 320 px), before the image arrives.
    assert thumb.get_attribute("width") == "320"
    assert thumb.get_attribute("height") == "160"
    assert thumb.evaluate("img => img.style.aspectRatio") == "320 / 160"
    wait_until(alice, lambda: bool(thumb.evaluate(LOADED)), "the thumbnail to load")
    box = thumb.bounding_box()
    assert box is not None
    assert abs(box["width"] / box["height"] - 2) < 0.05
    # The server has it as the message's attachment.
    seq = int(row.get_attribute("data-seq") or 0)
    page = alice.api("GET", "/rooms/general/messages", params={"limit": 5}).json()
    sent = next(m for m in page["messages"] if m["seq"] == seq)
    assert [f["filename"] for f in sent["attachments"]] == ["wide.png"]
    assert sent["text"] == ""

    # Bob sees it live, with its space reserved too.
    bob_thumb = bob.page.locator("#messages li.msg .attachment-image img[alt='wide.png']")
    bob_thumb.wait_for()
    assert bob_thumb.get_attribute("height") == "160"

    # Dropped on the timeline: a tall image, sent with text.
    tall = png(300, 600, (20, 120, 40))
    a.evaluate(DROP, [b64(tall), "tall.png", "image/png"])
    tray(alice).filter(has_text="tall.png").filter(has_text="Ready to send").wait_for()
    send_files(alice, "a tall one")
    tall_row = alice.message("a tall one")
    tall_img = tall_row.locator(".attachment-image img")
    tall_img.wait_for()
    assert (tall_img.get_attribute("width"), tall_img.get_attribute("height")) == ("160", "320")

    # The lightbox: a modal dialog with the full image; Escape closes it and focus goes back.
    opener = tall_row.get_by_role("button", name="Open image tall.png")
    opener.click()
    dialog = a.get_by_role("dialog", name="tall.png")
    dialog.wait_for()
    full = dialog.locator("img.lightbox-image")
    wait_until(alice, lambda: bool(full.evaluate(LOADED)), "the full image to load")
    assert full.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [300, 600]
    assert dialog.get_by_role("link", name="Download").get_attribute("download") == "tall.png"
    save_screenshot(a, "files-lightbox")
    a.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert focused_label(alice) == "Open image tall.png"
    # The close button closes it too.
    opener.click()
    dialog.get_by_role("button", name="Close image").click()
    dialog.wait_for(state="hidden")
    assert focused_label(alice) == "Open image tall.png"
    save_screenshot(a, "files-timeline")
    assert alice.unexpected_console_errors() == []
    assert bob.unexpected_console_errors() == []


def test_a_file_shows_as_a_card_and_downloads_its_bytes(people: Callable[..., Person]) -> None:
    alice = people("alice").sign_up()
    a = alice.page
    data = b"quarterly numbers\n" + bytes(range(256)) * 8
    a.locator("#composer-file").set_input_files(
        files=[payload("report.bin", "application/octet-stream", data)]
    )
    tray(alice).filter(has_text="report.bin").filter(has_text="Ready to send").wait_for()
    send_files(alice, "the report")
    card = alice.message("the report").locator(".file-card")
    card.wait_for()
    assert "report.bin" in card.inner_text()
    assert "2.1 KB" in card.inner_text()
    with a.expect_download() as info:
        card.get_by_role("link", name="Download report.bin (2.1 KB)").click()
    download = info.value
    assert download.suggested_filename == "report.bin"
    with open(download.path(), "rb") as f:
        assert f.read() == data
    assert alice.unexpected_console_errors() == []


@pytest.mark.parametrize("server_env", [{"HUBBUB_MAX_UPLOAD_BYTES": "4000"}])
def test_a_refused_or_failed_upload_says_why_and_can_be_replaced_or_retried(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    a = alice.page
    big = payload("big.bin", "application/octet-stream", b"x" * 9000)
    a.locator("#composer-file").set_input_files(files=[big])
    failed = tray(alice).filter(has_text="big.bin")
    failed.filter(has_text="Failed: Too large (9.0 KB)").wait_for()
    # Send refuses while a file in the tray failed, and says so.
    box = a.locator("#composer-input")
    box.fill("with the big file")
    box.press("Enter")
    a.locator("#composer-uploads-note", has_text="An upload failed").wait_for()
    assert alice.timeline_texts("with the big file") == []
    # Replaced by a smaller file, it goes.
    failed.get_by_role("button", name="Remove big.bin").click()
    failed.wait_for(state="detached")
    small = payload("small.txt", "text/plain", b"small enough")
    a.locator("#composer-file").set_input_files(files=[small])
    send_files(alice)
    alice.message("with the big file").locator(".file-card", has_text="small.txt").wait_for()

    # The network fails once: the reason shows, and Retry uploads it.
    refused: list[str] = []

    def fail_once(route: Any) -> None:
        if not refused:
            refused.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    a.route("**/api/v1/rooms/*/uploads*", fail_once)
    again = payload("again.txt", "text/plain", b"second try")
    a.locator("#composer-file").set_input_files(files=[again])
    row = tray(alice).filter(has_text="again.txt")
    row.filter(has_text="Failed: Could not reach the server").wait_for()
    row.get_by_role("button", name="Retry uploading again.txt").click()
    row.filter(has_text="Ready to send").wait_for()
    send_files(alice, "after a retry")
    alice.message("after a retry").locator(".file-card", has_text="again.txt").wait_for()
    assert len(refused) == 1
    # The browser logs the refused upload (413) and the reset connection, nothing else.
    errors = alice.unexpected_console_errors(allow_network_noise=True)
    assert [e for e in errors if "status of 413" not in e] == []


def test_an_upload_in_progress_can_be_cancelled(people: Callable[..., Person]) -> None:
    alice = people("alice").sign_up()
    a = alice.page
    # A slow uplink, so the upload is still going when Cancel is pressed.
    cdp = alice.context.new_cdp_session(a)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 64_000},
    )
    slow = payload("slow.bin", "application/octet-stream", b"s" * 2_000_000)
    a.locator("#composer-file").set_input_files(files=[slow])
    row = tray(alice).filter(has_text="slow.bin")
    row.locator("progress").wait_for()
    # Progress is reported as the bytes go (XMLHttpRequest's upload events).
    row.filter(has_text=re.compile(r"Uploading… [1-9][0-9]?%")).wait_for()
    assert 0 < float(row.locator("progress").get_attribute("value") or 0) < 100
    row.get_by_role("button", name="Cancel uploading slow.bin").click()
    row.wait_for(state="detached")
    a.locator("#composer-uploads").wait_for(state="hidden")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    # What is sent next carries no file.
    alice.send("no file after all")
    row_sent = alice.message("no file after all")
    row_sent.wait_for()
    assert row_sent.locator(".attachments").count() == 0
    page = alice.api("GET", "/rooms/general/messages", params={"limit": 5}).json()
    assert [m["attachments"] for m in page["messages"] if m["text"] == "no file after all"] == [[]]


def test_my_picture_shows_beside_my_messages_for_everyone_and_can_be_removed(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    a = alice.page
    alice.send("hello with a face")
    alice.message("hello with a face").wait_for()
    assert alice.message("hello with a face").locator(".avatar img").count() == 0

    a.locator("#open-settings").click()
    a.locator("#avatar-file").set_input_files(
        files=[payload("me.png", "image/png", png(300, 200, (30, 60, 200)))]
    )
    a.locator("#avatar-status", has_text="Saved").wait_for()
    url = alice.api("GET", "/me").json()["avatar_url"]
    assert url
    assert a.locator("#avatar-preview img").get_attribute("src") == url
    a.get_by_role("button", name="Close account settings").click()

    mine = alice.message("hello with a face").locator(".avatar img")
    mine.wait_for()
    assert mine.get_attribute("src") == url
    # Bob sees it beside Alice's message (user.updated reached his page), and in the members.
    theirs = bob.message("hello with a face").locator(".avatar img")
    theirs.wait_for()
    assert theirs.get_attribute("src") == url
    bob.page.locator("#show-members").click()
    bob.page.locator("#member-list li", has_text="alice").locator(".member-avatar img").wait_for()
    save_screenshot(bob.page, "files-avatar")

    # Removed: the initials again.
    a.locator("#open-settings").click()
    a.get_by_role("button", name="Remove picture").click()
    a.locator("#avatar-status", has_text="Picture removed").wait_for()
    a.get_by_role("button", name="Close account settings").click()
    alice.message("hello with a face").locator(".avatar img").wait_for(state="detached")
    assert alice.message("hello with a face").locator(".avatar").inner_text() == "AL"
    bob.message("hello with a face").locator(".avatar img").wait_for(state="detached")
    assert alice.unexpected_console_errors() == []
    assert bob.unexpected_console_errors() == []


def test_an_image_whose_link_expired_is_shown_again_from_fresh_links(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    a = alice.page
    # Thumbnails are refused as expired links are (403 link_expired) until the page fetches the
    # message again for fresh ones.
    expired: list[str] = []
    fetched: list[str] = []

    def expire_until_refetched(route: Any) -> None:
        if not fetched:
            expired.append(route.request.url)
            route.fulfill(
                status=403,
                content_type="application/problem+json",
                body='{"code": "link_expired", "status": 403, "title": "Link expired"}',
            )
        else:
            route.continue_()

    a.on("request", lambda r: fetched.append(r.url) if "/api/v1/messages/" in r.url else None)
    a.route("**/api/v1/thumbnails/**", expire_until_refetched)
    a.evaluate(PASTE, [b64(png(200, 100)), "old.png", "image/png"])
    tray(alice).filter(has_text="Ready to send").wait_for()
    send_files(alice, "an old picture")
    img = alice.message("an old picture").locator(".attachment-image img")
    img.wait_for()
    # The message was fetched again for fresh links, and the image then loaded.
    wait_until(alice, lambda: bool(img.evaluate(LOADED)), "the image to load from a fresh link")
    assert expired
    message_id = alice.message("an old picture").get_attribute("data-id")
    assert any(u.endswith(f"/api/v1/messages/{message_id}") for u in fetched)
    errors = alice.unexpected_console_errors()
    assert [e for e in errors if "status of 403" not in e] == []


def test_send_waits_for_uploads_still_running_then_sends_text_and_files_together(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    a = alice.page
    # The upload's request is held until the test lets it through.
    held: list[Any] = []
    a.route("**/api/v1/rooms/*/uploads*", lambda route: held.append(route))
    a.locator("#composer-file").set_input_files(
        files=[
            payload("one.txt", "text/plain", b"first file"),
            payload("two.txt", "text/plain", b"second file"),
        ]
    )
    wait_until(alice, lambda: len(held) == 2, "both uploads to start")
    alice.send("both files, please")
    a.locator("#composer-uploads-note", has_text="Sends when the uploads finish").wait_for()
    assert a.locator("#composer-input").input_value() == "both files, please"
    held[0].continue_()
    tray(alice).filter(has_text="one.txt").filter(has_text="Ready to send").wait_for()
    assert alice.timeline_texts("both files") == []
    held[1].continue_()
    row = bob.message("both files, please")
    row.wait_for()
    assert row.locator(".file-card .file-name").all_inner_texts() == ["one.txt", "two.txt"]
    assert a.locator("#composer-input").input_value() == ""
    a.locator("#composer-uploads-note").wait_for(state="hidden")
    assert alice.message("both files, please").locator(".file-card").count() == 2


def test_a_thread_reply_carries_files_and_an_unsent_one_survives_a_reload(
    people: Callable[..., Person],
) -> None:
    """The thread panel's composer attaches files like the room's, and its replies go through
    the outbox: one that cannot be sent shows as pending in the thread, outlives a reload, and
    is then stored once, as a reply in the thread (not in the room)."""
    alice = people("alice").sign_up()
    a = alice.page
    alice.send("the plan")
    # The sent row, not its pending copy (which has no actions and is replaced when the send
    # settles, taking the hover with it).
    root = a.locator("#messages li.msg:not(.pending)", has_text="the plan")
    root.wait_for()
    root.hover()
    root.get_by_role("button", name="Reply in thread").click()
    panel = a.locator("#side-panel")
    panel.locator(".thread-root", has_text="the plan").wait_for()

    data = b"step one\nstep two\n"
    a.locator("#thread-file").set_input_files(files=[payload("steps.txt", "text/plain", data)])
    panel.locator("#thread-uploads li.upload", has_text="steps.txt").filter(
        has_text="Ready to send"
    ).wait_for()
    assert tray(alice).count() == 0, "the room's composer has its own tray"
    box = a.locator("#thread-input")
    box.fill("details attached")
    box.press("Enter")
    reply = panel.locator(".thread-replies li:not(.pending)", has_text="details attached")
    reply.locator(".file-card", has_text="steps.txt").wait_for()
    panel.locator("#thread-uploads").wait_for(state="hidden")

    # No send reaches the server now: the reply waits, shown as pending in the thread only.
    a.route(SEND, lambda route: route.abort())
    box.fill("and one more thing")
    box.press("Enter")
    panel.locator("li.pending", has_text="and one more thing").wait_for()
    assert a.locator("#messages li.pending").count() == 0
    # (alice's API client is made now, while her page can still give it the token.)
    root_id = alice.api("GET", "/rooms/general/messages?limit=50").json()["messages"][0]["id"]
    a.close()  # the tab is closed (a reload would ask first: something is unsent)
    page = alice.context.new_page()
    again = Person("alice", page, alice.context, alice.base_url, http=alice.http)
    page.on("console", lambda m: again.console_errors.append(m.text) if m.type == "error" else None)
    page.goto(alice.base_url + "/")
    again.wait_live()

    def replies() -> list[dict[str, Any]]:
        thread = alice.api("GET", f"/messages/{root_id}/thread").json()
        return list(thread["replies"])

    wait_until(again, lambda: len(replies()) == 2, "the unsent reply stored by the next page")
    page.wait_for_timeout(1000)  # and not a second time
    got = replies()
    assert [r["text"] for r in got] == ["details attached", "and one more thing"]
    assert [f["filename"] for f in got[0]["attachments"]] == ["steps.txt"]
    top = alice.api("GET", "/rooms/general/messages?limit=50&top_level=true").json()["messages"]
    assert [m["text"] for m in top] == ["the plan"]
    assert again.unexpected_console_errors() == []
