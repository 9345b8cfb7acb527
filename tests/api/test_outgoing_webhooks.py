"""Outgoing webhooks and bot event subscriptions: signed deliveries from the event log to a
loopback receiver, in order per endpoint, retried, auto-disabled, replies posted once, a
restart losing nothing, the SSRF guard, validation, authorization and the redaction rule.
Both engines."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from hubbub.config import Settings
from hubbub.store import outgoing as out_q
from tests.api.conftest import Account, assert_problem, sign_up
from tests.api.receiver import Received, Receiver, verify
from tests.api.servers import Node, events_since, head, running

pytestmark = pytest.mark.anyio


def fast_hooks(settings: Settings) -> Settings:
    """`settings` with outgoing hooks that may call loopback and retry quickly."""
    return dataclasses.replace(
        settings,
        outbound_allow_private=True,  # the receiver is on loopback
        outgoing_retry_base_seconds=0.05,
        outgoing_retry_max_seconds=0.2,
        outgoing_disable_after=25,
        outgoing_timeout_seconds=3.0,
    )


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return fast_hooks(settings)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
async def node(hook_settings: Settings) -> AsyncIterator[Node]:
    async with running(hook_settings) as n:
        yield n


@pytest.fixture
async def owner(node: Node) -> Account:
    return await sign_up(node.client, "alice")


async def make_hook(owner: Account, room_id: str, url: str, **body: Any) -> dict[str, Any]:
    r = await owner.post(
        f"/rooms/{room_id}/outgoing-webhooks",
        {"url": url, "events": body.pop("events", ["message.created"]), **body},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def deliveries(owner: Account, room_id: str, hook_id: str) -> list[dict[str, Any]]:
    r = await owner.get(f"/rooms/{room_id}/outgoing-webhooks/{hook_id}/deliveries")
    assert r.status_code == 200, r.text
    return list(r.json()["deliveries"])


async def until(check: Any, timeout: float = 15.0) -> Any:  # noqa: ASYNC109
    """Poll `check()` (async) until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.02)


def payload(received: Received) -> dict[str, Any]:
    return dict(orjson.loads(received.body))


async def test_a_message_is_delivered_signed_with_the_events_id(
    owner: Account, receiver: Receiver
) -> None:
    room = (await owner.create_room("ops", "private"))["id"]
    hook = await make_hook(owner, room, receiver.url())
    assert hook["secret"].startswith("whsec_")
    assert (hook["kind"], hook["room_id"], hook["bot"]["kind"]) == ("room", room, "bot")
    since = await head(owner)
    sent = await owner.send(room, "hello hooks")
    (got,) = await receiver.wait_for(1)
    assert got.method == "POST"
    assert got.path == "/hook"
    assert got.headers["content-type"] == "application/json"
    assert verify(hook["secret"], got.headers["hubbub-signature"], got.body)
    assert not verify("whsec_wrong", got.headers["hubbub-signature"], got.body)
    body = payload(got)
    assert set(body) == {"id", "type", "room_id", "ts", "data"}
    assert (body["type"], body["room_id"]) == ("message.created", room)
    assert body["data"]["id"] == sent["id"]
    assert body["data"]["text"] == "hello hooks"
    assert got.headers["hubbub-event-id"] == body["id"]
    # The same id and data as a stream client gets for the event.
    (streamed,) = await events_since(owner, since, "message.created")
    assert streamed["id"] == body["id"]
    assert streamed["data"] == body["data"]
    done = await until(lambda: deliveries(owner, room, hook["id"]))
    assert done[0]["event_id"] == body["id"]
    assert (done[0]["status"], done[0]["outcome"], done[0]["attempt"]) == (200, "delivered", 1)
    assert done[0]["error"] is None
    assert done[0]["latency_ms"] >= 0
    listed = (await owner.get(f"/rooms/{room}/outgoing-webhooks")).json()["hooks"]
    assert [(h["id"], h["secret"]) for h in listed] == [(hook["id"], None)], "shown once"


