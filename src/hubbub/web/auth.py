"""Bearer-token authentication for /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hubbub.models import User
from hubbub.web.deps import Svc

__all__ = ["Me", "bearer", "current_user"]

bearer = HTTPBearer(
    auto_error=False, description="The token from POST /api/v1/accounts or POST /api/v1/sessions"
)


async def current_user(
    request: Request,
    svc: Svc,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The signed-in user; 401 (with WWW-Authenticate: Bearer) without a valid token."""
    token = credentials.credentials if credentials is not None else None
    user = await svc.accounts.authenticate(token)
    request.state.token = token
    return user


Me = Annotated[User, Depends(current_user)]
