"""Web Push (#18) end to end, on both engines, against a push service the test runs on
127.0.0.1 (tests/pushservice.py: it checks the VAPID JWT and decrypts each payload with the
subscription's private key, as a browser's push service and the browser would).

Time is a FakeClock (the delay before pushing to a connected user, back-off); the pushes
themselves travel over real sockets."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from fastapi import FastAPI

from hubbub.config import Settings
from hubbub.services.push import MAX_SUBSCRIPTIONS
from hubbub.webpush import b64url_decode
from tests.api.conftest import Account, assert_problem, sign_up
from tests.api.servers import Node, head, running
from tests.fakes import FakeClock
from tests.pushservice import Push, PushService, Subscription

pytestmark = pytest.mark.anyio

CONTACT = "mailto:ops@hubbub.test"
DELAY = 60.0


@pytest.fixture
async def service(clock: FakeClock) -> AsyncIterator[PushService]:
    svc = PushService(now_s=lambda: clock.now_ms() / 1000)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


@pytest.fixture
def push_settings(settings: Settings) -> Settings:
    return settings.replace(outbound_allow_private=True, push_contact=CONTACT, push_delay=DELAY)


@pytest.fixture
async def node(push_settings: Settings, clock: FakeClock) -> AsyncIterator[Node]:
    async with running(push_settings, clock) as started:
        yield started


async def server_key(account: Account) -> str:
    r = await account.get("/push/vapid-public-key")
    assert r.status_code == 200, r.text
    return str(r.json()["public_key"])


async def subscribe(account: Account, service: PushService) -> Subscription:
    sub = service.subscribe(await server_key(account))
    r = await account.post("/push/subscriptions", sub.json())
    assert r.status_code == 201, r.text
    return sub


async def dm(a: Account, b: Account) -> str:
    r = await a.post("/dms", {"username": b.username})
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


async def settle(clock: FakeClock, seconds: float = 5.0) -> None:
    """Let time pass (fake) and the app's tasks run (real), so that anything that was going
    to be sent has been."""
    for _ in range(int(seconds)):
        clock.advance(1)
        await anyio.sleep(0.03)
    await anyio.sleep(0.2)


async def pushed(service: PushService, clock: FakeClock, count: int) -> list[Push]:
    """Let fake time pass, a second at a time, until `count` pushes have arrived."""
    with anyio.fail_after(15):
        while len(service.pushes) < count:
            clock.advance(1)
            await anyio.sleep(0.03)
    return list(service.pushes)


async def drained(app: FastAPI) -> None:
    """Wait (real time) until the queue is empty: every outcome recorded."""
    with anyio.fail_after(10):
        while await queued(app):  # noqa: ASYNC110 - the database's state
            await anyio.sleep(0.02)


async def queued(app: FastAPI) -> list[tuple[str, str]]:
    store = app.state.services.push.uow.store
    rows = await store.read(
        lambda tx: tx.fetchall("SELECT message_id, subscription_id FROM push_queue")
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def sample(app: FastAPI, name: str, labels: dict[str, str] | None = None) -> float:
    value = app.state.metrics.registry.get_sample_value(name, labels or {})
    return float(value or 0.0)


async def accounts(node: Node, *names: str) -> list[Account]:
    return [await sign_up(node.client, name) for name in names]


# -- the key and the subscriptions --------------------------------------------------------------


async def test_the_vapid_key_is_made_once_kept_in_the_database_and_shown_to_browsers(
    push_settings: Settings, clock: FakeClock
) -> None:
    async with running(push_settings, clock) as first:
        (alice,) = await accounts(first, "alice")
        key = await server_key(alice)
        assert await server_key(alice) == key
    point = b64url_decode(key)
    assert len(point) == 65, "an uncompressed P-256 point"
    assert point[0] == 4
    assert "=" not in key
    async with running(push_settings, clock) as second:  # another node, or a restart
        r = await second.client.get(
            "/api/v1/push/vapid-public-key", headers={"Authorization": f"Bearer {alice.token}"}
        )
        assert r.json()["public_key"] == key
        r = await second.client.get("/api/v1/push/vapid-public-key")
        assert_problem(r, 401, "unauthenticated")


async def test_subscriptions_are_listed_replaced_by_endpoint_and_deleted(
    node: Node, service: PushService
) -> None:
    alice, bob = await accounts(node, "alice", "bob")
    sub = service.subscribe(await server_key(alice))
    r = await alice.post("/push/subscriptions", sub.json())
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    again = await alice.post("/push/subscriptions", sub.json())  # a browser re-subscribing
    assert again.status_code == 201
    assert again.json()["id"] == first
    listed = (await alice.get("/push/subscriptions")).json()["subscriptions"]
    assert [(s["id"], s["endpoint"], s["current"]) for s in listed] == [(first, sub.endpoint, True)]
    assert (await bob.get("/push/subscriptions")).json()["subscriptions"] == []
    assert_problem(
        await bob.delete(f"/push/subscriptions/{first}"), 404, "push_subscription_not_found"
    )
    r = await alice.delete(f"/push/subscriptions/{first}")
    assert r.status_code == 204
    assert (await alice.get("/push/subscriptions")).json()["subscriptions"] == []
    assert_problem(
        await alice.delete(f"/push/subscriptions/{first}"), 404, "push_subscription_not_found"
    )


async def test_at_most_twenty_subscriptions_per_account(node: Node, service: PushService) -> None:
    (alice,) = await accounts(node, "alice")
    key = await server_key(alice)
    subs = [service.subscribe(key) for _ in range(MAX_SUBSCRIPTIONS + 1)]
    for sub in subs[:MAX_SUBSCRIPTIONS]:
        r = await alice.post("/push/subscriptions", sub.json())
        assert r.status_code == 201, r.text
    over = await alice.post("/push/subscriptions", subs[-1].json())
    assert_problem(over, 409, "too_many_push_subscriptions")
    # Renewing one it has is not a new one.
    r = await alice.post("/push/subscriptions", subs[0].json())
    assert r.status_code == 201


def _bad_bodies(good: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    keys = good["keys"]
    return [
        ("no endpoint", {"keys": keys}),
        ("no keys", {"endpoint": good["endpoint"]}),
        ("ftp endpoint", {**good, "endpoint": "ftp://push.example/x"}),
        ("not a url", {**good, "endpoint": "push service"}),
        ("no host", {**good, "endpoint": "https:///x"}),
        ("user in url", {**good, "endpoint": "https://me:pw@push.example/x"}),
        ("bad port", {**good, "endpoint": "https://push.example:99999/x"}),
        ("too long", {**good, "endpoint": "https://push.example/" + "x" * 2100}),
        ("space", {**good, "endpoint": "https://push.example/a b"}),
        ("short p256dh", {**good, "keys": {**keys, "p256dh": keys["p256dh"][:40]}}),
        ("p256dh not b64", {**good, "keys": {**keys, "p256dh": "!" * 87}}),
        ("p256dh off curve", {**good, "keys": {**keys, "p256dh": "BA" + "A" * 85}}),
        ("p256dh standard b64", {**good, "keys": {**keys, "p256dh": "+" + keys["p256dh"][1:]}}),
        ("auth 15 bytes", {**good, "keys": {**keys, "auth": "A" * 20}}),
        ("auth empty", {**good, "keys": {**keys, "auth": ""}}),
        ("keys extra", {**good, "keys": {**keys, "x": "1"}}),
        ("extra field", {**good, "x": 1}),
        ("endpoint number", {**good, "endpoint": 5}),
        ("expirationTime text", {**good, "expirationTime": "soon"}),
    ]


async def test_a_malformed_subscription_is_a_precise_422(node: Node, service: PushService) -> None:
    (alice,) = await accounts(node, "alice")
    good = service.subscribe(await server_key(alice)).json()
    good["endpoint"] = "https://push.example/send/abc"
    for name, body in _bad_bodies(good):
        r = await alice.post("/push/subscriptions", body)
        assert r.status_code == 422, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), name
    assert (await alice.get("/push/subscriptions")).json()["subscriptions"] == []
    r = await alice.post("/push/subscriptions", good)
    assert r.status_code == 201, r.text


async def test_subscriptions_go_with_the_session_that_made_them(
    node: Node, service: PushService
) -> None:
    (alice,) = await accounts(node, "alice")
    r = await node.client.post(
        "/api/v1/sessions", json={"username": "alice", "password": "correct horse"}
    )
    assert r.status_code == 201, r.text
    phone = Account("alice", r.json()["token"], alice.user, node.client)
    laptop_sub = await subscribe(alice, service)
    await subscribe(phone, service)
    assert len((await alice.get("/push/subscriptions")).json()["subscriptions"]) == 2
    assert (await phone.delete("/sessions/current")).status_code == 204  # signing out
    listed = (await alice.get("/push/subscriptions")).json()["subscriptions"]
    assert [s["endpoint"] for s in listed] == [laptop_sub.endpoint]

    r = await node.client.post(
        "/api/v1/sessions", json={"username": "alice", "password": "correct horse"}
    )
    other = Account("alice", r.json()["token"], alice.user, node.client)
    assert (await other.delete("/me/sessions")).status_code == 204  # "sign out everywhere else"
    assert (await other.get("/push/subscriptions")).json()["subscriptions"] == []


async def test_deleting_the_account_deletes_its_subscriptions(
    node: Node, service: PushService
) -> None:
    _admin, alice = await accounts(node, "admin", "alice")  # the first account is an admin
    await subscribe(alice, service)
    r = await alice.client.request(
        "DELETE", "/api/v1/me", json={"password": "correct horse"}, headers=alice.headers
    )
    assert r.status_code == 204, r.text
    store = node.services.push.uow.store
    left = await store.read(lambda tx: tx.fetchone("SELECT COUNT(*) FROM push_subscriptions"))
    assert left is not None
    assert left[0] == 0


# -- pushes -------------------------------------------------------------------------------------


async def test_a_dm_to_an_offline_user_is_pushed_once_encrypted_and_signed(
    node: Node, service: PushService, clock: FakeClock
) -> None:
    alice, bob = await accounts(node, "alice", "bob")
    sub = await subscribe(bob, service)
    await subscribe(alice, service)  # her own message never notifies her
    room = await dm(alice, bob)
    sent = await alice.send(room, "lunch at noon?")
    (push,) = await service.wait_for(1)
    await settle(clock)
    assert len(service.pushes) == 1, "exactly one push"
    assert push.token == sub.token
    assert push.payload == {
        "type": "message",
        "room_id": room,
        "room_name": "alice",
        "room_kind": "dm",
        "author": "alice",
        "message_id": sent["id"],
        "seq": sent["seq"],
        "thread_root": None,
        "reason": "dm",
        "url": f"/#/r/{room}/{sent['seq']}",
        "preview": "lunch at noon?",
    }
    assert push.headers["Urgency"] == "high"
    assert push.headers["TTL"] == "86400"
    topic = push.headers["Topic"]
    assert 0 < len(topic) <= 32
    assert all(c.isalnum() or c in "-_" for c in topic)
    assert push.claims["aud"] == service.origin
    assert push.claims["sub"] == CONTACT
    assert service.refusals == []
    await drained(node.app)
    assert sample(node.app, "hubbub_push_sent_total") == 1


async def test_what_does_not_notify_is_not_pushed_and_a_mention_is_urgent(
    node: Node, service: PushService, clock: FakeClock
) -> None:
    alice, bob = await accounts(node, "alice", "bob")
    sub = await subscribe(bob, service)
    room = await alice.create_room("general-talk")
    assert (await bob.post(f"/rooms/{room['id']}/join")).status_code in (200, 201, 204)
    await alice.send(room["id"], "plain talk: bob's level here is mentions")
    mention = await alice.send(room["id"], "@bob have a look")
    (push,) = await service.wait_for(1)
    await settle(clock)
    assert len(service.received(sub)) == 1
    assert push.payload["message_id"] == mention["id"]
    assert push.payload["room_name"] == "general-talk"
    assert push.payload["reason"] == "mention"
    assert push.headers["Urgency"] == "high"
    # At level `all`, a plain message pushes too, with normal urgency; the same room's pushes
    # share a Topic, so a newer one replaces an older one at the push service.
    r = await bob.put(f"/rooms/{room['id']}/notifications", {"level": "all"})
    assert r.status_code == 200, r.text
    await alice.send(room["id"], "plain again")
    second = (await service.wait_for(2))[1]
    assert second.payload["reason"] == "message"
    assert second.headers["Urgency"] == "normal"
    assert second.headers["Topic"] == push.headers["Topic"]


async def test_preview_off_sends_no_text(
    node: Node, service: PushService, clock: FakeClock
) -> None:
    alice, bob = await accounts(node, "alice", "bob")
    await subscribe(bob, service)
    r = await bob.put("/me/notifications", {"email": "off", "push_preview": False})
    assert r.status_code == 200, r.text
    room = await dm(alice, bob)
    sent = await alice.send(room, "the secret plan")
    (push,) = await service.wait_for(1)
    assert push.payload["message_id"] == sent["id"]
    assert "preview" not in push.payload
    assert "secret" not in str(push.payload)


async def _wait_online(alice: Account, bob: Account) -> None:
    with anyio.fail_after(10):
        while True:
            r = await alice.get("/presence", params={"user_id": bob.id})
            if r.json()["online"]:
                return
            await anyio.sleep(0.02)


async def test_a_connected_user_is_pushed_only_after_the_delay_and_only_if_unread(
    node: Node, service: PushService, clock: FakeClock
) -> None:
    alice, bob, carol = await accounts(node, "alice", "bob", "carol")
    await subscribe(bob, service)
    await subscribe(carol, service)
    to_bob, to_carol = await dm(alice, bob), await dm(alice, carol)
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(_poll_forever, bob))
        tg.start_soon(functools.partial(_poll_forever, carol))
        await _wait_online(alice, bob)
        await _wait_online(alice, carol)
        for_bob = await alice.send(to_bob, "are you there?")
        for_carol = await alice.send(to_carol, "and you?")
        await settle(clock, 10)
        assert service.pushes == [], "connected: the open app shows it"
        assert len(await queued(node.app)) == 2, "waiting for the delay"
        # carol reads hers in time: no push, ever.
        r = await carol.put(f"/rooms/{to_carol}/read", {"seq": for_carol["seq"]})
        assert r.status_code in (200, 204), r.text
        clock.advance(DELAY)
        (push,) = await pushed(service, clock, 1)
        await settle(clock)
        tg.cancel_scope.cancel()
    assert push.payload["message_id"] == for_bob["id"]
    assert len(service.pushes) == 1
    assert await queued(node.app) == []


async def _poll_forever(account: Account) -> None:
    """Keep a long-poll of the account in flight, as a client does: connected meanwhile."""
    cursor = await head(account)
    while True:
        r = await account.get("/events", params={"since": cursor, "timeout": 30})
        assert r.status_code == 200, r.text
        cursor = r.json()["next"]


async def test_a_message_deleted_before_its_push_is_sent_sends_nothing(
    node: Node, service: PushService, clock: FakeClock
) -> None:
    alice, bob = await accounts(node, "alice", "bob")
    await subscribe(bob, service)
    room = await dm(alice, bob)
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(_poll_forever, bob))
        await _wait_online(alice, bob)
        sent = await alice.send(room, "oops, wrong person")
        await settle(clock)
        assert [m for m, _ in await queued(node.app)] == [sent["id"]]
        assert (await alice.delete(f"/messages/{sent['id']}")).status_code == 204
        clock.advance(DELAY)
        await settle(clock)
        tg.cancel_scope.cancel()
    assert service.pushes == []
    assert service.answered == [], "no request at all"
    assert await queued(node.app) == []


async def test_410_deletes_the_subscription(
    node: Node, service: PushService, clock: FakeClock
) -> None:
    alice, bob = await accounts(node, "alice", "bob")
    sub = await subscribe(bob, service)
    sub.gone = True  # the user unsubscribed in the browser
    room = await dm(alice, bob)
    await alice.send(room, "hello?")
    with anyio.fail_after(10):
        while not service.answered:  # noqa: ASYNC110 - another task's server
            await anyio.sleep(0.02)
    await settle(clock)
    await drained(node.app)
    assert service.answered == [(sub.token, 410)]
    assert (await bob.get("/push/subscriptions")).json()["subscriptions"] == []
    assert sample(node.app, "hubbub_push_failed_total", {"reason": "gone"}) == 1
    await alice.send(room, "still there?")
    await settle(clock)
    assert service.answered == [(sub.token, 410)], "not tried again"


async def test_429_and_503_are_retried_with_back_off_then_delivered(
    node: Node, service: PushService, clock: FakeClock
) -> None:
    alice, bob = await accounts(node, "alice", "bob")
    sub = await subscribe(bob, service)
    sub.answers = [429, 503]
    room = await dm(alice, bob)
    sent = await alice.send(room, "knock knock")
    with anyio.fail_after(10):
        while len(service.answered) < 1:  # noqa: ASYNC110 - another task's server
            await anyio.sleep(0.02)
    await anyio.sleep(0.2)
    assert len(service.answered) == 1, "not again before Retry-After"
    (push,) = await pushed(service, clock, 1)
    await drained(node.app)
    assert [status for _, status in service.answered] == [429, 503, 201]
    assert push.payload["message_id"] == sent["id"]
    assert sample(node.app, "hubbub_push_retried_total") == 2
    assert sample(node.app, "hubbub_push_sent_total") == 1


async def test_a_push_is_sent_once_across_a_restart_between_commit_and_send(
    push_settings: Settings, service: PushService, clock: FakeClock
) -> None:
    """The message is committed and its push queued by the first run, which stops before the
    push is due; the next run (a shorter delay) sends it once."""
    async with running(push_settings.replace(push_delay=3600.0), clock) as first:
        alice, bob = await accounts(first, "alice", "bob")
        await subscribe(bob, service)
        room = await dm(alice, bob)
        async with anyio.create_task_group() as tg:
            tg.start_soon(functools.partial(_poll_forever, bob))
            await _wait_online(alice, bob)
            sent = await alice.send(room, "before the restart")
            await settle(clock)
            assert [m for m, _ in await queued(first.app)] == [sent["id"]]
            tg.cancel_scope.cancel()
    assert service.pushes == []
    async with running(push_settings.replace(push_delay=1.0), clock) as second:
        clock.advance(3600)
        (push,) = await pushed(service, clock, 1)
        await settle(clock, 10)
        assert push.payload["message_id"] == sent["id"]
        assert len(service.pushes) == 1
        assert await queued(second.app) == []


async def test_with_the_guard_on_private_endpoints_are_refused(
    settings: Settings, service: PushService, clock: FakeClock
) -> None:
    """With HUBBUB_OUTBOUND_ALLOW_PRIVATE off: an endpoint that is a private address is a 422
    at once; one whose name resolves to one is refused by the guard when sending (what a
    name resolves to can change between the two, so the send is what counts)."""
    guarded = settings.replace(push_contact=CONTACT)
    async with running(guarded, clock) as node:
        alice, bob = await accounts(node, "alice", "bob")
        key = await server_key(bob)
        good = service.subscribe(key).json()
        for endpoint in (
            good["endpoint"],  # http://127.0.0.1:port/...: http, and loopback
            f"https://127.0.0.1:{service.port}/push/x",
            "https://[::1]/push/x",
            "https://10.1.2.3/push/x",
            "https://169.254.169.254/latest",
            "https://[::ffff:127.0.0.1]/push/x",
        ):
            r = await bob.post("/push/subscriptions", {**good, "endpoint": endpoint})
            assert_problem(r, 422, "invalid")
        sub = service.subscribe(key, host="localhost")
        r = await bob.post(
            "/push/subscriptions",
            {**sub.json(), "endpoint": sub.endpoint.replace("http:", "https:")},
        )
        assert r.status_code == 201, r.text
        room = await dm(alice, bob)
        await alice.send(room, "to localhost?")
        with anyio.fail_after(10):
            while not sample(node.app, "hubbub_push_failed_total", {"reason": "refused"}):  # noqa: ASYNC110
                await anyio.sleep(0.02)
        assert service.answered == [], "nothing reached the push service"
        assert await queued(node.app) == []


async def test_two_nodes_on_one_database_send_each_push_once(
    pg_url: str, service: PushService, clock: FakeClock
) -> None:
    """A cluster: both nodes run the consumer (one holds its lease) and a sender (each row
    claimed by one). Every (message, subscription) arrives exactly once."""
    settings = Settings(
        database_url=pg_url,
        password_hashing="fast",
        rate_limits="off",
        event_poll_seconds=0.2,
        outbound_allow_private=True,
        push_contact=CONTACT,
        files_shared=True,
    )
    async with running(settings, clock) as one, running(settings, clock) as two:
        alice = await sign_up(one.client, "alice")
        bob = await sign_up(two.client, "bob")
        subs = [await subscribe(bob, service) for _ in range(3)]
        room = await dm(alice, bob)
        sent = [await alice.send(room, f"message {i}") for i in range(20)]
        senders = [one.app.state.push_sender, two.app.state.push_sender]
        with anyio.fail_after(30):
            while len(service.pushes) < 60:
                async with anyio.create_task_group() as tg:  # both nodes at once, too
                    for sender in senders:
                        tg.start_soon(sender.send_due)
                clock.advance(1)
                await anyio.sleep(0.05)
        await settle(clock, 10)
    got = sorted((p.token, p.payload["message_id"]) for p in service.pushes)
    want = sorted((s.token, m["id"]) for s in subs for m in sent)
    assert got == want, "each push exactly once"


async def test_making_subscriptions_is_rate_limited(
    push_settings: Settings, service: PushService, clock: FakeClock
) -> None:
    limited = push_settings.replace(rate_limits="push_subscriptions=2/hour")
    async with running(limited, clock) as node:
        (alice,) = await accounts(node, "alice")
        key = await server_key(alice)
        for _ in range(2):
            r = await alice.post("/push/subscriptions", service.subscribe(key).json())
            assert r.status_code == 201, r.text
        r = await alice.post("/push/subscriptions", service.subscribe(key).json())
        assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        assert len((await alice.get("/push/subscriptions")).json()["subscriptions"]) == 2
