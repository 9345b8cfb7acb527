"""Reaction queries. Adding and removing are idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.store.engine import Tx

__all__ = [
    "ReactionCounts",
    "add_reaction",
    "count_reactions",
    "list_by_user",
    "remove_reaction",
]


def add_reaction(tx: Tx, message_id: str, user_id: str, emoji: str, now_ms: int) -> bool:
    """Add; return False if that user already had that reaction on that message."""
    return (
        tx.execute(
            "INSERT INTO reactions (message_id, user_id, emoji, created_at)"
            " VALUES (:m, :u, :e, :now) ON CONFLICT DO NOTHING",
            {"m": message_id, "u": user_id, "e": emoji, "now": now_ms},
        )
        > 0
    )


def remove_reaction(tx: Tx, message_id: str, user_id: str, emoji: str) -> bool:
    """Remove; return False if there was nothing to remove."""
    return (
        tx.execute(
            "DELETE FROM reactions WHERE message_id = :m AND user_id = :u AND emoji = :e",
            {"m": message_id, "u": user_id, "e": emoji},
        )
        > 0
    )


@dataclass(frozen=True, slots=True)
class ReactionCounts:
    mine: int  # distinct emoji `user_id` has on the message
    distinct: int  # distinct emoji on the message
    present: bool  # anyone reacted with this emoji
    already_mine: bool  # `user_id` did


def count_reactions(tx: Tx, message_id: str, user_id: str, emoji: str) -> ReactionCounts:
    """What adding `emoji` by `user_id` to the message would change."""
    row = tx.fetchone(
        "SELECT COUNT(DISTINCT CASE WHEN user_id = :u THEN emoji END), COUNT(DISTINCT emoji),"
        " COUNT(CASE WHEN emoji = :e THEN 1 END),"
        " COUNT(CASE WHEN emoji = :e AND user_id = :u THEN 1 END)"
        " FROM reactions WHERE message_id = :m",
        {"m": message_id, "u": user_id, "e": emoji},
    )
    assert row is not None
    return ReactionCounts(int(row[0]), int(row[1]), int(row[2]) > 0, int(row[3]) > 0)


def list_by_user(
    tx: Tx, user_id: str, after: tuple[str, str], limit: int
) -> list[tuple[str, str, str, int]]:
    """(message id, room id, emoji, created_at) of `user_id`'s reactions after the
    (message id, emoji) `after`, in that order, at most `limit` (for their data export)."""
    rows = tx.fetchall(
        "SELECT x.message_id, m.room_id, x.emoji, x.created_at FROM reactions x"
        " JOIN messages m ON m.id = x.message_id WHERE x.user_id = :u"
        " AND (x.message_id > :m OR (x.message_id = :m AND x.emoji > :e))"
        " ORDER BY x.message_id, x.emoji LIMIT :limit",
        {"u": user_id, "m": after[0], "e": after[1], "limit": limit},
    )
    return [(r[0], r[1], r[2], int(r[3])) for r in rows]
