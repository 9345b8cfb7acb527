"""Server administration (issue #12): who is an admin, the accounts list, promotion and
demotion, deactivation, accounts made by admins, password-reset links, the list of every
room, and the audit log. Every refusal is checked to change nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
import pytest

from hubbub.config import Settings
from hubbub.wire import rfc3339
from tests.api.conftest import API, Account, assert_problem, sign_up
from tests.api.servers import Node, events_since, head, running
from tests.fakes import START_MS, FakeClock

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse"
NEW_PASSWORD = "battery staple 42"
HOUR_MS = 3600 * 1000
ADMIN_USER_FIELDS = {
    "id",
    "username",
    "display_name",
    "created_at",
    "is_admin",
    "kind",
    "deactivated",
    "avatar_url",
}


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(f"{API}/sessions", json={"username": username, "password": password})


async def use_reset(client: httpx.AsyncClient, code: str, password: str) -> httpx.Response:
    return await client.post(f"{API}/password-resets/{code}", json={"new_password": password})


async def works(account: Account) -> bool:
    """Whether the account's token still authenticates (401 otherwise)."""
    r = await account.get("/me")
    if r.status_code == 401:
        assert_problem(r, 401, "unauthenticated")
        return False
    assert r.status_code == 200, r.text
    return True


async def admin_view(admin: Account, username: str) -> dict[str, Any]:
    """The account as the accounts list shows it to an admin."""
    r = await admin.get("/admin/users", params={"prefix": username})
    assert r.status_code == 200, r.text
    return next(u for u in r.json()["users"] if u["username"] == username)


async def patch_user(by: Account, username: str, **body: Any) -> httpx.Response:
    return await by.patch(f"/admin/users/{username}", body)


async def audit(admin: Account, **params: Any) -> list[dict[str, Any]]:
    r = await admin.get("/admin/audit", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


@pytest.fixture
async def clocked(settings: Settings, clock: FakeClock) -> AsyncIterator[Node]:
    """The app on the test's database, with time that moves only when the test says."""
    async with running(settings, clock) as node:
        yield node


# -- who is an admin ----------------------------------------------------------------------------


async def test_the_first_account_is_a_server_admin_and_the_next_are_not(
    alice: Account, bob: Account, carol: Account
) -> None:
    assert alice.user["is_admin"] is True
    assert bob.user["is_admin"] is False
    assert carol.user["is_admin"] is False
    assert (await alice.get("/me")).json()["is_admin"] is True
    assert (await carol.get("/users/bob")).json()["is_admin"] is False
    assert (await alice.get("/admin/users")).status_code == 200


async def test_the_first_account_made_by_the_command_line_is_an_admin(settings: Settings) -> None:
    """`hubbub admin create-user` on a fresh server (how a closed one gets its first
    account) makes its admin, as signing up would; the next one it makes is not."""
    async with running(dataclasses.replace(settings, registration="closed")) as node:
        first, link = await node.services.admin.create_user(None, "root")
        second, _ = await node.services.admin.create_user(None, "helper")
        assert (first.is_admin, second.is_admin) == (True, False)
        assert (await use_reset(node.client, link.code, NEW_PASSWORD)).status_code == 204
        signed_in = await sign_in(node.client, "root", NEW_PASSWORD)
        assert signed_in.status_code == 201, signed_in.text
        assert signed_in.json()["user"]["is_admin"] is True
        root = Account("root", signed_in.json()["token"], signed_in.json()["user"], node.client)
        assert (await root.get("/admin/users")).status_code == 200


NON_ADMIN_REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/admin/users", None),
    ("GET", "/admin/users?deactivated=true", None),
    ("POST", "/admin/users", {"username": "newbie"}),
    ("PATCH", "/admin/users/alice", {"admin": False}),
    ("PATCH", "/admin/users/alice", {"deactivated": True}),
    ("PATCH", "/admin/users/bob", {"admin": True}),  # promoting yourself
    ("PATCH", "/admin/users/carol", {"deactivated": True}),
    ("PATCH", "/admin/users/nobody", {"admin": True}),  # no probing for usernames
    ("POST", "/admin/users/alice/password-reset", None),
    ("POST", "/admin/users/nobody/password-reset", None),
    ("GET", "/admin/rooms", None),
    ("GET", "/admin/audit", None),
    ("DELETE", "/admin/users/carol", None),
    ("DELETE", "/admin/users/nobody", None),
]


