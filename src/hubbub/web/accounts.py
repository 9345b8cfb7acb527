"""Accounts, sessions and user lookup: /api/v1/accounts, /sessions, /me, /users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hubbub import wire
from hubbub.services.accounts import SEARCH_LIMIT_MAX
from hubbub.web.auth import CurrentSession, Me, OptionalSession
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
    responses=PROBLEMS(400, 409, 413, 415, 422, 429),
)
async def create_account(body: AccountIn, svc: Svc, request: Request) -> Response:
    """Sign up. The new account is a member of the lobby room `general`. The password may not
    be only spaces, the username, or one of the 30,000 most common passwords
    (`weak_password`)."""
    session = await svc.accounts.register(
        body.username,
        body.password,
        body.display_name,
        client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    return json_response({"user": wire.user(session.user), "token": session.token}, 201)


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionOut,
    responses=PROBLEMS(400, 401, 413, 415, 422, 429, 503),
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


@router.get("/me", response_model=UserOut, responses=PROBLEMS(401))
async def get_me(me: Me) -> Response:
    return json_response(wire.user(me))


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
