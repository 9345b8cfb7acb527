"""Idempotency keys: the first answer to (user, key) is stored durably and replayed."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.store.engine import Tx

__all__ = ["StoredAnswer", "find_answer", "purge_answers", "save_answer"]


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    request_hash: str
    status: int
    body: str


def find_answer(tx: Tx, user_id: str, key: str, not_before_ms: int) -> StoredAnswer | None:
    """The stored answer for (user, key) if it is newer than `not_before_ms`."""
    row = tx.fetchone(
        "SELECT request_hash, status, body FROM idempotency_keys"
        " WHERE user_id = :u AND key = :k AND created_at >= :nb",
        {"u": user_id, "k": key, "nb": not_before_ms},
    )
    return None if row is None else StoredAnswer(row[0], int(row[1]), row[2])


def save_answer(tx: Tx, user_id: str, key: str, answer: StoredAnswer, now_ms: int) -> None:
    """Record the answer (replacing an expired one for the same key)."""
    tx.execute(
        "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at)"
        " VALUES (:u, :k, :h, :s, :b, :now)"
        " ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash,"
        " status = excluded.status, body = excluded.body, created_at = excluded.created_at",
        {
            "u": user_id,
            "k": key,
            "h": answer.request_hash,
            "s": answer.status,
            "b": answer.body,
            "now": now_ms,
        },
    )


def purge_answers(tx: Tx, older_than_ms: int) -> int:
    return tx.execute("DELETE FROM idempotency_keys WHERE created_at < :t", {"t": older_than_ms})
