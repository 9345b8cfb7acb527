"""Deleted means deleted, for files too: deleting a message, retention and account deletion
remove its files and thumbnails from storage (the test looks in the directory), and uploads
never attached go after 24 h. Both engines; time is a FakeClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hubbub.config import Settings
from hubbub.services.files import ORPHAN_HOURS
from tests.api.conftest import Account, assert_problem, sign_up
from tests.api.files_support import png, stored_files, uploaded
from tests.api.servers import Node, running
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio

HOUR = 3600.0


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.replace(
        files_url=str(tmp_path / "files"),
        session_idle_days=365,
        retention_sweep_interval="3650d",  # only the sweeps the tests run themselves
    )


@pytest.fixture
async def node(settings: Settings, clock: FakeClock) -> AsyncIterator[Node]:
    async with running(settings, clock) as started:
        yield started


def objects(settings: Settings) -> list[Path]:
    """What storage holds, leftovers in tmp/ excepted (there should be none either)."""
    return [p for p in stored_files(settings) if p.parts[0] != "tmp"]


async def post_with_files(account: Account, room_id: str, text: str = "") -> dict[str, Any]:
    image = await uploaded(account, room_id, png(), filename="pic.png")
    doc = await uploaded(account, room_id, b"%PDF-1.4 secret", filename="doc.pdf")
    assert image["thumbnail_url"] is not None
    return await account.send(room_id, text, attachments=[image["id"], doc["id"]])


async def test_deleting_a_message_removes_its_files_and_thumbnails(
    node: Node, settings: Settings
) -> None:
    alice = await sign_up(node.client, "alice")
    room = await alice.create_room("r", "private")
    kept = await post_with_files(alice, room["id"], "kept")
    gone = await post_with_files(alice, room["id"], "gone")
    # Two images, two PDFs, two thumbnails: identical contents stored once, linked twice.
    assert len([p for p in objects(settings) if p.parts[0] == "objects"]) == 6
    assert (await alice.delete(f"/messages/{gone['id']}")).status_code == 204
    assert len([p for p in objects(settings) if p.parts[0] == "objects"]) == 3
    for attachment in gone["attachments"]:
        r = await node.client.get(attachment["url"])
        assert_problem(r, 404, "file_not_found")
    for attachment in kept["attachments"]:
        assert (await node.client.get(attachment["url"])).status_code == 200
    assert (await alice.delete(f"/messages/{kept['id']}")).status_code == 204
    assert objects(settings) == []
    page = (await alice.get(f"/rooms/{room['id']}/messages")).json()
    assert [m["attachments"] for m in page["messages"]] == [[], []]


async def test_retention_removes_the_files_of_the_messages_it_erases(
    node: Node, settings: Settings, clock: FakeClock
) -> None:
    alice = await sign_up(node.client, "alice")
    room = await alice.create_room("r", "private")
    r = await alice.patch(f"/rooms/{room['id']}", {"retention_days": 1})
    assert r.status_code == 200, r.text
    await post_with_files(alice, room["id"])
    assert objects(settings) != []
    clock.advance(2 * 24 * HOUR)
    await node.services.retention.sweep()
    assert objects(settings) == []


async def test_account_deletion_removes_erased_messages_files_and_unattached_uploads(
    node: Node, settings: Settings
) -> None:
    alice = await sign_up(node.client, "alice")  # the first account: the server admin
    bob = await sign_up(node.client, "bob")
    room = await alice.create_room("r", "public")
    assert (await bob.post(f"/rooms/{room['id']}/join")).status_code == 204
    await post_with_files(bob, room["id"])
    await uploaded(bob, room["id"], b"never attached", filename="draft.txt")
    mine = await post_with_files(alice, room["id"], "alice's")
    r = await node.client.request(
        "DELETE",
        "/api/v1/me",
        json={"password": "correct horse", "erase_messages": True},
        headers=bob.headers,
    )
    assert r.status_code == 204, r.text
    left = objects(settings)
    assert len([p for p in left if p.parts[0] == "objects"]) == 3  # alice's three
    for attachment in mine["attachments"]:
        assert (await node.client.get(attachment["url"])).status_code == 200


async def test_uploads_never_attached_go_after_24_hours(
    node: Node, settings: Settings, clock: FakeClock
) -> None:
    alice = await sign_up(node.client, "alice")
    room = await alice.create_room("r", "private")
    orphan = await uploaded(alice, room["id"], png(), filename="orphan.png")
    sent = await post_with_files(alice, room["id"], "attached")
    clock.advance((ORPHAN_HOURS - 1) * HOUR)
    assert await node.services.files.sweep_orphans() == 0
    late = await uploaded(alice, room["id"], b"late", filename="late.txt")
    clock.advance(2 * HOUR)
    assert await node.services.files.sweep_orphans() == 1
    assert_problem(
        await node.client.get(orphan["url"].split("?")[0], headers=alice.headers),
        404,
        "file_not_found",
    )
    assert (
        await node.client.get(late["url"].split("?")[0], headers=alice.headers)
    ).status_code == 200
    for attachment in sent["attachments"]:
        r = await node.client.get(attachment["url"].split("?")[0], headers=alice.headers)
        assert r.status_code == 200
    assert len([p for p in objects(settings) if p.parts[0] == "objects"]) == 4
    r = await alice.post(f"/rooms/{room['id']}/messages", {"attachments": [orphan["id"]]})
    assert_problem(r, 422, "invalid")


async def test_reaping_resumes_what_a_crash_left_queued(node: Node, settings: Settings) -> None:
    """Rows deleted and their keys queued, but the process died before deleting the bytes:
    the upkeep's reap finishes the job (here: the keys queued by hand, as a crash leaves them).
    """
    alice = await sign_up(node.client, "alice")
    room = await alice.create_room("r", "private")
    up = await uploaded(alice, room["id"], b"crash", filename="c.txt")

    def doom(tx: Any, outbox: Any) -> None:
        tx.execute("DELETE FROM uploads WHERE id = :id", {"id": up["id"]})
        tx.execute("INSERT INTO doomed_files (key) VALUES (:id)", {"id": up["id"]})

    await node.services.files.uow.write(doom)
    assert objects(settings) != []
    assert await node.services.files.reap() == 1
    assert objects(settings) == []
    assert await node.services.files.reap() == 0


async def test_uploads_are_rate_limited_per_account(settings: Settings) -> None:
    async with running(settings.replace(rate_limits="uploads=2/hour")) as node:
        alice = await sign_up(node.client, "alice")
        room = await alice.create_room("r", "private")
        for _ in range(2):
            await uploaded(alice, room["id"], b"x", filename="x")
        r = await alice.post(f"/rooms/{room['id']}/uploads", content=b"x", params={"filename": "x"})
        assert_problem(r, 429, "rate_limited")


async def test_on_s3_files_round_trip_and_deletion_empties_the_bucket(
    settings: Settings, s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib
    import os
    import uuid

    import boto3

    for name, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    bucket = f"api-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=s3_server)
    s3.create_bucket(Bucket=bucket)
    on_s3 = settings.replace(files_url=f"s3://{bucket}/hubbub", s3_endpoint_url=s3_server)
    async with running(on_s3) as node:
        alice = await sign_up(node.client, "alice")
        room = await alice.create_room("r", "private")
        data = os.urandom(300_000)
        up = await uploaded(alice, room["id"], data, filename="blob.bin")
        image = await uploaded(alice, room["id"], png(), filename="p.png")
        sent = await alice.send(room["id"], "", attachments=[up["id"], image["id"]])
        r = await node.client.get(up["url"], headers={"Range": "bytes=1000-"})
        assert r.status_code == 206
        assert r.content == data[1000:]
        r = await node.client.get(up["url"])
        assert hashlib.sha256(r.content).hexdigest() == up["sha256"]
        listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        assert sorted(o["Key"] for o in listed) == sorted(
            [f"hubbub/{up['id']}", f"hubbub/{image['id']}", f"hubbub/{image['id']}.thumb"]
        )
        assert (await alice.delete(f"/messages/{sent['id']}")).status_code == 204
        assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []


async def test_on_s3_downloads_may_redirect_to_the_store(
    settings: Settings, s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    import boto3
    import httpx

    for name, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    bucket = f"redirect-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=bucket)
    redirecting = settings.replace(
        files_url=f"s3://{bucket}/h", s3_endpoint_url=s3_server, files_redirect=True
    )
    async with running(redirecting) as node:
        alice = await sign_up(node.client, "alice")
        room = await alice.create_room("r", "private")
        page = b"<html><script>alert(1)</script></html>"
        up = await uploaded(alice, room["id"], page, filename="page.html")
        r = await node.client.get(up["url"])
        assert r.status_code == 302
        assert r.headers["location"].startswith(s3_server)
        async with httpx.AsyncClient() as store:
            fetched = await store.get(r.headers["location"])
        assert fetched.content == page
        assert fetched.headers["content-type"] == "application/octet-stream"
        assert fetched.headers["content-disposition"].startswith("attachment;")
        stranger = await sign_up(node.client, "mallory")
        plain = up["url"].split("?")[0]
        assert_problem(
            await node.client.get(plain, headers=stranger.headers), 404, "file_not_found"
        )
        # The web client's page lets images, audio and video come from the store.
        csp = (await node.client.get("/")).headers["content-security-policy"]
        assert f"img-src 'self' {s3_server}" in csp
        assert f"media-src 'self' {s3_server}" in csp
        assert "script-src 'self';" in csp  # nothing else loosened
