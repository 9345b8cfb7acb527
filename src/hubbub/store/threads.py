"""Threads: replies' bookkeeping on their root, participants, followers and their markers."""

from __future__ import annotations

from hubbub.models import ThreadSummary
from hubbub.store.engine import Tx
from hubbub.store.messages import PARTICIPANTS_SHOWN
from hubbub.store.users import USER_COLUMNS, user_from_row

__all__ = [
    "FollowedThread",
    "follow",
    "follow_marker",
    "list_followed",
    "note_reply",
    "recount",
    "set_follow_marker",
    "summary",
    "unfollow",
    "unread_in",
]


def note_reply(tx: Tx, root_id: str, author_id: str | None, at_ms: int) -> None:
    """A live reply was added: count it (under the root row's lock: exact under concurrent
    replies) and note its author as a participant."""
    tx.execute(
        "UPDATE messages SET reply_count = reply_count + 1, last_reply_at = :at WHERE id = :root",
        {"at": at_ms, "root": root_id},
    )
    if author_id is not None:
        tx.execute(
            "INSERT INTO thread_participants (root_id, user_id, first_at) VALUES (:r, :u, :at)"
            " ON CONFLICT DO NOTHING",
            {"r": root_id, "u": author_id, "at": at_ms},
        )


def recount(tx: Tx, root_id: str) -> None:
    """Work the summary out again from the live replies (after a reply was deleted)."""
    tx.execute(
        "UPDATE messages SET reply_count = (SELECT COUNT(*) FROM messages r"
        " WHERE r.thread_root = :root AND r.deleted = FALSE),"
        " last_reply_at = (SELECT MAX(r.created_at) FROM messages r"
        " WHERE r.thread_root = :root AND r.deleted = FALSE) WHERE id = :root",
        {"root": root_id},
    )
    tx.execute("DELETE FROM thread_participants WHERE root_id = :root", {"root": root_id})
    tx.execute(
        "INSERT INTO thread_participants (root_id, user_id, first_at)"
        " SELECT :root, r.author_id, MIN(r.created_at) FROM messages r"
        " WHERE r.thread_root = :root AND r.deleted = FALSE AND r.author_id IS NOT NULL"
        " GROUP BY r.author_id",
        {"root": root_id},
    )


def summary(tx: Tx, root_id: str) -> ThreadSummary:
    row = tx.fetchone(
        "SELECT reply_count, last_reply_at FROM messages WHERE id = :root", {"root": root_id}
    )
    assert row is not None
    users = tx.fetchall(
        f"SELECT {USER_COLUMNS} FROM thread_participants tp JOIN users u ON u.id = tp.user_id"
        " WHERE tp.root_id = :root ORDER BY tp.first_at, tp.user_id LIMIT :n",
        {"root": root_id, "n": PARTICIPANTS_SHOWN},
    )
    return ThreadSummary(
        int(row[0]),
        None if row[1] is None else int(row[1]),
        tuple(user_from_row(u) for u in users),
    )


def follow(tx: Tx, root_id: str, room_id: str, user_id: str, read_seq: int) -> bool:
    """Follow (idempotent); the marker only moves forward. True if newly following."""
    added = (
        tx.execute(
            "INSERT INTO thread_follows (root_id, user_id, room_id, last_read_seq)"
            " VALUES (:r, :u, :room, :seq) ON CONFLICT DO NOTHING",
            {"r": root_id, "u": user_id, "room": room_id, "seq": read_seq},
        )
        > 0
    )
    if not added:
        set_follow_marker(tx, root_id, user_id, read_seq)
    return added


def unfollow(tx: Tx, root_id: str, user_id: str) -> None:
    tx.execute(
        "DELETE FROM thread_follows WHERE root_id = :r AND user_id = :u",
        {"r": root_id, "u": user_id},
    )


def follow_marker(tx: Tx, root_id: str, user_id: str) -> int | None:
    row = tx.fetchone(
        "SELECT last_read_seq FROM thread_follows WHERE root_id = :r AND user_id = :u",
        {"r": root_id, "u": user_id},
    )
    return None if row is None else int(row[0])


def set_follow_marker(tx: Tx, root_id: str, user_id: str, seq: int) -> int:
    """Move the marker forward to `seq` (never back); return where it is."""
    tx.execute(
        "UPDATE thread_follows SET last_read_seq = :seq"
        " WHERE root_id = :r AND user_id = :u AND last_read_seq < :seq",
        {"r": root_id, "u": user_id, "seq": seq},
    )
    return follow_marker(tx, root_id, user_id) or 0


def unread_in(tx: Tx, root_id: str, user_id: str, after_seq: int) -> int:
    """Live replies after `after_seq` not written by `user_id`."""
    row = tx.fetchone(
        "SELECT COUNT(*) FROM messages WHERE thread_root = :r AND seq > :after"
        " AND deleted = FALSE AND (author_id IS NULL OR author_id <> :u)",
        {"r": root_id, "after": after_seq, "u": user_id},
    )
    return int(row[0]) if row else 0


FollowedThread = tuple[str, str, int, int]  # root id, room id, last_read_seq, unread


def list_followed(tx: Tx, user_id: str, unread_only: bool, limit: int) -> list[FollowedThread]:
    """Threads `user_id` follows in rooms they are still in, with their unread replies, the
    most recently replied first."""
    rows = tx.fetchall(
        "SELECT root_id, room_id, last_read_seq, unread FROM (SELECT f.root_id, f.room_id,"
        " f.last_read_seq, root.last_reply_at, (SELECT COUNT(*) FROM messages r"
        " WHERE r.thread_root = f.root_id AND r.seq > f.last_read_seq AND r.deleted = FALSE"
        " AND (r.author_id IS NULL OR r.author_id <> :u)) AS unread"
        " FROM thread_follows f JOIN members m ON m.room_id = f.room_id AND m.user_id = :u"
        " JOIN messages root ON root.id = f.root_id"
        " WHERE f.user_id = :u AND root.reply_count > 0) t"
        + (" WHERE unread > 0" if unread_only else "")
        + " ORDER BY last_reply_at DESC, root_id LIMIT :limit",
        {"u": user_id, "limit": limit},
    )
    return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]
