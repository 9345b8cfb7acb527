"""The JSON shapes of the v1 API, as plain dicts: built once, serialised with orjson.

web/schemas.py describes the same shapes for the OpenAPI document; the schema tests check that
every response matches it.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from hubbub.models import Author, Event, Member, Message, Room, User

__all__ = [
    "author",
    "cursor",
    "event",
    "member",
    "message",
    "parse_cursor",
    "rfc3339",
    "room",
    "room_public",
    "user",
]


def rfc3339(ms: int) -> str:
    """RFC 3339 UTC with milliseconds: 2026-11-26T04:14:36.123Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def user(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "created_at": rfc3339(u.created_at),
    }


def author(a: Author) -> dict[str, Any]:
    return {"id": a.id, "username": a.username, "display_name": a.display_name, "guest": a.guest}


def message(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "room_id": m.room_id,
        "seq": m.seq,
        "author": author(m.author),
        "text": m.text,
        "created_at": rfc3339(m.created_at),
        "edited_at": None if m.edited_at is None else rfc3339(m.edited_at),
        "deleted": m.deleted,
        "reply_to": m.reply_to,
        "reactions": [{"emoji": r.emoji, "count": r.count, "me": r.me} for r in m.reactions],
    }


def room(r: Room) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": r.id,
        "name": r.name,
        "topic": r.topic,
        "visibility": r.visibility,
        "kind": r.kind,
        "created_at": rfc3339(r.created_at),
        "member_count": r.member_count,
        "last_seq": r.last_seq,
    }
    if r.my_role is not None:
        body["my_role"] = r.my_role
        body["last_read_seq"] = r.last_read_seq
        body["unread_count"] = r.unread_count
    return body


def room_public(r: Room) -> dict[str, Any]:
    """The room without any viewer's fields (for events that go to many users)."""
    return room(dataclasses.replace(r, my_role=None, last_read_seq=None, unread_count=None))


def member(m: Member) -> dict[str, Any]:
    return {"user": user(m.user), "role": m.role, "joined_at": rfc3339(m.joined_at)}


def cursor(deployment_id: str, pos: int) -> str:
    """An event's cursor: opaque to clients, valid on every transport and node."""
    return f"{deployment_id}-{pos}"


def parse_cursor(value: str, deployment_id: str) -> int | None:
    """The position in a cursor of this deployment, or None if it is not one."""
    dep, _, pos = value.partition("-")
    if dep != deployment_id or not pos.isdigit() or len(pos) > 18:
        return None
    return int(pos)


def event(cursor_value: str, e: Event) -> dict[str, Any]:
    return {
        "id": cursor_value,
        "type": e.type,
        "room_id": e.room_id,
        "ts": rfc3339(e.ts),
        "data": e.data,
    }
