"""Moderation (issue #12): mutes, bans, who may act on whom, server admins in public rooms and
the lobby, ownership hand-over, and the audit log; on SQLite and PostgreSQL.

The first account of a server is its admin: every test signs `admin` up before anyone else
(the other accounts' fixtures depend on it). Each refusal is also checked to change nothing:
the room, its members, its bans, its messages and the event log are as before.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from hubbub.app import create_app, open_store
from hubbub.config import Settings
from hubbub.realtime.frames import event_frame
from hubbub.store import Store
from hubbub.store.events import list_after
from tests.api.conftest import API, USER_FIELDS, Account, assert_problem, sign_up
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio

THUMBS = quote("👍")


# -- the cast: `admin` is always the first account ---------------------------------------------


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Account:
    account = await sign_up(client, "root")
    assert account.user["is_admin"] is True
    return account


@pytest.fixture
async def alice(client: httpx.AsyncClient, admin: Account) -> Account:
    return await sign_up(client, "alice")


@pytest.fixture
async def bob(client: httpx.AsyncClient, admin: Account) -> Account:
    return await sign_up(client, "bob")


@pytest.fixture
async def carol(client: httpx.AsyncClient, admin: Account) -> Account:
    return await sign_up(client, "carol")


@pytest.fixture
async def dave(client: httpx.AsyncClient, admin: Account) -> Account:
    return await sign_up(client, "dave")


@pytest.fixture
async def store(settings: Settings, client: httpx.AsyncClient) -> AsyncIterator[Store]:
    """The test's database (beside the running app), to read the event log."""
    opened = await open_store(settings)
    try:
        yield opened
    finally:
        await opened.close()


# -- helpers -----------------------------------------------------------------------------------


async def ok(r: httpx.Response, status: int = 204) -> httpx.Response:
    assert r.status_code == status, r.text
    return r


async def members(viewer: Account, room_id: str) -> dict[str, dict[str, Any]]:
    """The room's members by username, as `viewer` sees them."""
    r = await ok(await viewer.get(f"/rooms/{room_id}/members"), 200)
    return {m["user"]["username"]: m for m in r.json()["members"]}


async def roles(viewer: Account, room_id: str) -> dict[str, str]:
    return {name: m["role"] for name, m in (await members(viewer, room_id)).items()}


async def bans(viewer: Account, room_id: str) -> list[dict[str, Any]]:
    r = await ok(await viewer.get(f"/rooms/{room_id}/bans"), 200)
    return list(r.json()["bans"])


async def stored_frames(store: Store, kind: str | None = None) -> list[dict[str, Any]]:
    """Every durable event stored so far, framed as a stream would send it (of `kind`)."""
    deployment = await store.deployment_id()
    events = await store.read(functools.partial(list_after, after=0, limit=1_000_000))
    frames = [orjson.loads(event_frame(e, deployment).json) for e in events]
    return [f for f in frames if kind is None or f["type"] == kind]


async def state(store: Store, viewer: Account, room_id: str) -> dict[str, Any]:
    """What a refused request must leave as it was: the room, its members, bans and messages
    as `viewer` (who may see them all) sees them, and the whole event log."""
    got: dict[str, Any] = {}
    for key, path in (
        ("room", ""),
        ("members", "/members"),
        ("bans", "/bans"),
        ("messages", "/messages"),
    ):
        r = await viewer.get(f"/rooms/{room_id}{path}")
        assert r.status_code == 200, r.text
        got[key] = r.json()
    got["events"] = await stored_frames(store)
    return got


async def state_of_dm(store: Store, viewer: Account, dm: str) -> tuple[Any, ...]:
    """A DM has no bans list to read (nobody manages it): the rest of `state`."""
    return (
        (await viewer.get(f"/rooms/{dm}")).json(),
        await members(viewer, dm),
        (await viewer.get(f"/rooms/{dm}/messages")).json(),
        await stored_frames(store),
    )


async def audit(admin: Account) -> list[dict[str, Any]]:
    r = await ok(await admin.get("/admin/audit", params={"limit": 200}), 200)
    return list(r.json()["entries"])


async def mute(actor: Account, room_id: str, username: str, muted: bool = True) -> httpx.Response:
    return await actor.put(f"/rooms/{room_id}/members/{username}", {"muted": muted})


async def ban(
    actor: Account, room_id: str, username: str, reason: str | None = None
) -> httpx.Response:
    body = None if reason is None else {"reason": reason}
    return await actor.put(f"/rooms/{room_id}/bans/{username}", body)


async def room_with(owner: Account, visibility: str, **roles: str) -> str:
    """A room owned by `owner`, with the given usernames added in the given roles, each on a
    later millisecond (so seniority is unambiguous)."""
    room = await owner.create_room("modroom", visibility)
    for name, role in roles.items():
        await ok(await owner.put(f"/rooms/{room['id']}/members/{name}", {"role": role}), 201)
        await anyio.sleep(0.003)
    return str(room["id"])


