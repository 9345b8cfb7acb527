"""Frames: events serialised once, in their wire shape, and shared by every recipient and
every transport (WebSocket text, SSE record, long-poll page item)."""

from __future__ import annotations

from typing import Any

import orjson

from hubbub import wire
from hubbub.events import CommandReply, Ephemeral, Event, Typing
from hubbub.links import FileLinks
from hubbub.realtime.cursors import cursor

__all__ = [
    "PING",
    "RESET",
    "SESSION_ENDED",
    "SLOW_CONSUMER",
    "TOO_MANY_STREAMS",
    "Frame",
    "ephemeral_frame",
    "event_frame",
    "hello_frame",
]


class Frame:
    """One serialised frame. `pos` and `cursor` are None for ephemeral and control frames;
    `room_id` is the room it belongs to, if any."""

    __slots__ = ("_sse", "cursor", "json", "pos", "room_id", "text")

    def __init__(
        self,
        pos: int | None,
        cursor: str | None,
        body: dict[str, Any],
        room_id: str | None = None,
    ) -> None:
        self.pos = pos
        self.cursor = cursor
        self.room_id = room_id
        self.json = orjson.dumps(body)
        self.text = self.json.decode()  # WebSocket text frames take str
        self._sse: bytes | None = None

    @property
    def sse(self) -> bytes:
        """The Server-Sent Events record (built once, on first use)."""
        if self._sse is None:
            head = b"id: %s\n" % self.cursor.encode() if self.cursor else b""
            self._sse = head + b"data: " + self.json + b"\n\n"
        return self._sse


def event_frame(event: Event, deployment_id: str, links: FileLinks | None = None) -> Frame:
    """A durable event: its cursor is its `id`; `links` signs links to attachments."""
    at = cursor(deployment_id, event.pos)
    body = {
        "id": at,
        "type": event.type,
        "room_id": event.room_id,
        "ts": wire.rfc3339(event.ts),
        "data": wire.event_data(event.body, links),
    }
    return Frame(event.pos, at, body, event.room_id)


def ephemeral_frame(event: Ephemeral) -> Frame:
    """A live-only event: no `id`; `room_id` for typing and command.reply, null for
    presence."""
    room_id = event.body.room_id if isinstance(event.body, Typing | CommandReply) else None
    body = {
        "type": event.type,
        "room_id": room_id,
        "ts": wire.rfc3339(event.ts),
        "data": wire.event_data(event.body),
    }
    return Frame(None, None, body, room_id)


def hello_frame(start: str) -> Frame:
    """The first frame of every stream: it is live, and starts after `start` (a cursor)."""
    return Frame(None, None, {"type": "hello", "cursor": start})


PING = Frame(None, None, {"type": "ping"})
RESET = Frame(None, None, {"type": "reset"})
SLOW_CONSUMER = Frame(None, None, {"type": "slow_consumer"})
SESSION_ENDED = Frame(None, None, {"type": "session_ended"})
TOO_MANY_STREAMS = Frame(None, None, {"type": "too_many_streams"})
