"""Avatars of people and rooms: re-encoded square WebPs without metadata, served to anyone
with the (unguessable) link, replaced and removed without leaving bytes behind."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from hubbub.config import Settings
from tests.api.conftest import Account, assert_problem, sign_up
from tests.api.files_support import GPS_MARKER, jpeg_with_gps, png, png_bomb, stored_files
from tests.api.servers import events_since, head

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.replace(files_url=str(tmp_path / "files"))


def objects(settings: Settings) -> list[Path]:
    return [p for p in stored_files(settings) if p.parts[0] == "objects"]


async def put_avatar(account: Account, path: str, data: bytes) -> httpx.Response:
    return await account.client.put(
        "/api/v1" + path,
        content=data,
        headers={**account.headers, "Content-Type": "application/octet-stream"},
    )


async def test_my_avatar_is_a_square_webp_without_metadata(
    client: httpx.AsyncClient, settings: Settings, alice: Account, bob: Account
) -> None:
    since = await head(bob)
    r = await put_avatar(alice, "/me/avatar", jpeg_with_gps())
    assert r.status_code == 200, r.text
    url = r.json()["avatar_url"]
    assert url.startswith("/api/v1/avatars/av_")
    picture = await client.get(url)  # no token: the link is the permission
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/webp"
    assert picture.headers["cache-control"].startswith("public")
    assert GPS_MARKER not in picture.content
    image = Image.open(io.BytesIO(picture.content))
    assert (image.format, image.size) == ("WEBP", (256, 256))
    assert (await alice.get("/me")).json()["avatar_url"] == url
    assert (await bob.get("/users/alice")).json()["avatar_url"] == url
    updated = await events_since(bob, since, "user.updated")
    assert [e["data"]["avatar_url"] for e in updated] == [url]
    # A new picture: a new link, and the old one's bytes are gone.
    r = await put_avatar(alice, "/me/avatar", png(100, 400))
    new_url = r.json()["avatar_url"]
    assert new_url != url
    assert_problem(await client.get(url), 404, "file_not_found")
    assert len(objects(settings)) == 1
    r = await alice.delete("/me/avatar")
    assert r.status_code == 200
    assert r.json()["avatar_url"] is None
    assert objects(settings) == []
    assert (await alice.delete("/me/avatar")).status_code == 200  # idempotent


async def test_avatars_must_be_sane_images(alice: Account) -> None:
    assert_problem(await put_avatar(alice, "/me/avatar", b"<svg></svg>"), 422, "bad_image")
    assert_problem(await put_avatar(alice, "/me/avatar", png_bomb()), 422, "image_too_large")
    assert_problem(await put_avatar(alice, "/me/avatar", b""), 422, "bad_image")
    r = await alice.client.get("/api/v1/avatars/../../etc/passwd")
    assert r.status_code == 404
    assert_problem(await alice.client.get("/api/v1/avatars/av_" + "0" * 32), 404, "file_not_found")


async def test_room_avatars_are_for_owners_and_admins(
    client: httpx.AsyncClient, settings: Settings, alice: Account, bob: Account
) -> None:
    room = await alice.create_room("team", "public")
    assert (await bob.post(f"/rooms/{room['id']}/join")).status_code == 204
    assert_problem(await put_avatar(bob, f"/rooms/{room['id']}/avatar", png()), 403, "not_allowed")
    since = await head(bob)
    r = await put_avatar(alice, f"/rooms/{room['id']}/avatar", png())
    assert r.status_code == 200, r.text
    url = r.json()["avatar_url"]
    assert (await bob.get(f"/rooms/{room['id']}")).json()["avatar_url"] == url
    updated = await events_since(bob, since, "room.updated")
    assert [e["data"]["avatar_url"] for e in updated] == [url]
    private = await alice.create_room("secret", "private")
    assert_problem(
        await put_avatar(bob, f"/rooms/{private['id']}/avatar", png()), 404, "room_not_found"
    )
    r = await alice.post("/dms", {"username": "bob"})
    assert r.status_code in (200, 201), r.text
    dm: dict[str, Any] = r.json()
    assert_problem(await put_avatar(alice, f"/rooms/{dm['id']}/avatar", png()), 403, "not_allowed")
    assert objects(settings) != []
    r = await alice.delete(f"/rooms/{room['id']}/avatar")
    assert r.json()["avatar_url"] is None
    assert objects(settings) == []
    assert_problem(await client.get(url), 404, "file_not_found")


async def test_deleting_an_account_deletes_its_avatar(
    client: httpx.AsyncClient, settings: Settings, alice: Account
) -> None:
    bob = await sign_up(client, "bob")
    r = await put_avatar(bob, "/me/avatar", png())
    url = r.json()["avatar_url"]
    r = await client.request(
        "DELETE", "/api/v1/me", json={"password": "correct horse"}, headers=bob.headers
    )
    assert r.status_code == 204, r.text
    assert objects(settings) == []
    assert_problem(await client.get(url), 404, "file_not_found")
    assert (await alice.get(f"/users/{bob.username}")).status_code == 404


async def test_messages_carry_their_authors_picture(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    since = await head(bob)
    url = (await put_avatar(alice, "/me/avatar", png(64, 64))).json()["avatar_url"]
    sent = await alice.send("general", "with a face")
    assert sent["author"]["avatar_url"] == url
    created = await events_since(bob, since, "message.created")
    assert [e["data"]["author"]["avatar_url"] for e in created] == [url]
    # History shows the picture they have now; none once it is removed.
    assert (await alice.delete("/me/avatar")).status_code == 200
    history = (await bob.get("/rooms/general/messages")).json()["messages"]
    assert [m["author"]["avatar_url"] for m in history if m["id"] == sent["id"]] == [None]
    theirs = await bob.send("general", "no face")
    assert theirs["author"]["avatar_url"] is None
