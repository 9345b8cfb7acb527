"""Web Push (#18, migration 0018): the VAPID key in `meta`, push subscriptions, and the queue
of pushes to send (ids only; the text is read when sending).

Claims on queue rows make each row sent by one node at a time: `claim_due` marks the rows it
returns as this node's until a time, in one UPDATE whose WHERE clause is checked again
against the row it updates (PostgreSQL re-reads a row another transaction changed; SQLite
runs one writer at a time), so two nodes never both get a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hubbub.models import PushSubscription
from hubbub.store.engine import Tx

__all__ = [
    "Due",
    "PushContext",
    "claim_due",
    "count_subscriptions",
    "delete_queued",
    "delete_subscription",
    "enqueue",
    "find_context",
    "find_meta",
    "has_subscription",
    "insert_meta",
    "list_subscriptions",
    "next_look",
    "queue_size",
    "reschedule",
    "upsert_subscription",
]

VAPID_KEY = "vapid_private_key"
_SUB_COLUMNS = "id, user_id, session_id, endpoint, p256dh, auth, created_at"


def find_meta(tx: Tx, key: str) -> str | None:
    row = tx.fetchone("SELECT value FROM meta WHERE key = :k", {"k": key})
    return None if row is None else str(row[0])


def insert_meta(tx: Tx, key: str, value: str) -> None:
    """Store `value` under `key` unless a value is there already (the first node wins)."""
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (:k, :v) ON CONFLICT DO NOTHING",
        {"k": key, "v": value},
    )


def _sub(row: tuple[object, ...]) -> PushSubscription:
    return PushSubscription(
        id=str(row[0]),
        user_id=str(row[1]),
        session_id=str(row[2]),
        endpoint=str(row[3]),
        p256dh=str(row[4]),
        auth=str(row[5]),
        created_at=int(str(row[6])),
    )


def upsert_subscription(tx: Tx, sub: PushSubscription) -> PushSubscription:
    """Store the subscription; one its user already has for the same endpoint takes the new
    keys and session and keeps its id. Returns what is stored."""
    row = tx.fetchone(
        "UPDATE push_subscriptions SET session_id = :s, p256dh = :p, auth = :a"
        f" WHERE user_id = :u AND endpoint = :e RETURNING {_SUB_COLUMNS}",
        {"s": sub.session_id, "p": sub.p256dh, "a": sub.auth, "u": sub.user_id, "e": sub.endpoint},
    )
    if row is not None:
        return _sub(tuple(row))
    tx.execute(
        f"INSERT INTO push_subscriptions ({_SUB_COLUMNS}) VALUES (:id, :u, :s, :e, :p, :a, :t)",
        {
            "id": sub.id,
            "u": sub.user_id,
            "s": sub.session_id,
            "e": sub.endpoint,
            "p": sub.p256dh,
            "a": sub.auth,
            "t": sub.created_at,
        },
    )
    return sub


def count_subscriptions(tx: Tx, user_id: str) -> int:
    row = tx.fetchone("SELECT COUNT(*) FROM push_subscriptions WHERE user_id = :u", {"u": user_id})
    return int(row[0]) if row else 0


def has_subscription(tx: Tx, user_id: str, endpoint: str) -> bool:
    row = tx.fetchone(
        "SELECT 1 FROM push_subscriptions WHERE user_id = :u AND endpoint = :e",
        {"u": user_id, "e": endpoint},
    )
    return row is not None


def list_subscriptions(tx: Tx, user_id: str) -> list[PushSubscription]:
    """A user's subscriptions, oldest first."""
    rows = tx.fetchall(
        f"SELECT {_SUB_COLUMNS} FROM push_subscriptions WHERE user_id = :u ORDER BY id",
        {"u": user_id},
    )
    return [_sub(tuple(r)) for r in rows]


def delete_subscription(tx: Tx, subscription_id: str, user_id: str | None = None) -> bool:
    """Delete a subscription (only the user's own, when `user_id` is given), and with it its
    queued pushes; False if there was none."""
    if user_id is None:
        return (
            tx.execute("DELETE FROM push_subscriptions WHERE id = :id", {"id": subscription_id}) > 0
        )
    return (
        tx.execute(
            "DELETE FROM push_subscriptions WHERE id = :id AND user_id = :u",
            {"id": subscription_id, "u": user_id},
        )
        > 0
    )


# -- the queue ------------------------------------------------------------------------------


def enqueue(tx: Tx, rows: Sequence[tuple[str, str, str, int]], due_at: int) -> int:
    """Queue a push to every subscription of each user: rows of (message id, user id,
    reason, created_at). A pair already queued is left as it is (the primary key). Returns
    how many rows were added. One statement per user notified, whatever their count of
    subscriptions."""
    added = 0
    for message_id, user_id, reason, created_at in rows:
        added += tx.execute(
            "INSERT INTO push_queue (message_id, subscription_id, user_id, reason, created_at,"
            " due_at) SELECT :m, id, user_id, :r, :c, :d FROM push_subscriptions"
            " WHERE user_id = :u ON CONFLICT DO NOTHING",
            {"m": message_id, "u": user_id, "r": reason, "c": created_at, "d": due_at},
        )
    return added