async def guest_post(client: httpx.AsyncClient, user: str, text: str) -> None:
    r = await client.post("/message", json={"user": user, "text": text})
    assert r.status_code == 200, r.text


# -- mute --------------------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["public", "private"])
async def test_muted_member_reads_but_cannot_send_edit_react_or_type(
    store: Store, alice: Account, bob: Account, visibility: str
) -> None:
    room = await room_with(alice, visibility, bob="member")
    mine = await bob.send(room, "before the mute")
    theirs = await alice.send(room, "hello")
    await ok(await bob.put(f"/messages/{theirs['id']}/reactions/{THUMBS}"))

    r = await ok(await mute(alice, room, "bob"), 200)
    assert r.json()["muted"] is True
    assert r.json()["role"] == "member"
    assert (await members(bob, room))["bob"]["muted"] is True

    # Reading still works.
    assert (await bob.get(f"/rooms/{room}")).status_code == 200
    page = await ok(await bob.get(f"/rooms/{room}/messages"), 200)
    assert [m["text"] for m in page.json()["messages"]] == ["before the mute", "hello"]
    assert (await bob.get(f"/messages/{theirs['id']}")).status_code == 200
    await ok(await bob.put(f"/rooms/{room}/read", {"seq": 2}))

    # Writing does not, and changes nothing.
    before = await state(store, alice, room)
    refusals = [
        await bob.post(f"/rooms/{room}/messages", {"text": "let me speak"}),
        await bob.patch(f"/messages/{mine['id']}", {"text": "edited"}),
        await bob.put(f"/messages/{theirs['id']}/reactions/{quote('🎉')}"),
        await bob.delete(f"/messages/{theirs['id']}/reactions/{THUMBS}"),
        await bob.post(f"/rooms/{room}/typing"),
    ]
    for r in refusals:
        assert_problem(r, 403, "muted")
    assert await state(store, alice, room) == before


async def test_unmuting_gives_the_voice_back(store: Store, alice: Account, bob: Account) -> None:
    room = await room_with(alice, "public", bob="member")
    await ok(await mute(alice, room, "bob"), 200)
    assert_problem(await bob.post(f"/rooms/{room}/messages", {"text": "x"}), 403, "muted")
    r = await ok(await mute(alice, room, "bob", False), 200)
    assert r.json()["muted"] is False
    assert (await members(alice, room))["bob"]["muted"] is False
    sent = await bob.send(room, "back")
    await ok(await bob.patch(f"/messages/{sent['id']}", {"text": "back again"}), 200)
    await ok(await bob.put(f"/messages/{sent['id']}/reactions/{THUMBS}"))
    await ok(await bob.post(f"/rooms/{room}/typing"))


async def test_mute_and_unmute_are_announced_with_the_member_state(
    store: Store, alice: Account, bob: Account
) -> None:
    room = await room_with(alice, "public", bob="member")
    await ok(await mute(alice, room, "bob"), 200)
    await ok(await mute(alice, room, "bob", False), 200)
    updates = [f for f in await stored_frames(store, "member.updated") if f["room_id"] == room]
    assert [
        (u["data"]["user"]["username"], u["data"]["role"], u["data"]["muted"]) for u in updates
    ] == [
        ("bob", "member", True),
        ("bob", "member", False),
    ]


async def test_muting_twice_changes_and_announces_nothing_more(
    store: Store, admin: Account, alice: Account, bob: Account
) -> None:
    room = await room_with(alice, "public", bob="member")
    await ok(await mute(alice, room, "bob"), 200)
    before = await state(store, alice, room)
    entries = await audit(admin)
    r = await ok(await mute(alice, room, "bob"), 200)
    assert r.json()["muted"] is True
    assert await state(store, alice, room) == before
    assert await audit(admin) == entries


async def test_role_and_mute_change_together(store: Store, alice: Account, bob: Account) -> None:
    room = await room_with(alice, "public", bob="member")
    r = await ok(
        await alice.put(f"/rooms/{room}/members/bob", {"role": "admin", "muted": True}), 200
    )
    assert (r.json()["role"], r.json()["muted"]) == ("admin", True)
    assert (await members(alice, room))["bob"]["role"] == "admin"
    # A role change alone keeps the mute.
    r = await ok(await alice.put(f"/rooms/{room}/members/bob", {"role": "member"}), 200)
    assert (r.json()["role"], r.json()["muted"]) == ("member", True)
    updates = [
        f["data"] for f in await stored_frames(store, "member.updated") if f["room_id"] == room
    ]
    assert [(u["role"], u["muted"]) for u in updates] == [("admin", True), ("member", True)]


