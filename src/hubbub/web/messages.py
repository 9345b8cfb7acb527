"""Messages and reactions: /api/v1/rooms/{id}/messages, /api/v1/messages/{id}..."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from starlette.responses import Response

from hubbub import wire
from hubbub.errors import Invalid
from hubbub.services import commands
from hubbub.services.fields import NOT_BLANK_PATTERN
from hubbub.services.messages import (
    EMOJI_MAX,
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    IDEMPOTENCY_KEY_MAX,
)
from hubbub.web.auth import Me
from hubbub.web.commands import CommandRunOut, ran
from hubbub.web.deps import Links, Svc
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import PROBLEMS, MessageIn, MessageOut, MessagePatch, MessagesPage

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["messages"])

Emoji = Annotated[
    str,
    Path(
        min_length=1,
        max_length=EMOJI_MAX,
        pattern=NOT_BLANK_PATTERN,
        description="1-32 characters, not only whitespace",
    ),
]


@router.post(
    "/rooms/{room_id}/messages",
    status_code=201,
    response_model=MessageOut,
    responses={
        202: {
            "model": CommandRunOut,
            "description": "The text was a slash command (`/name args`): it ran instead of "
            "being posted (docs/integrations.md)",
        },
        **PROBLEMS(400, 401, 403, 404, 413, 415, 422, 429),
    },
)
async def send_message(
    room_id: str,
    body: MessageIn,
    me: Me,
    svc: Svc,
    links: Links,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=IDEMPOTENCY_KEY_MAX,
            pattern=NOT_BLANK_PATTERN,
            description="1-255 characters, not only whitespace (surrounding spaces are not "
            "part of it). A retry with the same key returns the first answer (with "
            "Idempotent-Replayed: true) and creates nothing.",
        ),
    ] = None,
) -> Response:
    """Send a message. Its `seq` is the room's next: gapless, in commit order. With
    `thread_root`, a reply in that message's thread. `@username`, `@room` and `@here` in the
    text mention people (403 `not_allowed` for @room/@here in big rooms, for members).

    A top-level text without attachments that starts with `/name` (a-z, 0-9, _, -; then a
    space or the end) runs that slash command instead: 202. `//` at the start posts the text
    with one `/` less."""
    text = body.text
    if body.thread_root is None and not body.attachments:
        parsed = commands.parse(text)
        if isinstance(parsed, commands.Invocation):
            return ran(await svc.commands.run(me, room_id, parsed))
        text = parsed
    sent = await svc.messages.send(
        me,
        room_id,
        text,
        body.reply_to,
        idempotency_key,
        thread_root=body.thread_root,
        also_to_room=body.also_to_room,
        attachments=body.attachments,
    )
    headers = {"Idempotent-Replayed": "true"} if sent.replayed else None
    return json_response(wire.message(sent.message, links), 201, headers)


@router.get(
    "/rooms/{room_id}/messages", response_model=MessagesPage, responses=PROBLEMS(401, 404, 422)
)
async def list_messages(
    room_id: str,
    me: Me,
    svc: Svc,
    links: Links,
    before: Annotated[int | None, Query(ge=0, description="only seqs below this")] = None,
    after: Annotated[int | None, Query(ge=0, description="only seqs above this")] = None,
    around: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**53,
            description="the page centred on this seq (a search hit, a permalink); not "
            "with before, after or top_level",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=HISTORY_LIMIT_MAX)] = HISTORY_LIMIT_DEFAULT,
    top_level: Annotated[
        bool,
        Query(
            description="only the room's timeline: top-level messages and thread replies "
            "also sent to the room (else every message, thread replies included)"
        ),
    ] = False,
) -> Response:
    """A page of history, ascending by seq. No cursor: the newest page."""
    if around is not None:
        if before is not None or after is not None or top_level:
            raise Invalid("around goes alone: not with before, after or top_level", field="around")
        page = await svc.messages.around(me, room_id, around, limit)
    elif top_level:
        page = await svc.messages.timeline(me, room_id, before, after, limit)
    else:
        page = await svc.messages.history(me, room_id, before, after, limit)
    return json_response(
        {
            "messages": [wire.message(m, links) for m in page.messages],
            "has_more_before": page.has_more_before,
            "has_more_after": page.has_more_after,
        }
    )


@router.get("/messages/{message_id}", response_model=MessageOut, responses=PROBLEMS(401, 404))
async def get_message(message_id: str, me: Me, svc: Svc, links: Links) -> Response:
    return json_response(wire.message(await svc.messages.get(me, message_id), links))


@router.patch(
    "/messages/{message_id}",
    response_model=MessageOut,
    responses=PROBLEMS(400, 401, 403, 404, 409, 413, 415, 422),
)
async def edit_message(
    message_id: str, body: MessagePatch, me: Me, svc: Svc, links: Links
) -> Response:
    """Edit your own message's text; sets `edited_at`."""
    edited = await svc.messages.edit(me, message_id, body.text)
    return json_response(wire.message(edited, links))


@router.delete("/messages/{message_id}", status_code=204, responses=PROBLEMS(401, 403, 404))
async def delete_message(message_id: str, me: Me, svc: Svc) -> Response:
    """Delete (tombstone) a message: its author, or the room's owner or an admin."""
    await svc.messages.delete(me, message_id)
    return no_content()


@router.put(
    "/messages/{message_id}/reactions/{emoji}",
    status_code=204,
    responses=PROBLEMS(401, 403, 404, 409, 422),
)
async def add_reaction(message_id: str, emoji: Emoji, me: Me, svc: Svc) -> Response:
    """React with `emoji` (1-32 characters). Idempotent."""
    await svc.messages.react(me, message_id, emoji, add=True)
    return no_content()


@router.delete(
    "/messages/{message_id}/reactions/{emoji}",
    status_code=204,
    responses=PROBLEMS(401, 403, 404, 409, 422),
)
async def remove_reaction(message_id: str, emoji: Emoji, me: Me, svc: Svc) -> Response:
    """Remove your `emoji` reaction. Idempotent."""
    await svc.messages.react(me, message_id, emoji, add=False)
    return no_content()
