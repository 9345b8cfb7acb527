"""Account self-service (issue #12): PATCH /me, PUT /me/password, the sessions list and its
revocation, and idle expiry of sessions. Every refusal is checked to change nothing."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hubbub.config import Settings
from hubbub.wire import rfc3339
from tests.api.conftest import API, Account, assert_problem, me_of, sign_up
from tests.api.servers import Node, events_since, head, running
from tests.fakes import START_MS, FakeClock

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse"
NEW_PASSWORD = "battery staple 42"
DAY_S = 24 * 3600
SESSION_FIELDS = {"id", "created_at", "last_used_at", "user_agent", "current"}


async def sign_in(
    client: httpx.AsyncClient,
    username: str,
    password: str = PASSWORD,
    *,
    user_agent: str | None = None,
) -> httpx.Response:
    headers = {} if user_agent is None else {"User-Agent": user_agent}
    return await client.post(
        f"{API}/sessions", json={"username": username, "password": password}, headers=headers
    )


async def another_session(account: Account, *, user_agent: str | None = None) -> Account:
    """A second signed-in device of the same user."""
    r = await sign_in(account.client, account.username, user_agent=user_agent)
    assert r.status_code == 201, r.text
    return Account(account.username, r.json()["token"], r.json()["user"], account.client)


async def sessions_of(account: Account) -> list[dict[str, Any]]:
    r = await account.get("/me/sessions")
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"sessions"}
    return list(r.json()["sessions"])


async def current_id(account: Account) -> str:
    return str(next(s["id"] for s in await sessions_of(account) if s["current"]))


async def works(account: Account) -> bool:
    """Whether the account's token still authenticates (401 otherwise)."""
    r = await account.get("/me")
    if r.status_code == 401:
        assert_problem(r, 401, "unauthenticated")
        return False
    assert r.status_code == 200, r.text
    return True


@pytest.fixture
async def clocked(settings: Settings, clock: FakeClock) -> AsyncIterator[Node]:
    """The app on the test's database, with time that moves only when the test says."""
    async with running(settings, clock) as node:
        yield node


# -- PATCH /me --------------------------------------------------------------------------------


async def test_renaming_yourself_returns_the_user_and_shows_everywhere(
    alice: Account, bob: Account
) -> None:
    r = await alice.patch("/me", {"display_name": "Alice Liddell"})
    assert r.status_code == 200, r.text
    renamed = {**alice.user, "display_name": "Alice Liddell"}
    assert r.json() == me_of(renamed)
    assert (await alice.get("/me")).json() == r.json()
    assert (await bob.get("/users/alice")).json() == renamed
    search = (await bob.get("/users", params={"prefix": "ali"})).json()["users"]
    assert search == [renamed]


async def test_a_rename_is_announced_to_another_user_as_user_updated(
    alice: Account, bob: Account
) -> None:
    since = await head(bob)
    renamed = (await alice.patch("/me", {"display_name": "Queen Alice"})).json()
    del renamed["email"], renamed["email_confirmed"]  # yours only: not in user.updated
    updates = await events_since(bob, since, "user.updated")
    assert len(updates) == 1
    assert updates[0]["data"] == renamed
    assert updates[0]["room_id"] is None
    # The author's own streams hear of it too (another device's profile view updates).
    assert [e["data"] for e in await events_since(alice, since, "user.updated")] == [renamed]


async def test_an_empty_or_unchanged_patch_changes_nothing_and_announces_nothing(
    alice: Account, bob: Account
) -> None:
    since = await head(bob)
    for body in ({}, {"display_name": None}, {"display_name": "alice"}):
        r = await alice.patch("/me", body)
        assert r.status_code == 200, r.text
        assert r.json() == me_of(alice.user)
    assert await events_since(bob, since, "user.updated") == []


@pytest.mark.parametrize(
    "display_name",
    [
        "",
        " ",
        "\u3000\t",
        "x" * 65,
        "\u200b",  # zero-width only: nothing visible
        "\u3164",  # a Hangul filler: nothing visible
        "evil\u202eexe.png",  # a bidi override
        "a\u2066b",
        "a\x00b",
        42,
        ["alice"],
    ],
)
async def test_an_invalid_display_name_is_422_and_changes_nothing(
    alice: Account, bob: Account, display_name: Any
) -> None:
    since = await head(bob)
    body = assert_problem(await alice.patch("/me", {"display_name": display_name}), 422, "invalid")
    named = {body.get("field")} | {e["field"] for e in body.get("errors") or []}
    assert "display_name" in named, body
    assert (await alice.get("/me")).json() == me_of(alice.user)
    assert await events_since(bob, since, "user.updated") == []


