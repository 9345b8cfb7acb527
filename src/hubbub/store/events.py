"""The event log: append (gapless, commit-ordered positions) and read after a position.

Rows hold the event's type, the columns delivery is decided by (room, subject, private) and
the versioned payload of hubbub.events.encode.
"""

from __future__ import annotations

from typing import Any

import orjson

from hubbub.events import DurableEvent, Event, MemberJoined, MemberLeft, decode_durable, encode
from hubbub.store.engine import Row, Tx

__all__ = ["append_events", "head", "list_after", "list_for_user"]

_COLUMNS = "pos, type, ts, data"
# The events that change who receives a room's events.
_MEMBERSHIP = f"('{MemberJoined.TYPE}', '{MemberLeft.TYPE}')"


def _event(row: Row) -> Event:
    return Event(pos=int(row[0]), ts=int(row[2]), body=decode_durable(row[1], orjson.loads(row[3])))


def append_events(tx: Tx, bodies: list[DurableEvent], now_ms: int) -> list[Event]:
    """Store events at the next positions. Call last in a transaction: the counter row stays
    locked until commit, which is what keeps positions in commit order."""
    if not bodies:
        return []
    row = tx.fetchone(
        "UPDATE event_counter SET pos = pos + :n WHERE id = 1 RETURNING pos", {"n": len(bodies)}
    )
    assert row is not None, "event_counter row missing: run migrations"
    first = int(row[0]) - len(bodies) + 1
    events = []
    for offset, body in enumerate(bodies):
        event = Event(pos=first + offset, ts=now_ms, body=body)
        tx.execute(
            "INSERT INTO events (pos, type, room_id, ts, subject, private, data)"
            " VALUES (:pos, :type, :room, :ts, :subject, :private, :data)",
            {
                "pos": event.pos,
                "type": body.TYPE,
                "room": body.room_id or "",  # "" for the events of no room (sessions)
                "ts": now_ms,
                "subject": body.subject,
                "private": body.private,
                "data": orjson.dumps(encode(body)).decode(),
            },
        )
        events.append(event)
    return events


def head(tx: Tx) -> int:
    """The newest committed position (0 before any event)."""
    row = tx.fetchone("SELECT pos FROM event_counter WHERE id = 1")
    return int(row[0]) if row else 0


def list_after(tx: Tx, after: int, limit: int) -> list[Event]:
    """Every event with pos > after, ascending, at most `limit`."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM events WHERE pos > :after ORDER BY pos LIMIT :limit",
        {"after": after, "limit": limit},
    )
    return [_event(r) for r in rows]


def list_for_user(tx: Tx, user_id: str, after: int, limit: int) -> tuple[list[Event], int]:
    """The events after `after` that `user_id` receives, and the position read up to.

    A user receives a room's events while a member of it (at the event's position), the events
    about their own membership, and their private events. Membership at each position is
    replayed from the member.* events after `after`, starting from membership at `after`.
    The second value is the highest position examined (so a caller can resume after it even
    when none of those events were for this user).
    """
    now_rooms = {
        r[0] for r in tx.fetchall("SELECT room_id FROM members WHERE user_id = :u", {"u": user_id})
    }
    changes = tx.fetchall(
        "SELECT pos, room_id, type FROM events WHERE subject = :u AND pos > :after"
        f" AND type IN {_MEMBERSHIP} ORDER BY pos",
        {"u": user_id, "after": after},
    )
    rooms = set(now_rooms)
    for _, room_id, kind in reversed(changes):  # undo later changes: membership at `after`
        if kind == MemberJoined.TYPE:
            rooms.discard(room_id)
        else:
            rooms.add(room_id)
    candidates = sorted(now_rooms | {c[1] for c in changes})
    params: dict[str, Any] = {"u": user_id, "after": after, "limit": limit}
    room_filter = ""
    if candidates:
        names = []
        for i, room_id in enumerate(candidates):
            params[f"r{i}"] = room_id
            names.append(f":r{i}")
        room_filter = f"(private = FALSE AND room_id IN ({', '.join(names)})) OR "
    rows = tx.fetchall(
        f"SELECT {_COLUMNS}, room_id, subject, private FROM events"
        f" WHERE pos > :after AND ({room_filter}subject = :u) ORDER BY pos LIMIT :limit",
        params,
    )
    delivered = []
    for row in rows:
        kind, room_id, mine, private = row[1], row[4], row[5] == user_id, bool(row[6])
        if kind == MemberJoined.TYPE and mine:
            rooms.add(room_id)
        if mine or (not private and room_id in rooms):
            delivered.append(_event(row))
        if kind == MemberLeft.TYPE and mine:
            rooms.discard(room_id)
    if len(rows) == limit:
        return delivered, int(rows[-1][0])
    return delivered, head(tx)
