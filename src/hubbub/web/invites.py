"""Invites: /api/v1/invites (server admins; members too with HUBBUB_MEMBERS_CAN_INVITE)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import RedirectResponse, Response

from hubbub import wire
from hubbub.config import Settings
from hubbub.models import Invite
from hubbub.services.invites import INVITE_HOURS_DEFAULT, invite_url
from hubbub.web.auth import Me
from hubbub.web.community_schemas import InviteIn, InviteOut, InvitesOut
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import PROBLEMS

__all__ = ["links", "router"]

router = APIRouter(prefix="/api/v1", tags=["invites"])
links = APIRouter(include_in_schema=False)

Code = Annotated[str, Path(max_length=128)]


def _invite(settings: Settings, invite: Invite) -> dict[str, Any]:
    return {
        "code": invite.code,
        "url": invite_url(settings, invite.code),
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "expires_at": wire.rfc3339(invite.expires_at),
        "revoked": invite.revoked,
    }


@router.post(
    "/invites",
    status_code=201,
    response_model=InviteOut,
    responses=PROBLEMS(400, 401, 403, 413, 415, 422, 429),
)
async def create_invite(
    me: Me, svc: Svc, request: Request, body: InviteIn | None = None
) -> Response:
    """A link that lets `max_uses` people (1-1000, default 1) sign up within
    `expires_in_hours` (1-720, default 168)."""
    body = body or InviteIn()
    invite = await svc.invites.create(
        me,
        1 if body.max_uses is None else body.max_uses,
        INVITE_HOURS_DEFAULT if body.expires_in_hours is None else body.expires_in_hours,
    )
    return json_response(_invite(request.app.state.settings, invite), 201)


@router.get("/invites", response_model=InvitesOut, responses=PROBLEMS(401))
async def list_invites(me: Me, svc: Svc, request: Request) -> Response:
    """Your invites, newest first (a server admin sees everyone's)."""
    settings = request.app.state.settings
    invites = await svc.invites.list_invites(me)
    return json_response({"invites": [_invite(settings, i) for i in invites]})


@router.delete("/invites/{code}", status_code=204, responses=PROBLEMS(401, 404))
async def revoke_invite(code: Code, me: Me, svc: Svc) -> Response:
    """Stop an invite working (its maker, or a server admin)."""
    await svc.invites.revoke(me, code)
    return no_content()


@links.get("/invite/{code}")
async def open_invite(code: Code) -> RedirectResponse:
    """An invite link opens the web client's sign-up with the code filled in."""
    return RedirectResponse(f"/#/invite/{code}", status_code=302)


@links.get("/reset/{code}")
async def open_reset(code: Code) -> RedirectResponse:
    """A password-reset link opens the web client's "set a new password" screen."""
    return RedirectResponse(f"/#/reset/{code}", status_code=302)