async def test_patch_me_refuses_fields_it_does_not_know(alice: Account) -> None:
    for body in ({"username": "mallory"}, {"is_admin": True}, {"display_name": "A", "x": 1}):
        assert_problem(await alice.patch("/me", body), 422, "invalid")
    assert (await alice.get("/me")).json() == me_of(alice.user)


async def test_display_names_at_the_limits_are_kept(alice: Account) -> None:
    for name in ("A", "n" * 64, "Zoë 🦊", "  padded  "):
        r = await alice.patch("/me", {"display_name": name})
        assert r.status_code == 200, r.text
        assert r.json()["display_name"] == name
        assert (await alice.get("/me")).json()["display_name"] == name


async def test_profile_changes_are_rate_limited(settings: Settings) -> None:
    limited = dataclasses.replace(settings, rate_limits="profile=2/hour")
    async with running(limited) as node:
        alice = await sign_up(node.client, "alice")
        for name in ("one", "two"):
            assert (await alice.patch("/me", {"display_name": name})).status_code == 200
        assert_problem(await alice.patch("/me", {"display_name": "three"}), 429, "rate_limited")
        assert (await alice.get("/me")).json()["display_name"] == "two"


# -- PUT /me/password ---------------------------------------------------------------------------


async def change_password(
    account: Account, current: str = PASSWORD, new: str = NEW_PASSWORD
) -> httpx.Response:
    return await account.put("/me/password", {"current_password": current, "new_password": new})


async def test_changing_the_password_swaps_which_password_signs_in(
    client: httpx.AsyncClient, alice: Account
) -> None:
    r = await change_password(alice)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_problem(await sign_in(client, "alice", PASSWORD), 401, "invalid_credentials")
    fresh = await sign_in(client, "alice", NEW_PASSWORD)
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["user"]["id"] == alice.id


async def test_changing_the_password_ends_every_other_session_at_once_and_keeps_this_one(
    alice: Account, bob: Account
) -> None:
    phone = await another_session(alice)
    laptop = await another_session(alice)
    since = await head(alice)
    assert (await change_password(alice)).status_code == 204
    assert await works(alice)
    assert not await works(phone)
    assert not await works(laptop)
    assert await works(bob), "someone else's sessions are not touched"
    assert [s["current"] for s in await sessions_of(alice)] == [True]
    # This session's streams hear which sessions ended (a sessions list can update).
    revoked = await events_since(alice, since, "session.revoked")
    assert len(revoked) == 1
    assert len(revoked[0]["data"]["session_ids"]) == 2


async def test_a_wrong_current_password_is_403_and_changes_nothing(
    client: httpx.AsyncClient, alice: Account
) -> None:
    phone = await another_session(alice)
    r = await change_password(alice, current="not my password")
    assert_problem(r, 403, "wrong_password")
    assert await works(alice)
    assert await works(phone)
    assert (await sign_in(client, "alice", PASSWORD)).status_code == 201
    assert_problem(await sign_in(client, "alice", NEW_PASSWORD), 401, "invalid_credentials")


@pytest.mark.parametrize(
    ("new", "status", "code"),
    [
        ("password", 422, "weak_password"),
        ("12345678", 422, "weak_password"),
        ("alice123", 422, "weak_password"),  # the username (alice123 below)
        ("ALICE123", 422, "weak_password"),
        (" " * 9, 422, "weak_password"),
        ("short", 422, "invalid"),
        ("x" * 257, 422, "invalid"),
    ],
)
async def test_a_weak_new_password_is_422_and_changes_nothing(
    client: httpx.AsyncClient, new: str, status: int, code: str
) -> None:
    alice = await sign_up(client, "alice123")
    phone = await another_session(alice)
    body = assert_problem(await change_password(alice, new=new), status, code)
    named = {body.get("field")} | {e["field"] for e in body.get("errors") or []}
    assert "new_password" in named, body  # the body's field, not "password"
    assert await works(phone)
    assert (await sign_in(client, "alice123", PASSWORD)).status_code == 201
    assert_problem(await sign_in(client, "alice123", new), 401, "invalid_credentials")