async def test_trigger_words_pick_the_messages_sent(owner: Account, receiver: Receiver) -> None:
    room = (await owner.create_room("ops"))["id"]
    await make_hook(owner, room, receiver.url(), trigger_words=["!deploy", "!ci"])
    await owner.send(room, "just chatting about !deploy")
    await owner.send(room, "!deploy api")
    await owner.send(room, "nothing")
    await owner.send(room, "!ci status")
    got = await receiver.wait_for(2)
    await asyncio.sleep(0.3)
    assert [payload(r)["data"]["text"] for r in receiver.requests] == ["!deploy api", "!ci status"]
    assert len(got) == 2


async def test_events_arrive_in_order_per_endpoint_despite_failures(
    owner: Account, receiver: Receiver
) -> None:
    failed: set[str] = set()

    async def flaky(r: Received) -> tuple[int, bytes]:
        key = r.headers["hubbub-event-id"]
        if int(key.rsplit("-", 1)[1]) % 3 == 0 and key not in failed:
            failed.add(key)
            return 503, b""
        return 200, b""

    receiver.answer = flaky
    room = (await owner.create_room("busy"))["id"]
    await make_hook(owner, room, receiver.url(), events=["message.created", "reaction.added"])
    texts = [f"m{i}" for i in range(30)]
    for text in texts:
        await owner.send(room, text)
    await until(lambda: _delivered_count(receiver, len(texts)))
    firsts: list[str] = []
    for r in receiver.requests:
        if r.headers["hubbub-event-id"] not in firsts:
            firsts.append(r.headers["hubbub-event-id"])
    assert [payload(r)["data"]["text"] for r in _last_of_each(receiver)] == texts
    positions = [int(e.rsplit("-", 1)[1]) for e in firsts]
    assert positions == sorted(positions)
    # An event is only ever followed by itself (a retry) or a later one: never an earlier one.
    seen = [int(r.headers["hubbub-event-id"].rsplit("-", 1)[1]) for r in receiver.requests]
    assert all(b >= a for a, b in itertools.pairwise(seen))
    assert failed, "some deliveries failed and were retried"


async def _delivered_count(receiver: Receiver, count: int) -> bool:
    return len({r.headers["hubbub-event-id"] for r in receiver.requests}) >= count and (
        len(receiver.requests) >= count
    )


def _last_of_each(receiver: Receiver) -> list[Received]:
    last: dict[str, Received] = {}
    for r in receiver.requests:
        last[r.headers["hubbub-event-id"]] = r
    return list(last.values())


async def test_a_failing_receiver_gets_the_same_event_again_until_it_answers(
    owner: Account, receiver: Receiver
) -> None:
    answers = iter([(500, b"boom"), (502, b""), (200, b"")])

    async def scripted(_: Received) -> tuple[int, bytes]:
        return next(answers, (200, b""))

    receiver.answer = scripted
    room = (await owner.create_room("ops"))["id"]
    hook = await make_hook(owner, room, receiver.url())
    await owner.send(room, "retry me")
    got = await receiver.wait_for(3)
    assert len({r.headers["hubbub-event-id"] for r in got}) == 1
    assert len({r.body for r in got}) == 1
    log = await until(lambda: _when(deliveries(owner, room, hook["id"]), lambda d: len(d) == 3))
    assert [(d["attempt"], d["status"], d["outcome"]) for d in reversed(log)] == [
        (1, 500, "retry"),
        (2, 502, "retry"),
        (3, 200, "delivered"),
    ]
    assert log[-1]["error"] == "HTTP 500"
    assert "boom" not in str(log), "an answer's body is never logged"


async def _when(getter: Any, ok: Any) -> Any:
    value = await getter
    return value if ok(value) else None


