"""Bearer-token authentication for /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hubbub.models import User
from hubbub.web.deps import Svc

__all__ = ["Me", "bearer_token", "current_user"]

_bearer = HTTPBearer(
    auto_error=False, description="The token from POST /api/v1/accounts or POST /api/v1/sessions"
)


def bearer_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None:
        return credentials.credentials
    return None


async def current_user(
    request: Request,
    svc: Svc,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The signed-in user; 401 (with WWW-Authenticate: Bearer) without a valid token."""
    token = bearer_token(request, credentials)
    user = await svc.accounts.authenticate(token)
    request.state.token = token
    return user


Me = Annotated[User, Depends(current_user)]