async def test_a_password_change_needs_both_fields(alice: Account) -> None:
    for body in ({"new_password": NEW_PASSWORD}, {"current_password": PASSWORD}, {}):
        assert_problem(await alice.put("/me/password", body), 422, "invalid")
    assert_problem(await sign_in(alice.client, "alice", NEW_PASSWORD), 401, "invalid_credentials")


async def test_wrong_current_passwords_spend_the_accounts_sign_in_budget(
    settings: Settings,
) -> None:
    limited = dataclasses.replace(settings, rate_limits="sign_in_account=3/15minutes")
    async with running(limited) as node:
        alice = await sign_up(node.client, "alice")
        for _ in range(3):
            assert_problem(await change_password(alice, current="guess"), 403, "wrong_password")
        # The account is locked like after three failed sign-ins: even the right password...
        assert_problem(await change_password(alice), 429, "rate_limited")
        # ...and a sign-in from a device that is not signed in.
        assert_problem(await sign_in(node.client, "alice"), 429, "rate_limited")
        assert_problem(await sign_in(node.client, "alice", NEW_PASSWORD), 429, "rate_limited")
        assert await works(alice)
    async with running(limited) as node:  # the budget lives in the process: a new one is whole
        assert (await sign_in(node.client, "alice", PASSWORD)).status_code == 201


async def test_a_password_change_starts_the_accounts_failure_count_afresh(
    settings: Settings,
) -> None:
    """Failures a guesser spent against the old password don't count towards locking the
    owner out after they changed it."""
    limited = dataclasses.replace(settings, rate_limits="sign_in_account=3/15minutes")
    async with running(limited) as node:
        alice = await sign_up(node.client, "alice")
        for _ in range(2):
            assert_problem(await sign_in(node.client, "alice", "guess"), 401, "invalid_credentials")
        assert (await change_password(alice)).status_code == 204
        for _ in range(2):
            assert_problem(await sign_in(node.client, "alice", "guess"), 401, "invalid_credentials")
        assert (await sign_in(node.client, "alice", NEW_PASSWORD)).status_code == 201


async def test_wrong_current_passwords_spend_the_addresss_sign_in_budget(
    settings: Settings,
) -> None:
    limited = dataclasses.replace(settings, rate_limits="sign_in=3/minute")
    async with running(limited, address="10.0.0.7") as node:
        alice = await sign_up(node.client, "alice")
        await sign_up(node.client, "bob")
        for _ in range(3):
            assert_problem(await change_password(alice, current="guess"), 403, "wrong_password")
        # That address has used its failed sign-ins: it can't try another account either.
        assert_problem(await sign_in(node.client, "bob"), 429, "rate_limited")


# -- GET /me/sessions ---------------------------------------------------------------------------


async def test_the_sessions_list_shows_each_of_your_sessions_and_marks_this_one(
    alice: Account, bob: Account
) -> None:
    phone = await another_session(alice, user_agent="Phone/1.0")
    listed = await sessions_of(phone)
    assert len(listed) == 2
    for s in listed:
        assert set(s) == SESSION_FIELDS
        assert s["created_at"] <= s["last_used_at"]
    assert [s["current"] for s in listed].count(True) == 1
    mine = next(s for s in listed if s["current"])
    assert mine["user_agent"] == "Phone/1.0"
    other = next(s for s in listed if not s["current"])
    assert other["user_agent"].startswith("python-httpx/")  # alice's sign-up, by httpx
    # The same list from the other device marks the other session.
    from_alice = await sessions_of(alice)
    assert {s["id"] for s in from_alice} == {s["id"] for s in listed}
    assert next(s for s in from_alice if s["current"])["id"] == other["id"]
    # bob's sessions are not in it, and his list has only his.
    assert len(await sessions_of(bob)) == 1


async def test_a_session_list_never_shows_a_token_or_its_hash(alice: Account) -> None:
    phone = await another_session(alice)
    r = await alice.get("/me/sessions")
    assert r.status_code == 200
    for token in (alice.token, phone.token):
        assert token not in r.text
        assert hashlib.sha256(token.encode()).hexdigest() not in r.text


