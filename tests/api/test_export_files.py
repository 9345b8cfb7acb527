"""A data export carries the account's files: each attached file's bytes (identical SHA-256)
and record, the avatar, and the attachment ids on each message; never a file of someone
else, one never attached, or one whose message was deleted. Both engines."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import zipfile
from pathlib import Path

import httpx
import pytest

from hubbub.config import Settings
from tests.api.conftest import Account
from tests.api.files_support import png, uploaded
from tests.api.test_export import ready_export

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.replace(files_url=str(tmp_path / "files"))


def entries(r: httpx.Response) -> dict[str, bytes]:
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def lines(data: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in data.splitlines()]


async def test_an_export_holds_the_files_you_attached_and_your_avatar(
    alice: Account, bob: Account
) -> None:
    kept = secrets.token_bytes(300_000)
    kept_upload = await uploaded(alice, "general", kept, filename="data dump.bin")
    image = png(64, 32)
    image_upload = await uploaded(alice, "general", image, filename="pic.png")
    message = await alice.send(
        "general", "two files", attachments=[kept_upload["id"], image_upload["id"]]
    )
    gone = await uploaded(alice, "general", b"deleted with its message", filename="gone.txt")
    doomed = await alice.send("general", "", attachments=[gone["id"]])
    assert (await alice.delete(f"/messages/{doomed['id']}")).status_code == 204
    await uploaded(alice, "general", b"never attached", filename="orphan.txt")
    theirs = await uploaded(bob, "general", b"bob's own file", filename="bob.txt")
    await bob.send("general", "bob's", attachments=[theirs["id"]])
    r = await alice.client.put(
        "/api/v1/me/avatar",
        content=png(100, 100, (10, 120, 200)),
        headers={**alice.headers, "Content-Type": "image/png"},
    )
    assert r.status_code == 200, r.text

    assert (await alice.post("/me/export")).status_code == 202
    files = entries(await ready_export(alice))

    manifest = json.loads(files["manifest.json"])
    assert "files.jsonl" in manifest["files"]
    records = lines(files["files.jsonl"])
    assert [r["id"] for r in records] == sorted([kept_upload["id"], image_upload["id"]])
    by_name = {r["filename"]: r for r in records}
    assert set(by_name) == {"data dump.bin", "pic.png"}
    for name, data in (("data dump.bin", kept), ("pic.png", image)):
        record = by_name[name]
        path = str(record["path"])
        assert files[path] == data  # the bytes, whole
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
        assert record["size"] == len(data)
        assert record["message_id"] == message["id"]
        assert record["room_id"] == message["room_id"]
    assert by_name["pic.png"]["content_type"] == "image/png"
    # Nothing of the deleted message's file, the orphan, or bob's.
    stored = b"".join(v for k, v in files.items() if k.startswith("files/"))
    for absent in (b"deleted with its message", b"never attached", b"bob's own file"):
        assert absent not in stored
    assert not any(k.startswith(f"files/{gone['id']}") for k in files)
    # Each message names its files, in order.
    texts = {m["text"]: m for m in lines(files["messages.jsonl"])}
    assert texts["two files"]["attachments"] == [kept_upload["id"], image_upload["id"]]
    # The avatar, as the server keeps it.
    account = json.loads(files["account.json"])
    assert account["avatar"] == "avatar.webp"
    assert "avatar_key" not in account
    assert files["avatar.webp"][:4] == b"RIFF"
    assert files["avatar.webp"][8:12] == b"WEBP"


async def test_an_export_without_files_has_an_empty_files_list(alice: Account) -> None:
    await alice.send("general", "just text")
    assert (await alice.post("/me/export")).status_code == 202
    files = entries(await ready_export(alice))
    assert files["files.jsonl"] == b""
    assert "avatar.webp" not in files
    assert "avatar" not in json.loads(files["account.json"])
    assert lines(files["messages.jsonl"])[0]["attachments"] == []
