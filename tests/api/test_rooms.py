"""Rooms, membership, DMs and ownership handover: /api/v1/rooms..., /api/v1/dms."""

from __future__ import annotations

import re
from typing import Any

import anyio
import httpx
import pytest

from tests.api.conftest import API, ROOM_FIELDS, USER_FIELDS, Account, assert_problem, sign_up

pytestmark = pytest.mark.anyio

RFC3339_MS_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
MEMBER_FIELDS = {
    "my_role",
    "last_read_seq",
    "unread_count",
    "mention_count",
    "notification_level",
    "notifications_muted_until",
}


def assert_invalid_field(r: httpx.Response, field: str) -> None:
    """A 422 `invalid` problem whose body names `field`."""
    body = assert_problem(r, 422, "invalid")
    named = {body.get("field")} | {e["field"] for e in body.get("errors") or []}
    assert any(n == field or str(n).endswith(f".{field}") for n in named), body


async def ok(r: httpx.Response, status: int = 204) -> httpx.Response:
    assert r.status_code == status, r.text
    return r


async def room_ids(account: Account, scope: str | None = None) -> list[str]:
    params = {"scope": scope} if scope else {}
    r = await ok(await account.get("/rooms", params=params), 200)
    return [room["id"] for room in r.json()["rooms"]]


async def roles(account: Account, room_id: str) -> dict[str, str]:
    r = await ok(await account.get(f"/rooms/{room_id}/members"), 200)
    return {m["user"]["username"]: m["role"] for m in r.json()["members"]}


async def join_in_order(room_id: str, *accounts: Account) -> None:
    """Join one after another, each on a later millisecond so seniority is unambiguous."""
    for account in accounts:
        await ok(await account.post(f"/rooms/{room_id}/join"))
        await anyio.sleep(0.003)


# -- create and read --------------------------------------------------------------------------


async def test_created_room_has_every_field_and_creator_is_owner(alice: Account) -> None:
    r = await alice.post("/rooms", {"name": "Book club", "topic": "Dune", "visibility": "public"})
    assert r.status_code == 201, r.text
    room = r.json()
    assert set(room) == ROOM_FIELDS | MEMBER_FIELDS
    assert room["name"] == "Book club"
    assert room["topic"] == "Dune"
    assert room["visibility"] == "public"
    assert room["kind"] == "room"
    assert room["member_count"] == 1
    assert room["last_seq"] == 0
    assert room["my_role"] == "owner"
    assert room["last_read_seq"] == 0
    assert room["unread_count"] == 0
    assert RFC3339_MS_UTC.fullmatch(room["created_at"]), room["created_at"]
    assert (await alice.get(f"/rooms/{room['id']}")).json() == room


async def test_topic_defaults_to_empty(alice: Account) -> None:
    room = await alice.create_room("quiet")
    assert room["topic"] == ""


async def test_private_room_is_created_private(alice: Account) -> None:
    room = await alice.create_room("secret", "private")
    assert room["visibility"] == "private"
    assert room["my_role"] == "owner"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "visibility": "public"}, "name"),
        ({"name": "n" * 81, "visibility": "public"}, "name"),
        ({"name": "ok", "topic": "t" * 251, "visibility": "public"}, "topic"),
        ({"name": "ok", "visibility": "secret"}, "visibility"),
        ({"visibility": "public"}, "name"),
        ({"name": 7, "visibility": "public"}, "name"),
    ],
)
async def test_invalid_room_is_422_naming_the_field(
    alice: Account, body: dict[str, Any], field: str
) -> None:
    assert_invalid_field(await alice.post("/rooms", body), field)
    assert await room_ids(alice) == ["general"]  # nothing was created


async def test_create_room_without_visibility_is_422(alice: Account) -> None:
    # The spec lists `visibility` as required (only `topic` is optional): a client that forgets
    # it must not silently get a public room.
    assert_invalid_field(await alice.post("/rooms", {"name": "oops"}), "visibility")
    assert await room_ids(alice) == ["general"]


async def test_room_name_and_topic_at_their_limits_are_accepted(alice: Account) -> None:
    room = await alice.create_room("n" * 80, topic="t" * 250)
    assert len(room["name"]) == 80
    assert len(room["topic"]) == 250


