"""Files over the API, on both engines: uploads (raw and multipart), limits, sniffing,
attachments on messages, downloads (signed links, bearer tokens, who may read), safe serving,
ranges, and images (dimensions, thumbnails, EXIF, bombs)."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from PIL import Image

from hubbub.config import Settings
from tests.api.conftest import API, Account, assert_problem, sign_up
from tests.api.files_support import (
    GPS_MARKER,
    animated_gif,
    jpeg_with_gps,
    png,
    png_bomb,
    random_bytes,
    stored_files,
    upload,
    uploaded,
)
from tests.api.servers import events_since, head, running
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio

LIMIT = 200_000


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Files in this test's directory (on PostgreSQL too), a small upload limit."""
    return settings.replace(files_url=str(tmp_path / "files"), max_upload_bytes=LIMIT)


@pytest.fixture
async def room(alice: Account, bob: Account) -> dict[str, Any]:
    """A private room of alice's with bob in it."""
    made = await alice.create_room("files", "private")
    r = await alice.put(f"/rooms/{made['id']}/members/bob")
    assert r.status_code in (200, 201, 204), r.text
    return made


async def fetch(client: httpx.AsyncClient, url: str, **kw: Any) -> httpx.Response:
    return await client.get(url, **kw)


# -- round trips -----------------------------------------------------------------------------


async def test_raw_upload_round_trips_random_bytes(
    client: httpx.AsyncClient, alice: Account, room: dict[str, Any]
) -> None:
    data = random_bytes(150_000)
    up = await uploaded(alice, room["id"], data, filename="data.bin")
    assert up["size"] == len(data)
    assert up["sha256"] == hashlib.sha256(data).hexdigest()
    assert up["filename"] == "data.bin"
    assert up["content_type"] == "application/octet-stream"
    assert up["thumbnail_url"] is None
    r = await fetch(client, up["url"])  # signed: no header needed
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == up["sha256"]
    plain = up["url"].split("?")[0]
    r = await fetch(client, plain, headers=alice.headers)  # or the bearer token
    assert r.status_code == 200
    assert r.content == data


async def test_multipart_upload_takes_the_file_field(
    client: httpx.AsyncClient, alice: Account, room: dict[str, Any]
) -> None:
    data = random_bytes(70_000)
    r = await alice.post(
        f"/rooms/{room['id']}/uploads",
        files={"file": ("r\u00e9sum\u00e9.pdf", b"%PDF-1.4\n" + data, "application/pdf")},
        data={"note": "ignored"},
    )
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["filename"] == "r\u00e9sum\u00e9.pdf"
    assert up["content_type"] == "application/pdf"
    assert (await fetch(client, up["url"])).content == b"%PDF-1.4\n" + data