async def test_repeated_failures_turn_the_hook_off_and_tell_its_owner(
    hook_settings: Settings, receiver: Receiver
) -> None:
    async def down(_: Received) -> tuple[int, bytes]:
        return 500, b""

    receiver.answer = down
    settings = dataclasses.replace(hook_settings, outgoing_disable_after=3)
    async with running(settings) as node:
        owner = await sign_up(node.client, "alice")
        room = (await owner.create_room("ops"))["id"]
        hook = await make_hook(owner, room, receiver.url())
        await owner.send(room, "one")
        await owner.send(room, "two")

        async def disabled() -> dict[str, Any] | None:
            hooks = (await owner.get(f"/rooms/{room}/outgoing-webhooks")).json()["hooks"]
            return hooks[0] if hooks[0]["disabled_at"] else None

        turned_off = await until(disabled)
        assert "3 failed deliveries in a row" in turned_off["disabled_reason"]
        await asyncio.sleep(0.3)
        assert len(receiver.requests) == 3, "nothing more is sent once it is off"
        log = await deliveries(owner, room, hook["id"])
        assert [d["outcome"] for d in log] == ["failed", "retry", "retry"]
        # The owner's notice: a direct message from the hook's bot.
        rooms = (await owner.get("/rooms")).json()["rooms"]
        (dm,) = [r for r in rooms if r["kind"] == "dm"]
        (notice,) = (await owner.get(f"/rooms/{dm['id']}/messages")).json()["messages"]
        assert notice["author"]["id"] == hook["bot"]["id"]
        assert "turned off" in notice["text"]
        assert receiver.url() in notice["text"]
        audit = (await owner.get("/admin/audit")).json()
        assert any(e["action"] == "outgoing_webhook.disable" for e in audit["entries"])


async def test_an_event_undelivered_for_the_retry_window_turns_the_hook_off(
    hook_settings: Settings, receiver: Receiver
) -> None:
    async def down(_: Received) -> tuple[int, bytes]:
        return 503, b""

    receiver.answer = down
    settings = dataclasses.replace(
        hook_settings, outgoing_retry_window_seconds=0.5, outgoing_disable_after=1000
    )
    async with running(settings) as node:
        owner = await sign_up(node.client, "alice")
        room = (await owner.create_room("ops"))["id"]
        hook = await make_hook(owner, room, receiver.url())
        await owner.send(room, "one")

        async def disabled() -> dict[str, Any] | None:
            hooks = (await owner.get(f"/rooms/{room}/outgoing-webhooks")).json()["hooks"]
            return hooks[0] if hooks[0]["disabled_at"] else None

        turned_off = await until(disabled)
        assert "retry window" in turned_off["disabled_reason"]
        log = await deliveries(owner, room, hook["id"])
        assert log[0]["outcome"] == "failed"
        assert {d["event_id"] for d in log} == {log[0]["event_id"]}, "the one event, retried"
        assert len(log) >= 2


async def test_a_reply_is_posted_once_even_when_the_event_is_delivered_twice(
    node: Node, owner: Account, receiver: Receiver
) -> None:
    async def pong(_: Received) -> tuple[int, bytes]:
        return 200, b'{"text": "pong"}'

    receiver.answer = pong
    room = (await owner.create_room("ops"))["id"]
    hook = await make_hook(owner, room, receiver.url())
    await owner.send(room, "ping")
    await receiver.wait_for(1)

    async def messages() -> list[str]:
        found = (await owner.get(f"/rooms/{room}/messages")).json()["messages"]
        return [m["text"] for m in found]

    await until(lambda: _when(messages(), lambda m: "pong" in m))
    # Delivered again (as after a crash between posting the reply and recording the
    # delivery, which leaves the event queued): the receiver is hit a second time, the reply
    # is not posted twice.
    first = receiver.requests[0]
    pos = int(first.headers["hubbub-event-id"].rsplit("-", 1)[1])
    await node.services.outgoing.uow.store.write(
        lambda tx: out_q.enqueue(tx, [(hook["id"], pos)], 0)
    )
    node.app.state.outgoing_sender.wake()
    await receiver.wait_for(2)
    log = await until(lambda: _when(deliveries(owner, room, hook["id"]), lambda d: len(d) == 2))
    assert [d["outcome"] for d in log] == ["delivered", "delivered"]
    assert len(receiver.requests) == 2
    assert receiver.requests[1].headers["hubbub-event-id"] == first.headers["hubbub-event-id"]
    assert (await messages()) == ["ping", "pong"]
    # The bot's own reply was not delivered back to the hook.
    await asyncio.sleep(0.2)
    assert len(receiver.requests) == 2


