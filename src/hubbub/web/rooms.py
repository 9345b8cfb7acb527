"""Rooms, membership, DMs and read state: /api/v1/rooms..., /api/v1/dms."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from hubbub import wire
from hubbub.services.rooms import KEEP, NAME_MAX, PUBLIC_PAGE, PUBLIC_PAGE_MAX
from hubbub.web.auth import Me
from hubbub.web.community_schemas import BanIn, BansOut
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import (
    PROBLEMS,
    DmIn,
    MemberIn,
    MemberOut,
    MembersOut,
    ReadIn,
    RoomIn,
    RoomOut,
    RoomPatch,
    RoomsOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["rooms"])


@router.post(
    "/rooms", status_code=201, response_model=RoomOut, responses=PROBLEMS(400, 401, 413, 415, 422)
)
async def create_room(body: RoomIn, me: Me, svc: Svc) -> Response:
    """Create a room; you are its owner."""
    room = await svc.rooms.create(me, body.name, body.topic, body.visibility)
    return json_response(wire.room(room), 201)


@router.get("/rooms", response_model=RoomsOut, responses=PROBLEMS(401, 422))
async def list_rooms(
    me: Me,
    svc: Svc,
    scope: Annotated[Literal["mine", "public"], Query()] = "mine",
    prefix: Annotated[
        str, Query(max_length=NAME_MAX, description="scope=public: names starting with this")
    ] = "",
    cursor: Annotated[
        str | None, Query(max_length=512, description="scope=public: `next_cursor` of a page")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=PUBLIC_PAGE_MAX, description="scope=public: page size")
    ] = PUBLIC_PAGE,
) -> Response:
    """`scope=mine` (default): the rooms and DMs you are in (all of them; `next_cursor` is
    null). `scope=public`: a page of the public rooms you can join, by name, optionally
    those whose name starts with `prefix` (ignoring case); follow `next_cursor` for more."""
    if scope == "public":
        rooms, next_cursor = await svc.rooms.list_public(me, prefix, cursor, limit)
    else:
        rooms, next_cursor = await svc.rooms.list_mine(me), None
    return json_response({"rooms": [wire.room(r) for r in rooms], "next_cursor": next_cursor})


@router.get("/rooms/{room_id}", response_model=RoomOut, responses=PROBLEMS(401, 404))
async def get_room(room_id: str, me: Me, svc: Svc) -> Response:
    return json_response(wire.room(await svc.rooms.get(me, room_id)))


@router.patch(
    "/rooms/{room_id}",
    response_model=RoomOut,
    responses=PROBLEMS(400, 401, 403, 404, 413, 415, 422),
)
async def update_room(room_id: str, body: RoomPatch, me: Me, svc: Svc) -> Response:
    """Change the name, topic, retention or who may pin: owner or admin."""
    retention = body.retention_days if "retention_days" in body.model_fields_set else KEEP
    room = await svc.rooms.update(
        me, room_id, body.name, body.topic, retention, members_can_pin=body.members_can_pin
    )
    return json_response(wire.room(room))


@router.post("/rooms/{room_id}/join", status_code=204, responses=PROBLEMS(401, 404))
async def join_room(room_id: str, me: Me, svc: Svc) -> Response:
    """Join a public room. Idempotent."""
    await svc.rooms.join(me, room_id)
    return no_content()


@router.post("/rooms/{room_id}/leave", status_code=204, responses=PROBLEMS(401, 403, 404))
async def leave_room(room_id: str, me: Me, svc: Svc) -> Response:
    """Leave a room. Idempotent. An owner who leaves hands the room to the senior admin or
    member."""
    await svc.rooms.leave(me, room_id)
    return no_content()


@router.get("/rooms/{room_id}/members", response_model=MembersOut, responses=PROBLEMS(401, 404))
async def list_members(room_id: str, me: Me, svc: Svc) -> Response:
    members = await svc.rooms.list_members(me, room_id)
    return json_response({"members": [wire.member(m) for m in members]})


@router.put(
    "/rooms/{room_id}/members/{username}",
    response_model=MemberOut,
    responses={
        201: {"model": MemberOut, "description": "Added"},
        **PROBLEMS(400, 401, 403, 404, 413, 415, 422),
    },
)
async def put_member(
    room_id: str, username: str, me: Me, svc: Svc, body: MemberIn | None = None
) -> Response:
    """Add a member (201) or change a member's role (200). Owner or admin; only the owner
    grants or removes admin."""
    member, added = await svc.rooms.put_member(
        me,
        room_id,
        username,
        body.role if body else None,
        body.muted if body else None,
    )
    return json_response(wire.member(member), 201 if added else 200)


@router.delete(
    "/rooms/{room_id}/members/{username}", status_code=204, responses=PROBLEMS(401, 403, 404)
)
async def remove_member(room_id: str, username: str, me: Me, svc: Svc) -> Response:
    """Remove a member: yourself, or (owner/admin) a member of lower role."""
    await svc.rooms.remove_member(me, room_id, username)
    return no_content()


@router.put(
    "/rooms/{room_id}/read", status_code=204, responses=PROBLEMS(400, 401, 403, 404, 413, 415, 422)
)
async def mark_read(room_id: str, body: ReadIn, me: Me, svc: Svc) -> Response:
    """Move your read marker forward to `seq` (never back)."""
    await svc.rooms.mark_read(me, room_id, body.seq)
    return no_content()


@router.post(
    "/dms",
    status_code=201,
    response_model=RoomOut,
    responses={
        200: {"model": RoomOut, "description": "The existing DM"},
        **PROBLEMS(400, 401, 404, 413, 415, 422),
    },
)
async def open_dm(body: DmIn, me: Me, svc: Svc) -> Response:
    """The direct-message room with `username`: 201 when created, 200 afterwards."""
    room, created = await svc.rooms.open_dm(me, body.username)
    return json_response(wire.room(room), 201 if created else 200)


@router.put(
    "/rooms/{room_id}/bans/{username}",
    status_code=204,
    responses=PROBLEMS(400, 401, 403, 404, 413, 415, 422),
)
async def ban_member(
    room_id: str, username: str, me: Me, svc: Svc, body: BanIn | None = None
) -> Response:
    """Ban someone from the room: they leave it at once (nothing more of it reaches them),
    can't join or be added again (403 `banned`), and a private room is hidden from them.
    Owner, admin, or a server admin in a public room; never someone of equal or higher role,
    never in a DM."""
    await svc.moderation.ban(me, room_id, username, (body.reason or "") if body else "")
    return no_content()


@router.delete(
    "/rooms/{room_id}/bans/{username}", status_code=204, responses=PROBLEMS(401, 403, 404)
)
async def unban_member(room_id: str, username: str, me: Me, svc: Svc) -> Response:
    """Lift a ban. Idempotent."""
    await svc.moderation.unban(me, room_id, username)
    return no_content()


@router.get("/rooms/{room_id}/bans", response_model=BansOut, responses=PROBLEMS(401, 403, 404))
async def list_bans(room_id: str, me: Me, svc: Svc) -> Response:
    """Who is banned, why, since when (for those who may ban)."""
    bans = await svc.moderation.list_bans(me, room_id)
    return json_response(
        {
            "bans": [
                {
                    "user": wire.user(b.user),
                    "reason": b.reason,
                    "banned_at": wire.rfc3339(b.created_at),
                }
                for b in bans
            ]
        }
    )
