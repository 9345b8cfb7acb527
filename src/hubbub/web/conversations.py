"""Threads, follows, the mentions inbox and pins."""

from __future__ import annotations

import base64
from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from hubbub import wire
from hubbub.errors import Invalid
from hubbub.models import Message
from hubbub.services.threads import LIST_MAX
from hubbub.web.auth import Me
from hubbub.web.deps import Links, Svc
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import PROBLEMS, MessageOut, ReadIn

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["conversations"])


class ThreadPageOut(BaseModel):
    root: MessageOut
    replies: list[MessageOut] = Field(description="in seq order")
    has_more: bool


class FollowedThreadOut(BaseModel):
    root: MessageOut
    unread_count: int = Field(description="live replies after your marker, not yours")
    last_read_seq: int


class ThreadsOut(BaseModel):
    threads: list[FollowedThreadOut]


class MentionsPage(BaseModel):
    messages: list[MessageOut] = Field(description="newest first")
    next_before: str | None = Field(description="pass as `before` for older ones")


class ThreadReadOut(BaseModel):
    last_read_seq: int


class PinsOut(BaseModel):
    messages: list[MessageOut] = Field(description="the latest pin first")


Limit = Annotated[int, Query(ge=1, le=LIST_MAX)]


@router.get(
    "/messages/{message_id}/thread",
    response_model=ThreadPageOut,
    responses=PROBLEMS(401, 404, 422),
)
async def get_thread(
    message_id: str,
    me: Me,
    svc: Svc,
    links: Links,
    after: Annotated[int, Query(ge=0, description="only replies with a seq above this")] = 0,
    limit: Limit = 50,
) -> Response:
    """A thread: its root and its replies after `after`, oldest first."""
    page = await svc.threads.replies(me, message_id, after, limit)
    return json_response(
        {
            "root": wire.message(page.root, links),
            "replies": [wire.message(m, links) for m in page.replies],
            "has_more": page.has_more,
        }
    )


@router.put(
    "/messages/{message_id}/follow", status_code=204, responses=PROBLEMS(401, 403, 404, 422)
)
async def follow_thread(message_id: str, me: Me, svc: Svc) -> Response:
    """Follow a thread (you do already if you wrote its root or replied in it)."""
    await svc.threads.follow(me, message_id, True)
    return no_content()


@router.delete("/messages/{message_id}/follow", status_code=204, responses=PROBLEMS(401, 404, 422))
async def unfollow_thread(message_id: str, me: Me, svc: Svc) -> Response:
    """Stop following a thread. Idempotent."""
    await svc.threads.follow(me, message_id, False)
    return no_content()


@router.put(
    "/messages/{message_id}/thread/read",
    response_model=ThreadReadOut,
    responses=PROBLEMS(400, 401, 403, 404, 413, 415, 422),
)
async def mark_thread_read(message_id: str, body: ReadIn, me: Me, svc: Svc) -> Response:
    """Move your read marker in a thread you follow forward to `seq` (a room seq); your other
    connections get `thread.read`. 403 `not_a_member` if you don't follow it."""
    marker = await svc.threads.mark_read(me, message_id, body.seq)
    return json_response({"last_read_seq": marker})


@router.get("/threads", response_model=ThreadsOut, responses=PROBLEMS(401, 422))
async def list_threads(
    me: Me,
    svc: Svc,
    links: Links,
    unread: Annotated[bool, Query(description="only threads with unread replies")] = False,
    limit: Limit = 50,
) -> Response:
    """Threads you follow in rooms you are in, the most recently replied first."""
    found = await svc.threads.followed(me, unread, limit)
    return json_response(
        {
            "threads": [
                {
                    "root": wire.message(t.root, links),
                    "unread_count": t.unread_count,
                    "last_read_seq": t.last_read_seq,
                }
                for t in found
            ]
        }
    )


def _mention_cursor(message: Message) -> str:
    raw = orjson.dumps([message.created_at, message.id])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _parse_mention_cursor(cursor: str) -> tuple[int, str]:
    try:
        at, message_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(at, int) or isinstance(at, bool) or not isinstance(message_id, str):
            raise ValueError(cursor)
        if "\x00" in message_id or len(message_id) > 64:
            raise ValueError(cursor)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Invalid("before is not a cursor this server made", field="before") from None
    return at, message_id


@router.get("/mentions", response_model=MentionsPage, responses=PROBLEMS(401, 422))
async def list_mentions(
    me: Me,
    svc: Svc,
    links: Links,
    before: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
) -> Response:
    """Messages that mention you (@username, @room, or @here while you were connected) in
    rooms you are still in, newest first."""
    cursor = None if before is None else _parse_mention_cursor(before)
    found = await svc.threads.mentions(me, cursor, limit)
    return json_response(
        {
            "messages": [wire.message(m, links) for m in found],
            "next_before": _mention_cursor(found[-1]) if len(found) == limit else None,
        }
    )


@router.put("/messages/{message_id}/pin", status_code=204, responses=PROBLEMS(401, 403, 404, 409))
async def pin_message(message_id: str, me: Me, svc: Svc) -> Response:
    """Pin a message: owners and admins (any member if the room allows it). Idempotent."""
    await svc.pins.pin(me, message_id, True)
    return no_content()


@router.delete("/messages/{message_id}/pin", status_code=204, responses=PROBLEMS(401, 403, 404))
async def unpin_message(message_id: str, me: Me, svc: Svc) -> Response:
    """Unpin a message. Idempotent."""
    await svc.pins.pin(me, message_id, False)
    return no_content()


@router.get("/rooms/{room_id}/pins", response_model=PinsOut, responses=PROBLEMS(401, 404))
async def list_pins(room_id: str, me: Me, svc: Svc, links: Links) -> Response:
    """The room's pinned messages, the latest pin first (at most 100)."""
    pinned = await svc.pins.pins(me, room_id)
    return json_response({"messages": [wire.message(m, links) for m in pinned]})