async def test_a_restart_mid_delivery_loses_nothing_and_sends_the_same_id(
    hook_settings: Settings, receiver: Receiver
) -> None:
    stuck = asyncio.Event()

    async def hang(_: Received) -> tuple[int, bytes]:
        stuck.set()
        await asyncio.sleep(60)
        return 200, b""

    receiver.answer = hang
    async with running(hook_settings) as node:
        owner = await sign_up(node.client, "alice")
        room = (await owner.create_room("ops"))["id"]
        await make_hook(owner, room, receiver.url())
        await owner.send(room, "first")
        await owner.send(room, "second")
        await asyncio.wait_for(stuck.wait(), 15)
    # Stopped while the first was in flight (queued, not yet acknowledged).
    first_id = receiver.requests[0].headers["hubbub-event-id"]

    async def ok(_: Received) -> tuple[int, bytes]:
        return 200, b""

    receiver.answer = ok
    async with running(hook_settings):
        got = await receiver.wait_for(3)
        await asyncio.sleep(0.2)
    ids = [r.headers["hubbub-event-id"] for r in got]
    assert ids[0] == ids[1] == first_id, "the same event again, with the same id"
    assert [payload(r)["data"]["text"] for r in got[1:]] == ["first", "second"]
    assert len(receiver.requests) == 3


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
async def test_the_ssrf_guard_refuses_loopback_addresses(
    hook_settings: Settings, receiver: Receiver, host: str
) -> None:
    guarded = dataclasses.replace(hook_settings, outbound_allow_private=False)
    async with running(guarded) as node:
        owner = await sign_up(node.client, "alice")
        room = (await owner.create_room("ops"))["id"]
        hook = await make_hook(owner, room, receiver.url(host=host))
        await owner.send(room, "hello")
        log = await until(lambda: deliveries(owner, room, hook["id"]))
        assert log[0]["status"] is None
        assert log[0]["outcome"] == "retry"
        assert log[0]["error"].startswith("refused")
    assert receiver.requests == []


async def test_bad_input_gets_a_precise_422(owner: Account) -> None:
    room = (await owner.create_room("ops"))["id"]
    path = f"/rooms/{room}/outgoing-webhooks"
    good = {"url": "https://192.0.2.1/h", "events": ["message.created"]}
    for bad in (
        {**good, "url": "ftp://example.com/h"},
        {**good, "url": "https:///nohost"},
        {**good, "url": "http://example.com:99999/"},
        {**good, "url": "https://example.com/" + "a" * 2100},
        {**good, "events": []},
        {**good, "events": ["typing"]},
        {**good, "events": ["read.updated"]},
        {**good, "trigger_words": ["two words"]},
        {**good, "trigger_words": ["w"] * 11},
        {**good, "trigger_words": ["x" * 33]},
        {**good, "extra": 1},
        {"url": "https://192.0.2.1/h"},
    ):
        r = await owner.post(path, bad)
        assert r.status_code == 422, (bad, r.text)
    r = await owner.post(path, {**good, "url": "javascript:alert(1)"})
    assert_problem(r, 422, "invalid")


async def test_only_the_rooms_managers_handle_its_outgoing_webhooks(
    node: Node, owner: Account
) -> None:
    bob = await sign_up(node.client, "bob")
    carol = await sign_up(node.client, "carol")
    room = (await owner.create_room("ops", "private"))["id"]
    assert (await owner.put(f"/rooms/{room}/members/bob", {"role": "member"})).status_code == 201
    hook = await make_hook(owner, room, "https://192.0.2.1/h")
    path = f"/rooms/{room}/outgoing-webhooks"
    body = {"url": "https://192.0.2.1/x", "events": ["message.created"]}
    assert_problem(await bob.post(path, body), 403, "not_allowed")
    assert_problem(await bob.get(path), 403, "not_allowed")
    assert_problem(await bob.delete(f"{path}/{hook['id']}"), 403, "not_allowed")
    assert_problem(await bob.get(f"{path}/{hook['id']}/deliveries"), 403, "not_allowed")
    assert_problem(await carol.post(path, body), 404, "room_not_found")
    assert_problem(await carol.get(f"{path}/{hook['id']}/deliveries"), 404, "room_not_found")
    other = (await owner.create_room("other"))["id"]
    r = await owner.get(f"/rooms/{other}/outgoing-webhooks/{hook['id']}/deliveries")
    assert_problem(r, 404, "outgoing_webhook_not_found")
    assert len((await owner.get(path)).json()["hooks"]) == 1


