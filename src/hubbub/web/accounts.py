"""Accounts, sessions and user lookup: /api/v1/accounts, /sessions, /me, /users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from hubbub import wire
from hubbub.services.accounts import SEARCH_LIMIT_MAX
from hubbub.web.auth import CurrentSession, Me, OptionalSession
from hubbub.web.community_schemas import (
    AccountDeletion,
    MeOut,
    MePatch,
    PasswordChange,
    ResetIn,
    SessionsOut,
)
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import PROBLEMS, AccountIn, SessionIn, SessionOut, UserOut, UsersOut

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def client_address(request: Request) -> str:
    """The client's address (uvicorn takes it from X-Forwarded-For behind a trusted proxy)."""
    return request.client.host if request.client else "unknown"


@router.post(
    "/accounts",
    status_code=201,
    response_model=SessionOut,
    responses=PROBLEMS(400, 403, 409, 413, 415, 422, 429),
)
async def create_account(body: AccountIn, svc: Svc, request: Request) -> Response:
    """Sign up. The new account is a member of the lobby room `general`; the first account of a
    server is its admin. The password may not be only spaces, the username, or one of the
    30,000 most common passwords (`weak_password`). Depending on HUBBUB_REGISTRATION: 403
    `invite_required` / `invite_invalid` (invites only) or `registration_closed`."""
    session = await svc.accounts.register(
        body.username,
        body.password,
        body.display_name,
        client_address(request),
        user_agent=request.headers.get("user-agent"),
        invite_code=body.invite_code,
    )
    return json_response({"user": wire.user(session.user), "token": session.token}, 201)


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionOut,
    responses=PROBLEMS(400, 401, 403, 413, 415, 422, 429, 503),
)
async def create_session(
    body: SessionIn, svc: Svc, request: Request, known: OptionalSession
) -> Response:
    """Sign in. Unknown user and wrong password get the same 401 `invalid_credentials`.

    Failed attempts are limited per client address and per account (then 429 for that
    account). Sending the `Authorization: Bearer` token of a session of the same account that
    is still signed in skips the account's lock-out: a guesser cannot lock its owner out.
    """
    session = await svc.sessions.sign_in(
        body.username,
        body.password,
        client_address(request),
        user_agent=request.headers.get("user-agent"),
        known=known,
    )
    return json_response({"user": wire.user(session.user), "token": session.token}, 201)


@router.delete("/sessions/current", status_code=204, responses=PROBLEMS(401))
async def delete_session(session: CurrentSession, svc: Svc) -> Response:
    """Sign out: this token stops working, and the streams opened with it close, at once."""
    await svc.sessions.sign_out(session)
    return no_content()


@router.get("/me", response_model=MeOut, responses=PROBLEMS(401))
async def get_me(me: Me, svc: Svc) -> Response:
    """You, with your email address (nobody else sees it)."""
    return json_response(wire.me(me, await svc.email.get_address(me)))


@router.get("/users", response_model=UsersOut, responses=PROBLEMS(401, 422))
async def list_users(
    me: Me,
    svc: Svc,
    prefix: Annotated[str, Query(max_length=32)] = "",
    limit: Annotated[int, Query(ge=1, le=SEARCH_LIMIT_MAX)] = 20,
) -> Response:
    """Users whose username starts with `prefix` (ignoring case), sorted by username."""
    users = await svc.accounts.search(prefix, limit)
    return json_response({"users": [wire.user(u) for u in users]})


@router.get("/users/{username}", response_model=UserOut, responses=PROBLEMS(401, 404))
async def get_user(username: str, me: Me, svc: Svc) -> Response:
    return json_response(wire.user(await svc.accounts.get_user(username)))


@router.patch(
    "/me", response_model=MeOut, responses=PROBLEMS(400, 401, 409, 413, 415, 422, 429, 503)
)
async def update_me(body: MePatch, me: Me, svc: Svc) -> Response:
    """Change your display name (1-64, visible characters, no bidi controls; everyone
    connected hears of it: `user.updated`) and/or your email address. A new address is
    stored unconfirmed and a link that confirms it is mailed to it (24 h, once); nothing
    else is mailed before it is confirmed. `null` removes it. 409 `email_disabled` when the
    server sends no mail; 503 `mail_unavailable` when its relay refused the mail (the
    address stays, unconfirmed: send it again)."""
    user = me
    if "email" in body.model_fields_set:
        svc.email.check_address(body.email)  # refused before anything changes
    if body.display_name is not None:
        user = await svc.accounts.update_profile(me, body.display_name)
    if "email" in body.model_fields_set:
        address = await svc.email.set_address(user, body.email)
    else:
        address = await svc.email.get_address(user)
    return json_response(wire.me(user, address))


@router.put(
    "/me/password",
    status_code=204,
    responses=PROBLEMS(400, 401, 403, 413, 415, 422, 429),
)
async def change_password(
    body: PasswordChange, session: CurrentSession, svc: Svc, request: Request
) -> Response:
    """Change your password, giving the current one (403 `wrong_password`, limited like
    sign-ins). Every *other* session of yours ends at once (their streams close); this one
    stays."""
    await svc.sessions.change_password(
        session, body.current_password, body.new_password, client_address(request)
    )
    return no_content()


@router.delete("/me", status_code=204, responses=PROBLEMS(400, 401, 403, 409, 413, 415, 422, 429))
async def delete_my_account(
    body: AccountDeletion, session: CurrentSession, svc: Svc, request: Request
) -> Response:
    """Delete your account, giving its password (403 `wrong_password`, limited like
    sign-ins). At once: every session ends (streams close), your display name, password and
    rooms go (DMs stay, with "Deleted user"), and your username stays reserved. Your messages
    stay, attributed to "Deleted user", or with `erase_messages` are erased as deletes are.
    409 `last_admin` if you are the server's last active admin."""
    await svc.erasure.delete_me(
        session, body.password, body.erase_messages, client_address(request)
    )
    return no_content()


@router.get("/me/sessions", response_model=SessionsOut, responses=PROBLEMS(401))
async def list_my_sessions(session: CurrentSession, svc: Svc) -> Response:
    """Your signed-in sessions, most recently used first (`last_used_at` is noted at most
    once a minute). Sessions unused for HUBBUB_SESSION_IDLE_DAYS (30) expire."""
    sessions = await svc.sessions.list_sessions(session)
    return json_response({"sessions": [wire.session_info(s) for s in sessions]})


@router.delete("/me/sessions/{session_id}", status_code=204, responses=PROBLEMS(401, 404))
async def revoke_my_session(session_id: str, session: CurrentSession, svc: Svc) -> Response:
    """End one of your sessions: its token stops working and its streams close, at once."""
    await svc.sessions.revoke(session, session_id)
    return no_content()


@router.delete("/me/sessions", status_code=204, responses=PROBLEMS(401))
async def revoke_my_other_sessions(session: CurrentSession, svc: Svc) -> Response:
    """End every session of yours but this one."""
    await svc.sessions.revoke_others(session)
    return no_content()


@router.post(
    "/password-resets/{code}",
    status_code=204,
    responses=PROBLEMS(400, 410, 413, 415, 422, 429),
)
async def use_password_reset(
    code: Annotated[str, Path(max_length=128)], body: ResetIn, svc: Svc, request: Request
) -> Response:
    """Set a new password with a one-time link from a server admin (24 h). Every session of
    the account ends. A used or expired link: 410 `reset_expired`."""
    await svc.accounts.reset_password(code, body.new_password, client_address(request))
    return no_content()