async def test_create_room_with_non_json_body_is_415(alice: Account) -> None:
    r = await alice.post(
        "/rooms", content=b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_problem(r, 415, "unsupported_media_type")


async def test_create_room_with_malformed_json_is_400(alice: Account) -> None:
    r = await alice.post(
        "/rooms", content=b'{"name":', headers={"Content-Type": "application/json"}
    )
    assert_problem(r, 400, "malformed_request")


BODY_ROUTES = [
    ("PATCH", "/rooms/{room}"),
    ("PUT", "/rooms/{room}/members/bob"),
    ("PUT", "/rooms/{room}/read"),
    ("POST", "/dms"),
]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_non_json_body_is_415(alice: Account, bob: Account, method: str, path: str) -> None:
    room = await alice.create_room("r")
    r = await alice.client.request(
        method,
        API + path.format(room=room["id"]),
        content=b'{"seq": 0}',
        headers={**alice.headers, "Content-Type": "text/plain"},
    )
    assert_problem(r, 415, "unsupported_media_type")


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_malformed_json_body_is_400(
    alice: Account, bob: Account, method: str, path: str
) -> None:
    room = await alice.create_room("r")
    r = await alice.client.request(
        method,
        API + path.format(room=room["id"]),
        content=b'{"seq": ',
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert_problem(r, 400, "malformed_request")
    assert "bob" not in await roles(alice, room["id"])


async def test_non_member_sees_public_room_without_member_fields(
    alice: Account, bob: Account
) -> None:
    room = await alice.create_room("open")
    r = await bob.get(f"/rooms/{room['id']}")
    assert r.status_code == 200
    seen = r.json()
    assert set(seen) == ROOM_FIELDS
    assert seen["member_count"] == 1


async def test_private_room_is_404_for_non_member(alice: Account, bob: Account) -> None:
    room = await alice.create_room("secret", "private")
    assert_problem(await bob.get(f"/rooms/{room['id']}"), 404, "room_not_found")
    assert_problem(await bob.get(f"/rooms/{room['id']}/members"), 404, "room_not_found")


async def test_private_room_404_is_the_same_as_unknown_room(alice: Account, bob: Account) -> None:
    room = await alice.create_room("secret", "private")
    hidden = assert_problem(await bob.get(f"/rooms/{room['id']}"), 404, "room_not_found")
    unknown = assert_problem(await bob.get("/rooms/r_doesnotexist"), 404, "room_not_found")
    assert set(hidden) == set(unknown)
    assert hidden["title"] == unknown["title"]
    assert hidden["detail"].replace(room["id"], "ID") == unknown["detail"].replace(
        "r_doesnotexist", "ID"
    )


async def test_my_rooms_lists_only_rooms_i_am_in(alice: Account, bob: Account) -> None:
    mine = await alice.create_room("mine")
    secret = await alice.create_room("secret", "private")
    bobs = await bob.create_room("bobs")
    assert sorted(await room_ids(alice)) == sorted(["general", mine["id"], secret["id"]])
    assert await room_ids(alice, "mine") == await room_ids(alice)
    assert sorted(await room_ids(bob)) == sorted(["general", bobs["id"]])


async def test_public_scope_lists_joinable_rooms_only(alice: Account, bob: Account) -> None:
    open_room = await alice.create_room("open")
    await alice.create_room("secret", "private")
    await ok(await alice.post("/dms", {"username": "bob"}), 201)
    bobs = await bob.create_room("bobs")
    r = await ok(await bob.get("/rooms", params={"scope": "public"}), 200)
    listed = r.json()["rooms"]
    assert [room["id"] for room in listed] == [open_room["id"]]
    assert set(listed[0]) == ROOM_FIELDS  # bob is not a member
    # Once joined, it is no longer offered; bob's own room and the lobby never were.
    await ok(await bob.post(f"/rooms/{open_room['id']}/join"))
    assert await room_ids(bob, "public") == []
    assert bobs["id"] in await room_ids(alice, "public")


async def test_unknown_scope_is_422(alice: Account) -> None:
    assert_invalid_field(await alice.get("/rooms", params={"scope": "all"}), "scope")


# -- update -----------------------------------------------------------------------------------


async def test_owner_renames_and_retopics_room(alice: Account, bob: Account) -> None:
    room = await alice.create_room("old", topic="old topic")
    r = await alice.patch(f"/rooms/{room['id']}", {"name": "new", "topic": "new topic"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "new"
    assert r.json()["topic"] == "new topic"
    assert r.json()["my_role"] == "owner"
    seen = (await bob.get(f"/rooms/{room['id']}")).json()
    assert (seen["name"], seen["topic"]) == ("new", "new topic")


async def test_patch_changes_only_the_fields_sent(alice: Account) -> None:
    room = await alice.create_room("name", topic="topic")
    r = await ok(await alice.patch(f"/rooms/{room['id']}", {"topic": ""}), 200)
    assert (r.json()["name"], r.json()["topic"]) == ("name", "")
    r = await ok(await alice.patch(f"/rooms/{room['id']}", {"name": "renamed"}), 200)
    assert (r.json()["name"], r.json()["topic"]) == ("renamed", "")


async def test_admin_can_update_room(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r")
    await ok(await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"}), 201)
    r = await bob.patch(f"/rooms/{room['id']}", {"topic": "by admin"})
    assert r.status_code == 200, r.text
    assert r.json()["topic"] == "by admin"


async def test_member_cannot_update_room(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r")
    await ok(await bob.post(f"/rooms/{room['id']}/join"))
    assert_problem(await bob.patch(f"/rooms/{room['id']}", {"name": "mine"}), 403, "not_allowed")
    assert (await alice.get(f"/rooms/{room['id']}")).json()["name"] == "r"


async def test_non_member_cannot_update_public_room(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r")
    assert_problem(await bob.patch(f"/rooms/{room['id']}", {"name": "x"}), 403, "not_a_member")


async def test_non_member_updating_private_room_gets_404(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r", "private")
    assert_problem(await bob.patch(f"/rooms/{room['id']}", {"name": "x"}), 404, "room_not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": ""}, "name"), ({"name": "n" * 81}, "name"), ({"topic": "t" * 251}, "topic")],
)
async def test_update_over_limits_is_422(alice: Account, body: dict[str, Any], field: str) -> None:
    room = await alice.create_room("keep", topic="keep")
    assert_invalid_field(await alice.patch(f"/rooms/{room['id']}", body), field)
    after = (await alice.get(f"/rooms/{room['id']}")).json()
    assert (after["name"], after["topic"]) == ("keep", "keep")


async def test_update_rejects_unknown_fields(alice: Account) -> None:
    room = await alice.create_room("r")
    assert_invalid_field(
        await alice.patch(f"/rooms/{room['id']}", {"visibility": "x"}), "visibility"
    )


# -- join and leave ---------------------------------------------------------------------------


async def test_join_public_room_is_idempotent(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r")
    for _ in range(2):
        r = await bob.post(f"/rooms/{room['id']}/join")
        assert r.status_code == 204
        assert r.content == b""
    seen = (await bob.get(f"/rooms/{room['id']}")).json()
    assert seen["my_role"] == "member"
    assert seen["member_count"] == 2
    assert room["id"] in await room_ids(bob)


async def test_owner_joining_again_keeps_ownership(alice: Account) -> None:
    room = await alice.create_room("r")
    await ok(await alice.post(f"/rooms/{room['id']}/join"))
    assert (await alice.get(f"/rooms/{room['id']}")).json()["my_role"] == "owner"


async def test_join_private_room_is_404_for_non_member(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r", "private")
    assert_problem(await bob.post(f"/rooms/{room['id']}/join"), 404, "room_not_found")
    assert (await alice.get(f"/rooms/{room['id']}")).json()["member_count"] == 1


async def test_join_unknown_room_is_404(alice: Account) -> None:
    assert_problem(await alice.post("/rooms/r_nope/join"), 404, "room_not_found")


async def test_leave_is_idempotent_and_removes_the_room_from_mine(
    alice: Account, bob: Account
) -> None:
    room = await alice.create_room("r")
    await ok(await bob.post(f"/rooms/{room['id']}/join"))
    for _ in range(2):
        assert (await bob.post(f"/rooms/{room['id']}/leave")).status_code == 204
    assert room["id"] not in await room_ids(bob)
    assert set((await bob.get(f"/rooms/{room['id']}")).json()) == ROOM_FIELDS
    assert (await alice.get(f"/rooms/{room['id']}")).json()["member_count"] == 1


async def test_after_leaving_a_private_room_it_is_404(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r", "private")
    await ok(await alice.put(f"/rooms/{room['id']}/members/bob"), 201)
    await ok(await bob.post(f"/rooms/{room['id']}/leave"))
    assert_problem(await bob.get(f"/rooms/{room['id']}"), 404, "room_not_found")
    assert_problem(await bob.post(f"/rooms/{room['id']}/join"), 404, "room_not_found")


async def test_lobby_can_be_left_and_rejoined(alice: Account) -> None:
    await ok(await alice.post("/rooms/general/leave"))
    assert "general" not in await room_ids(alice)
    assert "general" in await room_ids(alice, "public")
    await ok(await alice.post("/rooms/general/join"))
    assert "general" in await room_ids(alice)


# -- members ----------------------------------------------------------------------------------


async def test_members_list_has_user_role_and_joined_at(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r")
    await ok(await bob.post(f"/rooms/{room['id']}/join"))
    r = await ok(await bob.get(f"/rooms/{room['id']}/members"), 200)
    members = r.json()["members"]
    assert {m["user"]["username"]: m["role"] for m in members} == {
        "alice": "owner",
        "bob": "member",
    }
    for m in members:
        assert set(m) == {"user", "role", "joined_at", "muted"}
        assert set(m["user"]) == USER_FIELDS
        assert m["muted"] is False
        assert RFC3339_MS_UTC.fullmatch(m["joined_at"])


async def test_public_room_members_are_visible_to_non_members(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r")
    assert await roles(bob, room["id"]) == {"alice": "owner"}


async def test_owner_adds_member_then_changes_role(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r", "private")
    r = await alice.put(f"/rooms/{room['id']}/members/bob")
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "member"
    assert r.json()["user"]["username"] == "bob"
    assert RFC3339_MS_UTC.fullmatch(r.json()["joined_at"])
    assert (await bob.get(f"/rooms/{room['id']}")).json()["my_role"] == "member"
    r = await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin"
    r = await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "member"})
    assert r.status_code == 200, r.text
    assert await roles(alice, room["id"]) == {"alice": "owner", "bob": "member"}


async def test_owner_can_add_someone_directly_as_admin(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r")
    r = await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"})
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "admin"


async def test_putting_an_existing_member_without_role_keeps_the_role(
    alice: Account, bob: Account
) -> None:
    room = await alice.create_room("r")
    await ok(await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"}), 201)
    r = await alice.put(f"/rooms/{room['id']}/members/bob")
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin"


async def test_admin_adds_a_member(alice: Account, bob: Account, carol: Account) -> None:
    room = await alice.create_room("r", "private")
    await ok(await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"}), 201)
    r = await bob.put(f"/rooms/{room['id']}/members/carol")
    assert r.status_code == 201, r.text
    assert (await carol.get(f"/rooms/{room['id']}")).json()["my_role"] == "member"


async def test_member_cannot_add_members(alice: Account, bob: Account, carol: Account) -> None:
    room = await alice.create_room("r")
    await ok(await bob.post(f"/rooms/{room['id']}/join"))
    assert_problem(await bob.put(f"/rooms/{room['id']}/members/carol"), 403, "not_allowed")
    assert "carol" not in await roles(alice, room["id"])


async def test_admin_cannot_grant_admin(alice: Account, bob: Account, carol: Account) -> None:
    room = await alice.create_room("r")
    await ok(await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"}), 201)
    await ok(await carol.post(f"/rooms/{room['id']}/join"))
    r = await bob.put(f"/rooms/{room['id']}/members/carol", {"role": "admin"})
    assert_problem(r, 403, "not_allowed")
    assert (await roles(alice, room["id"]))["carol"] == "member"


async def test_admin_cannot_add_a_new_admin(alice: Account, bob: Account, carol: Account) -> None:
    room = await alice.create_room("r")
    await ok(await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"}), 201)
    r = await bob.put(f"/rooms/{room['id']}/members/carol", {"role": "admin"})
    assert_problem(r, 403, "not_allowed")
    assert "carol" not in await roles(alice, room["id"])


async def test_admin_cannot_remove_admin_role(
    client: httpx.AsyncClient, alice: Account, bob: Account, carol: Account
) -> None:
    room = await alice.create_room("r")
    for name in ("bob", "carol"):
        await ok(await alice.put(f"/rooms/{room['id']}/members/{name}", {"role": "admin"}), 201)
    r = await bob.put(f"/rooms/{room['id']}/members/carol", {"role": "member"})
    assert_problem(r, 403, "not_allowed")
    r = await bob.put(f"/rooms/{room['id']}/members/bob", {"role": "member"})
    assert_problem(r, 403, "not_allowed")
    assert await roles(alice, room["id"]) == {"alice": "owner", "bob": "admin", "carol": "admin"}


@pytest.mark.parametrize("role", ["member", "admin"])
async def test_owner_role_cannot_be_changed(alice: Account, bob: Account, role: str) -> None:
    room = await alice.create_room("r")
    await ok(await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"}), 201)
    assert_problem(
        await alice.put(f"/rooms/{room['id']}/members/alice", {"role": role}), 403, "not_allowed"
    )
    assert_problem(
        await bob.put(f"/rooms/{room['id']}/members/alice", {"role": role}), 403, "not_allowed"
    )
    assert (await roles(alice, room["id"]))["alice"] == "owner"


async def test_put_unknown_user_is_404(alice: Account) -> None:
    room = await alice.create_room("r")
    assert_problem(await alice.put(f"/rooms/{room['id']}/members/nobody"), 404, "user_not_found")


@pytest.mark.parametrize("role", ["owner", "superuser", "", 1])
async def test_put_member_with_invalid_role_is_422(alice: Account, bob: Account, role: Any) -> None:
    room = await alice.create_room("r")
    assert_invalid_field(
        await alice.put(f"/rooms/{room['id']}/members/bob", {"role": role}), "role"
    )
    assert "bob" not in await roles(alice, room["id"])


async def test_remove_unknown_user_is_404(alice: Account) -> None:
    room = await alice.create_room("r")
    assert_problem(await alice.delete(f"/rooms/{room['id']}/members/nobody"), 404, "user_not_found")


async def test_member_can_remove_themselves(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r")
    await ok(await bob.post(f"/rooms/{room['id']}/join"))
    await ok(await bob.delete(f"/rooms/{room['id']}/members/bob"))
    assert "bob" not in await roles(alice, room["id"])


async def test_owner_removes_admin_and_member(alice: Account, bob: Account, carol: Account) -> None:
    room = await alice.create_room("r", "private")
    await ok(await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"}), 201)
    await ok(await alice.put(f"/rooms/{room['id']}/members/carol"), 201)
    await ok(await alice.delete(f"/rooms/{room['id']}/members/bob"))
    await ok(await alice.delete(f"/rooms/{room['id']}/members/carol"))
    assert await roles(alice, room["id"]) == {"alice": "owner"}
    assert_problem(await bob.get(f"/rooms/{room['id']}"), 404, "room_not_found")


async def test_admin_removes_member(alice: Account, bob: Account, carol: Account) -> None:
    room = await alice.create_room("r")
    await ok(await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"}), 201)
    await ok(await carol.post(f"/rooms/{room['id']}/join"))
    await ok(await bob.delete(f"/rooms/{room['id']}/members/carol"))
    assert "carol" not in await roles(alice, room["id"])


async def test_admin_cannot_remove_admin_or_owner(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await alice.create_room("r")
    for name in ("bob", "carol"):
        await ok(await alice.put(f"/rooms/{room['id']}/members/{name}", {"role": "admin"}), 201)
    assert_problem(await bob.delete(f"/rooms/{room['id']}/members/carol"), 403, "not_allowed")
    assert_problem(await bob.delete(f"/rooms/{room['id']}/members/alice"), 403, "not_allowed")
    assert await roles(alice, room["id"]) == {"alice": "owner", "bob": "admin", "carol": "admin"}


async def test_member_cannot_remove_another_member(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await alice.create_room("r")
    await join_in_order(room["id"], bob, carol)
    assert_problem(await bob.delete(f"/rooms/{room['id']}/members/carol"), 403, "not_allowed")
    assert_problem(await bob.delete(f"/rooms/{room['id']}/members/alice"), 403, "not_allowed")
    assert set(await roles(alice, room["id"])) == {"alice", "bob", "carol"}


# -- ownership handover -----------------------------------------------------------------------


async def test_leaving_owner_hands_room_to_senior_admin(
    alice: Account, bob: Account, carol: Account, dave: Account
) -> None:
    room = await alice.create_room("r")
    # carol and dave are more senior members, but bob and then dave are made admins.
    await join_in_order(room["id"], carol, dave, bob)
    await ok(await alice.put(f"/rooms/{room['id']}/members/bob", {"role": "admin"}), 200)
    await ok(await alice.put(f"/rooms/{room['id']}/members/dave", {"role": "admin"}), 200)
    await ok(await alice.post(f"/rooms/{room['id']}/leave"))
    # dave joined before bob, so dave is the senior admin.
    assert await roles(carol, room["id"]) == {"dave": "owner", "bob": "admin", "carol": "member"}
    assert (await dave.get(f"/rooms/{room['id']}")).json()["my_role"] == "owner"


async def test_leaving_owner_without_admins_hands_room_to_senior_member(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await alice.create_room("r")
    await join_in_order(room["id"], carol, bob)
    await ok(await alice.post(f"/rooms/{room['id']}/leave"))
    assert await roles(bob, room["id"]) == {"carol": "owner", "bob": "member"}


async def test_owner_removing_themselves_also_hands_over(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await alice.create_room("r", "private")
    await ok(await alice.put(f"/rooms/{room['id']}/members/bob"), 201)
    await anyio.sleep(0.003)
    await ok(await alice.put(f"/rooms/{room['id']}/members/carol", {"role": "admin"}), 201)
    await ok(await alice.delete(f"/rooms/{room['id']}/members/alice"))
    assert await roles(bob, room["id"]) == {"carol": "owner", "bob": "member"}
    assert_problem(await alice.get(f"/rooms/{room['id']}"), 404, "room_not_found")


async def test_new_owner_can_manage_the_room(alice: Account, bob: Account, carol: Account) -> None:
    room = await alice.create_room("r")
    await join_in_order(room["id"], bob, carol)
    await ok(await alice.post(f"/rooms/{room['id']}/leave"))
    r = await bob.put(f"/rooms/{room['id']}/members/carol", {"role": "admin"})
    assert r.status_code == 200, r.text
    assert (await bob.patch(f"/rooms/{room['id']}", {"name": "bob's"})).status_code == 200


async def test_there_is_exactly_one_owner_after_handover(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await alice.create_room("r")
    await join_in_order(room["id"], bob, carol)
    await ok(await alice.post(f"/rooms/{room['id']}/leave"))
    await ok(await bob.post(f"/rooms/{room['id']}/leave"))
    assert await roles(carol, room["id"]) == {"carol": "owner"}


# -- direct messages --------------------------------------------------------------------------


async def test_dm_is_created_once_and_reused_from_both_sides(alice: Account, bob: Account) -> None:
    first = await alice.post("/dms", {"username": "bob"})
    assert first.status_code == 201, first.text
    dm = first.json()
    assert dm["kind"] == "dm"
    assert dm["visibility"] == "private"
    assert dm["member_count"] == 2
    assert dm["my_role"] == "member"
    again = await alice.post("/dms", {"username": "bob"})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == dm["id"]
    from_bob = await bob.post("/dms", {"username": "alice"})
    assert from_bob.status_code == 200, from_bob.text
    assert from_bob.json()["id"] == dm["id"]
    assert dm["id"] in await room_ids(alice)
    assert dm["id"] in await room_ids(bob)


async def test_dm_username_ignores_case(alice: Account, bob: Account) -> None:
    dm = (await alice.post("/dms", {"username": "bob"})).json()
    r = await alice.post("/dms", {"username": "BOB"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == dm["id"]


async def test_dm_members_are_the_two_users(alice: Account, bob: Account) -> None:
    dm = (await alice.post("/dms", {"username": "bob"})).json()
    assert set(await roles(bob, dm["id"])) == {"alice", "bob"}


async def test_dm_is_invisible_to_a_third_user(
    alice: Account, bob: Account, carol: Account
) -> None:
    dm = (await alice.post("/dms", {"username": "bob"})).json()
    assert_problem(await carol.get(f"/rooms/{dm['id']}"), 404, "room_not_found")
    assert_problem(await carol.post(f"/rooms/{dm['id']}/join"), 404, "room_not_found")
    assert_problem(await carol.put(f"/rooms/{dm['id']}/members/carol"), 404, "room_not_found")
    assert dm["id"] not in await room_ids(carol, "public")
    assert dm["id"] not in await room_ids(alice, "public")


async def test_dm_member_cannot_add_anyone(alice: Account, bob: Account, carol: Account) -> None:
    dm = (await alice.post("/dms", {"username": "bob"})).json()
    r = await alice.put(f"/rooms/{dm['id']}/members/carol")
    assert_problem(r, 403, "dm_membership_fixed")
    assert set(await roles(alice, dm["id"])) == {"alice", "bob"}


async def test_dm_member_cannot_change_a_role(alice: Account, bob: Account) -> None:
    dm = (await alice.post("/dms", {"username": "bob"})).json()
    r = await alice.put(f"/rooms/{dm['id']}/members/bob", {"role": "admin"})
    assert_problem(r, 403, "dm_membership_fixed")


async def test_dm_cannot_be_left(alice: Account, bob: Account) -> None:
    dm = (await alice.post("/dms", {"username": "bob"})).json()
    assert_problem(await alice.post(f"/rooms/{dm['id']}/leave"), 403, "dm_membership_fixed")
    assert_problem(
        await alice.delete(f"/rooms/{dm['id']}/members/alice"), 403, "dm_membership_fixed"
    )
    assert_problem(await alice.delete(f"/rooms/{dm['id']}/members/bob"), 403, "dm_membership_fixed")
    assert (await alice.get(f"/rooms/{dm['id']}")).json()["member_count"] == 2


async def test_dm_with_yourself_is_422(alice: Account) -> None:
    assert_problem(await alice.post("/dms", {"username": "alice"}), 422, "dm_with_self")
    assert_problem(await alice.post("/dms", {"username": "ALICE"}), 422, "dm_with_self")


async def test_dm_with_unknown_user_is_404(alice: Account) -> None:
    assert_problem(await alice.post("/dms", {"username": "nobody"}), 404, "user_not_found")


async def test_dm_without_username_is_422(alice: Account) -> None:
    assert_invalid_field(await alice.post("/dms", {}), "username")


async def test_dms_between_different_pairs_are_different_rooms(
    alice: Account, bob: Account, carol: Account
) -> None:
    ab = (await alice.post("/dms", {"username": "bob"})).json()
    ac = (await alice.post("/dms", {"username": "carol"})).json()
    bc = (await bob.post("/dms", {"username": "carol"})).json()
    assert len({ab["id"], ac["id"], bc["id"]}) == 3
    assert ab["id"] not in await room_ids(carol)


# -- read state -------------------------------------------------------------------------------


async def test_member_marks_room_read(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r")
    await ok(await bob.post(f"/rooms/{room['id']}/join"))
    await alice.send(room["id"], "one")
    await alice.send(room["id"], "two")
    assert (await bob.get(f"/rooms/{room['id']}")).json()["unread_count"] == 2
    await ok(await bob.put(f"/rooms/{room['id']}/read", {"seq": 2}))
    seen = (await bob.get(f"/rooms/{room['id']}")).json()
    assert (seen["last_read_seq"], seen["unread_count"]) == (2, 0)


async def test_non_member_cannot_mark_public_room_read(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r")
    assert_problem(await bob.put(f"/rooms/{room['id']}/read", {"seq": 0}), 403, "not_a_member")


async def test_non_member_marking_private_room_read_gets_404(alice: Account, bob: Account) -> None:
    room = await alice.create_room("r", "private")
    assert_problem(await bob.put(f"/rooms/{room['id']}/read", {"seq": 0}), 404, "room_not_found")


@pytest.mark.parametrize("body", [{"seq": -1}, {"seq": "1"}, {}])
async def test_invalid_read_marker_is_422(alice: Account, body: dict[str, Any]) -> None:
    room = await alice.create_room("r")
    assert_invalid_field(await alice.put(f"/rooms/{room['id']}/read", body), "seq")


async def test_many_accounts_share_the_lobby(client: httpx.AsyncClient) -> None:
    accounts = [await sign_up(client, f"user{i}") for i in range(3)]
    lobby = (await accounts[0].get("/rooms/general")).json()
    assert lobby["member_count"] == 3
    assert lobby["visibility"] == "public"
