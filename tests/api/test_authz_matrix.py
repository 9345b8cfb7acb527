"""Who may do what to a room: every mutating room endpoint x every role x both visibilities.

The cast: alice owns the room (she is also the server's first account, so a server admin, but
her say in her own room is the owner's), bob is a room admin, carol a member, mia a muted
member, dave a signed-in stranger, root a server admin who is not in the room, and gus a
member whose account was deactivated. erin is outside the room (the one to add); frank is a
second plain member (the one to promote, mute, ban or remove, and whose message is deleted);
hank is banned (the one to unban). So no cell is about acting on yourself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.conftest import API, Account, assert_problem, sign_up

pytestmark = pytest.mark.anyio


@dataclass
class Cast:
    room_id: str
    message_id: str  # frank's message in the room
    by_role: dict[str, Account]


Action = Callable[[Account, Cast], Awaitable[httpx.Response]]
Expected = tuple[int, str | None]

ACTORS = ("stranger", "member", "muted", "admin", "owner", "server_admin", "deactivated")

ACTIONS: dict[str, Action] = {
    "patch_room": lambda a, c: a.patch(f"/rooms/{c.room_id}", {"topic": "changed"}),
    "add_member": lambda a, c: a.put(f"/rooms/{c.room_id}/members/erin"),
    "make_admin": lambda a, c: a.put(f"/rooms/{c.room_id}/members/frank", {"role": "admin"}),
    "mute": lambda a, c: a.put(f"/rooms/{c.room_id}/members/frank", {"muted": True}),
    "remove_member": lambda a, c: a.delete(f"/rooms/{c.room_id}/members/frank"),
    "ban": lambda a, c: a.put(f"/rooms/{c.room_id}/bans/frank", {"reason": "spam"}),
    "unban": lambda a, c: a.delete(f"/rooms/{c.room_id}/bans/hank"),
    "list_bans": lambda a, c: a.get(f"/rooms/{c.room_id}/bans"),
    "delete_message": lambda a, c: a.delete(f"/messages/{c.message_id}"),
    "join": lambda a, c: a.post(f"/rooms/{c.room_id}/join"),
    "leave": lambda a, c: a.post(f"/rooms/{c.room_id}/leave"),
    "send_message": lambda a, c: a.post(f"/rooms/{c.room_id}/messages", {"text": "hello"}),
    "react": lambda a, c: a.put(f"/messages/{c.message_id}/reactions/%F0%9F%91%8D"),
    "typing": lambda a, c: a.post(f"/rooms/{c.room_id}/typing"),
    "mark_read": lambda a, c: a.put(f"/rooms/{c.room_id}/read", {"seq": 0}),
}

# Short names keep the table readable.
OK, NEW, DONE = (200, None), (201, None), (204, None)
NAM = (403, "not_a_member")
NAL = (403, "not_allowed")
MUT = (403, "muted")
NAU = (403, "not_author")
HID = (404, "room_not_found")
MHID = (404, "message_not_found")
GONE = (401, "unauthenticated")  # a deactivated account's sessions are revoked

# fmt: off
MATRIX: dict[str, dict[str, tuple[Expected, ...]]] = {
    #                   stranger member muted admin owner server_admin deactivated
    "public": {
        "patch_room":     (NAM,  NAL,  NAL,  OK,   OK,   OK,   GONE),
        "add_member":     (NAM,  NAL,  NAL,  NEW,  NEW,  NEW,  GONE),
        "make_admin":     (NAM,  NAL,  NAL,  NAL,  OK,   OK,   GONE),
        "mute":           (NAM,  NAL,  NAL,  OK,   OK,   OK,   GONE),
        "remove_member":  (NAM,  NAL,  NAL,  DONE, DONE, DONE, GONE),
        "ban":            (NAM,  NAL,  NAL,  DONE, DONE, DONE, GONE),
        "unban":          (NAM,  NAL,  NAL,  DONE, DONE, DONE, GONE),
        "list_bans":      (NAM,  NAL,  NAL,  OK,   OK,   OK,   GONE),
        "delete_message": (NAU,  NAU,  NAU,  DONE, DONE, DONE, GONE),
        "join":           (DONE, DONE, DONE, DONE, DONE, DONE, GONE),
        "leave":          (DONE, DONE, DONE, DONE, DONE, DONE, GONE),
        "send_message":   (NAM,  NEW,  MUT,  NEW,  NEW,  NAM,  GONE),
        "react":          (NAM,  DONE, MUT,  DONE, DONE, NAM,  GONE),
        "typing":         (NAM,  DONE, MUT,  DONE, DONE, NAM,  GONE),
        "mark_read":      (NAM,  DONE, DONE, DONE, DONE, NAM,  GONE),
    },
    # A private room is its members' business: a server admin outside it can't even see it.
    "private": {
        "patch_room":     (HID,  NAL,  NAL,  OK,   OK,   HID,  GONE),
        "add_member":     (HID,  NAL,  NAL,  NEW,  NEW,  HID,  GONE),
        "make_admin":     (HID,  NAL,  NAL,  NAL,  OK,   HID,  GONE),
        "mute":           (HID,  NAL,  NAL,  OK,   OK,   HID,  GONE),
        "remove_member":  (HID,  NAL,  NAL,  DONE, DONE, HID,  GONE),
        "ban":            (HID,  NAL,  NAL,  DONE, DONE, HID,  GONE),
        "unban":          (HID,  NAL,  NAL,  DONE, DONE, HID,  GONE),
        "list_bans":      (HID,  NAL,  NAL,  OK,   OK,   HID,  GONE),
        "delete_message": (MHID, NAU,  NAU,  DONE, DONE, MHID, GONE),
        "join":           (HID,  DONE, DONE, DONE, DONE, HID,  GONE),
        "leave":          (HID,  DONE, DONE, DONE, DONE, HID,  GONE),
        "send_message":   (HID,  NEW,  MUT,  NEW,  NEW,  HID,  GONE),
        "react":          (MHID, DONE, MUT,  DONE, DONE, MHID, GONE),
        "typing":         (HID,  DONE, MUT,  DONE, DONE, HID,  GONE),
        "mark_read":      (HID,  DONE, DONE, DONE, DONE, HID,  GONE),
    },
}
# fmt: on

CELLS = [
    pytest.param(visibility, action, actor, row[i], id=f"{visibility}-{action}-{actor}")
    for visibility, rows in MATRIX.items()
    for action, row in rows.items()
    for i, actor in enumerate(ACTORS)
]


async def build_room(
    visibility: str, alice: Account, bob: Account, carol: Account, dave: Account
) -> Cast:
    """alice signed up first, so she is the server admin who promotes root and deactivates gus."""
    assert alice.user["is_admin"] is True
    client = alice.client
    others = {name: await sign_up(client, name) for name in ("erin", "frank", "mia", "gus")}
    others["hank"] = await sign_up(client, "hank")
    root = await sign_up(client, "root")
    assert (await alice.patch("/admin/users/root", {"admin": True})).status_code == 200
    room = await alice.create_room("matrix", visibility)
    room_id = room["id"]
    for name, role in (("bob", "admin"), ("carol", "member"), ("frank", "member")):
        r = await alice.put(f"/rooms/{room_id}/members/{name}", {"role": role})
        assert r.status_code == 201, r.text
    for name, body in (("mia", {"muted": True}), ("gus", {}), ("hank", {})):
        r = await alice.put(f"/rooms/{room_id}/members/{name}", body)
        assert r.status_code == 201, r.text
    assert (await alice.put(f"/rooms/{room_id}/bans/hank")).status_code == 204
    message = await others["frank"].send(room_id, "frank was here")
    assert (await alice.patch("/admin/users/gus", {"deactivated": True})).status_code == 200
    by_role = {
        "owner": alice,
        "admin": bob,
        "member": carol,
        "muted": others["mia"],
        "stranger": dave,
        "server_admin": root,
        "deactivated": others["gus"],
    }
    return Cast(room_id, str(message["id"]), by_role)


async def snapshot(owner: Account, room_id: str) -> list[Any]:
    """The room, its members, bans and messages as the owner sees them."""
    answers = [
        await owner.get(f"/rooms/{room_id}"),
        await owner.get(f"/rooms/{room_id}/members"),
        await owner.get(f"/rooms/{room_id}/bans"),
        await owner.get(f"/rooms/{room_id}/messages"),
    ]
    assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]
    return [r.json() for r in answers]


@pytest.mark.slow  # 420 cells with a fresh cast each: a minute per engine, so not `make check`
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
    r = await ACTIONS[action](cast.by_role[actor], cast)
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
    ("DELETE", "/admin/users/{username}", None),
    ("DELETE", "/me", {"password": "correct horse"}),
    ("POST", "/me/export", None),
    ("GET", "/me/export", None),
    ("GET", "/messages/{message_id}/thread", None),
    ("PUT", "/messages/{message_id}/follow", None),
    ("DELETE", "/messages/{message_id}/follow", None),
    ("PUT", "/messages/{message_id}/thread/read", {"seq": 0}),
    ("GET", "/threads", None),
    ("GET", "/mentions", None),
    ("PUT", "/messages/{message_id}/pin", None),
    ("DELETE", "/messages/{message_id}/pin", None),
    ("GET", "/rooms/{room_id}/pins", None),
    ("POST", "/rooms/{room_id}/webhooks", {"name": "ci"}),
    ("GET", "/rooms/{room_id}/webhooks", None),
    ("DELETE", "/rooms/{room_id}/webhooks/{hook_id}", None),
    ("POST", "/bots", {"username": "ci-bot"}),
    ("GET", "/bots", None),
    ("POST", "/bots/{username}/tokens", None),
    ("DELETE", "/bots/{username}", None),
    (
        "POST",
        "/rooms/{room_id}/outgoing-webhooks",
        {"url": "https://example.com/h", "events": ["message.created"]},
    ),
    ("GET", "/rooms/{room_id}/outgoing-webhooks", None),
    ("PATCH", "/rooms/{room_id}/outgoing-webhooks/{hook_id}", {"enabled": True}),
    ("DELETE", "/rooms/{room_id}/outgoing-webhooks/{hook_id}", None),
    ("GET", "/rooms/{room_id}/outgoing-webhooks/{hook_id}/deliveries", None),
    (
        "POST",
        "/bots/{username}/subscriptions",
        {"url": "https://example.com/h", "events": ["message.created"]},
    ),
    ("GET", "/bots/{username}/subscriptions", None),
    ("PATCH", "/bots/{username}/subscriptions/{hook_id}", {"enabled": True}),
    ("DELETE", "/bots/{username}/subscriptions/{hook_id}", None),
    ("GET", "/bots/{username}/subscriptions/{hook_id}/deliveries", None),
    ("POST", "/commands", {"name": "ci", "url": "https://example.com/c", "description": "d"}),
    ("GET", "/commands", None),
    ("DELETE", "/commands/{name}", None),
    ("GET", "/search", None),
    ("POST", "/rooms/{room_id}/uploads", None),
    # Without a signed link (exp, sig): only a token opens a file.
    ("GET", "/files/{file_id}/{filename}", None),
    ("GET", "/thumbnails/{file_id}", None),
    ("PUT", "/me/avatar", None),
    ("DELETE", "/me/avatar", None),
    ("PUT", "/rooms/{room_id}/avatar", None),
    ("DELETE", "/rooms/{room_id}/avatar", None),
    ("PUT", "/rooms/{room_id}/notifications", {"level": "all"}),
    ("GET", "/me/notifications", None),
    ("PUT", "/me/notifications", {"email": "off", "push_preview": True}),
    ("GET", "/push/vapid-public-key", None),
    ("GET", "/push/subscriptions", None),
    (
        "POST",
        "/push/subscriptions",
        {
            "endpoint": "https://push.example/x",
            "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22},
        },
    ),
    ("DELETE", "/push/subscriptions/{subscription_id}", None),
]
PUBLIC_ROUTES = {
    ("POST", "/accounts"),
    ("POST", "/sessions"),
    ("POST", "/password-resets/{code}"),
    ("POST", "/email-confirmations"),  # the mailed token is the permission
    ("GET", "/avatars/{key}"),  # the random key is the permission
}


def concrete(template: str) -> str:
    return API + template.format(
        room_id=ROOM,
        username=USER,
        message_id=MESSAGE,
        emoji=EMOJI,
        session_id="s_none",
        code="nope",
        hook_id="wh_none",
        name="nope",
        subscription_id="ps_none",
        file_id="f_none",
        filename="x.txt",
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