@dataclass(frozen=True, slots=True)
class Due:
    """A queued push, claimed for sending."""

    message_id: str
    subscription_id: str
    user_id: str
    reason: str
    created_at: int
    attempts: int


def claim_due(tx: Tx, holder: str, now_ms: int, until_ms: int, limit: int) -> list[Due]:
    """Claim up to `limit` rows due by `now_ms` that nobody holds, for `holder` until
    `until_ms`; return them (oldest due first)."""
    rows = tx.fetchall(
        "UPDATE push_queue SET claimed_by = :h, claimed_until = :until"
        " WHERE due_at <= :now AND claimed_until < :now"
        " AND (message_id, subscription_id) IN (SELECT message_id, subscription_id"
        " FROM push_queue WHERE due_at <= :now AND claimed_until < :now"
        " ORDER BY due_at LIMIT :n)"
        " RETURNING message_id, subscription_id, user_id, reason, created_at, attempts",
        {"h": holder, "until": until_ms, "now": now_ms, "n": limit},
    )
    found = [Due(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), int(r[5])) for r in rows]
    return sorted(found, key=lambda d: (d.created_at, d.message_id))


def reschedule(tx: Tx, due: Due, holder: str, due_at: int, *, attempted: bool) -> None:
    """Put a claimed row back, due at `due_at` (counting an attempt when `attempted`)."""
    tx.execute(
        "UPDATE push_queue SET due_at = :d, attempts = attempts + :a, claimed_by = NULL,"
        " claimed_until = 0 WHERE message_id = :m AND subscription_id = :s AND claimed_by = :h",
        {
            "d": due_at,
            "a": 1 if attempted else 0,
            "m": due.message_id,
            "s": due.subscription_id,
            "h": holder,
        },
    )


def delete_queued(tx: Tx, message_id: str, subscription_id: str) -> None:
    """The push is done with (sent, dropped or given up)."""
    tx.execute(
        "DELETE FROM push_queue WHERE message_id = :m AND subscription_id = :s",
        {"m": message_id, "s": subscription_id},
    )


def next_look(tx: Tx) -> int | None:
    """When a queued row can next be claimed (ms): its due time, or its claim's end if that
    is later; None for an empty queue."""
    row = tx.fetchone(
        "SELECT MIN(CASE WHEN claimed_until > due_at THEN claimed_until ELSE due_at END)"
        " FROM push_queue"
    )
    return None if row is None or row[0] is None else int(row[0])


def queue_size(tx: Tx) -> tuple[int, int | None]:
    """How many pushes are queued, and when the oldest of them was committed (ms)."""
    row = tx.fetchone("SELECT COUNT(*), MIN(created_at) FROM push_queue")
    if row is None:
        return 0, None
    return int(row[0]), None if row[1] is None else int(row[1])


@dataclass(frozen=True, slots=True)
class PushContext:
    """What sending one push needs, read when it is sent."""

    subscription: PushSubscription
    room_id: str
    room_name: str
    room_kind: str
    author_name: str
    text: str
    seq: int
    thread_root: str | None
    is_read: bool  # the user's read marker (room, or the thread they follow) is past it
    is_member: bool
    preview: bool  # the user's push_preview


def find_context(tx: Tx, message_id: str, subscription_id: str) -> PushContext | None:
    """The subscription, the message with its room and author, and the user's read state and
    preview choice; None when the subscription is gone or the message is gone or deleted."""
    sub_row = tx.fetchone(
        f"SELECT {_SUB_COLUMNS} FROM push_subscriptions WHERE id = :id", {"id": subscription_id}
    )
    if sub_row is None:
        return None
    sub = _sub(tuple(sub_row))
    msg = tx.fetchone(
        "SELECT m.room_id, r.name, r.kind, COALESCE(u.display_name, m.guest_name, ''), m.text,"
        " m.seq, m.thread_root, m.also_to_room, m.deleted"
        " FROM messages m JOIN rooms r ON r.id = m.room_id"
        " LEFT JOIN users u ON u.id = m.author_id WHERE m.id = :id",
        {"id": message_id},
    )
    if msg is None or msg[8]:
        return None
    room_id, room_name, kind, author, text, seq, root, also_to_room, _ = msg
    member = tx.fetchone(
        "SELECT last_read_seq FROM members WHERE room_id = :r AND user_id = :u",
        {"r": room_id, "u": sub.user_id},
    )
    read = member is not None and int(member[0]) >= int(seq)
    if root is not None and not also_to_room and not read:
        follow = tx.fetchone(
            "SELECT last_read_seq FROM thread_follows WHERE root_id = :r AND user_id = :u",
            {"r": root, "u": sub.user_id},
        )
        read = follow is not None and int(follow[0]) >= int(seq)
    prefs = tx.fetchone(
        "SELECT push_preview FROM notify_prefs WHERE user_id = :u", {"u": sub.user_id}
    )
    return PushContext(
        subscription=sub,
        room_id=str(room_id),
        room_name=str(room_name),
        room_kind=str(kind),
        author_name=str(author),
        text=str(text),
        seq=int(seq),
        thread_root=None if root is None else str(root),
        is_read=read,
        is_member=member is not None,
        preview=True if prefs is None else bool(prefs[0]),
    )