async def test_the_user_agent_is_cut_to_256_characters_and_may_be_absent(alice: Account) -> None:
    long = await another_session(alice, user_agent="B" * 300)
    none = await another_session(alice, user_agent="")
    by_id = {s["id"]: s for s in await sessions_of(alice)}
    assert by_id[await current_id(long)]["user_agent"] == "B" * 256
    assert by_id[await current_id(none)]["user_agent"] is None


async def test_sessions_are_listed_most_recently_used_first(
    clocked: Node, clock: FakeClock
) -> None:
    alice = await sign_up(clocked.client, "alice")  # at START_MS
    clock.advance(10)
    tablet = await another_session(alice, user_agent="Tablet")  # START_MS + 10 s
    clock.advance(10)
    phone = await another_session(alice, user_agent="Phone")  # START_MS + 20 s
    clock.advance(120)
    assert await works(alice)  # the sign-up session is used again: START_MS + 140 s
    listed = await sessions_of(alice)  # alice's own request is no newer than its last use
    assert listed[0]["id"] == await current_id(alice)
    assert listed[0]["user_agent"].startswith("python-httpx/")
    assert [s["user_agent"] for s in listed[1:]] == ["Phone", "Tablet"]
    assert [s["last_used_at"] for s in listed] == [
        rfc3339(START_MS + 140_000),
        rfc3339(START_MS + 20_000),
        rfc3339(START_MS + 10_000),
    ]
    assert [s["created_at"] for s in listed] == [
        rfc3339(START_MS),
        rfc3339(START_MS + 20_000),
        rfc3339(START_MS + 10_000),
    ]
    assert await works(phone)
    assert await works(tablet)


# -- DELETE /me/sessions/{id}, DELETE /me/sessions ----------------------------------------------


async def test_revoking_one_session_ends_that_token_at_once_and_only_it(
    alice: Account, bob: Account
) -> None:
    phone = await another_session(alice)
    laptop = await another_session(alice)
    phone_id = await current_id(phone)
    since = await head(alice)
    r = await alice.delete(f"/me/sessions/{phone_id}")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert not await works(phone)
    assert await works(laptop)
    assert await works(alice)
    assert await works(bob)
    assert phone_id not in {s["id"] for s in await sessions_of(alice)}
    revoked = await events_since(alice, since, "session.revoked")
    assert [e["data"]["session_ids"] for e in revoked] == [[phone_id]]
    assert_problem(await alice.delete(f"/me/sessions/{phone_id}"), 404, "session_not_found")


async def test_revoking_your_current_session_by_id_signs_you_out(alice: Account) -> None:
    phone = await another_session(alice)
    assert (await alice.delete(f"/me/sessions/{await current_id(alice)}")).status_code == 204
    assert not await works(alice)
    assert await works(phone)


async def test_someone_elses_session_id_is_404_and_stays_signed_in(
    alice: Account, bob: Account
) -> None:
    bobs = await current_id(bob)
    for session_id in (bobs, "s_doesnotexist", "x" * 40):
        assert_problem(await alice.delete(f"/me/sessions/{session_id}"), 404, "session_not_found")
    assert await works(bob)
    assert await works(alice)
    assert [s["id"] for s in await sessions_of(bob)] == [bobs]


async def test_revoking_all_other_sessions_keeps_only_this_one(
    alice: Account, bob: Account
) -> None:
    others = [await another_session(alice) for _ in range(3)]
    r = await alice.delete("/me/sessions")
    assert r.status_code == 204, r.text
    for other in others:
        assert not await works(other)
    assert await works(alice)
    assert await works(bob)
    listed = await sessions_of(alice)
    assert [s["current"] for s in listed] == [True]
    # With nothing else left it is a no-op.
    assert (await alice.delete("/me/sessions")).status_code == 204
    assert await works(alice)


# -- idle expiry --------------------------------------------------------------------------------


async def write_count(node: Node) -> float:
    """Database writes the app has made (its /metrics counts each one)."""
    r = await node.client.get("/metrics")
    assert r.status_code == 200
    return sum(
        s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
        if s.name == "hubbub_db_query_duration_seconds_count" and s.labels["operation"] == "write"
    )