async def admin_snapshot(admin: Account) -> list[Any]:
    """What the admin endpoints show: any change a refused request made would be in it."""
    return [
        (await admin.get(path)).json()
        for path in ("/admin/users", "/admin/rooms", "/admin/audit", "/me/sessions")
    ]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    NON_ADMIN_REQUESTS,
    ids=[f"{m} {p} {b}" for m, p, b in NON_ADMIN_REQUESTS],
)
async def test_anyone_but_an_admin_gets_403_not_allowed_and_changes_nothing(
    alice: Account, bob: Account, carol: Account, method: str, path: str, body: Any
) -> None:
    await alice.create_room("secret", "private")
    before = await admin_snapshot(alice)
    r = await bob.client.request(method, API + path, json=body, headers=bob.headers)
    assert_problem(r, 403, "not_allowed")
    assert await admin_snapshot(alice) == before
    assert (await bob.get("/me")).json()["is_admin"] is False
    assert await works(carol)
    assert_problem(await bob.get("/users/newbie"), 404, "user_not_found")


async def test_every_admin_route_is_in_the_refusal_list(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    routes = {
        (method.upper(), path.removeprefix(API))
        for path, ops in document["paths"].items()
        if path.startswith(f"{API}/admin/")
        for method in ops
    }

    def template(path: str) -> str:
        parts = path.split("?")[0].split("/")
        if parts[1:3] == ["admin", "users"] and len(parts) > 3:
            parts[3] = "{username}"
        return "/".join(parts)

    assert routes == {(m, template(p)) for m, p, _ in NON_ADMIN_REQUESTS}


# -- the accounts list --------------------------------------------------------------------------


async def test_the_accounts_list_is_by_username_with_deactivated_marked(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for name in ("Zed", "bob", "Carol"):
        await sign_up(client, name)
    assert (await patch_user(alice, "carol", deactivated=True)).status_code == 200
    r = await alice.get("/admin/users")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"users", "next_cursor"}
    assert body["next_cursor"] is None
    users = body["users"]
    for u in users:
        assert set(u) == ADMIN_USER_FIELDS
    assert [(u["username"], u["deactivated"]) for u in users] == [
        ("alice", False),
        ("bob", False),
        ("Carol", True),
        ("Zed", False),
    ]
    # Deactivated accounts are gone from the members' user search, not from the admins' list.
    search = (await alice.get("/users")).json()["users"]
    assert [u["username"] for u in search] == ["alice", "bob", "Zed"]


async def test_the_accounts_list_filters_by_prefix_and_by_deactivation(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for name in ("al", "Alfred", "alice2", "bob", "al_x", "alx"):
        await sign_up(client, name)
    for name in ("Alfred", "bob"):
        assert (await patch_user(alice, name, deactivated=True)).status_code == 200

    async def names(**params: Any) -> list[str]:
        r = await alice.get("/admin/users", params=params)
        assert r.status_code == 200, r.text
        return [u["username"] for u in r.json()["users"]]

    assert await names(prefix="AL") == ["al", "al_x", "Alfred", "alice", "alice2", "alx"]
    assert await names(prefix="al_") == ["al_x"]  # "_" is a character, not a wildcard
    assert await names(prefix="%") == []
    assert await names(deactivated="true") == ["Alfred", "bob"]
    assert await names(deactivated="false", prefix="al") == ["al", "al_x", "alice", "alice2", "alx"]
    assert await names(deactivated="true", prefix="b") == ["bob"]
    assert await names(prefix="nobody") == []


async def test_the_accounts_list_pages_with_a_cursor(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for name in ("Bea", "cy", "Dan", "eve", "Fay", "gus"):
        await sign_up(client, name)
    assert (await patch_user(alice, "dan", deactivated=True)).status_code == 200
    everyone = ["alice", "Bea", "cy", "Dan", "eve", "Fay", "gus"]
    for limit in (1, 2, 3, 7, 8):
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": limit}
            if cursor is not None:
                params["cursor"] = cursor
            page = (await alice.get("/admin/users", params=params)).json()
            assert 1 <= len(page["users"]) <= limit
            seen += [u["username"] for u in page["users"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == everyone, limit
    # A cursor goes with the filters.
    active = (await alice.get("/admin/users", params={"deactivated": "false", "limit": 3})).json()
    assert [u["username"] for u in active["users"]] == ["alice", "Bea", "cy"]
    rest = await alice.get(
        "/admin/users", params={"deactivated": "false", "limit": 3, "cursor": active["next_cursor"]}
    )
    assert [u["username"] for u in rest.json()["users"]] == ["eve", "Fay", "gus"]
    assert rest.json()["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 201}, {"limit": "x"}, {"deactivated": "maybe"}, {"prefix": "p" * 33}],
)
async def test_bad_accounts_list_parameters_are_422(alice: Account, params: dict[str, Any]) -> None:
    assert_problem(await alice.get("/admin/users", params=params), 422, "invalid")


# -- promotion and demotion ---------------------------------------------------------------------


async def test_promoting_and_demoting_take_effect_on_the_next_request(
    alice: Account, bob: Account
) -> None:
    assert_problem(await bob.get("/admin/users"), 403, "not_allowed")
    r = await patch_user(alice, "bob", admin=True)
    assert r.status_code == 200, r.text
    assert r.json() == {**bob.user, "is_admin": True, "deactivated": False}
    assert (await bob.get("/admin/users")).status_code == 200, "the same token, now an admin"
    assert (await bob.get("/me")).json()["is_admin"] is True
    # The new admin may demote the one who promoted them: there is still one admin left.
    r = await patch_user(bob, "alice", admin=False)
    assert r.status_code == 200, r.text
    assert r.json()["is_admin"] is False
    assert_problem(await alice.get("/admin/users"), 403, "not_allowed")
    assert (await admin_view(bob, "alice"))["is_admin"] is False


async def test_promotion_and_demotion_are_announced_as_user_updated(
    alice: Account, bob: Account
) -> None:
    """`is_admin` is part of the User everyone sees, so clients hear when it changes."""
    since = await head(bob)
    promoted = (await patch_user(alice, "bob", admin=True)).json()
    demoted = (await patch_user(alice, "bob", admin=False)).json()
    updates = [e["data"] for e in await events_since(alice, since, "user.updated")]
    assert [u["is_admin"] for u in updates] == [True, False]
    assert updates[0]["username"] == promoted["username"] == demoted["username"] == "bob"
    assert [e["data"] for e in await events_since(bob, since, "user.updated")] == updates
    await patch_user(alice, "bob", admin=False)  # no change: no news
    assert len(await events_since(bob, since, "user.updated")) == 2


async def test_promoting_an_admin_again_is_a_no_op(alice: Account, bob: Account) -> None:
    assert (await patch_user(alice, "bob", admin=True)).status_code == 200
    again = await patch_user(alice, "bob", admin=True)
    assert again.status_code == 200
    assert again.json()["is_admin"] is True
    assert [e["action"] for e in await audit(alice)] == ["admin.promote"]


async def test_usernames_in_admin_paths_match_ignoring_case(alice: Account, bob: Account) -> None:
    r = await patch_user(alice, "BOB", admin=True)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "bob"
    assert (await bob.get("/me")).json()["is_admin"] is True
    assert (await alice.post("/admin/users/Bob/password-reset")).status_code == 201
    # The audit log names the account as it is spelled, however the path spelled it.
    assert [e["target"] for e in await audit(alice)] == ["bob", "bob"]


async def test_an_unknown_username_is_404(alice: Account) -> None:
    before = await admin_snapshot(alice)
    assert_problem(await patch_user(alice, "nobody", admin=True), 404, "user_not_found")
    assert_problem(await alice.post("/admin/users/nobody/password-reset"), 404, "user_not_found")
    assert await admin_snapshot(alice) == before


@pytest.mark.parametrize(
    "body", [{"admin": "yes"}, {"admin": 1}, {"deactivated": "true"}, {"role": "admin"}]
)
async def test_a_malformed_patch_is_422_and_changes_nothing(
    alice: Account, bob: Account, body: dict[str, Any]
) -> None:
    assert_problem(await alice.patch("/admin/users/bob", body), 422, "invalid")
    assert await admin_view(alice, "bob") == {**bob.user, "deactivated": False}


async def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(
    alice: Account, bob: Account
) -> None:
    before = await admin_snapshot(alice)
    for body in ({"admin": False}, {"deactivated": True}, {"admin": False, "deactivated": True}):
        assert_problem(await alice.patch("/admin/users/alice", body), 409, "last_admin")
    assert await admin_snapshot(alice) == before
    assert await works(alice)
    assert (await alice.get("/me")).json()["is_admin"] is True
    # With a second admin, one of them may go; then the other is the last.
    assert (await patch_user(alice, "bob", admin=True)).status_code == 200
    assert (await patch_user(alice, "alice", admin=False)).status_code == 200
    assert_problem(await patch_user(bob, "bob", admin=False), 409, "last_admin")
    assert_problem(await patch_user(bob, "bob", deactivated=True), 409, "last_admin")
    assert (await bob.get("/me")).json()["is_admin"] is True


async def test_a_deactivated_admin_does_not_count_as_an_active_one(
    alice: Account, bob: Account
) -> None:
    assert (await patch_user(alice, "bob", admin=True)).status_code == 200
    assert (await patch_user(alice, "bob", deactivated=True)).status_code == 200
    # bob is still an admin, but deactivated: alice is the last active one.
    assert (await admin_view(alice, "bob"))["is_admin"] is True
    assert_problem(await patch_user(alice, "alice", admin=False), 409, "last_admin")
    # Demoting the deactivated admin is fine (it takes nothing away from running the server).
    assert (await patch_user(alice, "bob", admin=False)).status_code == 200


# -- deactivation -------------------------------------------------------------------------------


async def test_deactivating_ends_every_session_at_once_and_blocks_sign_in(
    client: httpx.AsyncClient, alice: Account, bob: Account, carol: Account
) -> None:
    message = await bob.send("general", "bob was here")
    second = (await sign_in(client, "bob")).json()["token"]
    bob_phone = Account("bob", second, bob.user, client)
    r = await patch_user(alice, "bob", deactivated=True)
    assert r.status_code == 200, r.text
    assert r.json() == {**bob.user, "deactivated": True}
    assert not await works(bob)
    assert not await works(bob_phone)
    assert await works(carol)
    assert_problem(await sign_in(client, "bob"), 403, "account_deactivated")
    # A wrong password gets what it always gets: nothing tells a guesser the account exists.
    assert_problem(await sign_in(client, "bob", "wrong password"), 401, "invalid_credentials")
    assert_problem(await sign_in(client, "bob", "wrong password"), 401, "invalid_credentials")
    # bob's messages stay, with bob as their author.
    history = (await carol.get("/rooms/general/messages")).json()["messages"]
    kept = next(m for m in history if m["id"] == message["id"])
    assert kept["text"] == "bob was here"
    assert kept["author"]["username"] == "bob"
    assert (await carol.get(f"/messages/{message['id']}")).json()["deleted"] is False


async def test_reactivating_lets_the_account_sign_in_again_but_revives_no_old_token(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    assert (await patch_user(alice, "bob", deactivated=True)).status_code == 200
    r = await patch_user(alice, "bob", deactivated=False)
    assert r.status_code == 200, r.text
    assert r.json()["deactivated"] is False
    assert not await works(bob), "the sessions deactivation ended stay ended"
    fresh = await sign_in(client, "bob")
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["user"]["id"] == bob.id
    assert (await bob.get("/users/bob")).status_code == 401
    assert [u["username"] for u in (await alice.get("/users")).json()["users"]] == ["alice", "bob"]


async def test_deactivating_twice_is_a_no_op(alice: Account, bob: Account) -> None:
    for _ in range(2):
        r = await patch_user(alice, "bob", deactivated=True)
        assert r.status_code == 200
        assert r.json()["deactivated"] is True
    assert [e["action"] for e in await audit(alice)] == ["user.deactivate"]


# -- accounts made by admins, and password-reset links -----------------------------------------


async def test_an_admin_makes_an_account_with_no_password_and_a_link_that_sets_it(
    clocked: Node, clock: FakeClock
) -> None:
    alice = await sign_up(clocked.client, "alice")
    r = await alice.post("/admin/users", {"username": "newbie", "display_name": "New B."})
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"user", "reset"}
    user = body["user"]
    assert set(user) == ADMIN_USER_FIELDS
    assert (user["username"], user["display_name"]) == ("newbie", "New B.")
    assert (user["is_admin"], user["deactivated"]) == (False, False)
    reset = body["reset"]
    assert set(reset) == {"code", "url", "expires_at"}
    assert reset["url"] == f"http://127.0.0.1:8081/reset/{reset['code']}"
    assert reset["expires_at"] == rfc3339(START_MS + 24 * HOUR_MS)
    assert (await alice.get("/users/newbie")).json() == {
        k: v for k, v in user.items() if k != "deactivated"
    }
    # No password signs in until the link is used.
    for guess in ("!", PASSWORD, "newbie", reset["code"]):
        assert_problem(await sign_in(clocked.client, "newbie", guess), 401, "invalid_credentials")
    done = await use_reset(clocked.client, reset["code"], NEW_PASSWORD)
    assert done.status_code == 204, done.text
    assert done.content == b""
    newbie = await sign_in(clocked.client, "newbie", NEW_PASSWORD)
    assert newbie.status_code == 201, newbie.text
    assert newbie.json()["user"]["id"] == user["id"]
    # The new account is in the lobby, like everyone who signs up.
    token = {"Authorization": f"Bearer {newbie.json()['token']}"}
    rooms = (await clocked.client.get(f"{API}/rooms", headers=token)).json()["rooms"]
    assert [room["id"] for room in rooms] == ["general"]


async def test_a_taken_or_bad_username_makes_no_account(alice: Account, bob: Account) -> None:
    before = await admin_snapshot(alice)
    assert_problem(await alice.post("/admin/users", {"username": "BOB"}), 409, "username_taken")
    for body in (
        {"username": "x"},
        {"username": "no spaces"},
        {"username": "ok", "display_name": ""},
        {"username": "ok", "display_name": "a\u202eb"},
        {"username": "ok", "password": PASSWORD},
    ):
        assert_problem(await alice.post("/admin/users", body), 422, "invalid")
    assert await admin_snapshot(alice) == before
    assert await works(bob)


async def test_a_reset_link_works_once_and_ends_every_session(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    r = await alice.post("/admin/users/bob/password-reset")
    assert r.status_code == 201, r.text
    link = r.json()
    assert set(link) == {"code", "url", "expires_at"}
    assert link["url"].endswith(f"/reset/{link['code']}")
    assert await works(bob), "making a link changes nothing yet"
    assert (await sign_in(client, "bob")).status_code == 201
    assert (await use_reset(client, link["code"], NEW_PASSWORD)).status_code == 204
    assert not await works(bob)
    assert_problem(await sign_in(client, "bob", PASSWORD), 401, "invalid_credentials")
    assert (await sign_in(client, "bob", NEW_PASSWORD)).status_code == 201
    again = await use_reset(client, link["code"], "a third password")
    assert_problem(again, 410, "reset_expired")
    assert_problem(await sign_in(client, "bob", "a third password"), 401, "invalid_credentials")
    assert await works(alice), "someone else's sessions are not touched"


async def test_an_admin_cannot_make_a_reset_link_for_themselves(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """A stolen admin token must not be enough to take the admin's account over: their own
    password changes only with the current one (PUT /me/password)."""
    before = await audit(alice)
    r = await alice.post("/admin/users/alice/password-reset")
    assert_problem(r, 403, "own_password")
    assert_problem(await alice.post("/admin/users/ALICE/password-reset"), 403, "own_password")
    assert await audit(alice) == before, "a refusal changes nothing"
    assert (await sign_in(client, "alice")).status_code == 201


async def test_setting_a_password_ends_every_other_reset_link(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    """A link seen by someone else must not set the password again once it has been set,
    with another link or by its owner."""
    first, second, third = [
        (await alice.post("/admin/users/bob/password-reset")).json()["code"] for _ in range(3)
    ]
    assert (await use_reset(client, second, NEW_PASSWORD)).status_code == 204
    assert_problem(await use_reset(client, first, "attacker's password"), 410, "reset_expired")
    assert_problem(await use_reset(client, third, "attacker's password"), 410, "reset_expired")
    assert (await sign_in(client, "bob", NEW_PASSWORD)).status_code == 201

    late = (await alice.post("/admin/users/bob/password-reset")).json()["code"]
    bob_again = (await sign_in(client, "bob", NEW_PASSWORD)).json()["token"]
    r = await client.put(
        f"{API}/me/password",
        json={"current_password": NEW_PASSWORD, "new_password": "bob's own choice 7"},
        headers={"Authorization": f"Bearer {bob_again}"},
    )
    assert r.status_code == 204, r.text
    assert_problem(await use_reset(client, late, "attacker's password"), 410, "reset_expired")
    assert (await sign_in(client, "bob", "bob's own choice 7")).status_code == 201


async def test_an_unknown_reset_code_is_410(client: httpx.AsyncClient, alice: Account) -> None:
    for code in ("nope", "x" * 128):
        assert_problem(await use_reset(client, code, NEW_PASSWORD), 410, "reset_expired")
    assert_problem(await use_reset(client, "x" * 129, NEW_PASSWORD), 422, "invalid")


async def test_a_weak_password_keeps_the_link_unused(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    code = (await alice.post("/admin/users/bob/password-reset")).json()["code"]
    for weak, status, error in (("password", 422, "weak_password"), ("bob", 422, "invalid")):
        body = assert_problem(await use_reset(client, code, weak), status, error)
        named = {body.get("field")} | {e["field"] for e in body.get("errors") or []}
        assert "new_password" in named, body
    assert await works(bob)
    assert (await sign_in(client, "bob")).status_code == 201
    assert (await use_reset(client, code, NEW_PASSWORD)).status_code == 204


async def test_a_reset_link_expires_after_24_hours(clocked: Node, clock: FakeClock) -> None:
    alice = await sign_up(clocked.client, "alice")
    bob = await sign_up(clocked.client, "bob")
    early = (await alice.post("/admin/users/bob/password-reset")).json()
    late = (await alice.post("/admin/users/bob/password-reset")).json()
    assert early["expires_at"] == rfc3339(START_MS + 24 * HOUR_MS)
    clock.advance_ms(24 * HOUR_MS - 1)
    assert (await use_reset(clocked.client, early["code"], NEW_PASSWORD)).status_code == 204
    clock.advance_ms(2)
    assert_problem(
        await use_reset(clocked.client, late["code"], "third password"), 410, "reset_expired"
    )
    assert (await sign_in(clocked.client, "bob", NEW_PASSWORD)).status_code == 201
    assert_problem(
        await sign_in(clocked.client, "bob", "third password"), 401, "invalid_credentials"
    )
    assert not await works(bob)


async def test_a_reset_lifts_a_sign_in_lock_out(settings: Settings) -> None:
    limited = dataclasses.replace(settings, rate_limits="sign_in_account=2/15minutes")
    async with running(limited) as node:
        alice = await sign_up(node.client, "alice")
        await sign_up(node.client, "bob")
        for _ in range(2):
            assert_problem(await sign_in(node.client, "bob", "guess"), 401, "invalid_credentials")
        assert_problem(await sign_in(node.client, "bob"), 429, "rate_limited")
        code = (await alice.post("/admin/users/bob/password-reset")).json()["code"]
        assert (await use_reset(node.client, code, NEW_PASSWORD)).status_code == 204
        assert (await sign_in(node.client, "bob", NEW_PASSWORD)).status_code == 201


async def test_using_reset_links_is_rate_limited_per_address(settings: Settings) -> None:
    limited = dataclasses.replace(settings, rate_limits="password_resets=2/hour")
    async with running(limited) as node:
        alice = await sign_up(node.client, "alice")
        await sign_up(node.client, "bob")
        code = (await alice.post("/admin/users/bob/password-reset")).json()["code"]
        for guess in ("guess1", "guess2"):
            assert_problem(await use_reset(node.client, guess, NEW_PASSWORD), 410, "reset_expired")
        assert_problem(await use_reset(node.client, code, NEW_PASSWORD), 429, "rate_limited")
        assert (await sign_in(node.client, "bob")).status_code == 201


# -- every room ---------------------------------------------------------------------------------


async def test_admins_see_every_room_private_ones_and_dms_too_but_no_message(
    alice: Account, bob: Account, carol: Account
) -> None:
    public = await bob.create_room("bobs public", "public")
    private = await bob.create_room("bobs private", "private")
    dm = (await bob.post("/dms", {"username": "carol"})).json()
    for room in (public, private, dm):
        await bob.send(room["id"], f"the secret of {room['id']}")
    assert_problem(await alice.get(f"/rooms/{private['id']}"), 404, "room_not_found")
    r = await alice.get("/admin/rooms")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"rooms", "next_cursor"}
    assert body["next_cursor"] is None
    by_id = {room["id"]: room for room in body["rooms"]}
    assert set(by_id) == {"general", public["id"], private["id"], dm["id"]}
    assert by_id[private["id"]]["visibility"] == "private"
    assert by_id[private["id"]]["member_count"] == 1
    assert by_id[private["id"]]["last_seq"] == 1
    assert by_id[dm["id"]]["kind"] == "dm"
    assert "the secret of" not in r.text
    for room in body["rooms"]:
        assert "text" not in room
        assert "messages" not in room
    # Listing a room is not a way in: alice still can't read it.
    assert_problem(await alice.get(f"/rooms/{private['id']}/messages"), 404, "room_not_found")


async def test_the_rooms_list_pages_by_name(alice: Account) -> None:
    made = [await alice.create_room(name) for name in ("b", "a", "c", "a", "d")]
    expected = sorted(
        [*made, {"id": "general", "name": "general"}], key=lambda r: (r["name"], r["id"])
    )
    for limit in (1, 2, 6, 7):
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": limit}
            if cursor is not None:
                params["cursor"] = cursor
            page = await alice.get("/admin/rooms", params=params)
            assert page.status_code == 200, page.text
            seen += [room["id"] for room in page.json()["rooms"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == [room["id"] for room in expected], limit
    for params in ({"limit": 0}, {"limit": 201}, {"cursor": "not a cursor"}):
        assert_problem(await alice.get("/admin/rooms", params=params), 422, "invalid")


# -- the audit log ------------------------------------------------------------------------------


async def test_the_audit_log_records_who_did_what_to_whom_newest_first(
    clocked: Node, clock: FakeClock
) -> None:
    alice = await sign_up(clocked.client, "alice")
    await sign_up(clocked.client, "bob")
    await sign_up(clocked.client, "carol")
    room = await alice.create_room("lounge")
    dave = await sign_up(clocked.client, "dave")
    assert (await dave.post(f"/rooms/{room['id']}/join")).status_code == 204
    steps: list[tuple[str, str, str]] = []

    async def step(
        response: Awaitable[httpx.Response], action: str, target: str, reason: str = ""
    ) -> None:
        r = await response
        assert r.status_code in (200, 201, 204), r.text
        steps.append((action, target, reason))
        clock.advance_ms(1)

    await step(patch_user(alice, "bob", admin=True), "admin.promote", "bob")
    await step(patch_user(alice, "carol", deactivated=True), "user.deactivate", "carol")
    await step(patch_user(alice, "carol", deactivated=False), "user.reactivate", "carol")
    await step(alice.post("/admin/users/carol/password-reset"), "user.password_reset", "carol")
    await step(alice.post("/admin/users", {"username": "erin"}), "user.create", "erin")
    await step(
        alice.put(f"/rooms/{room['id']}/bans/dave", {"reason": "spam"}),
        "room.ban",
        f"{room['id']}/dave",
        "spam",
    )
    await step(patch_user(alice, "bob", admin=False), "admin.demote", "bob")
    entries = await audit(alice)
    assert [(e["action"], e["target"], e["reason"]) for e in entries] == steps[::-1]
    for e in entries:
        assert set(e) == {"id", "at", "actor", "action", "target", "reason"}
        assert e["actor"] == "alice"
    assert [e["at"] for e in entries] == [rfc3339(START_MS + i) for i in range(6, -1, -1)]
    # What members do to themselves is not an admin action.
    assert (await alice.patch("/me", {"display_name": "Alice"})).status_code == 200
    assert len(await audit(alice)) == len(steps)


async def test_the_audit_log_pages_with_before_and_limit(clocked: Node, clock: FakeClock) -> None:
    alice = await sign_up(clocked.client, "alice")
    await sign_up(clocked.client, "bob")
    for _ in range(4):
        for admin in (True, False):
            assert (await patch_user(alice, "bob", admin=admin)).status_code == 200
            clock.advance_ms(1)
    everything = await audit(alice, limit=200)
    assert len(everything) == 8
    assert [e["action"] for e in everything] == ["admin.demote", "admin.promote"] * 4
    for limit in (1, 3, 8):
        seen: list[str] = []
        before = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": limit}
            if before is not None:
                params["before"] = before
            page = (await alice.get("/admin/audit", params=params)).json()
            assert set(page) == {"entries", "next_before"}
            seen += [e["id"] for e in page["entries"]]
            before = page["next_before"]
            if before is None:
                break
            assert page["entries"], "a next_before never leads to an empty page"
        assert seen == [e["id"] for e in everything], limit
    for params in ({"limit": 0}, {"limit": 201}, {"before": "b" * 65}):
        assert_problem(await alice.get("/admin/audit", params=params), 422, "invalid")


async def test_entries_written_in_one_request_share_its_time(alice: Account, bob: Account) -> None:
    assert (await patch_user(alice, "bob", admin=True)).status_code == 200
    r = await patch_user(alice, "bob", admin=False, deactivated=True)
    assert r.status_code == 200, r.text
    assert (r.json()["is_admin"], r.json()["deactivated"]) == (False, True)
    entries = await audit(alice)
    assert sorted(e["action"] for e in entries[:2]) == ["admin.demote", "user.deactivate"]
    assert entries[0]["at"] == entries[1]["at"] >= entries[2]["at"]
    assert entries[2]["action"] == "admin.promote"
