"""The classic chat-server exercise API, at the server root, exactly as its text specifies.

Handlers parse JSON themselves (orjson) rather than through a pydantic body model: this is the
hot path of the exercise, and the shapes are tiny. The OpenAPI document still describes them.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from hubbub.errors import Invalid
from hubbub.services.classic import LIMIT_DEFAULT, LIMIT_MAX
from hubbub.web.bodies import BadBody, read_json
from hubbub.web.deps import Svc
from hubbub.web.problems import error_response, http_error

__all__ = ["router"]

router = APIRouter(tags=["classic"])

OK = orjson.dumps({"ok": True})


class ClassicError(BaseModel):
    ok: bool = False
    error: str
    code: str


class ClassicPost(BaseModel):
    user: str
    text: str


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
async def list_messages(svc: Svc, request: Request) -> Response:
    """List the `limit` (default 100, at most 1000) most recent messages, sorted by timestamp."""
    raw = request.query_params.get("limit")
    limit = LIMIT_DEFAULT
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) <= LIMIT_MAX:
            return error_response(
                "/messages",
                422,
                "invalid",
                "Invalid input",
                f"limit must be an integer from 1 to {LIMIT_MAX}",
            )
        limit = int(raw)
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
            "content": {"application/json": {"schema": ClassicPost.model_json_schema()}},
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
