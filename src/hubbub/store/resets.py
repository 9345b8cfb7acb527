"""Password-reset codes: stored by hash, used once, within a day."""

from __future__ import annotations

from hubbub.store.engine import Tx

__all__ = ["find_reset", "insert_reset", "revoke_resets", "take_reset"]


def insert_reset(tx: Tx, code_hash: str, user_id: str, expires_at: int, now_ms: int) -> None:
    tx.execute(
        "INSERT INTO password_resets (code_hash, user_id, expires_at, used, created_at)"
        " VALUES (:h, :u, :e, FALSE, :now)",
        {"h": code_hash, "u": user_id, "e": expires_at, "now": now_ms},
    )


def take_reset(tx: Tx, code_hash: str, now_ms: int) -> str | None:
    """The user id of an unused, unexpired code, marking it used; None otherwise."""
    row = tx.fetchone(
        "UPDATE password_resets SET used = TRUE WHERE code_hash = :h AND NOT used"
        " AND expires_at > :now RETURNING user_id",
        {"h": code_hash, "now": now_ms},
    )
    return None if row is None else str(row[0])


def find_reset(tx: Tx, code_hash: str, now_ms: int) -> str | None:
    """The user id of an unused, unexpired code (without using it); None otherwise."""
    row = tx.fetchone(
        "SELECT user_id FROM password_resets WHERE code_hash = :h AND NOT used"
        " AND expires_at > :now",
        {"h": code_hash, "now": now_ms},
    )
    return None if row is None else str(row[0])


def revoke_resets(tx: Tx, user_id: str) -> None:
    """Use up every outstanding code of `user_id` (their password was just set)."""
    tx.execute(
        "UPDATE password_resets SET used = TRUE WHERE user_id = :u AND NOT used", {"u": user_id}
    )