async def test_filename_from_content_disposition(alice: Account, room: dict[str, Any]) -> None:
    r = await alice.post(
        f"/rooms/{room['id']}/uploads",
        content=b"hello",
        headers={
            "Content-Type": "text/plain",
            "Content-Disposition": "attachment; filename*=UTF-8''na%C3%AFve%20notes.txt",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == "na\u00efve notes.txt"


# -- limits ------------------------------------------------------------------------------------


async def test_limit_is_exact_and_413_one_byte_over(
    settings: Settings, alice: Account, room: dict[str, Any]
) -> None:
    assert (await upload(alice, room["id"], b"x" * LIMIT)).status_code == 201
    assert_problem(await upload(alice, room["id"], b"x" * (LIMIT + 1)), 413, "file_too_large")

    async def streamed() -> Any:  # no Content-Length: refused as the bytes arrive
        for _ in range(LIMIT // 10_000 + 1):
            yield b"y" * 10_000

    r = await alice.post(
        f"/rooms/{room['id']}/uploads",
        content=streamed(),
        params={"filename": "big"},
        headers={"Content-Type": "application/octet-stream"},
    )
    assert_problem(r, 413, "file_too_large")
    assert [p for p in stored_files(settings) if "tmp" not in p.parts] != []  # the first only
    assert [p for p in stored_files(settings) if "tmp" in p.parts] == []  # no spool left


async def test_quota_counts_every_upload_of_the_account(settings: Settings) -> None:
    async with running(settings.replace(upload_quota_bytes=150_000)) as node:
        alice = await sign_up(node.client, "alice")
        bob = await sign_up(node.client, "bob")
        room = await alice.create_room("r", "public")
        await bob.post(f"/rooms/{room['id']}/join")
        assert (await upload(alice, room["id"], b"a" * 100_000)).status_code == 201
        r = await upload(alice, room["id"], b"b" * 50_001)
        assert_problem(r, 413, "quota_exceeded")
        assert (await upload(alice, room["id"], b"c" * 50_000)).status_code == 201
        assert (await upload(bob, room["id"], b"d" * 100_000)).status_code == 201  # his own


async def test_empty_file_and_missing_filename_are_422(
    alice: Account, room: dict[str, Any]
) -> None:
    r = assert_problem(await upload(alice, room["id"], b""), 422, "invalid")
    assert r["field"] == "file"
    r = assert_problem(await upload(alice, room["id"], b"data", filename=None), 422, "invalid")
    assert r["field"] == "filename"
    r = assert_problem(await upload(alice, room["id"], b"data", filename="../"), 422, "invalid")


async def test_only_members_who_may_write_upload(
    alice: Account, bob: Account, client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    carol = await sign_up(client, "carol")
    assert_problem(await upload(carol, room["id"], b"data"), 404, "room_not_found")
    public = await alice.create_room("open", "public")
    assert_problem(await upload(carol, public["id"], b"data"), 403, "not_a_member")
    r = await client.post(f"{API}/rooms/{public['id']}/uploads?filename=a", content=b"x")
    assert r.status_code == 401


# -- sniffing and safe serving -----------------------------------------------------------------


async def test_html_labelled_png_is_sniffed_and_served_as_a_download(
    client: httpx.AsyncClient, alice: Account, room: dict[str, Any]
) -> None:
    html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
    up = await uploaded(alice, room["id"], html, filename="cat.png", content_type="image/png")
    assert up["content_type"] == "text/html"
    r = await fetch(client, up["url"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert r.headers["cache-control"].startswith("private")


async def test_svg_with_script_is_never_inline_nor_svg(
    client: httpx.AsyncClient, alice: Account, room: dict[str, Any]
) -> None:
    svg = (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">'
        b"<script>alert(1)</script><circle r='4'/></svg>"
    )
    up = await uploaded(alice, room["id"], svg, filename="logo.svg", content_type="image/svg+xml")
    assert up["content_type"] == "image/svg+xml"
    assert up["thumbnail_url"] is None
    r = await fetch(client, up["url"])
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in r.headers["content-security-policy"]


async def test_inert_types_are_inline_with_their_type(
    client: httpx.AsyncClient, alice: Account, room: dict[str, Any]
) -> None:
    up = await uploaded(alice, room["id"], png(), filename="pic.png", content_type="text/html")
    assert up["content_type"] == "image/png"
    r = await fetch(client, up["url"])
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"].startswith("inline;")
    text = await uploaded(alice, room["id"], b"just text\n", filename="a.txt")
    r = await fetch(client, text["url"])
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["content-disposition"].startswith("attachment;")


# -- downloads: who may, signatures ------------------------------------------------------------


async def test_authorization_matrix(
    client: httpx.AsyncClient, alice: Account, bob: Account, room: dict[str, Any]
) -> None:
    carol = await sign_up(client, "carol")
    up = await uploaded(alice, room["id"], b"private bytes", filename="p.txt")
    plain = up["url"].split("?")[0]
    # Before it is attached, only the uploader sees it.
    assert (await fetch(client, plain, headers=alice.headers)).status_code == 200
    assert_problem(await fetch(client, plain, headers=bob.headers), 404, "file_not_found")
    await alice.send(room["id"], "", attachments=[up["id"]])
    assert (await fetch(client, plain, headers=bob.headers)).status_code == 200
    assert_problem(await fetch(client, plain, headers=carol.headers), 404, "file_not_found")
    assert_problem(await fetch(client, plain), 401, "unauthenticated")
    # The wrong name in the path is no way around it.
    wrong = plain.rsplit("/", 1)[0] + "/other.txt"
    assert_problem(await fetch(client, wrong, headers=bob.headers), 404, "file_not_found")
    # A public room: any signed-in user.
    public = await alice.create_room("open", "public")
    open_up = await uploaded(alice, public["id"], b"public bytes", filename="o.txt")
    await alice.send(public["id"], "here", attachments=[open_up["id"]])
    r = await fetch(client, open_up["url"].split("?")[0], headers=carol.headers)
    assert r.status_code == 200
    assert r.content == b"public bytes"


async def test_forged_and_other_files_signatures_are_404(
    client: httpx.AsyncClient, alice: Account, room: dict[str, Any]
) -> None:
    one = await uploaded(alice, room["id"], b"one", filename="one.txt")
    two = await uploaded(alice, room["id"], b"two", filename="two.txt")
    query_of_one = one["url"].split("?")[1]
    other = two["url"].split("?")[0] + "?" + query_of_one  # one's signature on two
    assert_problem(await fetch(client, other), 404, "file_not_found")
    forged = one["url"][:-4] + ("0000" if not one["url"].endswith("0000") else "1111")
    assert_problem(await fetch(client, forged), 404, "file_not_found")
    later = one["url"].replace("exp=", "exp=9")  # a later expiry the signature does not cover
    assert_problem(await fetch(client, later), 404, "file_not_found")


async def test_expired_link_is_403_link_expired(settings: Settings, tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(settings, clock) as node:
        alice = await sign_up(node.client, "alice")
        room = await alice.create_room("r", "private")
        up = await uploaded(alice, room["id"], b"soon gone", filename="x.txt")
        assert (await fetch(node.client, up["url"])).status_code == 200
        clock.advance(2 * 3600)
        assert_problem(await fetch(node.client, up["url"]), 403, "link_expired")
        r = await alice.get(f"/rooms/{room['id']}/messages")
        assert r.status_code == 200


# -- ranges and caching --------------------------------------------------------------------------


async def test_range_requests(
    client: httpx.AsyncClient, alice: Account, room: dict[str, Any]
) -> None:
    data = bytes(range(256)) * 100
    up = await uploaded(alice, room["id"], data, filename="song.bin")
    r = await fetch(client, up["url"], headers={"Range": "bytes=100-199"})
    assert r.status_code == 206
    assert r.content == data[100:200]
    assert r.headers["content-range"] == f"bytes 100-199/{len(data)}"
    r = await fetch(client, up["url"], headers={"Range": "bytes=-10"})
    assert (r.status_code, r.content) == (206, data[-10:])
    r = await fetch(client, up["url"], headers={"Range": "bytes=25000-"})
    assert (r.status_code, r.content) == (206, data[25000:])
    r = await fetch(client, up["url"], headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{len(data)}"
    r = await fetch(client, up["url"])
    assert r.headers["accept-ranges"] == "bytes"
    etag = r.headers["etag"]
    r = await fetch(client, up["url"], headers={"If-None-Match": etag})
    assert r.status_code == 304


# -- attachments -------------------------------------------------------------------------------


async def test_attachments_on_send_history_and_events(
    client: httpx.AsyncClient, alice: Account, bob: Account, room: dict[str, Any]
) -> None:
    ids = []
    for i in range(3):
        ids.append((await uploaded(alice, room["id"], png(40 + i, 30), filename=f"{i}.png"))["id"])
    since = await head(bob)
    sent = await alice.send(room["id"], "", attachments=ids)
    assert [a["id"] for a in sent["attachments"]] == ids
    first = sent["attachments"][0]
    assert (first["width"], first["height"], first["content_type"]) == (40, 30, "image/png")
    assert first["thumbnail_url"] is not None
    page = (await bob.get(f"/rooms/{room['id']}/messages")).json()
    shown = page["messages"][-1]["attachments"]
    assert [a["filename"] for a in shown] == ["0.png", "1.png", "2.png"]
    r = await fetch(client, shown[1]["url"])
    assert r.status_code == 200
    assert Image.open(io.BytesIO(r.content)).size == (41, 30)
    thumb = await fetch(client, shown[1]["thumbnail_url"])
    assert thumb.headers["content-type"] == "image/webp"
    created = await events_since(bob, since, "message.created")
    assert [a["id"] for a in created[-1]["data"]["attachments"]] == ids


async def test_attachment_rules(
    client: httpx.AsyncClient, alice: Account, bob: Account, room: dict[str, Any]
) -> None:
    mine = await uploaded(alice, room["id"], b"a", filename="a.txt")
    bobs = await uploaded(bob, room["id"], b"b", filename="b.txt")
    other_room = await alice.create_room("other", "private")
    elsewhere = await uploaded(alice, other_room["id"], b"c", filename="c.txt")
    path = f"/rooms/{room['id']}/messages"
    for bad in ([bobs["id"]], [elsewhere["id"]], ["f_nothing"], [mine["id"], mine["id"]]):
        r = await alice.post(path, {"text": "x", "attachments": bad})
        assert r.status_code == 422, (bad, r.text)
    many = [(await uploaded(alice, room["id"], b"m", filename="m"))["id"] for _ in range(11)]
    assert (await alice.post(path, {"text": "x", "attachments": many})).status_code == 422
    assert_problem(await alice.post(path, {"text": ""}), 422, "invalid")
    assert (await alice.post(path, {"attachments": [mine["id"]]})).status_code == 201
    r = await alice.post(path, {"text": "again", "attachments": [mine["id"]]})
    assert_problem(r, 422, "invalid")  # attached already


# -- images ------------------------------------------------------------------------------------


async def test_jpeg_exif_and_gps_are_stripped_before_storing(
    client: httpx.AsyncClient, settings: Settings, alice: Account, room: dict[str, Any]
) -> None:
    for orientation in (1, 6):
        original = jpeg_with_gps(orientation)
        assert GPS_MARKER in original
        up = await uploaded(alice, room["id"], original, filename="photo.jpg")
        body = (await fetch(client, up["url"])).content
        assert GPS_MARKER not in body
        assert Image.open(io.BytesIO(body)).getexif().get(0x8825) is None
        assert hashlib.sha256(body).hexdigest() == up["sha256"]
        expected = (300, 200) if orientation == 1 else (200, 300)  # rotated upright
        assert (up["width"], up["height"]) == expected
    root = settings.files_dir
    assert root is not None
    for path in stored_files(settings):
        assert GPS_MARKER not in (root / path).read_bytes(), path


async def test_animated_gif_thumbnails_its_first_frame(
    client: httpx.AsyncClient, alice: Account, room: dict[str, Any]
) -> None:
    up = await uploaded(alice, room["id"], animated_gif(), filename="anim.gif")
    assert (up["content_type"], up["width"], up["height"]) == ("image/gif", 500, 100)
    thumb = Image.open(io.BytesIO((await fetch(client, up["thumbnail_url"])).content))
    assert thumb.size == (400, 80)
    red, green, blue = thumb.convert("RGB").getpixel((200, 40))  # type: ignore[misc]
    assert (red > 200, green < 60, blue < 60) == (True, True, True)


async def test_decompression_bomb_is_422(
    settings: Settings, alice: Account, room: dict[str, Any]
) -> None:
    assert_problem(
        await upload(alice, room["id"], png_bomb(), filename="b.png"), 422, "image_too_large"
    )
    assert_problem(
        await upload(alice, room["id"], png_bomb(9000, 9000), filename="b.png"),
        422,
        "image_too_large",
    )
    assert stored_files(settings) == []


async def test_a_broken_image_is_422(alice: Account, room: dict[str, Any]) -> None:
    broken = png()[:200]
    assert_problem(await upload(alice, room["id"], broken, filename="x.png"), 422, "bad_image")


async def test_half_a_signed_link_is_404(
    client: httpx.AsyncClient, alice: Account, room: dict[str, Any]
) -> None:
    up = await uploaded(alice, room["id"], b"x", filename="x.txt")
    path, query = up["url"].split("?")
    exp, sig = query.split("&")
    for half in (exp, sig):
        r = await fetch(client, f"{path}?{half}", headers=alice.headers)
        assert_problem(r, 404, "file_not_found")


async def test_concurrent_uploads_never_pass_the_quota_together(settings: Settings) -> None:
    async with running(settings.replace(upload_quota_bytes=250_000)) as node:
        alice = await sign_up(node.client, "alice")
        room = await alice.create_room("r", "private")
        statuses: list[int] = []

        async def one() -> None:
            statuses.append((await upload(alice, room["id"], random_bytes(100_000))).status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(one)
        assert sorted(statuses) == [201, 201, 413, 413, 413]
    # Those refused in the writer had stored their bytes already: gone again.
    assert len([p for p in stored_files(settings) if p.parts[0] == "objects"]) == 2


async def test_a_client_that_goes_away_mid_upload_leaves_nothing(
    app: Any,
    settings: Settings,
    alice: Account,
    room: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Half a body, then the connection drops: no file, no spool, nothing logged as ours."""
    arrived: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"x" * 100_000, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return arrived.pop(0) if arrived else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path = f"/api/v1/rooms/{room['id']}/uploads"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"filename=half.bin",
        "headers": [
            (b"host", b"hubbub.test"),
            (b"authorization", f"Bearer {alice.token}".encode()),
            (b"content-type", b"application/octet-stream"),
            (b"content-length", b"150000"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("hubbub.test", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert stored_files(settings) == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
