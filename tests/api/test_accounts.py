"""Accounts, sessions and user lookup: /api/v1/accounts, /sessions, /me, /users."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.api.conftest import API, USER_FIELDS, Account, assert_problem, me_of, sign_up

pytestmark = pytest.mark.anyio

RFC3339_MS_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
PASSWORD = "correct horse"


def assert_invalid_field(r: httpx.Response, field: str) -> None:
    """A 422 `invalid` problem whose body names `field`."""
    body = assert_problem(r, 422, "invalid")
    named = {body.get("field")} | {e["field"] for e in body.get("errors") or []}
    # Query parameters may be named with their location, e.g. "query.limit".
    assert any(n == field or str(n).endswith(f".{field}") for n in named), body


def keys_of(value: Any) -> set[str]:
    """Every object key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


async def create_account(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(f"{API}/accounts", json=body)


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(f"{API}/sessions", json={"username": username, "password": password})


# -- sign up ----------------------------------------------------------------------------------


async def test_sign_up_returns_user_and_token(client: httpx.AsyncClient) -> None:
    r = await create_account(client, username="alice", password=PASSWORD, display_name="Alice A.")
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"user", "token"}
    assert isinstance(body["token"], str)
    assert len(body["token"]) >= 20
    user = body["user"]
    assert set(user) == USER_FIELDS
    assert user["is_admin"] is True, "the first account of a server runs it"
    assert user["username"] == "alice"
    assert user["display_name"] == "Alice A."
    assert RFC3339_MS_UTC.fullmatch(user["created_at"]), user["created_at"]
    me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json() == me_of(user)


async def test_display_name_defaults_to_username(client: httpx.AsyncClient) -> None:
    r = await create_account(client, username="bob", password=PASSWORD)
    assert r.status_code == 201, r.text
    assert r.json()["user"]["display_name"] == "bob"


async def test_new_account_is_a_member_of_the_lobby(alice: Account) -> None:
    r = await alice.get("/rooms")
    assert r.status_code == 200
    rooms = {room["id"]: room for room in r.json()["rooms"]}
    assert "general" in rooms
    assert rooms["general"]["my_role"] == "member"


async def test_taken_username_is_409(client: httpx.AsyncClient, alice: Account) -> None:
    r = await create_account(client, username="alice", password="another password")
    assert_problem(r, 409, "username_taken")


async def test_username_taken_ignores_case(client: httpx.AsyncClient, alice: Account) -> None:
    r = await create_account(client, username="Alice", password="another password")
    assert_problem(r, 409, "username_taken")
    # The original account is untouched: its password still signs in.
    assert (await sign_in(client, "alice", "correct horse")).status_code == 201


@pytest.mark.parametrize("username", ["ab", "a" * 32, "A.b-c_9", "__", "0.9"])
async def test_valid_usernames_are_accepted(client: httpx.AsyncClient, username: str) -> None:
    r = await create_account(client, username=username, password=PASSWORD)
    assert r.status_code == 201, r.text
    assert r.json()["user"]["username"] == username


@pytest.mark.parametrize(
    "username",
    [
        "a",
        "",
        "a" * 33,
        "with space",
        "bob!",
        "al@ce",
        "ünï",
        "tab\t",
        "slash/",
        "per%cent",
        "alice\n",
    ],
)
async def test_invalid_username_is_422_naming_the_field(
    client: httpx.AsyncClient, username: str
) -> None:
    r = await create_account(client, username=username, password=PASSWORD)
    assert_invalid_field(r, "username")


@pytest.mark.parametrize("password", ["x" * 8, "y" * 256, "  spaced out  "])
async def test_password_of_8_to_256_characters_is_accepted(
    client: httpx.AsyncClient, password: str
) -> None:
    r = await create_account(client, username="alice", password=password)
    assert r.status_code == 201, r.text
    assert (await sign_in(client, "alice", password)).status_code == 201


@pytest.mark.parametrize("password", ["", "x" * 7, "y" * 257])
async def test_password_out_of_range_is_422(client: httpx.AsyncClient, password: str) -> None:
    r = await create_account(client, username="alice", password=password)
    assert_invalid_field(r, "password")


@pytest.mark.parametrize("display_name", ["", "d" * 65])
async def test_display_name_out_of_range_is_422(
    client: httpx.AsyncClient, display_name: str
) -> None:
    r = await create_account(client, username="alice", password=PASSWORD, display_name=display_name)
    assert_invalid_field(r, "display_name")


