"""Bearer-token authentication for /api/v1: one parser of the Authorization header for every
route and transport."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hubbub.errors import Unauthenticated
from hubbub.models import User
from hubbub.services.sessions import Session
from hubbub.web.deps import Svc

__all__ = [
    "CurrentSession",
    "Me",
    "OptionalSession",
    "bearer",
    "bearer_token",
    "current_session",
    "current_user",
]

bearer = HTTPBearer(
    auto_error=False, description="The token from POST /api/v1/accounts or POST /api/v1/sessions"
)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value; None for any other."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def current_session(
    svc: Svc,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Session:
    """The session of the request's token; 401 (with WWW-Authenticate: Bearer) without one."""
    token = credentials.credentials if credentials is not None else None
    return await svc.sessions.authenticate(token)


async def optional_session(
    svc: Svc,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Session | None:
    """The request's session if it sends a valid token; None otherwise (no 401)."""
    if credentials is None:
        return None
    try:
        return await svc.sessions.authenticate(credentials.credentials)
    except Unauthenticated:
        return None


async def current_user(session: Annotated[Session, Depends(current_session)]) -> User:
    return session.user


CurrentSession = Annotated[Session, Depends(current_session)]
OptionalSession = Annotated[Session | None, Depends(optional_session)]
Me = Annotated[User, Depends(current_user)]
