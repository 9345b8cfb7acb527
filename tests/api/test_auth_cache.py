"""The bearer-token cache (#21): an authenticated request is answered without reading the
session from the database, yet nothing it caches outlives a revocation or a change of the
user. Each test first warms the cache (the token has just authenticated, and is served from
the cache), then changes something, then uses the same token on the same app at once.
Across nodes: tests at the end, two apps on one PostgreSQL and one Redis."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import anyio
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hubbub.app import command_services
from hubbub.config import Settings
from hubbub.models import User
from hubbub.services.authcache import MAX_AGE_MS, AuthCache
from hubbub.services.sessions import TOUCH_EVERY_MS
from hubbub.wire import rfc3339
from tests.api.conftest import Account, assert_problem, sign_up
from tests.api.servers import Node, running
from tests.api.test_account_deletion import delete_me
from tests.api.test_bots import make_bot
from tests.api.test_self_service import (
    NEW_PASSWORD,
    PASSWORD,
    another_session,
    current_id,
    quiet_write_count,
    sessions_of,
    works,
)
from tests.conftest import POLL_OFF_SECONDS
from tests.fakes import START_MS, FakeClock

pytestmark = pytest.mark.anyio

DAY_S = 24 * 3600


def metric(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def scrape(node: Node) -> str:
    r = await node.client.get("/metrics")
    assert r.status_code == 200
    return r.text


async def hits(node: Node) -> float:
    return metric(await scrape(node), "hubbub_auth_cache_hits_total")


async def warm(node: Node, *accounts: Account) -> None:
    """Each account's token is in the node's cache: its next use is a hit."""
    for account in accounts:
        assert await works(account)
        before = await hits(node)
        assert await works(account)
        assert await hits(node) == before + 1, "served from the cache"


@pytest.fixture
async def node(settings: Settings, clock: FakeClock) -> AsyncIterator[Node]:
    async with running(settings, clock) as started:
        yield started


@pytest.fixture
async def alice(node: Node) -> Account:
    return await sign_up(node.client, "alice")  # the first account: a server admin


@pytest.fixture
async def bob(node: Node) -> Account:
    return await sign_up(node.client, "bob")


# -- the cache serves ---------------------------------------------------------------------------


async def reads(node: Node) -> float:
    """Database reads the app has made, once its background workers are quiet."""
    counts = [-1.0]
    while True:
        counts.append(
            metric(await scrape(node), "hubbub_db_query_duration_seconds_count", operation="read")
        )
        if counts[-3:] == [counts[-1]] * 3:  # unchanged for 100 ms
            return counts[-1]
        await anyio.sleep(0.05)


async def test_a_cached_token_authenticates_without_reading_the_database(
    node: Node, bob: Account
) -> None:
    async def reads_of_one_request() -> float:
        before = await reads(node)
        r = await bob.get("/rooms/general/messages")
        assert r.status_code == 200, r.text
        return await reads(node) - before

    hits_before = await hits(node)
    miss = await reads_of_one_request()  # the first: a miss, which fills the cache
    assert await hits(node) == hits_before
    hits_before = await hits(node)
    assert [await reads_of_one_request() for _ in range(5)] == [miss - 1] * 5
    assert await hits(node) == hits_before + 5
    text = await scrape(node)
    assert metric(text, "hubbub_auth_cache_misses_total") >= 1
    assert metric(text, "hubbub_auth_cache_entries") == 1


async def test_a_cached_session_is_still_noted_as_used_once_a_minute(
    node: Node, bob: Account, clock: FakeClock
) -> None:
    async def writes_of_one_use() -> float:
        before = await quiet_write_count(node)
        assert await works(bob)
        return await quiet_write_count(node) - before

    clock.advance(50)  # used 50 s after sign-up: read, cached, not yet noted
    assert await writes_of_one_use() == 0
    clock.advance(11)  # a hit, 61 s after the last note: noted now
    before = await hits(node)
    assert await writes_of_one_use() == 1
    assert await hits(node) == before + 1
    assert (await sessions_of(bob))[0]["last_used_at"] == rfc3339(START_MS + 61_000)
    # The cached entry follows the note: the next hits write nothing for a minute.
    clock.advance(2)
    assert await writes_of_one_use() == 0
    assert await hits(node) == before + 3  # (sessions_of was a hit too)
    assert MAX_AGE_MS < TOUCH_EVERY_MS


async def test_a_cached_session_still_expires_when_idle(
    node: Node, bob: Account, clock: FakeClock
) -> None:
    kept = await another_session(bob)
    await warm(node, bob)
    # Keep bob's entry cached however long the test waits, so it is the cached copy (with
    # its last use) that is judged, not a fresh read.
    node.services.sessions.cache.max_age_ms = 10 * 366 * DAY_S * 1000
    clock.advance(30 * DAY_S)
    assert await works(kept)
    await quiet_write_count(node)  # the hourly upkeep the jump woke is done (nothing idle)
    clock.advance_ms(1)
    before = await hits(node)
    r = await bob.get("/me")
    assert_problem(r, 401, "unauthenticated")
    assert "expired" in r.json()["detail"]
    assert await hits(node) == before + 1, "answered from the cache"


async def test_an_entry_is_read_again_after_its_max_age(
    node: Node, bob: Account, clock: FakeClock
) -> None:
    await warm(node, bob)
    misses = metric(await scrape(node), "hubbub_auth_cache_misses_total")
    clock.advance_ms(MAX_AGE_MS + 1)
    assert await works(bob)
    assert metric(await scrape(node), "hubbub_auth_cache_misses_total") == misses + 1


# -- nothing stale: revocations on the same app ------------------------------------------------


async def test_signing_out_refuses_the_cached_token_at_once(node: Node, bob: Account) -> None:
    await warm(node, bob)
    assert (await bob.delete("/sessions/current")).status_code == 204
    assert not await works(bob)


async def test_revoking_a_session_refuses_its_cached_token_at_once(
    node: Node, bob: Account
) -> None:
    phone = await another_session(bob)
    await warm(node, bob, phone)
    assert (await bob.delete(f"/me/sessions/{await current_id(phone)}")).status_code == 204
    assert not await works(phone)
    assert await works(bob)


async def test_revoking_the_others_refuses_their_cached_tokens_at_once(
    node: Node, bob: Account
) -> None:
    phone, laptop = await another_session(bob), await another_session(bob)
    await warm(node, bob, phone, laptop)
    assert (await bob.delete("/me/sessions")).status_code == 204
    assert not await works(phone)
    assert not await works(laptop)
    assert await works(bob)


async def test_a_password_change_refuses_the_other_cached_tokens_at_once(
    node: Node, bob: Account
) -> None:
    phone = await another_session(bob)
    await warm(node, bob, phone)
    r = await bob.put("/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 204, r.text
    assert not await works(phone)
    assert await works(bob)


async def test_deactivation_refuses_the_cached_token_at_once(
    node: Node, alice: Account, bob: Account
) -> None:
    await warm(node, bob)
    assert (await alice.patch("/admin/users/bob", {"deactivated": True})).status_code == 200
    assert not await works(bob)


async def test_deleting_your_account_refuses_every_cached_token_at_once(
    node: Node, alice: Account, bob: Account
) -> None:
    phone = await another_session(bob)
    await warm(node, bob, phone)
    assert (await delete_me(bob, PASSWORD)).status_code == 204
    assert not await works(bob)
    assert not await works(phone)


async def test_an_admin_deleting_an_account_refuses_its_cached_token_at_once(
    node: Node, alice: Account, bob: Account
) -> None:
    await warm(node, bob)
    assert (await alice.delete("/admin/users/bob")).status_code == 204
    assert not await works(bob)


async def test_rotating_or_deleting_a_bot_refuses_its_cached_key_at_once(
    node: Node, bob: Account
) -> None:
    bot, _ = await make_bot(bob, "rotor")
    await warm(node, bot)
    r = await bob.post("/bots/rotor/tokens")
    assert r.status_code == 201, r.text
    assert not await works(bot)
    renewed = dataclasses.replace(bot, token=r.json()["token"])
    await warm(node, renewed)
    assert (await bob.delete("/bots/rotor")).status_code == 204
    assert not await works(renewed)


async def test_the_idle_sweep_refuses_the_cached_token(
    node: Node, bob: Account, clock: FakeClock
) -> None:
    idle = await another_session(bob)
    await warm(node, idle)
    node.services.sessions.cache.max_age_ms = 10 * 366 * DAY_S * 1000  # only the sweep ends it
    clock.advance(30 * DAY_S)
    assert await works(bob)
    await quiet_write_count(node)  # the hourly upkeep the jump woke is done (nothing idle)
    clock.advance_ms(1)
    assert await node.services.sessions.sweep_idle() == 1
    r = await idle.get("/me")
    assert_problem(r, 401, "unauthenticated")
    assert "signed out" in r.json()["detail"], "the session is gone, not merely idle"


# -- nothing stale: changes of the user on the same app ----------------------------------------


async def test_a_promotion_and_a_demotion_apply_to_the_cached_token_at_once(
    node: Node, alice: Account, bob: Account
) -> None:
    await warm(node, bob)
    assert_problem(await bob.get("/admin/users"), 403, "not_allowed")
    assert (await alice.patch("/admin/users/bob", {"admin": True})).status_code == 200
    assert (await bob.get("/admin/users")).status_code == 200
    await warm(node, bob)
    assert (await alice.patch("/admin/users/bob", {"admin": False})).status_code == 200
    assert_problem(await bob.get("/admin/users"), 403, "not_allowed")


async def test_a_new_display_name_shows_on_every_cached_session_at_once(
    node: Node, bob: Account
) -> None:
    phone = await another_session(bob)
    await warm(node, bob, phone)
    assert (await bob.patch("/me", {"display_name": "Robert"})).status_code == 200
    assert (await phone.get("/me")).json()["display_name"] == "Robert"


# -- the cache itself ----------------------------------------------------------------------------


def test_the_cache_keeps_the_most_recently_used_entries(clock: FakeClock) -> None:
    cache = AuthCache(clock, max_entries=2)
    bob = _user("u_bob")
    for n in ("a", "b"):
        cache.remember(n, f"s_{n}", bob, 0, read_at=clock.now_ms(), generation=0)
    assert cache.find("a") is not None  # "b" is now the least recently used
    cache.remember("c", "s_c", bob, 0, read_at=clock.now_ms(), generation=0)
    assert (cache.find("a"), cache.find("b"), cache.find("c")) != (None, None, None)
    assert cache.find("b") is None
    assert len(cache) == 2
    cache.forget_user("u_bob")
    assert len(cache) == 0


def test_a_fill_read_before_an_invalidation_is_not_cached(clock: FakeClock) -> None:
    """A request read the session, then (before it cached it) a revocation came: what it
    read may be stale, so it is not kept."""
    cache = AuthCache(clock)
    generation = cache.generation  # the request reads the session now...
    cache.forget_sessions(["s_a"])  # ... and the revocation commits meanwhile
    cache.remember("a", "s_a", _user("u_bob"), 0, read_at=clock.now_ms(), generation=generation)
    assert cache.find("a") is None
    cache.remember(
        "a", "s_a", _user("u_bob"), 0, read_at=clock.now_ms(), generation=cache.generation
    )
    assert cache.find("a") is not None


def _user(user_id: str) -> User:
    return User(user_id, user_id, user_id, 0)


# -- across nodes: two apps, one PostgreSQL, one Redis ------------------------------------------


async def eventually_refused(account: Account, seconds: float = 1.0) -> float:
    """Seconds until the account's token is refused (fails after `seconds`)."""
    started = time.monotonic()
    while await works(account):
        assert time.monotonic() - started < seconds, "still accepted"
        await anyio.sleep(0.01)
    return time.monotonic() - started