@pytest.mark.parametrize("display_name", ["d", "d" * 64, "Zoë 🦊"])
async def test_display_name_of_1_to_64_characters_is_kept(
    client: httpx.AsyncClient, display_name: str
) -> None:
    r = await create_account(client, username="alice", password=PASSWORD, display_name=display_name)
    assert r.status_code == 201, r.text
    assert r.json()["user"]["display_name"] == display_name


@pytest.mark.parametrize("missing", ["username", "password"])
async def test_sign_up_without_required_field_is_422(
    client: httpx.AsyncClient, missing: str
) -> None:
    body = {"username": "alice", "password": PASSWORD}
    del body[missing]
    r = await create_account(client, **body)
    assert_invalid_field(r, missing)


async def test_sign_up_with_non_string_username_is_422(client: httpx.AsyncClient) -> None:
    r = await create_account(client, username=42, password=PASSWORD)
    assert_invalid_field(r, "username")


async def test_rejected_sign_up_creates_no_account(client: httpx.AsyncClient) -> None:
    assert_invalid_field(
        await create_account(client, username="alice", password="short"), "password"
    )
    assert_problem(await sign_in(client, "alice", "short"), 401, "invalid_credentials")
    # and the username is still free
    assert (await create_account(client, username="alice", password=PASSWORD)).status_code == 201


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/accounts",
        content=b'{"username": "alice", "password": ',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(r, 400, "malformed_request")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_non_json_content_type_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    r = await client.post(
        f"{API}/accounts",
        content=b'{"username": "alice", "password": "correct horse"}',
        headers={"Content-Type": content_type},
    )
    assert_problem(r, 415, "unsupported_media_type")


async def test_non_json_content_type_on_sign_in_is_415(
    client: httpx.AsyncClient, alice: Account
) -> None:
    r = await client.post(
        f"{API}/sessions",
        content=b'{"username": "alice", "password": "correct horse"}',
        headers={"Content-Type": "text/plain"},
    )
    assert_problem(r, 415, "unsupported_media_type")


# -- sessions ---------------------------------------------------------------------------------


async def test_sign_in_returns_a_new_working_token(
    client: httpx.AsyncClient, alice: Account
) -> None:
    r = await sign_in(client, "alice", "correct horse")
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"user", "token"}
    assert body["user"] == alice.user
    assert body["token"] != alice.token
    me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == alice.id


async def test_wrong_password_and_unknown_user_get_the_same_401(
    client: httpx.AsyncClient, alice: Account
) -> None:
    wrong = assert_problem(
        await sign_in(client, "alice", "wrong password"), 401, "invalid_credentials"
    )
    unknown = assert_problem(
        await sign_in(client, "nobody", "correct horse"), 401, "invalid_credentials"
    )
    assert wrong == unknown


async def test_sign_in_with_missing_password_is_422(
    client: httpx.AsyncClient, alice: Account
) -> None:
    r = await client.post(f"{API}/sessions", json={"username": "alice"})
    assert_invalid_field(r, "password")


async def test_sign_in_with_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/sessions", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(r, 400, "malformed_request")


async def test_sign_out_ends_only_that_session(client: httpx.AsyncClient, alice: Account) -> None:
    second = (await sign_in(client, "alice", "correct horse")).json()["token"]
    r = await alice.delete("/sessions/current")
    assert r.status_code == 204
    assert r.content == b""
    gone = await alice.get("/me")
    assert_problem(gone, 401, "unauthenticated")
    assert gone.headers["www-authenticate"] == "Bearer"
    still = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {second}"})
    assert still.status_code == 200
    assert still.json()["id"] == alice.id


