"""Outgoing webhooks and bot event subscriptions (migration 0020): the endpoints, their
delivery queue (event positions only, never payloads) and the log of delivery attempts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from hubbub.models import Delivery, OutgoingHook
from hubbub.store.engine import Row, Tx

__all__ = [
    "CONSUMER",
    "DELIVERIES_KEPT",
    "Head",
    "any_hooks",
    "count_hooks",
    "delete_hook",
    "disable_hook",
    "drop_head",
    "due_heads",
    "enable_hook",
    "enqueue",
    "find_hook",
    "insert_hook",
    "is_member",
    "is_queued",
    "list_deliveries",
    "list_hooks",
    "live_hooks",
    "log_delivery",
    "mark_delivered",
    "mark_failed",
    "update_hook",
]

DELIVERIES_KEPT = 100  # attempts kept per hook, newest
CONSUMER = "outgoing"  # the log consumer that queues deliveries


def any_hooks(tx: Tx) -> bool:
    return tx.fetchone("SELECT 1 FROM outgoing_hooks WHERE disabled_at IS NULL LIMIT 1") is not None


_COLUMNS = (
    "id, kind, room_id, bot_id, url, events, trigger_words, created_by, created_at,"
    " after_pos, failures, disabled_at, disabled_reason"
)


def _hook(row: Row) -> OutgoingHook:
    return OutgoingHook(
        id=row[0],
        kind=row[1],
        room_id=row[2],
        bot_id=row[3],
        url=row[4],
        events=tuple(orjson.loads(row[5])),
        trigger_words=tuple(orjson.loads(row[6])),
        created_by=row[7],
        created_at=int(row[8]),
        after_pos=int(row[9]),
        failures=int(row[10]),
        disabled_at=None if row[11] is None else int(row[11]),
        disabled_reason=row[12],
    )


def insert_hook(tx: Tx, hook: OutgoingHook, secret: str) -> OutgoingHook:
    """Store a hook; it gets the events after the log's head now. The `outgoing` consumer's
    place is made here if it has none yet (it would start at the head when it first runs,
    after events this hook must get)."""
    after = _log_head(tx)
    tx.execute(
        "INSERT INTO log_consumers (name, pos, holder, lease_until) VALUES (:name, :pos, NULL, 0)"
        " ON CONFLICT (name) DO NOTHING",
        {"name": CONSUMER, "pos": after},
    )
    tx.execute(
        "INSERT INTO outgoing_hooks (id, kind, room_id, bot_id, url, events, trigger_words,"
        " secret, after_pos, created_by, created_at) VALUES (:id, :kind, :room, :bot, :url,"
        " :events, :words, :secret, :after, :by, :at)",
        {
            "id": hook.id,
            "kind": hook.kind,
            "room": hook.room_id,
            "bot": hook.bot_id,
            "url": hook.url,
            "events": orjson.dumps(list(hook.events)).decode(),
            "words": orjson.dumps(list(hook.trigger_words)).decode(),
            "secret": secret,
            "after": after,
            "by": hook.created_by,
            "at": hook.created_at,
        },
    )
    return OutgoingHook(**{**_fields(hook), "after_pos": after})


def _log_head(tx: Tx) -> int:
    row = tx.fetchone("SELECT pos FROM event_counter WHERE id = 1")
    return int(row[0]) if row else 0


def _fields(hook: OutgoingHook) -> dict[str, Any]:
    return {name: getattr(hook, name) for name in hook.__slots__}


def find_hook(tx: Tx, hook_id: str) -> tuple[OutgoingHook, str] | None:
    """The hook and its signing secret."""
    row = tx.fetchone(
        f"SELECT {_COLUMNS}, secret FROM outgoing_hooks WHERE id = :id", {"id": hook_id}
    )
    return None if row is None else (_hook(row), str(row[-1]))


def list_hooks(
    tx: Tx, *, room_id: str | None = None, bot_id: str | None = None
) -> list[OutgoingHook]:
    """A room's hooks (kind room) or a bot's subscriptions (kind bot), oldest first."""
    params: dict[str, Any] = {"k": room_id if room_id is not None else bot_id}
    where = (
        "kind = 'room' AND room_id = :k" if room_id is not None else "kind = 'bot' AND bot_id = :k"
    )
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM outgoing_hooks WHERE {where} ORDER BY created_at, id", params
    )
    return [_hook(r) for r in rows]


def count_hooks(tx: Tx, *, room_id: str | None = None, bot_id: str | None = None) -> int:
    return len(list_hooks(tx, room_id=room_id, bot_id=bot_id))


def live_hooks(tx: Tx) -> list[tuple[OutgoingHook, frozenset[str]]]:
    """Every enabled hook with the rooms whose events it may get now: the rooms its bot is a
    member of (for a room hook, its own room only, while its bot is in it)."""
    hooks = [
        _hook(r)
        for r in tx.fetchall(f"SELECT {_COLUMNS} FROM outgoing_hooks WHERE disabled_at IS NULL")
    ]
    if not hooks:
        return []
    rooms: dict[str, set[str]] = {}
    for bot_id, room_id in tx.fetchall(
        "SELECT m.user_id, m.room_id FROM members m WHERE m.user_id IN"
        " (SELECT bot_id FROM outgoing_hooks WHERE disabled_at IS NULL)"
    ):
        rooms.setdefault(bot_id, set()).add(room_id)
    found = []
    for hook in hooks:
        mine = rooms.get(hook.bot_id, set())
        if hook.kind == "room":
            mine = {hook.room_id} & mine if hook.room_id else set()
        found.append((hook, frozenset(mine)))
    return found


def is_member(tx: Tx, room_id: str, user_id: str) -> bool:
    row = tx.fetchone(
        "SELECT 1 FROM members WHERE room_id = :r AND user_id = :u", {"r": room_id, "u": user_id}
    )
    return row is not None


def delete_hook(tx: Tx, hook_id: str) -> None:
    """The hook, its queue and its delivery log."""
    for table in ("outgoing_queue", "outgoing_deliveries"):
        tx.execute(f"DELETE FROM {table} WHERE hook_id = :h", {"h": hook_id})
    tx.execute("DELETE FROM outgoing_hooks WHERE id = :h", {"h": hook_id})


def enqueue(tx: Tx, rows: list[tuple[str, int]], now_ms: int) -> None:
    """Queue (hook, event position) pairs; a pair already queued is left as it is."""
    for hook_id, pos in rows:
        tx.execute(
            "INSERT INTO outgoing_queue (hook_id, pos, attempts, first_at, next_at)"
            " VALUES (:h, :p, 0, :now, :now) ON CONFLICT (hook_id, pos) DO NOTHING",
            {"h": hook_id, "p": pos, "now": now_ms},
        )


@dataclass(frozen=True, slots=True)
class Head:
    """The oldest queued event of a hook: the only one of its events that may be sent."""

    hook_id: str
    pos: int
    attempts: int
    first_at: int
    next_at: int


def due_heads(tx: Tx, limit: int) -> list[Head]:
    """The head of each enabled hook's queue, soonest due first."""
    # Driven by the hooks (few), each head found by the queue's key: the cost does not grow
    # with a long queue behind a slow endpoint.
    rows = tx.fetchall(
        "SELECT q.hook_id, q.pos, q.attempts, q.first_at, q.next_at FROM outgoing_hooks h"
        " JOIN outgoing_queue q ON q.hook_id = h.id AND q.pos = (SELECT q2.pos"
        " FROM outgoing_queue q2 WHERE q2.hook_id = h.id ORDER BY q2.pos LIMIT 1)"
        " WHERE h.disabled_at IS NULL ORDER BY q.next_at LIMIT :n",
        {"n": limit},
    )
    return [Head(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]


def is_queued(tx: Tx, hook_id: str, pos: int) -> bool:
    row = tx.fetchone(
        "SELECT 1 FROM outgoing_queue WHERE hook_id = :h AND pos = :p", {"h": hook_id, "p": pos}
    )
    return row is not None


def log_delivery(tx: Tx, delivery: Delivery) -> None:
    """Record an attempt, keeping the newest DELIVERIES_KEPT of the hook's."""
    tx.execute(
        "INSERT INTO outgoing_deliveries (id, hook_id, pos, attempt, at, status, latency_ms,"
        " error, outcome) VALUES (:id, :h, :p, :n, :at, :status, :ms, :error, :outcome)",
        {
            "id": delivery.id,
            "h": delivery.hook_id,
            "p": delivery.pos,
            "n": delivery.attempt,
            "at": delivery.at,
            "status": delivery.status,
            "ms": delivery.latency_ms,
            "error": delivery.error,
            "outcome": delivery.outcome,
        },
    )
    tx.execute(
        "DELETE FROM outgoing_deliveries WHERE hook_id = :h AND id NOT IN"
        " (SELECT id FROM outgoing_deliveries WHERE hook_id = :h ORDER BY at DESC, id DESC"
        " LIMIT :kept)",
        {"h": delivery.hook_id, "kept": DELIVERIES_KEPT},
    )


def list_deliveries(tx: Tx, hook_id: str, limit: int) -> list[Delivery]:
    rows = tx.fetchall(
        "SELECT id, hook_id, pos, attempt, at, status, latency_ms, error, outcome"
        " FROM outgoing_deliveries WHERE hook_id = :h ORDER BY at DESC, id DESC LIMIT :n",
        {"h": hook_id, "n": limit},
    )
    return [
        Delivery(
            r[0],
            r[1],
            int(r[2]),
            int(r[3]),
            int(r[4]),
            None if r[5] is None else int(r[5]),
            None if r[6] is None else int(r[6]),
            r[7],
            r[8],
        )
        for r in rows
    ]


def mark_delivered(tx: Tx, hook_id: str, pos: int) -> None:
    """The event reached the hook: off the queue; the failure count starts again."""
    drop_head(tx, hook_id, pos)
    tx.execute("UPDATE outgoing_hooks SET failures = 0 WHERE id = :h", {"h": hook_id})


def drop_head(tx: Tx, hook_id: str, pos: int) -> None:
    tx.execute(
        "DELETE FROM outgoing_queue WHERE hook_id = :h AND pos = :p", {"h": hook_id, "p": pos}
    )


def mark_failed(tx: Tx, hook_id: str, pos: int, next_at: int) -> int:
    """An attempt failed: try again at `next_at`; return the hook's consecutive failures."""
    tx.execute(
        "UPDATE outgoing_queue SET attempts = attempts + 1, next_at = :next"
        " WHERE hook_id = :h AND pos = :p",
        {"h": hook_id, "p": pos, "next": next_at},
    )
    row = tx.fetchone(
        "UPDATE outgoing_hooks SET failures = failures + 1 WHERE id = :h RETURNING failures",
        {"h": hook_id},
    )
    return int(row[0]) if row else 0


def update_hook(
    tx: Tx, hook_id: str, url: str, events: tuple[str, ...], trigger_words: tuple[str, ...]
) -> None:
    """A new address or choice of events (its queue and state stay as they are)."""
    tx.execute(
        "UPDATE outgoing_hooks SET url = :url, events = :events, trigger_words = :words"
        " WHERE id = :h",
        {
            "h": hook_id,
            "url": url,
            "events": orjson.dumps(list(events)).decode(),
            "words": orjson.dumps(list(trigger_words)).decode(),
        },
    )


def disable_hook(tx: Tx, hook_id: str, now_ms: int, reason: str) -> None:
    """Turn a hook off: it gets nothing more (its queue is emptied) until turned on again."""
    tx.execute(
        "UPDATE outgoing_hooks SET disabled_at = :now, disabled_reason = :why WHERE id = :h",
        {"h": hook_id, "now": now_ms, "why": reason},
    )
    tx.execute("DELETE FROM outgoing_queue WHERE hook_id = :h", {"h": hook_id})


def enable_hook(tx: Tx, hook_id: str) -> None:
    """Turn a hook back on, afresh: no failures, an empty queue (rows a match running while it
    was off may have queued are dropped), and only the events after the log's head now."""
    tx.execute(
        "UPDATE outgoing_hooks SET disabled_at = NULL, disabled_reason = NULL, failures = 0,"
        " after_pos = :after WHERE id = :h",
        {"h": hook_id, "after": _log_head(tx)},
    )
    tx.execute("DELETE FROM outgoing_queue WHERE hook_id = :h", {"h": hook_id})
