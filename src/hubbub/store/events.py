"""The event log: append (gapless, commit-ordered positions) and read after a position.

Rows hold the event's type, the columns delivery is decided by (room, subject, private) and
the versioned payload of hubbub.events.encode.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from hubbub.events import DurableEvent, Event, MemberJoined, MemberLeft, decode_durable, encode
from hubbub.store.engine import Row, Tx

__all__ = [
    "append_events",
    "bounds",
    "event_at",
    "head",
    "list_after",
    "list_for_user",
    "message_events",
    "prune_before",
    "replace_event",
    "subject_events",
]

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
            "INSERT INTO events"
            " (pos, type, room_id, ts, subject, private, everyone, message_id, data) VALUES"
            " (:pos, :type, :room, :ts, :subject, :private, :everyone, :message, :data)",
            {
                "pos": event.pos,
                "type": body.TYPE,
                "room": body.room_id or "",  # "" for the events of no room (sessions)
                "ts": now_ms,
                "subject": body.subject,
                "private": body.private,
                "everyone": body.everyone,
                "message": body.about_message,
                "data": orjson.dumps(encode(body)).decode(),
            },
        )
        events.append(event)
    return events


def head(tx: Tx) -> int:
    """The newest committed position (0 before any event)."""
    row = tx.fetchone("SELECT pos FROM event_counter WHERE id = 1")
    return int(row[0]) if row else 0


def bounds(tx: Tx) -> tuple[int, int]:
    """(floor, head): every position up to `floor` was pruned; `head` is the newest. A reader
    after a position below the floor would miss events: it must start again."""
    row = tx.fetchone("SELECT floor, pos FROM event_counter WHERE id = 1")
    return (int(row[0]), int(row[1])) if row else (0, 0)


def message_events(tx: Tx, message_id: str) -> list[Event]:
    """Every stored event about one message, oldest first (an index lookup)."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM events WHERE message_id = :m ORDER BY pos", {"m": message_id}
    )
    return [_event(r) for r in rows]


def subject_events(tx: Tx, user_id: str, after: int, limit: int) -> list[Event]:
    """Events about one user (their membership, reactions, profile, reads), after position
    `after`, oldest first (the subject index)."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM events WHERE subject = :u AND pos > :after ORDER BY pos"
        " LIMIT :limit",
        {"u": user_id, "after": after, "limit": limit},
    )
    return [_event(r) for r in rows]


def replace_event(tx: Tx, pos: int, body: DurableEvent) -> None:
    """Rewrite the event at `pos` in place (redaction): same position, new type and payload.
    The delivery columns are kept: a redacted event reaches whom the original reached."""
    tx.execute(
        "UPDATE events SET type = :type, data = :data WHERE pos = :pos",
        {"type": body.TYPE, "data": orjson.dumps(encode(body)).decode(), "pos": pos},
    )


def prune_before(tx: Tx, before_ms: int, batch: int) -> int:
    """Delete up to `batch` of the oldest events stamped before `before_ms`, and raise the
    floor over them; return how many went. Positions above the floor are all stored (the log
    is gapless), so the oldest rows are the lowest positions. Idempotent: nodes may race."""
    floor = bounds(tx)[0]
    rows = tx.fetchall(
        "SELECT pos, ts FROM events WHERE pos > :floor ORDER BY pos LIMIT :n",
        {"floor": floor, "n": batch},
    )
    upto = floor
    for pos, ts in rows:
        if int(ts) >= before_ms:
            break
        upto = int(pos)
    if upto == floor:
        return 0
    gone = tx.execute(
        "DELETE FROM events WHERE pos > :floor AND pos <= :upto", {"floor": floor, "upto": upto}
    )
    tx.execute(
        "UPDATE event_counter SET floor = :upto WHERE id = 1 AND floor < :upto", {"upto": upto}
    )
    return gone


def event_at(tx: Tx, pos: int) -> Event | None:
    """The event at `pos` as the log holds it now (redacted if its message was deleted);
    None once retention pruned it."""
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM events WHERE pos = :p", {"p": pos})
    return None if row is None else _event(row)


def list_after(tx: Tx, after: int, limit: int) -> list[Event]:
    """Every event with pos > after, ascending, at most `limit`."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM events WHERE pos > :after ORDER BY pos LIMIT :limit",
        {"after": after, "limit": limit},
    )
    return [_event(r) for r in rows]


# Catch-up examines at most this many positions per page, so a page's cost is bounded however
# few of the events in a long stretch of the log are the user's.
SCAN_WINDOW = 5000


def list_for_user(tx: Tx, user_id: str, after: int, limit: int) -> tuple[list[Event], int]:
    """The events after `after` that `user_id` receives, and the position read up to.

    A user receives a room's events while a member of it (at the event's position), the events
    about their own membership, and their private events. Whether they were a member of a
    room at a position is worked out from whether they are now and their own member.*
    events after it. The query's cost does not grow with the number of rooms the user is in
    (no list of rooms in it): each candidate row is checked against the membership index.
    The second value is the highest position examined (so a caller can resume after it even
    when none of those events were for this user).
    """
    upto = min(head(tx), after + SCAN_WINDOW)
    params: dict[str, Any] = {"u": user_id, "after": after, "upto": upto, "limit": limit}
    # Their own membership changes after `after`, per room, oldest first: (pos, joined?).
    changes: dict[str, list[tuple[int, bool]]] = {}
    for pos, room_id, kind in tx.fetchall(
        "SELECT pos, room_id, type FROM events WHERE subject = :u AND pos > :after"
        f" AND type IN {_MEMBERSHIP} ORDER BY pos",
        {"u": user_id, "after": after},
    ):
        changes.setdefault(room_id, []).append((int(pos), kind == MemberJoined.TYPE))
    rows = tx.fetchall(
        f"SELECT {_COLUMNS}, room_id, subject, private, everyone,"
        " EXISTS (SELECT 1 FROM members m WHERE m.room_id = e.room_id AND m.user_id = :u)"
        " FROM events e WHERE e.pos > :after AND e.pos <= :upto AND (e.subject = :u"
        " OR e.everyone OR (e.private = FALSE AND (EXISTS (SELECT 1 FROM members m"
        " WHERE m.room_id = e.room_id AND m.user_id = :u) OR e.room_id IN"
        " (SELECT c.room_id FROM events c WHERE c.subject = :u AND c.pos > :after"
        f" AND c.type IN {_MEMBERSHIP}))))"
        " ORDER BY e.pos LIMIT :limit",
        params,
    )
    delivered = []
    for row in rows:
        pos, room_id, subject, private, everyone, member_now = (
            int(row[0]),
            row[4],
            row[5],
            bool(row[6]),
            bool(row[7]),
            bool(row[8]),
        )
        if (
            subject == user_id
            or everyone
            or (not private and _was_member(member_now, changes.get(room_id, ()), pos))
        ):
            delivered.append(_event(row))
    if len(rows) == limit:
        return delivered, int(rows[-1][0])
    return delivered, upto


def _was_member(member_now: bool, changes: Iterable[tuple[int, bool]], pos: int) -> bool:
    """Whether the user was in a room at position `pos`, given whether they are now and their
    changes to that room (oldest first): the first change after `pos` says what they were
    before it; with none, what they are now."""
    for change_pos, joined in changes:
        if change_pos > pos:
            return not joined
    return member_now
