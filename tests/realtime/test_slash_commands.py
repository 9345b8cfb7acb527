"""Slash commands against a real server process (both engines) and a loopback command server:
registering them, Slack's signed form fields, ephemeral answers reaching the caller's stream
only, in-channel answers, response URLs (5 answers), unknown commands, the `//` escape and
the 3 s limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.api.receiver import Received, Receiver, verify
from tests.realtime.conftest import PASSWORD, Account, Chat, hubbub_server, wait_for
from tests.server_process import ServerProcess

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def command_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    database_url = None
    if request.param == "postgres":
        database_url = request.getfixturevalue("pg_databases").create_empty()
    directory = tmp_path_factory.mktemp("commands")
    with hubbub_server(directory, database_url, HUBBUB_OUTBOUND_ALLOW_PRIVATE="true") as server:
        yield server


@pytest.fixture
async def chat(command_server: ServerProcess) -> AsyncIterator[Chat]:
    async with Chat.open(command_server.url) as c:
        yield c


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


async def admin_of(chat: Chat) -> Account:
    """The server's first account (a server admin): signed up once per server."""
    r = await chat.http.post(
        "/api/v1/sessions", json={"username": "root", "password": "correct horse battery"}
    )
    if r.status_code in (200, 201):
        body = r.json()
        return Account("root", body["token"], body["user"]["id"], chat.http)
    r = await chat.http.post(
        "/api/v1/accounts", json={"username": "root", "password": "correct horse battery"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["is_admin"], "the first account of the server"
    return Account("root", body["token"], body["user"]["id"], chat.http)


async def register(admin: Account, name: str, url: str) -> dict[str, Any]:
    r = await admin.post("/commands", {"name": name, "url": url, "description": f"{name} it"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def answering(status: int, body: bytes, delay: float = 0.0) -> Any:
    async def answer(_: Received) -> tuple[int, bytes]:
        if delay:
            await asyncio.sleep(delay)
        return status, body

    return answer


async def pair(chat: Chat) -> tuple[Account, Account, str]:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    room = await alice.create_room("ops", "private")
    await alice.expect(201, "PUT", f"/rooms/{room['id']}/members/{bob.username}")
    return alice, bob, room["id"]


def unique(prefix: str) -> str:
    return f"{prefix}{time.monotonic_ns() % 10**9}"


async def test_server_admins_register_commands_and_everyone_lists_them(
    chat: Chat, receiver: Receiver
) -> None:
    admin = await admin_of(chat)
    bob = await chat.sign_up("bob")
    name = unique("deploy")
    made = await register(admin, name, receiver.url())
    assert made["secret"].startswith("whsec_")
    assert made["url"] == receiver.url()
    good = {"name": unique("x"), "url": receiver.url(), "description": "d"}
    r = await bob.post("/commands", good)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "not_allowed"
    for bad in (
        {**good, "name": "Has-Caps"},
        {**good, "name": "a" * 33},
        {**good, "url": "ftp://example.com/"},
        {**good, "description": ""},
    ):
        r = await admin.post("/commands", bad)
        assert r.status_code == 422, (bad, r.text)
    r = await admin.post("/commands", {**good, "name": name})
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "command_taken"
    listed = {c["name"]: c for c in (await bob.get("/commands")).json()["commands"]}
    assert listed[name]["url"] is None, "URLs are for server admins"
    assert listed[name]["secret"] is None
    listed = {c["name"]: c for c in (await admin.get("/commands")).json()["commands"]}
    assert listed[name]["url"] == receiver.url()
    assert (await bob.delete(f"/commands/{name}")).status_code == 403
    assert (await admin.delete(f"/commands/{name}")).status_code == 204
    assert (await admin.delete(f"/commands/{name}")).status_code == 404


async def test_a_command_gets_slacks_fields_signed_and_answers_its_caller_only(
    chat: Chat, receiver: Receiver
) -> None:
    admin = await admin_of(chat)
    name = unique("weather")
    made = await register(admin, name, receiver.url("/slash"))
    receiver.answer = answering(200, b'{"response_type": "ephemeral", "text": "Sunny, 21C"}')
    alice, bob, room = await pair(chat)
    async with chat.ws(bob) as bob_stream, chat.ws(alice) as alice_stream:
        r = await bob.post(f"/rooms/{room}/messages", {"text": f"/{name}  in Paris "})
        assert r.status_code == 202, r.text
        assert r.json() == {"command": f"/{name}", "known": True, "response_type": "ephemeral"}
        reply, _ = await wait_for(bob_stream, lambda e: e["type"] == "command.reply")
        assert reply["room_id"] == room
        assert reply["data"] == {"command": f"/{name}", "text": "Sunny, 21C", "user_id": bob.id}
        assert "id" not in reply, "live only"
        # alice gets nothing of it: the next thing she sees is her own message.
        sent = await alice.send(room, "after")
        event, before = await wait_for(alice_stream, lambda e: e["type"] == "message.created")
        assert event["data"]["id"] == sent["id"]
        assert [e for e in before if e["type"] == "command.reply"] == []
    (got,) = receiver.requests
    assert got.path == "/slash"
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    assert verify(made["secret"], got.headers["hubbub-signature"], got.body)
    fields = {k: v[0] for k, v in parse_qs(got.body.decode(), keep_blank_values=True).items()}
    assert set(fields) == {
        "command",
        "text",
        "user_id",
        "user_name",
        "channel_id",
        "channel_name",
        "response_url",
        "trigger_id",
    }
    assert (fields["command"], fields["text"]) == (f"/{name}", "in Paris")
    assert (fields["user_id"], fields["user_name"]) == (bob.id, bob.username)
    assert (fields["channel_id"], fields["channel_name"]) == (room, "ops")
    assert fields["response_url"].startswith(chat.url + "/command-responses/")
    messages = (await bob.get(f"/rooms/{room}/messages")).json()["messages"]
    assert [m["text"] for m in messages] == ["after"], "the command was not posted"


async def test_an_in_channel_answer_is_posted_and_the_response_url_takes_five_more(
    chat: Chat, receiver: Receiver
) -> None:
    admin = await admin_of(chat)
    name = unique("poll")
    await register(admin, name, receiver.url())
    receiver.answer = answering(200, b'{"response_type": "in_channel", "text": "Poll opened"}')
    _alice, bob, room = await pair(chat)
    r = await bob.post(f"/rooms/{room}/messages", {"text": f"/{name} lunch?"})
    assert r.status_code == 202, r.text
    assert r.json()["response_type"] == "in_channel"
    response_url = parse_qs(receiver.requests[0].body.decode())["response_url"][0]
    path = urlsplit(response_url).path
    async with httpx.AsyncClient(base_url=chat.url, trust_env=False) as anyone:
        for i in range(5):
            r = await anyone.post(path, json={"response_type": "in_channel", "text": f"vote {i}"})
            assert r.status_code == 200, r.text
            assert r.json() == {"ok": True, "response_type": "in_channel"}
        r = await anyone.post(path, json={"text": "one too many"})
        assert r.status_code == 404, r.text
        r = await anyone.post(path[:-3] + "xyz", json={"text": "forged"})
        assert r.status_code == 404, r.text
    messages = (await bob.get(f"/rooms/{room}/messages")).json()["messages"]
    assert [m["text"] for m in messages] == ["Poll opened"] + [f"vote {i}" for i in range(5)]
    assert {m["author"]["id"] for m in messages} == {bob.id}


async def test_a_deleted_account_s_response_urls_stop_working(
    chat: Chat, receiver: Receiver
) -> None:
    """in_channel answers post as the caller: once the caller deletes their account, nothing
    may post as them any more (the deleting transaction forgets their response URLs)."""
    admin = await admin_of(chat)
    name = unique("later")
    await register(admin, name, receiver.url())
    receiver.answer = answering(200, b"")
    alice, bob, room = await pair(chat)
    r = await bob.post(f"/rooms/{room}/messages", {"text": f"/{name}"})
    assert r.status_code == 202, r.text
    path = urlsplit(parse_qs(receiver.requests[0].body.decode())["response_url"][0]).path
    async with httpx.AsyncClient(base_url=chat.url, trust_env=False) as anyone:
        r = await anyone.post(path, json={"response_type": "in_channel", "text": "before"})
        assert r.status_code == 200, r.text
        gone = await bob.http.request(
            "DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=bob.headers
        )
        assert gone.status_code == 204, gone.text
        r = await anyone.post(path, json={"response_type": "in_channel", "text": "after"})
        assert r.status_code == 404, r.text
    messages = (await alice.get(f"/rooms/{room}/messages")).json()["messages"]
    assert [m["text"] for m in messages] == ["before"]


async def test_unknown_commands_get_help_and_slashes_that_are_not_commands_are_posted(
    chat: Chat, receiver: Receiver
) -> None:
    admin = await admin_of(chat)
    name = unique("known")
    await register(admin, name, receiver.url())
    _alice, bob, room = await pair(chat)
    async with chat.ws(bob) as stream:
        r = await bob.post(f"/rooms/{room}/messages", {"text": "/nosuchthing at all"})
        assert r.status_code == 202, r.text
        assert r.json() == {"command": "/nosuchthing", "known": False, "response_type": None}
        help_line, _ = await wait_for(stream, lambda e: e["type"] == "command.reply")
        assert f"/{name}" in help_line["data"]["text"]
        assert "//" in help_line["data"]["text"]
    for text, posted in (
        ("/usr/bin is full", "/usr/bin is full"),
        (f"//{name} is how you run it", f"/{name} is how you run it"),
        ("a /known mid-sentence", "a /known mid-sentence"),
    ):
        r = await bob.post(f"/rooms/{room}/messages", {"text": text})
        assert r.status_code == 201, (text, r.text)
        assert r.json()["text"] == posted
    assert receiver.requests == []


async def test_a_command_that_does_not_answer_within_3_seconds_tells_its_caller(
    chat: Chat, receiver: Receiver
) -> None:
    admin = await admin_of(chat)
    name = unique("slow")
    await register(admin, name, receiver.url())
    receiver.answer = answering(200, b'{"text": "too late"}', delay=6)
    _alice, bob, room = await pair(chat)
    async with chat.ws(bob) as stream:
        started = time.monotonic()
        r = await bob.post(f"/rooms/{room}/messages", {"text": f"/{name}"})
        took = time.monotonic() - started
        assert r.status_code == 202, r.text
        assert r.json()["response_type"] is None
        assert 2.5 <= took < 5.5
        reply, _ = await wait_for(stream, lambda e: e["type"] == "command.reply")
        assert "within 3 seconds" in reply["data"]["text"]


async def test_only_members_who_may_write_run_commands(chat: Chat, receiver: Receiver) -> None:
    admin = await admin_of(chat)
    name = unique("cmd")
    await register(admin, name, receiver.url())
    _alice, _bob, room = await pair(chat)
    carol = await chat.sign_up("carol")
    r = await carol.post(f"/rooms/{room}/messages", {"text": f"/{name}"})
    assert r.status_code == 404, r.text
    assert receiver.requests == []