async def bus_connected(node: Node) -> None:
    deadline = time.monotonic() + 10
    while metric(await scrape(node), "hubbub_bus_connected") != 1:
        assert time.monotonic() < deadline, "the Redis bus did not connect"
        await anyio.sleep(0.05)


@pytest.fixture
async def two_nodes(pg_url: str, redis_url: str) -> AsyncIterator[tuple[Node, Node]]:
    """Two apps on one PostgreSQL database and one Redis, the poll off: only the bus tells
    one of the other's writes."""
    settings = Settings(
        database_url=pg_url,
        redis_url=redis_url,
        password_hashing="fast",
        rate_limits="off",
        event_poll_seconds=POLL_OFF_SECONDS,
        metrics_public=True,
    )
    async with running(settings) as a, running(settings) as b:
        await bus_connected(a)
        await bus_connected(b)
        yield a, b


def on(node: Node, account: Account) -> Account:
    return dataclasses.replace(account, client=node.client)


async def test_a_sign_out_on_one_node_refuses_the_token_on_another_promptly(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    await sign_up(a.client, "alice")
    bob = await sign_up(a.client, "bob")
    phone = await another_session(bob)
    await warm(b, on(b, bob), on(b, phone))
    assert (await phone.delete("/sessions/current")).status_code == 204
    assert not await works(phone), "on the node that signed out: at once"
    await eventually_refused(on(b, phone))
    assert await works(on(b, bob))


async def test_a_deactivation_on_one_node_refuses_the_token_on_another_promptly(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    alice = await sign_up(a.client, "alice")
    bob = await sign_up(a.client, "bob")
    await warm(b, on(b, bob))
    assert (await alice.patch("/admin/users/bob", {"deactivated": True})).status_code == 200
    await eventually_refused(on(b, bob))


async def test_a_demotion_on_one_node_applies_on_another_promptly(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    alice = await sign_up(a.client, "alice")
    bob = await sign_up(a.client, "bob")
    assert (await alice.patch("/admin/users/bob", {"admin": True})).status_code == 200
    bob_on_b = on(b, bob)
    await warm(b, bob_on_b)
    assert (await bob_on_b.get("/admin/users")).status_code == 200
    assert (await alice.patch("/admin/users/bob", {"admin": False})).status_code == 200
    started = time.monotonic()
    while (await bob_on_b.get("/admin/users")).status_code != 403:
        assert time.monotonic() - started < 1.0, "still an admin on the other node"
        await anyio.sleep(0.01)


async def test_the_other_node_refuses_without_the_bus_within_the_max_age(
    pg_url: str, clock: FakeClock
) -> None:
    """No bus between them (and the poll off): the max age is the backstop."""
    settings = Settings(
        database_url=pg_url,
        password_hashing="fast",
        rate_limits="off",
        event_poll_seconds=POLL_OFF_SECONDS,
        metrics_public=True,
    )
    async with running(settings, clock) as a, running(settings, clock) as b:
        bob = await sign_up(a.client, "bob")
        await warm(b, on(b, bob))
        assert (await bob.delete("/sessions/current")).status_code == 204
        assert await works(on(b, bob)), "b has not heard (this is what the max age is for)"
        clock.advance_ms(MAX_AGE_MS + 1)
        assert not await works(on(b, bob))


async def test_a_revocation_waiting_behind_a_gap_in_the_log_still_refuses_at_once(
    node: Node, settings: Settings, bob: Account
) -> None:
    """The hub dispatches events only in position order: when a write this node has not
    heard of (here the command line's) holds the position before a sign-out, the sign-out's
    dispatch waits for the hub to read the log. The token must be refused before that."""
    phone = await another_session(bob)
    await warm(node, phone)
    async with command_services(settings) as cli:  # its events reach no hub
        await cli.admin.create_user(None, "carol")
    assert (await phone.delete("/sessions/current")).status_code == 204
    assert not await works(phone)
