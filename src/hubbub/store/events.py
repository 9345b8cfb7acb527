"""The event log: append (gapless, commit-ordered positions) and read after a position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from hubbub.models import Event
from hubbub.store.engine import Row, Tx

__all__ = ["NewEvent", "append_events", "head", "list_after", "list_for_user"]

_COLUMNS = "pos, type, room_id, ts, subject, private, data"
MEMBERSHIP_TYPES = ("member.joined", "member.left")


@dataclass(frozen=True, slots=True)
class NewEvent:
    type: str
    room_id: str
    data: dict[str, Any]
    subject: str | None = None
    private: bool = False


def _event(row: Row) -> Event:
    return Event(
        pos=int(row[0]),
        type=row[1],
        room_id=row[2],
        ts=int(row[3]),
        subject=row[4],
        private=bool(row[5]),
        data=orjson.loads(row[6]),
    )


def append_events(tx: Tx, new: list[NewEvent], now_ms: int) -> list[Event]:
    """Store events at the next positions. Call last in a transaction: the counter row stays
    locked until commit, which is what keeps positions in commit order."""
    if not new:
        return []
    row = tx.fetchone(
        "UPDATE event_counter SET pos = pos + :n WHERE id = 1 RETURNING pos", {"n": len(new)}
    )
    assert row is not None, "event_counter row missing: run migrations"
    first = int(row[0]) - len(new) + 1
    events = []
    for offset, item in enumerate(new):
        event = Event(
            pos=first + offset,
            type=item.type,
            room_id=item.room_id,
            ts=now_ms,
            data=item.data,
            subject=item.subject,
            private=item.private,
        )
        tx.execute(
            f"INSERT INTO events ({_COLUMNS}) VALUES (:pos, :type, :room, :ts, :subject,"
            " :private, :data)",
            {
                "pos": event.pos,
                "type": event.type,
                "room": event.room_id,
                "ts": now_ms,
                "subject": event.subject,
                "private": event.private,
                "data": orjson.dumps(event.data).decode(),
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
        " AND type IN ('member.joined', 'member.left') ORDER BY pos",
        {"u": user_id, "after": after},
    )
    rooms = set(now_rooms)
    for _, room_id, kind in reversed(changes):  # undo later changes: membership at `after`
        if kind == "member.joined":
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
        f"SELECT {_COLUMNS} FROM events WHERE pos > :after AND ({room_filter}subject = :u)"
        " ORDER BY pos LIMIT :limit",
        params,
    )
    delivered = []
    for row in rows:
        event = _event(row)
        mine = event.subject == user_id
        if event.type == "member.joined" and mine:
            rooms.add(event.room_id)
        if mine or (not event.private and event.room_id in rooms):
            delivered.append(event)
        if event.type == "member.left" and mine:
            rooms.discard(event.room_id)
    if len(rows) == limit:
        return delivered, int(rows[-1][0])
    return delivered, head(tx)
