"""Incoming webhooks, Slack-compatible: making and revoking them, what a payload becomes, the
answers Slack gives, limits, and deletion leaving nothing behind. Both engines."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from hubbub.config import Settings
from tests.api.conftest import Account, assert_problem
from tests.api.servers import events_since, head, running
from tests.api.test_redaction import rows_containing
from tests.event_schema import check_frame

pytestmark = pytest.mark.anyio

HOOK_FIELDS = {"id", "room_id", "name", "bot", "created_at", "url"}


async def make_hook(owner: Account, room_id: str, name: str = "CI") -> dict[str, Any]:
    r = await owner.post(f"/rooms/{room_id}/webhooks", {"name": name})
    assert r.status_code == 201, r.text
    return dict(r.json())


def hook_path(hook: dict[str, Any]) -> str:
    path = urlsplit(hook["url"]).path
    assert path.startswith("/hooks/")
    return str(path)


async def post_hook(client: httpx.AsyncClient, path: str, payload: Any) -> httpx.Response:
    return await client.post(path, json=payload)


async def latest(account: Account, room_id: str) -> dict[str, Any]:
    messages = (await account.get(f"/rooms/{room_id}/messages")).json()["messages"]
    return dict(messages[-1])


async def test_an_owner_makes_a_webhook_whose_bot_joins_the_room(
    client: httpx.AsyncClient, alice: Account
) -> None:
    room = (await alice.create_room("alerts", "private"))["id"]
    hook = await make_hook(alice, room, "Deploys")
    assert set(hook) == HOOK_FIELDS
    assert hook["url"].startswith("http://")
    assert len(hook_path(hook)) > 40
    assert hook["bot"]["kind"] == "bot"
    assert hook["bot"]["display_name"] == "Deploys"
    members = (await alice.get(f"/rooms/{room}/members")).json()["members"]
    bot = next(m for m in members if m["user"]["id"] == hook["bot"]["id"])
    assert (bot["role"], bot["user"]["kind"]) == ("member", "bot")
    listed = (await alice.get(f"/rooms/{room}/webhooks")).json()["webhooks"]
    assert [(h["id"], h["url"]) for h in listed] == [(hook["id"], None)], "the URL is shown once"
    # The bot can't sign in: it has no password.
    r = await client.post(
        "/api/v1/sessions", json={"username": hook["bot"]["username"], "password": "!"}
    )
    assert_problem(r, 401, "invalid_credentials")


async def test_only_the_rooms_managers_handle_its_webhooks(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = (await alice.create_room("alerts", "private"))["id"]
    assert (await alice.put(f"/rooms/{room}/members/bob", {"role": "member"})).status_code == 201
    hook = await make_hook(alice, room)
    assert_problem(await bob.post(f"/rooms/{room}/webhooks", {"name": "x"}), 403, "not_allowed")
    assert_problem(await bob.get(f"/rooms/{room}/webhooks"), 403, "not_allowed")
    r = await bob.delete(f"/rooms/{room}/webhooks/{hook['id']}")
    assert_problem(r, 403, "not_allowed")
    assert_problem(
        await carol.post(f"/rooms/{room}/webhooks", {"name": "x"}), 404, "room_not_found"
    )
    r = await alice.delete(f"/rooms/{room}/webhooks/wh_nope")
    assert_problem(r, 404, "webhook_not_found")
    assert [h["id"] for h in (await alice.get(f"/rooms/{room}/webhooks")).json()["webhooks"]] == [
        hook["id"]
    ]
    for name in ("", " " * 3, "x" * 65):
        r = await alice.post(f"/rooms/{room}/webhooks", {"name": name})
        assert_problem(r, 422, "invalid")
    dm = (await alice.post("/dms", {"username": "bob"})).json()["id"]
    assert_problem(await alice.post(f"/rooms/{dm}/webhooks", {"name": "x"}), 422, "invalid")


async def test_a_slack_payload_becomes_a_message_from_the_bot(
    client: httpx.AsyncClient, alice: Account
) -> None:
    room = (await alice.create_room("alerts"))["id"]
    hook = await make_hook(alice, room, "Deploys")
    since = await head(alice)
    payload = {
        "text": "*api* deployed to <https://example.com/prod|prod> by _ci_",
        "username": "Release bot",
        "attachments": [
            {
                "color": "good",
                "title": "v1.2.3",
                "title_link": "https://example.com/releases/v1.2.3",
                "text": "3 commits",
                "fields": [{"title": "env", "value": "prod", "short": True}],
            }
        ],
    }
    r = await post_hook(client, hook_path(hook), payload)
    assert (r.status_code, r.text) == (200, "ok")
    assert r.headers["content-type"].startswith("text/plain")
    message = await latest(alice, room)
    assert message["text"] == "**api** deployed to [prod](https://example.com/prod) by *ci*"
    assert message["author"] == {
        "id": hook["bot"]["id"],
        "username": hook["bot"]["username"],
        "display_name": "Release bot",
        "guest": False,
        "bot": True,
        "avatar_url": None,
    }
    assert message["cards"] == [
        {
            "fallback": "",
            "color": "good",
            "pretext": "",
            "title": "v1.2.3",
            "title_link": "https://example.com/releases/v1.2.3",
            "text": "3 commits",
            "fields": [{"title": "env", "value": "prod", "short": True}],
            "footer": "",
            "ts": None,
        }
    ]
    created = await events_since(alice, since, "message.created")
    assert [e["data"] for e in created] == [message]
    for event in created:
        check_frame(event)  # the event schema knows cards and the bot flag
    # Without a username override, the hook's own name shows.
    assert (await post_hook(client, hook_path(hook), {"text": "plain"})).status_code == 200
    assert (await latest(alice, room))["author"]["display_name"] == "Deploys"


async def test_a_form_encoded_payload_is_taken_as_slack_takes_it(
    client: httpx.AsyncClient, alice: Account
) -> None:
    room = (await alice.create_room("alerts"))["id"]
    hook = await make_hook(alice, room)
    body = urlencode({"payload": json.dumps({"text": "from a form, ~old~ new"})})
    r = await client.post(
        hook_path(hook),
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (r.status_code, r.text) == (200, "ok")
    assert (await latest(alice, room))["text"] == "from a form, ~~old~~ new"
    for bad in ("payload=%7Bnot%20json", "text=hello", "payload=1&payload=2", "payload=%ZZ"):
        r = await client.post(
            hook_path(hook),
            content=bad,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert (r.status_code, r.text) == (400, "invalid_payload"), bad


async def test_bad_payloads_are_answered_as_slack_does_and_post_nothing(
    client: httpx.AsyncClient, alice: Account
) -> None:
    room = (await alice.create_room("alerts"))["id"]
    hook = await make_hook(alice, room)
    path = hook_path(hook)
    last_seq = (await alice.get(f"/rooms/{room}")).json()["last_seq"]
    cases: list[tuple[Any, str]] = [
        ({}, "no_text"),
        ({"text": "  "}, "no_text"),
        ({"attachments": [{}]}, "no_text"),
        ([], "invalid_payload"),
        ({"text": ["x"]}, "invalid_payload"),
        ({"blocks": "x"}, "invalid_payload"),
    ]
    for payload, answer in cases:
        r = await post_hook(client, path, payload)
        assert (r.status_code, r.text) == (400, answer), payload
    r = await client.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
    assert (r.status_code, r.text) == (400, "invalid_payload")
    r = await client.post(path, content=b"text", headers={"Content-Type": "text/plain"})
    assert (r.status_code, r.text) == (400, "invalid_payload")
    # JSON labelled as a form (`curl -d '{...}'`) is taken, as Slack takes it.
    r = await client.post(
        path,
        content=b'{"text": "curl style"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (r.status_code, r.text) == (200, "ok")
    last_seq += 1
    assert (await alice.get(f"/rooms/{room}")).json()["last_seq"] == last_seq
    for unknown in ("/hooks/nope", path + "x"):
        r = await post_hook(client, unknown, {"text": "hi"})
        assert (r.status_code, r.text) == (404, "no_service")


async def test_a_revoked_webhook_is_no_service_and_its_messages_stay(
    client: httpx.AsyncClient, alice: Account
) -> None:
    room = (await alice.create_room("alerts"))["id"]
    hook = await make_hook(alice, room)
    assert (await post_hook(client, hook_path(hook), {"text": "before"})).status_code == 200
    assert (await alice.delete(f"/rooms/{room}/webhooks/{hook['id']}")).status_code == 204
    r = await post_hook(client, hook_path(hook), {"text": "after"})
    assert (r.status_code, r.text) == (404, "no_service")
    assert (await latest(alice, room))["text"] == "before"
    members = (await alice.get(f"/rooms/{room}/members")).json()["members"]
    assert hook["bot"]["id"] not in [m["user"]["id"] for m in members]
    assert (await alice.get(f"/rooms/{room}/webhooks")).json()["webhooks"] == []


async def test_a_bot_removed_or_muted_in_the_room_posts_nothing(
    client: httpx.AsyncClient, alice: Account
) -> None:
    room = (await alice.create_room("alerts"))["id"]
    hook = await make_hook(alice, room)
    bot = hook["bot"]["username"]
    r = await alice.put(f"/rooms/{room}/members/{bot}", {"muted": True})
    assert r.status_code == 200, r.text
    r = await post_hook(client, hook_path(hook), {"text": "muted"})
    assert (r.status_code, r.text) == (403, "action_prohibited")
    assert (await alice.delete(f"/rooms/{room}/members/{bot}")).status_code == 204
    r = await post_hook(client, hook_path(hook), {"text": "removed"})
    assert (r.status_code, r.text) == (403, "action_prohibited")
    assert (await alice.get(f"/rooms/{room}")).json()["last_seq"] == 0


async def test_slack_broadcasts_become_mentions_and_a_thread_ts_a_reply(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    room = (await alice.create_room("alerts"))["id"]
    assert (await bob.post(f"/rooms/{room}/join")).status_code == 204
    hook = await make_hook(alice, room)
    root = await alice.send(room, "incident 42")
    r = await post_hook(
        client, hook_path(hook), {"text": "<!channel> paging", "thread_ts": root["id"]}
    )
    assert r.status_code == 200, r.text
    reply = await latest(alice, room)
    assert reply["text"] == "@room paging"
    assert reply["mentions"] == {"users": [], "room": True, "here": False}
    assert reply["thread_root"] == root["id"]
    assert (await bob.get(f"/rooms/{room}")).json()["mention_count"] == 1
    # A thread_ts that is not a root of this room posts at the top level.
    r = await post_hook(client, hook_path(hook), {"text": "top", "thread_ts": "m_unknown"})
    assert r.status_code == 200
    assert (await latest(alice, room))["thread_root"] is None


async def test_a_long_text_is_cut_at_the_message_limit(
    client: httpx.AsyncClient, alice: Account, settings: Settings
) -> None:
    room = (await alice.create_room("alerts"))["id"]
    hook = await make_hook(alice, room)
    r = await post_hook(client, hook_path(hook), {"text": "x" * (settings.message_text_max + 10)})
    assert r.status_code == 200, r.text
    text = (await latest(alice, room))["text"]
    assert len(text) == settings.message_text_max
    assert text.endswith("…")


async def test_a_webhook_is_rate_limited_with_retry_after(settings: Settings) -> None:
    limited = dataclasses.replace(settings, rate_limits="webhooks=2/minute")
    async with running(limited) as node:
        r = await node.client.post(
            "/api/v1/accounts", json={"username": "alice", "password": "correct horse"}
        )
        token = r.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        room = (
            await node.client.post(
                "/api/v1/rooms", json={"name": "alerts", "visibility": "public"}, headers=auth
            )
        ).json()["id"]
        made = await node.client.post(
            f"/api/v1/rooms/{room}/webhooks", json={"name": "CI"}, headers=auth
        )
        path = urlsplit(made.json()["url"]).path
        for _ in range(2):
            assert (await node.client.post(path, json={"text": "x"})).status_code == 200
        r = await node.client.post(path, json={"text": "one too many"})
        assert (r.status_code, r.text) == (429, "rate_limited")
        assert int(r.headers["Retry-After"]) >= 1


async def test_deleting_a_webhook_message_leaves_no_copy_of_its_cards(
    client: httpx.AsyncClient, alice: Account, settings: Settings
) -> None:
    room = (await alice.create_room("alerts"))["id"]
    hook = await make_hook(alice, room)
    secret = "card-text-4b1d"
    payload = {"attachments": [{"title": f"{secret} title", "text": f"{secret} body"}]}
    assert (await post_hook(client, hook_path(hook), payload)).status_code == 200
    message = await latest(alice, room)
    assert message["text"] == ""
    assert message["cards"][0]["title"] == f"{secret} title"
    assert await rows_containing(settings, secret) != []  # the check below can fail
    assert (await alice.delete(f"/messages/{message['id']}")).status_code == 204
    assert await rows_containing(settings, secret) == []
    gone = await alice.get(f"/messages/{message['id']}")
    assert gone.json()["cards"] == []
    assert gone.json()["deleted"] is True
