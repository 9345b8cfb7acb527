"""Idempotency keys: the first answer to (user, key) is stored durably and replayed.

The answer is the message as first sent, stored as a versioned domain payload (hubbub.codec),
so the web layer renders a replay exactly as it rendered the first answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from hubbub import codec
from hubbub.models import Message
from hubbub.store.engine import Tx

__all__ = [
    "REDACTED",
    "StoredAnswer",
    "delete_answers_for",
    "find_answer",
    "purge_answers",
    "rewrite_answers_for",
    "save_answer",
]

_VERSION = 1
REDACTED = "redacted"
"""The request hash of an answer whose message was edited or deleted since."""


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    request_hash: str
    message: Message


def find_answer(tx: Tx, user_id: str, key: str, not_before_ms: int) -> StoredAnswer | None:
    """The stored answer for (user, key) if it is newer than `not_before_ms`."""
    row = tx.fetchone(
        "SELECT request_hash, body FROM idempotency_keys"
        " WHERE user_id = :u AND key = :k AND created_at >= :nb",
        {"u": user_id, "k": key, "nb": not_before_ms},
    )
    if row is None:
        return None
    payload = orjson.loads(row[1])
    if payload.get("v") != _VERSION:
        raise ValueError(f"stored answer version {payload.get('v')!r} is not {_VERSION}")
    return StoredAnswer(row[0], codec.message_from(payload["message"]))


def save_answer(tx: Tx, user_id: str, key: str, answer: StoredAnswer, now_ms: int) -> None:
    """Record the answer (replacing an expired one for the same key)."""
    body = orjson.dumps({"v": _VERSION, "message": codec.message_to(answer.message)}).decode()
    tx.execute(
        "INSERT INTO idempotency_keys (user_id, key, request_hash, body, message_id, created_at)"
        " VALUES (:u, :k, :h, :b, :m, :now)"
        " ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash,"
        " body = excluded.body, message_id = excluded.message_id,"
        " created_at = excluded.created_at",
        {
            "u": user_id,
            "k": key,
            "h": answer.request_hash,
            "b": body,
            "m": answer.message.id,
            "now": now_ms,
        },
    )


def rewrite_answers_for(tx: Tx, message: Message) -> int:
    """Replace the stored answers about `message` with its current form (redaction: after an
    edit or a delete, a replay must not bring the old text back). The request's hash goes
    too (it is a hash of the old text): a retry with that key then gets the current form,
    whatever its body (REDACTED)."""
    body = orjson.dumps({"v": _VERSION, "message": codec.message_to(message)}).decode()
    return tx.execute(
        "UPDATE idempotency_keys SET body = :b, request_hash = :h WHERE message_id = :m",
        {"b": body, "h": REDACTED, "m": message.id},
    )


def delete_answers_for(tx: Tx, message_id: str) -> int:
    """Forget the stored answers about a message that no longer exists (retention)."""
    return tx.execute("DELETE FROM idempotency_keys WHERE message_id = :m", {"m": message_id})


def purge_answers(tx: Tx, older_than_ms: int) -> int:
    return tx.execute("DELETE FROM idempotency_keys WHERE created_at < :t", {"t": older_than_ms})