async def test_room_admin_mutes_a_member(alice: Account, bob: Account, carol: Account) -> None:
    room = await room_with(alice, "private", bob="admin", carol="member")
    await ok(await mute(bob, room, "carol"), 200)
    assert_problem(await carol.post(f"/rooms/{room}/messages", {"text": "x"}), 403, "muted")
    await ok(await mute(bob, room, "carol", False), 200)
    await carol.send(room, "free")


async def test_owner_mutes_a_room_admin(alice: Account, bob: Account) -> None:
    room = await room_with(alice, "public", bob="admin")
    await ok(await mute(alice, room, "bob"), 200)
    assert_problem(await bob.post(f"/rooms/{room}/messages", {"text": "x"}), 403, "muted")


EQUAL_OR_HIGHER = [
    ("carol", "dave"),  # a member, another member
    ("bob", "alice"),  # a room admin, the owner
    ("bob", "erin"),  # a room admin, another room admin
    ("bob", "bob"),  # a room admin, themself
    ("carol", "carol"),  # a member, themself (a mute is not self-service)
]


async def test_nobody_mutes_or_unmutes_an_equal_or_higher_role(
    store: Store,
    client: httpx.AsyncClient,
    admin: Account,
    alice: Account,
    bob: Account,
    carol: Account,
    dave: Account,
) -> None:
    erin = await sign_up(client, "erin")
    room = await room_with(
        alice, "public", bob="admin", carol="member", dave="member", erin="admin"
    )
    cast = {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin}
    for muted in (True, False):
        if not muted:  # to be unmuted, the targets are muted: by the server admin, above all
            for target in {t for _, t in EQUAL_OR_HIGHER}:
                await ok(await mute(admin, room, target), 200)
        before = await state(store, alice, room)
        for actor, target in EQUAL_OR_HIGHER:
            r = await mute(cast[actor], room, target, muted)
            assert_problem(r, 403, "not_allowed")
            assert await state(store, alice, room) == before, (actor, target, muted)


async def test_stranger_cannot_mute(
    store: Store, alice: Account, bob: Account, dave: Account
) -> None:
    public = await room_with(alice, "public", bob="member")
    private = await room_with(alice, "private", bob="member")
    before = await state(store, alice, public)
    assert_problem(await mute(dave, public, "bob"), 403, "not_a_member")
    assert await state(store, alice, public) == before
    before = await state(store, alice, private)
    assert_problem(await mute(dave, private, "bob"), 404, "room_not_found")
    assert await state(store, alice, private) == before


async def test_nobody_is_muted_in_a_dm(store: Store, alice: Account, bob: Account) -> None:
    dm = (await ok(await alice.post("/dms", {"username": "bob"}), 201)).json()["id"]
    before = await state_of_dm(store, alice, dm)
    assert_problem(await mute(alice, dm, "bob"), 403, "dm_membership_fixed")
    assert await state_of_dm(store, alice, dm) == before
    await bob.send(dm, "still talking")


# -- bans --------------------------------------------------------------------------------------


async def test_ban_takes_the_member_out_and_keeps_them_out_of_a_public_room(
    store: Store, alice: Account, bob: Account
) -> None:
    room = await room_with(alice, "public", bob="member")
    spam = await bob.send(room, "spam")
    r = await ban(alice, room, "bob", "spam")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert "bob" not in await roles(alice, room)
    assert room not in [x["id"] for x in (await bob.get("/rooms")).json()["rooms"]]
    left = [f for f in await stored_frames(store, "member.left") if f["room_id"] == room]
    assert [(f["data"]["user"]["username"], f["data"]["how"]) for f in left] == [("bob", "banned")]

    # A public room stays readable, but bob can neither join nor be added again.
    seen = await ok(await bob.get(f"/rooms/{room}"), 200)
    assert "my_role" not in seen.json()
    await ok(await bob.get(f"/rooms/{room}/messages"), 200)
    before = await state(store, alice, room)
    assert_problem(await bob.post(f"/rooms/{room}/join"), 403, "banned")
    assert_problem(await alice.put(f"/rooms/{room}/members/bob"), 403, "banned")
    assert_problem(await alice.put(f"/rooms/{room}/members/bob", {"role": "admin"}), 403, "banned")
    assert_problem(await bob.post(f"/rooms/{room}/messages", {"text": "x"}), 403, "not_a_member")
    assert_problem(await bob.patch(f"/messages/{spam['id']}", {"text": "x"}), 403, "not_a_member")
    r = await bob.put(f"/messages/{spam['id']}/reactions/{THUMBS}")
    assert_problem(r, 403, "not_a_member")
    assert_problem(await bob.post(f"/rooms/{room}/typing"), 403, "not_a_member")
    assert_problem(await bob.put(f"/rooms/{room}/read", {"seq": 1}), 403, "not_a_member")
    assert await state(store, alice, room) == before
    directory = (await bob.get("/rooms", params={"scope": "public"})).json()["rooms"]
    assert room not in [x["id"] for x in directory], "the directory offers only joinable rooms"
    await ok(await alice.delete(f"/rooms/{room}/bans/bob"))
    directory = (await bob.get("/rooms", params={"scope": "public"})).json()["rooms"]
    assert room in [x["id"] for x in directory], "unbanned: joinable again"


