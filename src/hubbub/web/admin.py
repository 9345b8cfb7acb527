"""Server administration: /api/v1/admin/... (server admins only: 403 `not_allowed`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from hubbub import wire
from hubbub.services.admin import ADMIN_PAGE_MAX, ResetLink
from hubbub.services.audit import AUDIT_LIMIT_MAX
from hubbub.web.auth import Me
from hubbub.web.community_schemas import (
    AdminRoomsOut,
    AdminUserCreate,
    AdminUserCreatedOut,
    AdminUserOut,
    AdminUserPatch,
    AdminUsersOut,
    AuditOut,
    ResetLinkOut,
)
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import PROBLEMS

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

Username = Annotated[str, Path(max_length=32)]


def _reset(link: ResetLink) -> dict[str, str]:
    return {"code": link.code, "url": link.url, "expires_at": wire.rfc3339(link.expires_at)}


@router.get("/users", response_model=AdminUsersOut, responses=PROBLEMS(401, 403, 422))
async def admin_list_users(
    me: Me,
    svc: Svc,
    prefix: Annotated[str, Query(max_length=32)] = "",
    deactivated: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=ADMIN_PAGE_MAX)] = 50,
) -> Response:
    """Every account by username (deactivated ones too, marked), with `next_cursor`."""
    users, next_cursor = await svc.admin.list_users(me, prefix, deactivated, cursor, limit)
    return json_response({"users": [wire.admin_user(u) for u in users], "next_cursor": next_cursor})


@router.post(
    "/users",
    status_code=201,
    response_model=AdminUserCreatedOut,
    responses=PROBLEMS(400, 401, 403, 409, 413, 415, 422),
)
async def admin_create_user(body: AdminUserCreate, me: Me, svc: Svc) -> Response:
    """Make an account (whatever HUBBUB_REGISTRATION says) and the one-time link (24 h) that
    sets its password: send it to its owner."""
    user, link = await svc.admin.create_user(me, body.username, body.display_name)
    return json_response({"user": wire.admin_user(user), "reset": _reset(link)}, 201)


@router.patch(
    "/users/{username}",
    response_model=AdminUserOut,
    responses=PROBLEMS(400, 401, 403, 404, 409, 413, 415, 422),
)
async def admin_update_user(username: Username, body: AdminUserPatch, me: Me, svc: Svc) -> Response:
    """Promote or demote a server admin, deactivate or reactivate an account. Deactivating
    ends every session at once (their streams close) and sign-in answers 403
    `account_deactivated`; messages stay. The last active admin stays: 409 `last_admin`."""
    user = await svc.admin.update_user(me, username, admin=body.admin, deactivated=body.deactivated)
    return json_response(wire.admin_user(user))


@router.delete("/users/{username}", status_code=204, responses=PROBLEMS(401, 403, 404, 409, 422))
async def admin_delete_user(
    username: Username,
    me: Me,
    svc: Svc,
    erase_messages: Annotated[
        bool, Query(description="also erase every message the account wrote")
    ] = False,
) -> Response:
    """Delete an account, as `DELETE /api/v1/me` does: sessions end at once, personal data
    goes, the username stays reserved; messages stay as "Deleted user" unless
    `erase_messages`. 409 `last_admin` for the last active admin."""
    await svc.erasure.delete_user(me, username, erase_messages)
    return no_content()


@router.post(
    "/users/{username}/password-reset",
    status_code=201,
    response_model=ResetLinkOut,
    responses=PROBLEMS(401, 403, 404),
)
async def admin_password_reset(username: Username, me: Me, svc: Svc) -> Response:
    """A one-time link (24 h) that sets a new password: POST /api/v1/password-resets/{code}.
    Not for yourself (403 `own_password`): change your own with PUT /api/v1/me/password."""
    return json_response(_reset(await svc.admin.password_reset(me, username)), 201)


@router.get("/rooms", response_model=AdminRoomsOut, responses=PROBLEMS(401, 403, 422))
async def admin_list_rooms(
    me: Me,
    svc: Svc,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=ADMIN_PAGE_MAX)] = 50,
) -> Response:
    """Every room and DM, private ones included: metadata only, never messages."""
    rooms, next_cursor = await svc.admin.list_rooms(me, cursor, limit)
    return json_response({"rooms": [wire.room(r) for r in rooms], "next_cursor": next_cursor})


@router.get("/audit", response_model=AuditOut, responses=PROBLEMS(401, 403, 422))
async def admin_audit(
    me: Me,
    svc: Svc,
    before: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=AUDIT_LIMIT_MAX)] = 50,
) -> Response:
    """Admin and moderation actions, newest first: who, what, to whom, when, why."""
    entries, next_before = await svc.audit.entries(me, before, limit)
    return json_response(
        {
            "entries": [
                {
                    "id": e.id,
                    "at": wire.rfc3339(e.at),
                    "actor": e.actor,
                    "action": e.action,
                    "target": e.target,
                    "reason": e.reason,
                }
                for e in entries
            ],
            "next_before": next_before,
        }
    )