async def quiet_write_count(node: Node) -> float:
    """write_count once the app's background workers (the log consumers' lease renewals, the
    push sender), which the fake clock may just have woken, have gone back to sleep: no write
    for 0.2 s (on a loaded machine a woken worker can take more than one 0.05 s look to run)."""
    count = await write_count(node)
    still = 0
    while still < 4:
        await anyio.sleep(0.05)
        again = await write_count(node)
        still = still + 1 if again == count else 0
        count = again
    return count


async def writes_of(node: Node, account: Account) -> float:
    """How many database writes one authenticated request of `account` makes."""
    before = await quiet_write_count(node)
    assert await works(account)
    return await write_count(node) - before


async def test_last_used_at_is_written_at_most_about_once_a_minute(
    clocked: Node, clock: FakeClock
) -> None:
    alice = await sign_up(clocked.client, "alice")  # at START_MS
    for _ in range(20):  # 20 requests over 60 s: none of them writes
        clock.advance(3)
        assert await writes_of(clocked, alice) == 0
    assert (await sessions_of(alice))[0]["last_used_at"] == rfc3339(START_MS)
    clock.advance(4)  # 64 s after the last write: the next request notes the use, once
    assert await writes_of(clocked, alice) == 1
    for _ in range(10):
        clock.advance(5)
        assert await writes_of(clocked, alice) == 0
    assert (await sessions_of(alice))[0]["last_used_at"] == rfc3339(START_MS + 64_000)


async def test_a_session_unused_for_the_idle_days_stops_working(
    clocked: Node, clock: FakeClock
) -> None:
    alice = await sign_up(clocked.client, "alice")
    kept = await another_session(alice)
    idle = await another_session(alice)
    clock.advance(30 * DAY_S)  # exactly 30 days (HUBBUB_SESSION_IDLE_DAYS' default): still fine
    assert await works(kept)
    clock.advance_ms(1)
    assert not await works(idle)
    assert await works(kept)
    assert not await works(alice)


async def test_the_idle_limit_follows_the_setting(settings: Settings, clock: FakeClock) -> None:
    async with running(dataclasses.replace(settings, session_idle_days=2), clock) as node:
        alice = await sign_up(node.client, "alice")
        kept = await another_session(alice)
        for _ in range(3):  # used every day and a half: it lives on
            clock.advance(1.5 * DAY_S)
            assert await works(kept)
        clock.advance(2 * DAY_S + 1)
        assert not await works(kept)
        assert not await works(alice)
        relogin = await sign_in(node.client, "alice")
        assert relogin.status_code == 201, "an expired session is not a locked account"


async def test_the_sweep_ends_only_idle_sessions_and_tells_their_user(
    clocked: Node, clock: FakeClock
) -> None:
    alice = await sign_up(clocked.client, "alice")
    idle = await another_session(alice)
    idle_id = await current_id(idle)
    clock.advance(29 * DAY_S)
    since = await head(alice)  # alice's session is used: the idle one isn't
    clock.advance(DAY_S + 1)  # the idle one is past 30 days
    await clocked.services.sessions.sweep_idle()  # the hourly upkeep's job (it may have run)
    assert [s["current"] for s in await sessions_of(alice)] == [True]
    revoked = await events_since(alice, since, "session.revoked")
    assert [e["data"]["session_ids"] for e in revoked] == [[idle_id]]
    assert not await works(idle)
    assert await works(alice)


async def test_the_hourly_upkeep_sweeps_idle_sessions_by_itself(
    clocked: Node, clock: FakeClock
) -> None:
    alice = await sign_up(clocked.client, "alice")
    await another_session(alice)
    await sign_up(clocked.client, "bob")

    async def stored_sessions() -> int:
        rows = await clocked.services.sessions.uow.read(
            lambda tx: tx.fetchall("SELECT id FROM auth_tokens")
        )
        return len(rows)

    assert await stored_sessions() == 3
    clock.advance(30 * DAY_S + 3600)  # the upkeep's hour comes round: all three are idle
    with anyio.fail_after(5):
        while await stored_sessions():  # noqa: ASYNC110 - a table, not an event
            await anyio.sleep(0.01)
