"""Missed-message email (#18, migration 0019): users' addresses, confirmation links (stored by
hash), the digest queue (ids only) and the per-user sending state."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.models import EmailAddress
from hubbub.store.engine import Tx

__all__ = [
    "DigestItem",
    "count_digest_users",
    "drop_queued",
    "filter_digest_users",
    "find_address",
    "forget_user",
    "hold",
    "insert_confirmation",
    "list_digest_items",
    "list_due_users",
    "list_queued",
    "oldest_queued",
    "queue",
    "release_sent",
    "retry_later",
    "set_address",
    "take_confirmation",
]


@dataclass(frozen=True, slots=True)
class DigestItem:
    """A queued message that is still live and unread, with what a mail shows of it."""

    message_id: str
    room_id: str
    room_name: str
    room_kind: str
    seq: int
    author: str  # display name (or the integration's or guest's name)
    text: str
    created_at: int


def find_address(tx: Tx, user_id: str) -> EmailAddress:
    row = tx.fetchone("SELECT email, email_confirmed FROM users WHERE id = :u", {"u": user_id})
    if row is None:
        return EmailAddress(None, False)
    return EmailAddress(row[0], bool(row[1]))


def set_address(tx: Tx, user_id: str, email: str | None, confirmed: bool) -> None:
    """Replace the user's address; any confirmation link of theirs stops working, and what
    was queued for the old address is dropped."""
    tx.execute(
        "UPDATE users SET email = :e, email_confirmed = :c WHERE id = :u",
        {"e": email, "c": confirmed, "u": user_id},
    )
    tx.execute("DELETE FROM email_confirmations WHERE user_id = :u", {"u": user_id})
    if not confirmed:
        tx.execute("DELETE FROM email_queue WHERE user_id = :u", {"u": user_id})
        tx.execute("DELETE FROM email_sends WHERE user_id = :u", {"u": user_id})


def insert_confirmation(
    tx: Tx, token_hash: str, user_id: str, email: str, expires_at: int, now_ms: int
) -> None:
    tx.execute(
        "INSERT INTO email_confirmations (token_hash, user_id, email, expires_at, created_at)"
        " VALUES (:h, :u, :e, :x, :now)",
        {"h": token_hash, "u": user_id, "e": email, "x": expires_at, "now": now_ms},
    )


def take_confirmation(tx: Tx, token_hash: str, now_ms: int) -> tuple[str, str] | None:
    """Use a live link once: confirm its address (if it is still the user's) and return
    (user_id, email); None for an unknown, used or expired link."""
    row = tx.fetchone(
        "DELETE FROM email_confirmations WHERE token_hash = :h AND expires_at > :now"
        " RETURNING user_id, email",
        {"h": token_hash, "now": now_ms},
    )
    if row is None:
        return None
    user_id, email = str(row[0]), str(row[1])
    changed = tx.execute(
        "UPDATE users SET email_confirmed = TRUE WHERE id = :u AND email = :e"
        " AND deleted_at IS NULL",
        {"u": user_id, "e": email},
    )
    return (user_id, email) if changed else None


def forget_user(tx: Tx, user_id: str) -> None:
    """The account is deleted: its address, links and queue go."""
    set_address(tx, user_id, None, False)


def count_digest_users(tx: Tx) -> int:
    """Users who want digests and have a confirmed address (0: the consumer has no work)."""
    row = tx.fetchone(
        "SELECT COUNT(*) FROM notify_prefs p JOIN users u ON u.id = p.user_id"
        " WHERE p.email = 'digest' AND u.email_confirmed AND u.deleted_at IS NULL"
    )
    return int(row[0]) if row else 0


def filter_digest_users(tx: Tx, user_ids: list[str]) -> set[str]:
    """Those of `user_ids` who want digests and have a confirmed address."""
    if not user_ids:
        return set()
    names = {f"u{i}": u for i, u in enumerate(user_ids)}
    rows = tx.fetchall(
        "SELECT u.id FROM users u JOIN notify_prefs p ON p.user_id = u.id"
        f" WHERE u.id IN ({', '.join(':' + n for n in names)})"
        " AND p.email = 'digest' AND u.email_confirmed AND u.deleted_at IS NULL",
        names,
    )
    return {str(r[0]) for r in rows}


def queue(tx: Tx, user_id: str, message_id: str, queued_at: int) -> None:
    """Queue a message for the user's next digest (idempotent)."""
    tx.execute(
        "INSERT INTO email_queue (user_id, message_id, queued_at) VALUES (:u, :m, :t)"
        " ON CONFLICT DO NOTHING",
        {"u": user_id, "m": message_id, "t": queued_at},
    )


def list_due_users(tx: Tx, cutoff: int, now_ms: int, limit: int) -> list[str]:
    """Users whose oldest queued message was queued at or before `cutoff`, and whose digest
    is neither held by a node nor waiting for a retry."""
    rows = tx.fetchall(
        "SELECT q.user_id FROM email_queue q LEFT JOIN email_sends s ON s.user_id = q.user_id"
        " WHERE s.user_id IS NULL OR (s.next_try_at <= :now AND s.hold_until < :now)"
        " GROUP BY q.user_id HAVING MIN(q.queued_at) <= :cutoff"
        " ORDER BY MIN(q.queued_at) LIMIT :limit",
        {"cutoff": cutoff, "now": now_ms, "limit": limit},
    )
    return [str(r[0]) for r in rows]


def oldest_queued(tx: Tx) -> int | None:
    row = tx.fetchone("SELECT MIN(queued_at) FROM email_queue")
    return None if row is None or row[0] is None else int(row[0])


def hold(tx: Tx, user_id: str, holder: str, now_ms: int, hold_ms: int) -> int | None:
    """Take the user's digest for `holder` until now + hold_ms, unless another node holds it
    or its retry is not due; return the attempts made so far, or None."""
    row = tx.fetchone(
        "INSERT INTO email_sends (user_id, attempts, next_try_at, holder, hold_until)"
        " VALUES (:u, 0, 0, :h, :until)"
        " ON CONFLICT (user_id) DO UPDATE SET holder = :h, hold_until = :until"
        " WHERE email_sends.hold_until < :now AND email_sends.next_try_at <= :now"
        " RETURNING attempts",
        {"u": user_id, "h": holder, "until": now_ms + hold_ms, "now": now_ms},
    )
    return None if row is None else int(row[0])


def list_queued(tx: Tx, user_id: str) -> list[str]:
    rows = tx.fetchall(
        "SELECT message_id FROM email_queue WHERE user_id = :u ORDER BY queued_at, message_id",
        {"u": user_id},
    )
    return [str(r[0]) for r in rows]


def list_digest_items(tx: Tx, user_id: str, message_ids: list[str]) -> list[DigestItem]:
    """Of the queued `message_ids`, those still live, in a room the user is still in, and
    past the user's read marker there (unread), oldest first."""
    if not message_ids:
        return []
    names = {f"m{i}": m for i, m in enumerate(message_ids)}
    rows = tx.fetchall(
        "SELECT m.id, m.room_id, r.name, r.kind, m.seq,"
        " COALESCE(m.sender_name, u.display_name, m.guest_name, ''), m.text, m.created_at"
        " FROM messages m JOIN rooms r ON r.id = m.room_id"
        " JOIN members me ON me.room_id = m.room_id AND me.user_id = :me"
        " LEFT JOIN users u ON u.id = m.author_id"
        f" WHERE m.id IN ({', '.join(':' + n for n in names)})"
        " AND m.deleted = FALSE AND m.seq > me.last_read_seq"
        " ORDER BY m.created_at, m.id",
        {**names, "me": user_id},
    )
    return [
        DigestItem(
            message_id=str(r[0]),
            room_id=str(r[1]),
            room_name=str(r[2]),
            room_kind=str(r[3]),
            seq=int(r[4]),
            author=str(r[5]),
            text=str(r[6]),
            created_at=int(r[7]),
        )
        for r in rows
    ]


def drop_queued(tx: Tx, user_id: str, message_ids: list[str]) -> None:
    """Remove these queue rows (mailed, or skipped as read or deleted)."""
    for message_id in message_ids:
        tx.execute(
            "DELETE FROM email_queue WHERE user_id = :u AND message_id = :m",
            {"u": user_id, "m": message_id},
        )


def release_sent(tx: Tx, user_id: str) -> None:
    """The user's digest is done: what was queued since waits for the next window."""
    tx.execute("DELETE FROM email_sends WHERE user_id = :u", {"u": user_id})


def retry_later(tx: Tx, user_id: str, attempts: int, next_try_at: int) -> None:
    tx.execute(
        "UPDATE email_sends SET attempts = :a, next_try_at = :n, holder = NULL, hold_until = 0"
        " WHERE user_id = :u",
        {"a": attempts, "n": next_try_at, "u": user_id},
    )
