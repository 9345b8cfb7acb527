"""Stored events and idempotent answers: from the API's wire shape to versioned domain payloads.

Release 0.1.0 stored each event's `data` exactly as clients received it (RFC 3339 strings for
times, usernames under `user`), and each idempotent answer as the response body. From now on
the log holds `{"v": 1, ...}` domain payloads (hubbub.events.encode) and the wire shape is made
when an event is framed. This rewrites the rows already there, on both engines, in the one
migration transaction. It is deliberately self-contained (it does not import hubbub.events):
later releases change the catalogue, but this step must keep meaning what it meant.

The `status` column of idempotency_keys goes too: a stored answer is the message, and the HTTP
status is the web layer's business.
"""

from __future__ import annotations

import calendar
import time
from typing import Any

import orjson

from hubbub.store.engine import Tx

V = 1
BATCH = 1000


def _ms(value: str | None) -> int | None:
    """'2026-11-26T04:14:36.123Z' -> milliseconds since the epoch."""
    if value is None:
        return None
    whole, _, frac = value.rstrip("Z").partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1000 + int((frac or "0")[:3].ljust(3, "0"))


def _user(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": d["id"],
        "username": d["username"],
        "display_name": d["display_name"],
        "created_at": _ms(d["created_at"]),
    }


def _room(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": d["id"],
        "name": d["name"],
        "topic": d["topic"],
        "visibility": d["visibility"],
        "kind": d["kind"],
        "created_at": _ms(d["created_at"]),
        "member_count": d["member_count"],
        "last_seq": d["last_seq"],
    }


def _message(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": d["id"],
        "room_id": d["room_id"],
        "seq": d["seq"],
        "author": dict(d["author"]),
        "text": d["text"],
        "created_at": _ms(d["created_at"]),
        "edited_at": _ms(d["edited_at"]),
        "deleted": d["deleted"],
        "reply_to": d["reply_to"],
        "reactions": list(d["reactions"]),
    }


def convert(type_name: str, room_id: str, subject: str | None, d: dict[str, Any]) -> dict[str, Any]:
    """One event's 0.1.0 wire `data` as its version-1 payload."""
    if "v" in d:  # already converted (never in a 0.1.0 database; keeps the step idempotent)
        return d
    if type_name == "message.created":
        return {"v": V, "message": _message(d)}
    if type_name == "message.updated":
        return {
            "v": V,
            "id": d["id"],
            "room_id": d["room_id"],
            "seq": d["seq"],
            "text": d["text"],
            "edited_at": _ms(d["edited_at"]),
        }
    if type_name == "message.deleted":
        return {"v": V, "id": d["id"], "room_id": d["room_id"], "seq": d["seq"]}
    if type_name in ("reaction.added", "reaction.removed"):
        return {
            "v": V,
            "message_id": d["message_id"],
            "room_id": d["room_id"],
            "seq": d["seq"],
            "emoji": d["emoji"],
            "user_id": d["user_id"],
            "username": d["user"],
        }
    if type_name == "room.updated":
        return {"v": V, "room": _room(d)}
    if type_name == "member.joined":
        return {"v": V, "room": _room(d["room"]), "user": _user(d["user"]), "role": d["role"]}
    if type_name == "member.left":
        return {"v": V, "room_id": d["room_id"], "user": _user(d["user"])}
    if type_name == "member.updated":
        return {"v": V, "room_id": room_id, "user": _user(d["user"]), "role": d["role"]}
    if type_name == "read.updated":
        return {
            "v": V,
            "room_id": d["room_id"],
            "user_id": subject,
            "last_read_seq": d["last_read_seq"],
            "unread_count": d["unread_count"],
        }
    raise ValueError(f"0.1.0 had no event type {type_name!r}")


def upgrade(tx: Tx) -> None:
    after = 0
    while True:
        rows = tx.fetchall(
            "SELECT pos, type, room_id, subject, data FROM events WHERE pos > :after"
            " ORDER BY pos LIMIT :n",
            {"after": after, "n": BATCH},
        )
        for pos, type_name, room_id, subject, data in rows:
            payload = convert(type_name, room_id, subject, orjson.loads(data))
            tx.execute(
                "UPDATE events SET data = :d WHERE pos = :p",
                {"d": orjson.dumps(payload).decode(), "p": pos},
            )
        if len(rows) < BATCH:
            break
        after = int(rows[-1][0])
    for user_id, key, body in tx.fetchall("SELECT user_id, key, body FROM idempotency_keys"):
        answer = orjson.loads(body)
        if "v" not in answer:
            answer = {"v": V, "message": _message(answer)}
        tx.execute(
            "UPDATE idempotency_keys SET body = :b WHERE user_id = :u AND key = :k",
            {"b": orjson.dumps(answer).decode(), "u": user_id, "k": key},
        )
    tx.execute("ALTER TABLE idempotency_keys DROP COLUMN status")