async def test_deleting_the_hook_stops_its_deliveries(
    node: Node, owner: Account, receiver: Receiver
) -> None:
    async def down(_: Received) -> tuple[int, bytes]:
        return 500, b""

    receiver.answer = down
    room = (await owner.create_room("ops"))["id"]
    hook = await make_hook(owner, room, receiver.url())
    await owner.send(room, "one")
    await receiver.wait_for(2)
    r = await owner.delete(f"/rooms/{room}/outgoing-webhooks/{hook['id']}")
    assert r.status_code == 204
    count = len(receiver.requests)
    await owner.send(room, "two")
    await asyncio.sleep(0.5)
    assert len(receiver.requests) <= count + 1  # at most the attempt already in flight
    members = (await owner.get(f"/rooms/{room}/members")).json()["members"]
    assert hook["bot"]["id"] not in [m["user"]["id"] for m in members]
    queued = await node.services.outgoing.uow.read(
        lambda tx: tx.fetchall("SELECT * FROM outgoing_queue")
    )
    assert queued == []


async def test_a_deleted_messages_text_is_never_sent_after_the_delete(
    owner: Account, receiver: Receiver
) -> None:
    release = asyncio.Event()

    async def slow_then_ok(r: Received) -> tuple[int, bytes]:
        if len(receiver.requests) == 1:
            await release.wait()
            return 500, b""
        return 200, b""

    receiver.answer = slow_then_ok
    room = (await owner.create_room("ops"))["id"]
    await make_hook(owner, room, receiver.url())
    sent = await owner.send(room, "the launch code is 0000")
    await receiver.wait_for(1)
    assert (await owner.delete(f"/messages/{sent['id']}")).status_code == 204
    release.set()
    got = await receiver.wait_for(2)
    assert got[1].headers["hubbub-event-id"] == got[0].headers["hubbub-event-id"]
    assert b"launch code" not in got[1].body
    assert payload(got[1])["data"]["deleted"] is True


async def test_a_bots_subscription_gets_its_rooms_events_but_not_its_own(
    node: Node, owner: Account, receiver: Receiver
) -> None:
    r = await owner.post("/bots", {"username": "helper"})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    bot = Account("helper", token, r.json()["bot"], node.client)
    room = (await owner.create_room("ops", "private"))["id"]
    elsewhere = (await owner.create_room("elsewhere"))["id"]
    r = await owner.put(f"/rooms/{room}/members/helper", {"role": "member"})
    assert r.status_code == 201, r.text
    r = await owner.post(
        "/bots/helper/subscriptions", {"url": receiver.url(), "events": ["message.created"]}
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    assert (sub["kind"], sub["room_id"], sub["bot"]["username"]) == ("bot", None, "helper")
    await owner.send(elsewhere, "not for the bot")
    await bot.send(room, "the bot's own")
    await owner.send(room, "hey @helper")
    (got,) = await receiver.wait_for(1)
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 1
    assert payload(got)["data"]["text"] == "hey @helper"
    assert verify(sub["secret"], got.headers["hubbub-signature"], got.body)
    listed = (await owner.get("/bots/helper/subscriptions")).json()["hooks"]
    assert [h["id"] for h in listed] == [sub["id"]]
    log = await until(lambda: owner.get(f"/bots/helper/subscriptions/{sub['id']}/deliveries"))
    assert log.status_code == 200
    stranger = await sign_up(node.client, "mallory")
    assert_problem(await stranger.get("/bots/helper/subscriptions"), 404, "bot_not_found")
    r = await owner.delete(f"/bots/helper/subscriptions/{sub['id']}")
    assert r.status_code == 204
    assert (await owner.get("/bots/helper/subscriptions")).json()["hooks"] == []
