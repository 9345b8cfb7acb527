"""Reaction queries. Adding and removing are idempotent."""

from __future__ import annotations

from hubbub.store.engine import Tx

__all__ = ["add_reaction", "remove_reaction"]


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