async def test_banned_user_cannot_see_a_private_room(
    store: Store, alice: Account, bob: Account
) -> None:
    room = await room_with(alice, "private", bob="member")
    message = await alice.send(room, "secret")
    await ok(await ban(alice, room, "bob"))
    assert_problem(await bob.get(f"/rooms/{room}"), 404, "room_not_found")
    assert_problem(await bob.get(f"/rooms/{room}/messages"), 404, "room_not_found")
    assert_problem(await bob.get(f"/rooms/{room}/members"), 404, "room_not_found")
    assert_problem(await bob.get(f"/rooms/{room}/bans"), 404, "room_not_found")
    assert_problem(await bob.get(f"/messages/{message['id']}"), 404, "message_not_found")
    before = await state(store, alice, room)
    assert_problem(await bob.post(f"/rooms/{room}/join"), 404, "room_not_found")
    assert_problem(await alice.put(f"/rooms/{room}/members/bob"), 403, "banned")
    assert await state(store, alice, room) == before


async def test_bans_are_listed_with_user_reason_and_time(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_with(alice, "public", bob="member")
    await ok(await ban(alice, room, "bob", "spam"))
    await anyio.sleep(0.003)
    await ok(await ban(alice, room, "carol"))  # not a member: a ban keeps them out all the same
    listed = await bans(alice, room)
    assert [(b["user"]["username"], b["reason"]) for b in listed] == [
        ("bob", "spam"),
        ("carol", ""),
    ]
    for b in listed:
        assert set(b) == {"user", "reason", "banned_at"}
        assert set(b["user"]) == USER_FIELDS
        assert b["banned_at"].endswith("Z")
    assert_problem(await carol.post(f"/rooms/{room}/join"), 403, "banned")


@pytest.mark.parametrize("visibility", ["public", "private"])
async def test_only_those_who_may_ban_see_the_bans(
    alice: Account, bob: Account, carol: Account, dave: Account, visibility: str
) -> None:
    room = await room_with(alice, visibility, bob="admin", carol="member")
    await ok(await ban(alice, room, "dave"))
    assert len(await bans(bob, room)) == 1
    assert_problem(await carol.get(f"/rooms/{room}/bans"), 403, "not_allowed")
    if visibility == "public":
        stranger = await sign_up(alice.client, "erin")
        assert_problem(await stranger.get(f"/rooms/{room}/bans"), 403, "not_a_member")


async def test_unban_lets_them_join_and_be_added_again(
    store: Store, admin: Account, alice: Account, bob: Account
) -> None:
    public = await room_with(alice, "public", bob="member")
    private = await room_with(alice, "private", bob="member")
    for room in (public, private):
        await ok(await ban(alice, room, "bob"))
    for _ in range(2):  # idempotent
        await ok(await alice.delete(f"/rooms/{public}/bans/bob"))
        await ok(await alice.delete(f"/rooms/{private}/bans/bob"))
    assert await bans(alice, public) == await bans(alice, private) == []
    await ok(await bob.post(f"/rooms/{public}/join"))
    assert (await roles(alice, public))["bob"] == "member"
    assert_problem(await bob.get(f"/rooms/{private}"), 404, "room_not_found")  # not in it
    await ok(await alice.put(f"/rooms/{private}/members/bob"), 201)
    await bob.send(private, "back")
    unbans = [e for e in await audit(admin) if e["action"] == "room.unban"]
    assert sorted(e["target"] for e in unbans) == sorted([f"{public}/bob", f"{private}/bob"])


async def test_banning_again_changes_nothing_and_keeps_the_first_reason(
    store: Store, admin: Account, alice: Account, bob: Account
) -> None:
    room = await room_with(alice, "public", bob="member")
    await ok(await ban(alice, room, "bob", "first"))
    before = await state(store, alice, room)
    entries = await audit(admin)
    await ok(await ban(alice, room, "bob", "second"))
    await ok(await ban(alice, room, "bob"))
    assert await state(store, alice, room) == before
    assert await audit(admin) == entries
    assert [b["reason"] for b in await bans(alice, room)] == ["first"]


async def test_ban_without_a_body_has_an_empty_reason(alice: Account, bob: Account) -> None:
    room = await room_with(alice, "public", bob="member")
    await ok(await ban(alice, room, "bob"))
    assert [b["reason"] for b in await bans(alice, room)] == [""]


async def test_a_null_reason_is_no_reason(alice: Account, bob: Account) -> None:
    room = await room_with(alice, "public", bob="member")
    await ok(await alice.put(f"/rooms/{room}/bans/bob", {"reason": None}))
    assert [b["reason"] for b in await bans(alice, room)] == [""]


async def test_reason_of_500_characters_is_accepted(alice: Account, bob: Account) -> None:
    room = await room_with(alice, "public", bob="member")
    await ok(await ban(alice, room, "bob", "r" * 500))
    assert [len(b["reason"]) for b in await bans(alice, room)] == [500]


INVALID_REASONS = ["r" * 501, "é" * 501, "😀" * 501, 7, "nul \x00 inside"]
LONE_SURROGATE = "lone \ud800 surrogate"


async def test_invalid_reason_is_422_and_bans_nobody(
    store: Store, alice: Account, bob: Account
) -> None:
    room = await room_with(alice, "public", bob="member")
    before = await state(store, alice, room)
    for reason in [*INVALID_REASONS, LONE_SURROGATE]:
        # Encoded here, escaping non-ASCII: a lone surrogate can only travel as a JSON escape.
        r = await alice.client.put(
            f"{API}/rooms/{room}/bans/bob",
            content=json.dumps({"reason": reason}).encode(),
            headers={**alice.headers, "Content-Type": "application/json"},
        )
        body = assert_problem(r, 422, "invalid")
        if reason != LONE_SURROGATE:  # that one is refused as a body, not as a field
            named = {body.get("field")} | {e["field"] for e in body.get("errors") or []}
            assert any(str(n).endswith("reason") for n in named), body
        assert await state(store, alice, room) == before, reason


async def test_ban_unknown_user_is_404(store: Store, alice: Account) -> None:
    room = await room_with(alice, "public")
    before = await state(store, alice, room)
    assert_problem(await ban(alice, room, "nobody"), 404, "user_not_found")
    assert await state(store, alice, room) == before


async def test_nobody_is_banned_in_a_dm(store: Store, alice: Account, bob: Account) -> None:
    dm = (await ok(await alice.post("/dms", {"username": "bob"}), 201)).json()["id"]
    before = await state_of_dm(store, alice, dm)
    assert_problem(await ban(alice, dm, "bob"), 403, "not_allowed")
    assert_problem(await alice.delete(f"/rooms/{dm}/bans/bob"), 403, "not_allowed")
    assert_problem(await alice.get(f"/rooms/{dm}/bans"), 403, "not_allowed")
    assert await state_of_dm(store, alice, dm) == before
    await bob.send(dm, "still here")


async def test_a_member_cannot_ban_or_unban(
    store: Store, alice: Account, bob: Account, carol: Account, dave: Account
) -> None:
    room = await room_with(alice, "public", bob="member", carol="member")
    await ok(await ban(alice, room, "dave"))
    before = await state(store, alice, room)
    assert_problem(await ban(bob, room, "carol"), 403, "not_allowed")
    assert_problem(await bob.delete(f"/rooms/{room}/bans/dave"), 403, "not_allowed")
    assert await state(store, alice, room) == before


async def test_a_stranger_cannot_ban(
    store: Store, alice: Account, bob: Account, dave: Account
) -> None:
    public = await room_with(alice, "public", bob="member")
    private = await room_with(alice, "private", bob="member")
    before = await state(store, alice, public)
    assert_problem(await ban(dave, public, "bob"), 403, "not_a_member")
    assert await state(store, alice, public) == before
    before = await state(store, alice, private)
    assert_problem(await ban(dave, private, "bob"), 404, "room_not_found")
    assert await state(store, alice, private) == before


@pytest.mark.parametrize(
    ("actor", "target"),
    [("bob", "alice"), ("bob", "erin"), ("bob", "bob"), ("alice", "alice")],
    ids=["admin-bans-owner", "admin-bans-admin", "admin-bans-self", "owner-bans-self"],
)
async def test_nobody_bans_an_equal_or_higher_role(
    store: Store, client: httpx.AsyncClient, alice: Account, bob: Account, actor: str, target: str
) -> None:
    erin = await sign_up(client, "erin")
    room = await room_with(alice, "private", bob="admin", erin="admin")
    cast = {"alice": alice, "bob": bob, "erin": erin}
    before = await state(store, alice, room)
    assert_problem(await ban(cast[actor], room, target), 403, "not_allowed")
    assert await state(store, alice, room) == before


async def test_room_admin_bans_a_member_and_owner_bans_an_admin(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_with(alice, "private", bob="admin", carol="member")
    await ok(await ban(bob, room, "carol"))
    await ok(await ban(alice, room, "bob"))
    assert await roles(alice, room) == {"alice": "owner"}
    assert [b["user"]["username"] for b in await bans(alice, room)] == ["carol", "bob"]
    for banned in (bob, carol):
        assert_problem(await banned.get(f"/rooms/{room}"), 404, "room_not_found")


async def test_removing_is_announced_as_removed_and_leaving_as_left(
    store: Store, alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_with(alice, "public", bob="member", carol="member")
    await ok(await alice.delete(f"/rooms/{room}/members/bob"))
    await ok(await carol.post(f"/rooms/{room}/leave"))
    left = [f["data"] for f in await stored_frames(store, "member.left") if f["room_id"] == room]
    assert [(d["user"]["username"], d["how"]) for d in left] == [
        ("bob", "removed"),
        ("carol", "left"),
    ]
    # Removal is no ban: bob may come back.
    await ok(await bob.post(f"/rooms/{room}/join"))


# -- server admins -----------------------------------------------------------------------------


async def test_server_admin_moderates_a_public_room_without_being_in_it(
    store: Store, admin: Account, alice: Account, bob: Account
) -> None:
    room = await room_with(alice, "public", bob="member")
    message = await alice.send(room, "owner's words")
    await ok(await admin.delete(f"/messages/{message['id']}"))
    assert (await alice.get(f"/messages/{message['id']}")).json()["deleted"] is True

    await ok(await mute(admin, room, "bob"), 200)
    assert_problem(await bob.post(f"/rooms/{room}/messages", {"text": "x"}), 403, "muted")
    await ok(await mute(admin, room, "bob", False), 200)

    await ok(await ban(admin, room, "bob", "trolling"))
    assert [b["reason"] for b in await bans(admin, room)] == ["trolling"]
    await ok(await admin.delete(f"/rooms/{room}/bans/bob"))
    await ok(await admin.put(f"/rooms/{room}/members/bob"), 201)
    await ok(await admin.delete(f"/rooms/{room}/members/bob"))
    await ok(await admin.patch(f"/rooms/{room}", {"topic": "by the server admin"}), 200)
    assert "root" not in await roles(alice, room), "moderating does not make them a member"


async def test_server_admin_ranks_above_the_owner_in_a_public_room(
    store: Store, admin: Account, alice: Account, bob: Account
) -> None:
    room = await room_with(alice, "public", bob="admin")
    await ok(await mute(admin, room, "alice"), 200)
    assert_problem(await alice.post(f"/rooms/{room}/messages", {"text": "x"}), 403, "muted")
    await ok(await ban(admin, room, "alice"))
    # The owner was banned: the room passes to its admin.
    assert await roles(bob, room) == {"bob": "owner"}


@pytest.mark.parametrize("in_room", [False, True])
async def test_owner_and_room_admins_cannot_act_on_a_server_admin_in_a_public_room(
    store: Store, admin: Account, alice: Account, bob: Account, in_room: bool
) -> None:
    room = await room_with(alice, "public", bob="admin")
    if in_room:
        await ok(await admin.post(f"/rooms/{room}/join"))
    before = await state(store, alice, room)
    for actor in (alice, bob):
        assert_problem(await ban(actor, room, "root"), 403, "not_allowed")
        if in_room:
            assert_problem(await mute(actor, room, "root"), 403, "not_allowed")
            assert_problem(await actor.delete(f"/rooms/{room}/members/root"), 403, "not_allowed")
    assert await state(store, alice, room) == before


async def test_server_admin_runs_the_lobby(
    store: Store, client: httpx.AsyncClient, admin: Account, alice: Account, bob: Account
) -> None:
    await guest_post(client, "guest", "classic spam")
    await alice.send("general", "alice's words")
    page = (await ok(await admin.get("/rooms/general/messages"), 200)).json()["messages"]
    guest, alices = page[-2], page[-1]
    assert guest["author"]["guest"] is True

    # A plain lobby member moderates nothing.
    before = await state(store, admin, "general")
    assert_problem(await alice.delete(f"/messages/{guest['id']}"), 403, "not_author")
    assert_problem(await alice.patch("/rooms/general", {"name": "mine"}), 403, "not_allowed")
    assert_problem(await mute(alice, "general", "bob"), 403, "not_allowed")
    assert_problem(await ban(alice, "general", "bob"), 403, "not_allowed")
    assert await state(store, admin, "general") == before

    # The server admin does.
    for message in (guest, alices):
        await ok(await admin.delete(f"/messages/{message['id']}"))
        assert (await bob.get(f"/messages/{message['id']}")).json()["deleted"] is True
    classic = (await client.get("/messages")).json()
    assert "classic spam" not in str(classic)
    r = await ok(await admin.patch("/rooms/general", {"name": "lobby", "topic": "be nice"}), 200)
    assert (r.json()["name"], r.json()["topic"]) == ("lobby", "be nice")
    await ok(await mute(admin, "general", "bob"), 200)
    assert_problem(await bob.post("/rooms/general/messages", {"text": "x"}), 403, "muted")
    await ok(await ban(admin, "general", "alice", "rude"))
    assert "alice" not in await roles(bob, "general")
    assert_problem(await alice.post("/rooms/general/join"), 403, "banned")
    await ok(await admin.delete("/rooms/general/bans/alice"))
    await ok(await alice.post("/rooms/general/join"))


async def test_server_admin_cannot_see_or_moderate_a_private_room_he_is_not_in(
    store: Store, admin: Account, alice: Account, bob: Account
) -> None:
    room = await room_with(alice, "private", bob="member")
    message = await bob.send(room, "private words")
    before = await state(store, alice, room)
    for r, code in [
        (await admin.get(f"/rooms/{room}"), "room_not_found"),
        (await admin.get(f"/rooms/{room}/messages"), "room_not_found"),
        (await admin.get(f"/messages/{message['id']}"), "message_not_found"),
        (await admin.delete(f"/messages/{message['id']}"), "message_not_found"),
        (await mute(admin, room, "bob"), "room_not_found"),
        (await ban(admin, room, "bob"), "room_not_found"),
        (await admin.delete(f"/rooms/{room}/bans/bob"), "room_not_found"),
        (await admin.get(f"/rooms/{room}/bans"), "room_not_found"),
        (await admin.delete(f"/rooms/{room}/members/bob"), "room_not_found"),
        (await admin.patch(f"/rooms/{room}", {"name": "mine"}), "room_not_found"),
        (await admin.post(f"/rooms/{room}/join"), "room_not_found"),
    ]:
        assert_problem(r, 404, code)
    assert await state(store, alice, room) == before


async def test_server_admin_is_a_plain_member_of_a_private_room(
    store: Store, admin: Account, alice: Account, bob: Account
) -> None:
    room = await room_with(alice, "private", bob="member", root="member")
    message = await bob.send(room, "private words")
    before = await state(store, alice, room)
    assert_problem(await admin.delete(f"/messages/{message['id']}"), 403, "not_author")
    assert_problem(await mute(admin, room, "bob"), 403, "not_allowed")
    assert_problem(await ban(admin, room, "bob"), 403, "not_allowed")
    assert_problem(await admin.delete(f"/rooms/{room}/bans/bob"), 403, "not_allowed")
    assert_problem(await admin.get(f"/rooms/{room}/bans"), 403, "not_allowed")
    assert_problem(await admin.delete(f"/rooms/{room}/members/bob"), 403, "not_allowed")
    assert_problem(await admin.patch(f"/rooms/{room}", {"name": "mine"}), 403, "not_allowed")
    assert await state(store, alice, room) == before
    # ... and the owner moderates the server admin there like anyone else.
    await ok(await mute(alice, room, "root"), 200)
    assert_problem(await admin.post(f"/rooms/{room}/messages", {"text": "x"}), 403, "muted")
    await ok(await ban(alice, room, "root"))
    assert_problem(await admin.get(f"/rooms/{room}"), 404, "room_not_found")


async def test_server_admin_cannot_ban_in_a_dm_of_others(
    store: Store, admin: Account, alice: Account, bob: Account
) -> None:
    dm = (await ok(await alice.post("/dms", {"username": "bob"}), 201)).json()["id"]
    message = await bob.send(dm, "between us")
    before = await state_of_dm(store, alice, dm)
    assert_problem(await ban(admin, dm, "bob"), 404, "room_not_found")
    assert_problem(await mute(admin, dm, "bob"), 404, "room_not_found")
    assert_problem(await admin.delete(f"/messages/{message['id']}"), 404, "message_not_found")
    assert await state_of_dm(store, alice, dm) == before


# -- ownership hand-over -----------------------------------------------------------------------


async def test_banned_owner_hands_the_room_to_the_senior_admin(
    store: Store, admin: Account, alice: Account, bob: Account, carol: Account, dave: Account
) -> None:
    # carol is the senior member, but dave and then bob are admins: dave joined first.
    room = await room_with(alice, "public", carol="member", dave="admin", bob="admin")
    await ok(await ban(admin, room, "alice"))
    assert await roles(bob, room) == {"dave": "owner", "bob": "admin", "carol": "member"}
    handover = [
        f["data"] for f in await stored_frames(store, "member.updated") if f["room_id"] == room
    ]
    assert [(d["user"]["username"], d["role"]) for d in handover] == [("dave", "owner")]


async def test_removed_owner_hands_the_room_to_the_senior_member(
    admin: Account, alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_with(alice, "public", carol="member", bob="member")
    await ok(await admin.delete(f"/rooms/{room}/members/alice"))
    assert await roles(bob, room) == {"carol": "owner", "bob": "member"}
    # The heir manages the room at once.
    await ok(await carol.put(f"/rooms/{room}/members/bob", {"role": "admin"}), 200)


async def test_last_owner_leaving_hands_over_and_the_heir_leaving_hands_over_again(
    alice: Account, bob: Account, carol: Account, dave: Account
) -> None:
    room = await room_with(alice, "private", bob="member", carol="admin", dave="member")
    await ok(await alice.post(f"/rooms/{room}/leave"))
    assert await roles(bob, room) == {"carol": "owner", "bob": "member", "dave": "member"}
    await ok(await carol.post(f"/rooms/{room}/leave"))
    assert await roles(bob, room) == {"bob": "owner", "dave": "member"}


async def test_a_muted_heir_is_unmuted_and_announced_so(
    store: Store, alice: Account, bob: Account, carol: Account
) -> None:
    """In a private room nobody outranks an owner, so a mute could never be lifted from one:
    the hand-over lifts it."""
    room = await room_with(alice, "private", bob="member", carol="member")
    await ok(await mute(alice, room, "bob"), 200)
    await ok(await alice.post(f"/rooms/{room}/leave"))
    listed = await members(carol, room)
    assert (listed["bob"]["role"], listed["bob"]["muted"]) == ("owner", False)
    await bob.send(room, "I may speak in my own room")
    handover = [
        f["data"] for f in await stored_frames(store, "member.updated") if f["room_id"] == room
    ]
    assert (handover[-1]["user"]["username"], handover[-1]["role"]) == ("bob", "owner")
    assert handover[-1]["muted"] is listed["bob"]["muted"], "the event must say what the list says"


# -- the audit log -----------------------------------------------------------------------------


async def test_moderation_is_in_the_audit_log(
    client: httpx.AsyncClient, admin: Account, alice: Account, bob: Account, carol: Account
) -> None:
    room = await room_with(alice, "public", bob="member", carol="admin")
    own = await alice.send(room, "mine")
    theirs = await bob.send(room, "bob's")
    await ok(await alice.delete(f"/messages/{own['id']}"))  # one's own: not moderation
    await ok(await carol.delete(f"/messages/{theirs['id']}"))
    await ok(await mute(alice, room, "bob"), 200)
    await ok(await mute(alice, room, "bob", False), 200)
    await ok(await ban(alice, room, "bob", "spam"))
    await ok(await alice.delete(f"/rooms/{room}/bans/bob"))
    await ok(await carol.put(f"/rooms/{room}/members/bob"), 201)
    await ok(await carol.delete(f"/rooms/{room}/members/bob"))
    await guest_post(client, "guest", "spam")
    guest = (await admin.get("/rooms/general/messages")).json()["messages"][-1]
    await ok(await admin.delete(f"/messages/{guest['id']}"))

    entries = await audit(admin)
    got = [(e["actor"], e["action"], e["target"], e["reason"]) for e in entries]
    expected = [
        ("carol", "message.delete", f"{room}/{theirs['seq']}", ""),
        ("alice", "room.mute", f"{room}/bob", ""),
        ("alice", "room.unmute", f"{room}/bob", ""),
        ("alice", "room.ban", f"{room}/bob", "spam"),
        ("alice", "room.unban", f"{room}/bob", ""),
        ("carol", "room.remove_member", f"{room}/bob", ""),
        ("root", "message.delete", f"general/{guest['seq']}", ""),
    ]
    assert sorted(got) == sorted(expected), got
    assert not any(e["target"] == f"{room}/{own['seq']}" for e in entries)
    for e in entries:
        assert set(e) == {"id", "at", "actor", "action", "target", "reason"}


async def test_only_server_admins_read_the_audit_log(admin: Account, alice: Account) -> None:
    assert_problem(await alice.get("/admin/audit"), 403, "not_allowed")


async def test_audit_log_is_newest_first_and_pages_without_gaps(
    settings: Settings, clock: FakeClock
) -> None:
    # One action per millisecond for 20 ms: ids made within a few milliseconds of each other
    # are where an id's time part can sort out of order.
    app = create_app(settings, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hubbub.test") as c:
            admin = await sign_up(c, "root")
            alice = await sign_up(c, "alice")
            assert alice.user["is_admin"] is False
            done = []
            for i in range(20):
                clock.advance_ms(1)
                await ok(await mute(admin, "general", "alice", muted=i % 2 == 0), 200)
                done.append("room.mute" if i % 2 == 0 else "room.unmute")
            entries = await audit(admin)
            assert [e["action"] for e in entries] == done[::-1]
            ats = [e["at"] for e in entries]
            assert ats == sorted(ats, reverse=True)
            paged: list[dict[str, Any]] = []
            before: str | None = None
            while True:
                params: dict[str, Any] = {"limit": 7}
                if before is not None:
                    params["before"] = before
                page = (await ok(await admin.get("/admin/audit", params=params), 200)).json()
                paged += page["entries"]
                before = page["next_before"]
                if before is None:
                    break
            assert paged == entries
