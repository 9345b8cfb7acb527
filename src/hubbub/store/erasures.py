"""Account erasure: the pending jobs, and the personal rows removed at once."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.store.engine import Tx

__all__ = [
    "Erasure",
    "advance",
    "find_erasure",
    "finish",
    "forget_personal",
    "insert_erasure",
    "list_erasures",
]


@dataclass(frozen=True, slots=True)
class Erasure:
    user_id: str
    erase_messages: bool
    phase: str  # "messages", then "events"
    after: str  # the last message id, or event position, done


def insert_erasure(tx: Tx, user_id: str, erase_messages: bool, now_ms: int) -> None:
    tx.execute(
        "INSERT INTO erasures (user_id, erase_messages, phase, done_upto, requested_at)"
        " VALUES (:u, :erase, 'messages', '', :now)"
        " ON CONFLICT (user_id) DO UPDATE SET erase_messages = excluded.erase_messages,"
        " phase = 'messages', done_upto = ''",
        {"u": user_id, "erase": erase_messages, "now": now_ms},
    )


def find_erasure(tx: Tx, user_id: str) -> Erasure | None:
    row = tx.fetchone(
        "SELECT user_id, erase_messages, phase, done_upto FROM erasures WHERE user_id = :u",
        {"u": user_id},
    )
    return None if row is None else Erasure(row[0], bool(row[1]), row[2], row[3])


def list_erasures(tx: Tx, user_id: str | None = None) -> list[str]:
    """The accounts with erasure work left (just `user_id`'s, if given)."""
    if user_id is not None:
        rows = tx.fetchall("SELECT user_id FROM erasures WHERE user_id = :u", {"u": user_id})
    else:
        rows = tx.fetchall("SELECT user_id FROM erasures ORDER BY requested_at")
    return [r[0] for r in rows]


def advance(tx: Tx, user_id: str, phase: str, after: str) -> None:
    tx.execute(
        "UPDATE erasures SET phase = :phase, done_upto = :after WHERE user_id = :u",
        {"phase": phase, "after": after, "u": user_id},
    )


def finish(tx: Tx, user_id: str) -> None:
    tx.execute("DELETE FROM erasures WHERE user_id = :u", {"u": user_id})


def forget_personal(tx: Tx, user_id: str, old_username: str, placeholder: str) -> None:
    """Everything personal of a deleted account that goes in the deleting transaction:
    password-reset links, its invites (revoked), its stored idempotent answers, its export,
    its slash commands' response URLs, and its username in the classic API's list of
    posters."""
    params = {"u": user_id, "old": old_username, "new": placeholder}
    tx.execute("DELETE FROM password_resets WHERE user_id = :u", params)
    tx.execute("UPDATE invites SET revoked = TRUE WHERE created_by = :u", params)
    tx.execute("DELETE FROM idempotency_keys WHERE user_id = :u", params)
    tx.execute("DELETE FROM export_chunks WHERE user_id = :u", params)
    tx.execute("DELETE FROM exports WHERE user_id = :u", params)
    tx.execute("DELETE FROM command_responses WHERE user_id = :u", params)
    tx.execute("UPDATE posters SET name = :new WHERE name = :old", params)
