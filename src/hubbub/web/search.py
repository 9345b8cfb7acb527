"""Message search: GET /api/v1/search (the query language is in docs/api.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from hubbub import wire
from hubbub.services.search import CURSOR_MAX, SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX, SearchPage
from hubbub.textsearch import QUERY_MAX
from hubbub.web.auth import Me
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response
from hubbub.web.schemas import PROBLEMS, MessageOut

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["search"])


class HitRoomOut(BaseModel):
    id: str
    name: str
    kind: Literal["room", "dm"]


class SearchHitOut(BaseModel):
    message: MessageOut
    room: HitRoomOut
    highlights: list[Annotated[list[int], Field(min_length=2, max_length=2)]] = Field(
        description="[start, end) offsets into message.text, in Unicode code points, sorted "
        "and not overlapping: where the query's words, phrases and prefixes matched"
    )


class SearchOut(BaseModel):
    results: list[SearchHitOut] = Field(description="newest first")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


def _page(page: SearchPage) -> dict[str, object]:
    return {
        "results": [
            {
                "message": wire.message(hit.message),
                "room": {"id": hit.room.id, "name": hit.room.name, "kind": hit.room.kind},
                "highlights": [[start, end] for start, end in hit.highlights],
            }
            for hit in page.hits
        ],
        "next_cursor": page.next_cursor,
    }


@router.get("/search", response_model=SearchOut, responses=PROBLEMS(401, 404, 422))
async def search_messages(
    me: Me,
    svc: Svc,
    q: Annotated[
        str,
        Query(
            max_length=QUERY_MAX,
            description='words (all must match), "a phrase", prefix*, -excluded, and the '
            "filters from:username, in:room-name, has:link, before:YYYY-MM-DD, "
            "after:YYYY-MM-DD (docs/api.md)",
        ),
    ],
    room_id: Annotated[str | None, Query(max_length=64, description="only this room")] = None,
    scope: Annotated[
        Literal["member", "all"],
        Query(description="member: your rooms and DMs; all: also public rooms you are not in"),
    ] = "member",
    limit: Annotated[int, Query(ge=1, le=SEARCH_LIMIT_MAX)] = SEARCH_LIMIT_DEFAULT,
    cursor: Annotated[str | None, Query(max_length=CURSOR_MAX)] = None,
) -> Response:
    """Messages you may see that match `q`, newest first. Deleted messages are never found,
    an edited one only by its new text, from the moment the write is answered. 422
    `invalid_query` for a query that cannot run; 404 `room_not_found` for a `room_id` you
    may not read."""
    page = await svc.search.search(me, q, room_id, scope, limit, cursor)
    return json_response(_page(page))