async def test_signing_out_twice_is_401(alice: Account) -> None:
    assert (await alice.delete("/sessions/current")).status_code == 204
    r = await alice.delete("/sessions/current")
    assert_problem(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"


async def test_signed_out_token_cannot_sign_out_another_session(
    client: httpx.AsyncClient, alice: Account
) -> None:
    second = (await sign_in(client, "alice", "correct horse")).json()["token"]
    assert (await alice.delete("/sessions/current")).status_code == 204
    assert (await alice.delete("/sessions/current")).status_code == 401
    me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {second}"})
    assert me.status_code == 200


# -- me and users -----------------------------------------------------------------------------


async def test_me_is_the_signed_in_user(alice: Account, bob: Account) -> None:
    assert (await alice.get("/me")).json() == me_of(alice.user)
    assert (await bob.get("/me")).json() == me_of(bob.user)


async def test_get_user_by_username(alice: Account, bob: Account) -> None:
    r = await alice.get("/users/bob")
    assert r.status_code == 200
    assert r.json() == bob.user


async def test_unknown_user_is_404(alice: Account) -> None:
    assert_problem(await alice.get("/users/nobody"), 404, "user_not_found")


async def test_user_search_is_by_case_insensitive_prefix_sorted_by_username(
    client: httpx.AsyncClient,
) -> None:
    for name in ["alicia", "bob", "Alfred", "alice", "al"]:
        await sign_up(client, name)
    me = await sign_up(client, "zed")
    r = await me.get("/users", params={"prefix": "AL"})
    assert r.status_code == 200
    names = [u["username"] for u in r.json()["users"]]
    assert names == ["al", "Alfred", "alice", "alicia"]


async def test_user_search_without_prefix_lists_everyone_up_to_limit(
    client: httpx.AsyncClient,
) -> None:
    for name in ["cc", "aa", "bb"]:
        await sign_up(client, name)
    me = await sign_up(client, "dd")
    everyone = [u["username"] for u in (await me.get("/users")).json()["users"]]
    assert everyone == ["aa", "bb", "cc", "dd"]
    limited = [u["username"] for u in (await me.get("/users", params={"limit": 2})).json()["users"]]
    assert limited == ["aa", "bb"]


async def test_user_search_limit_applies_after_prefix(client: httpx.AsyncClient) -> None:
    for name in ["aa", "ab", "ac", "ba"]:
        await sign_up(client, name)
    me = await sign_up(client, "zz")
    r = await me.get("/users", params={"prefix": "a", "limit": 2})
    assert [u["username"] for u in r.json()["users"]] == ["aa", "ab"]


async def test_underscore_in_prefix_is_literal(client: httpx.AsyncClient) -> None:
    for name in ["a_b", "axb", "a_c"]:
        await sign_up(client, name)
    me = await sign_up(client, "zz")
    r = await me.get("/users", params={"prefix": "a_"})
    assert [u["username"] for u in r.json()["users"]] == ["a_b", "a_c"]


async def test_percent_in_prefix_is_literal(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    for prefix in ["%", "a%", "%b"]:
        r = await alice.get("/users", params={"prefix": prefix})
        assert r.status_code == 200
        assert r.json()["users"] == [], prefix


async def test_backslash_in_prefix_is_literal(alice: Account, bob: Account) -> None:
    r = await alice.get("/users", params={"prefix": "\\"})
    assert r.status_code == 200
    assert r.json()["users"] == []


async def test_user_search_with_no_match_is_empty(alice: Account) -> None:
    r = await alice.get("/users", params={"prefix": "nobody"})
    assert r.status_code == 200
    assert r.json() == {"users": []}


@pytest.mark.parametrize("limit", ["0", "-1", "101", "many"])
async def test_user_search_limit_out_of_range_is_422(alice: Account, limit: str) -> None:
    assert_invalid_field(await alice.get("/users", params={"limit": limit}), "limit")


# -- secrets never leak -----------------------------------------------------------------------


async def test_no_response_carries_a_password_or_a_later_token(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    room = await alice.create_room("secrets")
    responses = [
        await alice.get("/me"),
        await alice.get("/users"),
        await alice.get("/users/bob"),
        await alice.get("/rooms"),
        await alice.get(f"/rooms/{room['id']}/members"),
        await alice.put(f"/rooms/{room['id']}/members/bob"),
        await alice.post("/dms", {"username": "bob"}),
    ]
    for r in responses:
        assert r.status_code in (200, 201), r.text
        assert not {k for k in keys_of(r.json()) if "password" in k or "token" in k}, r.text
        assert "correct horse" not in r.text
        assert alice.token not in r.text
        assert bob.token not in r.text
    signed_in = await sign_in(client, "alice", "correct horse")
    assert "password" not in keys_of(signed_in.json())
    assert "correct horse" not in signed_in.text


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("        ", "only spaces"),
        ("\u3000" * 8, "only spaces"),
        ("alice123", "username"),  # the username is "alice123" below
        ("ALICE123", "username"),
        ("password", "most common"),
        ("12345678", "most common"),
        ("Password1", "most common"),
        ("qwertyuiop", "most common"),
    ],
)
async def test_weak_passwords_are_refused_with_a_clear_422(
    client: httpx.AsyncClient, password: str, why: str
) -> None:
    r = await create_account(client, username="alice123", password=password)
    body = assert_problem(r, 422, "weak_password")
    assert body["field"] == "password"
    assert why in body["detail"]
    good = await create_account(client, username="alice123", password="correct horse")
    assert good.status_code == 201, "the refusal made no account (the name is still free)"
