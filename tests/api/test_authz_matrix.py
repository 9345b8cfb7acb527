"""Who may do what to a room: every mutating room endpoint x every role x both visibilities.

The cast: alice owns the room, bob is an admin, carol a member, dave a signed-in stranger.
erin is outside the room (the one to add); frank is a second plain member (the one to promote
or remove), so no cell is about acting on yourself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.conftest import API, Account, assert_problem, sign_up

pytestmark = pytest.mark.anyio

Action = Callable[[Account, str], Awaitable[httpx.Response]]
Expected = tuple[int, str | None]

ACTORS = ("stranger", "member", "admin", "owner")

ACTIONS: dict[str, Action] = {
    "patch_room": lambda a, room: a.patch(f"/rooms/{room}", {"topic": "changed"}),
    "add_member": lambda a, room: a.put(f"/rooms/{room}/members/erin"),
    "make_admin": lambda a, room: a.put(f"/rooms/{room}/members/frank", {"role": "admin"}),
    "remove_member": lambda a, room: a.delete(f"/rooms/{room}/members/frank"),
    "join": lambda a, room: a.post(f"/rooms/{room}/join"),
    "leave": lambda a, room: a.post(f"/rooms/{room}/leave"),
    "send_message": lambda a, room: a.post(f"/rooms/{room}/messages", {"text": "hello"}),
    "mark_read": lambda a, room: a.put(f"/rooms/{room}/read", {"seq": 0}),
}

OK, CREATED, DONE = (200, None), (201, None), (204, None)
NOT_A_MEMBER = (403, "not_a_member")
NOT_ALLOWED = (403, "not_allowed")
HIDDEN = (404, "room_not_found")

# fmt: off
MATRIX: dict[str, dict[str, tuple[Expected, Expected, Expected, Expected]]] = {
    #                  stranger      member       admin    owner
    "public": {
        "patch_room":    (NOT_A_MEMBER, NOT_ALLOWED, OK,      OK),
        "add_member":    (NOT_A_MEMBER, NOT_ALLOWED, CREATED, CREATED),
        "make_admin":    (NOT_A_MEMBER, NOT_ALLOWED, NOT_ALLOWED, OK),
        "remove_member": (NOT_A_MEMBER, NOT_ALLOWED, DONE,    DONE),
        "join":          (DONE,         DONE,        DONE,    DONE),
        "leave":         (DONE,         DONE,        DONE,    DONE),
        "send_message":  (NOT_A_MEMBER, CREATED,     CREATED, CREATED),
        "mark_read":     (NOT_A_MEMBER, DONE,        DONE,    DONE),
    },
    "private": {
        "patch_room":    (HIDDEN,       NOT_ALLOWED, OK,      OK),
        "add_member":    (HIDDEN,       NOT_ALLOWED, CREATED, CREATED),
        "make_admin":    (HIDDEN,       NOT_ALLOWED, NOT_ALLOWED, OK),
        "remove_member": (HIDDEN,       NOT_ALLOWED, DONE,    DONE),
        "join":          (HIDDEN,       DONE,        DONE,    DONE),
        "leave":         (HIDDEN,       DONE,        DONE,    DONE),
        "send_message":  (HIDDEN,       CREATED,     CREATED, CREATED),
        "mark_read":     (HIDDEN,       DONE,        DONE,    DONE),
    },
}
# fmt: on

CELLS = [
    pytest.param(visibility, action, actor, row[i], id=f"{visibility}-{action}-{actor}")
    for visibility, rows in MATRIX.items()
    for action, row in rows.items()
    for i, actor in enumerate(ACTORS)
]


@dataclass
class Cast:
    room_id: str
    by_role: dict[str, Account]


async def build_room(
    visibility: str, alice: Account, bob: Account, carol: Account, dave: Account
) -> Cast:
    await sign_up(alice.client, "erin")
    await sign_up(alice.client, "frank")
    room = await alice.create_room("matrix", visibility)
    for name, role in (("bob", "admin"), ("carol", "member"), ("frank", "member")):
        r = await alice.put(f"/rooms/{room['id']}/members/{name}", {"role": role})
        assert r.status_code == 201, r.text
    return Cast(room["id"], {"owner": alice, "admin": bob, "member": carol, "stranger": dave})


async def snapshot(owner: Account, room_id: str) -> tuple[Any, Any]:
    """The room and its members as the owner sees them."""
    room = await owner.get(f"/rooms/{room_id}")
    members = await owner.get(f"/rooms/{room_id}/members")
    assert room.status_code == members.status_code == 200
    return room.json(), members.json()


@pytest.mark.parametrize(("visibility", "action", "actor", "expected"), CELLS)
async def test_room_authorization_matrix(
    alice: Account,
    bob: Account,
    carol: Account,
    dave: Account,
    visibility: str,
    action: str,
    actor: str,
    expected: Expected,
) -> None:
    cast = await build_room(visibility, alice, bob, carol, dave)
    before = await snapshot(alice, cast.room_id)
    r = await ACTIONS[action](cast.by_role[actor], cast.room_id)
    status, code = expected
    if code is None:
        assert r.status_code == status, r.text
    else:
        assert_problem(r, status, code)
        # A refused request changes nothing.
        assert await snapshot(alice, cast.room_id) == before


# -- no token, a bad token, a signed-out token: 401 everywhere --------------------------------

ROOM, USER, MESSAGE, EMOJI = "general", "alice", "m_doesnotexist", "x"

# Every /api/v1 route that needs a token, with a body that would otherwise be valid.
AUTHENTICATED: list[tuple[str, str, Any]] = [
    ("DELETE", "/sessions/current", None),
    ("GET", "/me", None),
    ("GET", "/users", None),
    ("GET", "/users/{username}", None),
    ("GET", "/rooms", None),
    ("POST", "/rooms", {"name": "r", "visibility": "public"}),
    ("GET", "/rooms/{room_id}", None),
    ("PATCH", "/rooms/{room_id}", {"topic": "t"}),
    ("POST", "/rooms/{room_id}/join", None),
    ("POST", "/rooms/{room_id}/leave", None),
    ("GET", "/rooms/{room_id}/members", None),
    ("PUT", "/rooms/{room_id}/members/{username}", {"role": "member"}),
    ("DELETE", "/rooms/{room_id}/members/{username}", None),
    ("PUT", "/rooms/{room_id}/read", {"seq": 0}),
    ("POST", "/dms", {"username": "alice"}),
    ("GET", "/rooms/{room_id}/messages", None),
    ("POST", "/rooms/{room_id}/messages", {"text": "hi"}),
    ("GET", "/messages/{message_id}", None),
    ("PATCH", "/messages/{message_id}", {"text": "hi"}),
    ("DELETE", "/messages/{message_id}", None),
    ("PUT", "/messages/{message_id}/reactions/{emoji}", None),
    ("DELETE", "/messages/{message_id}/reactions/{emoji}", None),
    ("POST", "/rooms/{room_id}/typing", None),
    ("GET", "/events", None),
    ("GET", "/presence", None),
    ("POST", "/stream-tickets", None),
    ("PATCH", "/me", {"display_name": "x"}),
    ("PUT", "/me/password", {"current_password": "a", "new_password": "correct horse 2"}),
    ("GET", "/me/sessions", None),
    ("DELETE", "/me/sessions", None),
    ("DELETE", "/me/sessions/{session_id}", None),
    ("PUT", "/rooms/{room_id}/bans/{username}", None),
    ("DELETE", "/rooms/{room_id}/bans/{username}", None),
    ("GET", "/rooms/{room_id}/bans", None),
    ("POST", "/invites", None),
    ("GET", "/invites", None),
    ("DELETE", "/invites/{code}", None),
    ("GET", "/admin/users", None),
    ("POST", "/admin/users", {"username": "newbie"}),
    ("PATCH", "/admin/users/{username}", {"admin": True}),
    ("POST", "/admin/users/{username}/password-reset", None),
    ("GET", "/admin/rooms", None),
    ("GET", "/admin/audit", None),
]
PUBLIC_ROUTES = {
    ("POST", "/accounts"),
    ("POST", "/sessions"),
    ("POST", "/password-resets/{code}"),
}


def concrete(template: str) -> str:
    return API + template.format(
        room_id=ROOM,
        username=USER,
        message_id=MESSAGE,
        emoji=EMOJI,
        session_id="s_none",
        code="nope",
    )


async def test_every_api_route_is_in_the_401_list(client: httpx.AsyncClient) -> None:
    document = await client.get("/openapi.json")
    assert document.status_code == 200
    routes = {
        (method.upper(), path.removeprefix(API))
        for path, ops in document.json()["paths"].items()
        if path.startswith(API + "/")
        for method in ops
    }
    assert routes - PUBLIC_ROUTES == {(m, p) for m, p, _ in AUTHENTICATED}


@pytest.mark.parametrize(
    ("method", "path", "body"), AUTHENTICATED, ids=[f"{m} {p}" for m, p, _ in AUTHENTICATED]
)
async def test_request_without_valid_token_is_401(
    client: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    signed_out = await sign_up(client, "alice")
    assert (await signed_out.delete("/sessions/current")).status_code == 204
    credentials = {
        "missing": {},
        "invalid": {"Authorization": "Bearer not-a-real-token"},
        "empty": {"Authorization": "Bearer "},
        "wrong scheme": {"Authorization": f"Basic {signed_out.token}"},
        "signed out": {"Authorization": f"Bearer {signed_out.token}"},
    }
    for name, headers in credentials.items():
        r = await client.request(method, concrete(path), json=body, headers=headers)
        assert_problem(r, 401, "unauthenticated")
        assert r.headers.get("www-authenticate") == "Bearer", name
