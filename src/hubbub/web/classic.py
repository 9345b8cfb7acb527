"""The classic chat-server exercise API, at the server root, exactly as its text specifies.

Handlers parse JSON themselves (orjson) rather than through a pydantic body model: this is the
hot path of the exercise, and the shapes are tiny. The OpenAPI document still describes them.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from hubbub.errors import Invalid
from hubbub.services.classic import LIMIT_DEFAULT, LIMIT_MAX
from hubbub.services.fields import NOT_BLANK_PATTERN
from hubbub.web.bodies import BadBody, read_json
from hubbub.web.deps import Svc
from hubbub.web.problems import http_error

__all__ = ["router"]

router = APIRouter(tags=["classic"])

OK = orjson.dumps({"ok": True})


class ClassicError(BaseModel):
    ok: bool = False
    error: str
    code: str


class ClassicPost(BaseModel):
    """Lengths are configurable; web/openapi.py writes the configured maxima into the document."""

    user: str = Field(min_length=1, pattern=NOT_BLANK_PATTERN)
    text: str = Field(min_length=1)


class ClassicMessage(BaseModel):
    timestamp: float
    user: str
    text: str


class ClassicMessages(BaseModel):
    messages: list[ClassicMessage]


class ClassicUsers(BaseModel):
    users: list[str]


class ClassicOk(BaseModel):
    ok: bool


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ClassicError} for status in statuses}


@router.get(
    "/messages",
    response_model=ClassicMessages,
    responses=_errors(422),
    summary="The most recent messages, oldest first",
)
async def list_messages(
    svc: Svc,
    limit: Annotated[
        int, Query(ge=1, le=LIMIT_MAX, description="1-1000, default 100")
    ] = LIMIT_DEFAULT,
) -> Response:
    """List the `limit` (default 100, at most 1000) most recent messages, sorted by timestamp."""
    messages = await svc.classic.list_recent(limit)
    return _json(
        {
            "messages": [
                {"timestamp": m.created_at / 1000, "user": m.author.name, "text": m.text}
                for m in messages
            ]
        }
    )


@router.post(
    "/message",
    response_model=ClassicOk,
    responses=_errors(400, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ClassicPost"}}
            },
        }
    },
    summary="Post a message",
)
async def post_message(svc: Svc, request: Request) -> Response:
    """Post `{"user", "text"}`; the server records a unix timestamp when it commits the message."""
    try:
        body = await read_json(request)
    except BadBody as bad:
        return http_error("/message", bad.status, bad.detail)
    if not isinstance(body, dict):
        raise Invalid("The body must be a JSON object with 'user' and 'text'")
    await svc.classic.post(body.get("user"), body.get("text"))
    return Response(OK, media_type="application/json")


@router.get("/users", response_model=ClassicUsers, summary="Everyone who has posted")
async def list_users(svc: Svc) -> Response:
    """The set of users that have posted messages so far, in order of first post."""
    return _json({"users": await svc.classic.list_users()})
