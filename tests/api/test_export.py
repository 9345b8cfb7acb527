"""Data export: asked for, built off the request path, downloaded as a documented zip; gone
when it expires, when the account deletes a message, or with the account. Both engines."""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from typing import Any

import anyio
import httpx
import pytest

from hubbub.services.exports import CHUNK_BYTES, FORMAT_VERSION
from tests.api.conftest import API, Account, assert_problem, sign_up

pytestmark = pytest.mark.anyio


async def ready_export(account: Account) -> httpx.Response:
    """Wait for the export to be built (the worker runs in the app) and download it."""
    with anyio.fail_after(30):
        while True:
            r = await account.get("/me/export")
            if r.status_code != 202:
                return r
            assert r.json()["status"] in ("pending", "building")
            await anyio.sleep(0.05)


def unzip(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert int(r.headers["content-length"]) == len(r.content)
    files: dict[str, Any] = {}
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            if name.endswith(".jsonl"):
                files[name] = [json.loads(line) for line in data.splitlines()]
            else:
                files[name] = json.loads(data)
    return files


async def test_no_export_until_asked(client: httpx.AsyncClient) -> None:
    alice = await sign_up(client, "alice")
    assert_problem(await alice.get("/me/export"), 404, "export_not_found")


async def test_an_export_holds_the_account_its_rooms_messages_and_reactions(
    client: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(client, "alice"), await sign_up(client, "bob")
    room = await alice.create_room("plans", "private")
    assert (await alice.put(f"/rooms/{room['id']}/members/bob")).status_code == 201
    first = await alice.send(room["id"], "first, with ünïcödé 👋")
    await alice.send("general", "in the lobby")
    theirs = await bob.send(room["id"], "bob's, not alice's")
    deleted = await alice.send(room["id"], "soon deleted")
    assert (await alice.delete(f"/messages/{deleted['id']}")).status_code == 204
    assert (await alice.put(f"/messages/{theirs['id']}/reactions/%F0%9F%91%8D")).status_code == 204
    r = await alice.post("/me/export")
    assert r.status_code == 202
    assert r.json()["status"] in ("pending", "building", "ready")
    files = unzip(await ready_export(alice))
    assert set(files) == {
        "manifest.json",
        "account.json",
        "rooms.json",
        "messages.jsonl",
        "reactions.jsonl",
        "files.jsonl",
    }
    assert files["manifest.json"]["format"] == "hubbub-export"
    assert files["manifest.json"]["version"] == FORMAT_VERSION
    assert files["account.json"]["username"] == "alice"
    assert (files["account.json"]["email"], files["account.json"]["email_confirmed"]) == (
        None,
        False,
    )
    assert {r["name"] for r in files["rooms.json"]} == {"general", "plans"}
    texts = sorted(m["text"] for m in files["messages.jsonl"])
    assert texts == sorted(["first, with ünïcödé 👋", "in the lobby"])
    by_text = {m["text"]: m for m in files["messages.jsonl"]}
    assert by_text["first, with ünïcödé 👋"]["room_name"] == "plans"
    assert by_text["first, with ünïcödé 👋"]["id"] == first["id"]
    assert files["reactions.jsonl"] == [
        {
            "message_id": theirs["id"],
            "room_id": room["id"],
            "emoji": "👍",
            "created_at": files["reactions.jsonl"][0]["created_at"],
        }
    ]
    # The JSON status of a ready export.
    status = await alice.get("/me/export", headers={"Accept": "application/json"})
    assert status.status_code == 200
    assert status.json()["status"] == "ready"
    assert status.json()["size"] == int((await alice.get("/me/export")).headers["content-length"])
    # Nobody else sees it.
    assert_problem(await bob.get("/me/export"), 404, "export_not_found")


async def test_a_big_export_is_stored_and_served_in_chunks(client: httpx.AsyncClient) -> None:
    alice = await sign_up(client, "alice")
    room = await alice.create_room("diary")
    # Incompressible text, so the zip spans several chunks.
    for _ in range(300):
        await alice.send(room["id"], secrets.token_hex(1000))
    assert (await alice.post("/me/export")).status_code == 202
    r = await ready_export(alice)
    assert len(r.content) > CHUNK_BYTES  # two chunks at least
    assert len(unzip(r)["messages.jsonl"]) == 300


async def test_deleting_or_editing_a_message_discards_the_export(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice")
    message = await alice.send("general", "my password is hunter2")
    assert (await alice.post("/me/export")).status_code == 202
    assert (await ready_export(alice)).status_code == 200
    assert (await alice.delete(f"/messages/{message['id']}")).status_code == 204
    assert_problem(await alice.get("/me/export"), 404, "export_not_found")
    other = await alice.send("general", "second")
    assert (await alice.post("/me/export")).status_code == 202
    assert (await ready_export(alice)).status_code == 200
    assert (await alice.patch(f"/messages/{other['id']}", {"text": "edited"})).status_code == 200
    assert_problem(await alice.get("/me/export"), 404, "export_not_found")


async def test_deleting_the_account_deletes_its_export(client: httpx.AsyncClient) -> None:
    await sign_up(client, "root")
    alice = await sign_up(client, "alice")
    await alice.send("general", "hello")
    assert (await alice.post("/me/export")).status_code == 202
    assert (await ready_export(alice)).status_code == 200
    r = await client.request(
        "DELETE", f"{API}/me", json={"password": "correct horse"}, headers=alice.headers
    )
    assert r.status_code == 204
    bob = await sign_up(client, "bob")
    assert_problem(await bob.get("/me/export"), 404, "export_not_found")
