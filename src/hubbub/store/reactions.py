"""Reaction queries. Adding and removing are idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.store.engine import Tx

__all__ = ["ReactionCounts", "add_reaction", "count_reactions", "remove_reaction"]


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
