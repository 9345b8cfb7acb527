"""Avatars: PUT/DELETE /api/v1/me/avatar, PUT/DELETE /api/v1/rooms/{id}/avatar, and the
pictures themselves at /api/v1/avatars/{key} (anyone with the link: the key is random)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from hubbub import wire
from hubbub.web.auth import Me
from hubbub.web.deps import Svc
from hubbub.web.files import DOWNLOAD_RESPONSES, UPLOAD_BODY, gone_away, serve
from hubbub.web.responses import json_response
from hubbub.web.schemas import PROBLEMS, RoomOut, UserOut
from hubbub.web.uploads import incoming

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["files"])

_IMAGE_BODY = {
    "requestBody": {
        **UPLOAD_BODY["requestBody"],
        "description": "A PNG, JPEG, GIF or WebP image, as the raw body or the `file` field of "
        "multipart/form-data; re-encoded as a 256 px square WebP (centre crop, no metadata).",
    }
}


@router.put(
    "/me/avatar",
    response_model=UserOut,
    responses=PROBLEMS(401, 413, 422, 429),
    openapi_extra=_IMAGE_BODY,
)
async def set_my_avatar(request: Request, me: Me, svc: Svc) -> Response:
    """Set your avatar (user.updated tells everyone)."""
    try:
        body = await incoming(request)
        user = await svc.files.set_avatar(me, body.chunks, body.declared_size)
    except ClientDisconnect:
        return gone_away(request)
    return json_response(wire.user(user))


@router.delete("/me/avatar", response_model=UserOut, responses=PROBLEMS(401))
async def delete_my_avatar(me: Me, svc: Svc) -> Response:
    """Remove your avatar (idempotent)."""
    return json_response(wire.user(await svc.files.clear_avatar(me)))


@router.put(
    "/rooms/{room_id}/avatar",
    response_model=RoomOut,
    responses=PROBLEMS(401, 403, 404, 413, 422, 429),
    openapi_extra=_IMAGE_BODY,
)
async def set_room_avatar(room_id: str, request: Request, me: Me, svc: Svc) -> Response:
    """Set a room's avatar: its owner or an admin; not a DM (room.updated)."""
    try:
        body = await incoming(request)
        room = await svc.files.set_room_avatar(me, room_id, body.chunks, body.declared_size)
    except ClientDisconnect:
        return gone_away(request)
    return json_response(wire.room(room))


@router.delete("/rooms/{room_id}/avatar", response_model=RoomOut, responses=PROBLEMS(401, 403, 404))
async def delete_room_avatar(room_id: str, me: Me, svc: Svc) -> Response:
    """Remove a room's avatar: its owner or an admin."""
    return json_response(wire.room(await svc.files.set_room_avatar(me, room_id, None)))


@router.get("/avatars/{key}", response_class=Response, responses=DOWNLOAD_RESPONSES)
async def get_avatar(key: str, request: Request, svc: Svc) -> Response:
    """An avatar (a WebP). The link is the permission: its key is random and unguessable, and
    a new picture gets a new key, so it may be cached for long."""
    download = await svc.files.open_avatar(key)
    return serve(request, download, svc, cache="public, max-age=31536000, immutable")
