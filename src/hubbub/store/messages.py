"""Message queries: append with a gapless per-room seq, ranges by seq, edits, tombstones."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.errors import RoomNotFound
from hubbub.ids import new_id
from hubbub.models import Author, Message, ReactionCount
from hubbub.store.engine import Row, Tx

__all__ = [
    "NewMessage",
    "erase_through",
    "find_message",
    "insert_message",
    "list_by_author",
    "list_expired",
    "list_ids_by_author",
    "list_latest_plain",
    "list_posters",
    "list_seq_range",
    "mark_deleted",
    "update_text",
]

_COLUMNS = (
    "m.id, m.room_id, m.seq, m.author_id, u.username, u.display_name, m.guest_name, m.text,"
    " m.created_at, m.edited_at, m.deleted, m.reply_to"
)
_FROM = "messages m LEFT JOIN users u ON u.id = m.author_id"


def _message(row: Row, reactions: tuple[ReactionCount, ...] = ()) -> Message:
    author_id = row[3]
    if author_id is None:
        author = Author(id=None, username=None, display_name=row[6], guest=True)
    else:
        author = Author(id=author_id, username=row[4], display_name=row[5], guest=False)
    deleted = bool(row[10])
    return Message(
        id=row[0],
        room_id=row[1],
        seq=int(row[2]),
        author=author,
        text="" if deleted else row[7],
        created_at=int(row[8]),
        edited_at=None if row[9] is None else int(row[9]),
        deleted=deleted,
        reply_to=row[11],
        reactions=() if deleted else reactions,
    )


@dataclass(frozen=True, slots=True)
class NewMessage:
    room_id: str
    text: str
    author: Author
    reply_to: str | None = None


def insert_message(tx: Tx, new: NewMessage, now_ms: int) -> Message:
    """Append a message. Its seq is the room's next; its time never precedes the previous one.

    The UPDATE on the room row takes that row's write lock until commit, so concurrent appends
    to one room serialise and seqs are gapless in commit order on every engine.
    """
    row = tx.fetchone(
        "UPDATE rooms SET last_seq = last_seq + 1,"
        " last_ts = CASE WHEN last_ts > :now THEN last_ts ELSE :now END"
        " WHERE id = :room RETURNING last_seq, last_ts",
        {"room": new.room_id, "now": now_ms},
    )
    if row is None:  # callers check access first; a room deleted meanwhile is still a 404
        raise RoomNotFound(f"No room {new.room_id!r}")
    seq, created_at = int(row[0]), int(row[1])
    message_id = new_id("m", now_ms)
    tx.execute(
        "INSERT INTO messages (id, room_id, seq, author_id, guest_name, text, reply_to, created_at)"
        " VALUES (:id, :room, :seq, :author, :guest, :text, :reply, :at)",
        {
            "id": message_id,
            "room": new.room_id,
            "seq": seq,
            "author": new.author.id,
            "guest": new.author.display_name if new.author.guest else None,
            "text": new.text,
            "reply": new.reply_to,
            "at": created_at,
        },
    )
    tx.execute(
        "INSERT INTO posters (room_id, name, first_seq) VALUES (:room, :name, :seq)"
        " ON CONFLICT DO NOTHING",
        {"room": new.room_id, "name": new.author.name, "seq": seq},
    )
    return Message(
        id=message_id,
        room_id=new.room_id,
        seq=seq,
        author=new.author,
        text=new.text,
        created_at=created_at,
        edited_at=None,
        deleted=False,
        reply_to=new.reply_to,
    )


def _reactions_by_message(
    tx: Tx, where: str, params: dict[str, object], me: str | None
) -> dict[str, tuple[ReactionCount, ...]]:
    rows = tx.fetchall(
        "SELECT r.message_id, r.emoji, COUNT(*),"
        " MAX(CASE WHEN r.user_id = :me THEN 1 ELSE 0 END), MIN(r.created_at) AS first"
        f" FROM reactions r JOIN messages m ON m.id = r.message_id WHERE {where}"
        " GROUP BY r.message_id, r.emoji ORDER BY first, r.emoji",
        {**params, "me": me},
    )
    found: dict[str, list[ReactionCount]] = {}
    for message_id, emoji, count, mine, _ in rows:
        found.setdefault(message_id, []).append(ReactionCount(emoji, int(count), bool(mine)))
    return {k: tuple(v) for k, v in found.items()}


def find_message(tx: Tx, message_id: str, me: str | None = None) -> Message | None:
    """The message with its reactions (`me` marks the viewer's own), or None."""
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.id = :id", {"id": message_id})
    if row is None:
        return None
    reactions = _reactions_by_message(tx, "m.id = :id", {"id": message_id}, me)
    return _message(row, reactions.get(message_id, ()))


def list_seq_range(tx: Tx, room_id: str, lo: int, hi: int, me: str | None) -> list[Message]:
    """Messages with lo <= seq <= hi, ascending, with reactions."""
    if hi < lo:
        return []
    params = {"room": room_id, "lo": lo, "hi": hi}
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.room_id = :room AND m.seq BETWEEN :lo AND :hi"
        " ORDER BY m.seq",
        params,
    )
    reactions = _reactions_by_message(
        tx, "m.room_id = :room AND m.seq BETWEEN :lo AND :hi", params, me
    )
    return [_message(r, reactions.get(r[0], ())) for r in rows]


def list_posters(tx: Tx, room_id: str) -> list[str]:
    """Names that have posted in a room, each once, in order of first post."""
    rows = tx.fetchall(
        "SELECT name FROM posters WHERE room_id = :room ORDER BY first_seq", {"room": room_id}
    )
    return [r[0] for r in rows]


def update_text(tx: Tx, message_id: str, text: str, now_ms: int) -> None:
    tx.execute(
        "UPDATE messages SET text = :text, edited_at = :now WHERE id = :id",
        {"text": text, "now": now_ms, "id": message_id},
    )


def mark_deleted(tx: Tx, message_id: str) -> None:
    """Turn a message into a tombstone: its seq stays, its text and reactions go."""
    tx.execute("UPDATE messages SET deleted = TRUE, text = '' WHERE id = :id", {"id": message_id})
    tx.execute("DELETE FROM reactions WHERE message_id = :id", {"id": message_id})


def count_unread(tx: Tx, room_id: str, user_id: str, after_seq: int) -> int:
    """Messages after `after_seq` that are not deleted and not written by `user_id`."""
    row = tx.fetchone(
        "SELECT COUNT(*) FROM messages WHERE room_id = :room AND seq > :after"
        " AND deleted = FALSE AND (author_id IS NULL OR author_id <> :me)",
        {"room": room_id, "after": after_seq, "me": user_id},
    )
    return int(row[0]) if row else 0


def list_latest_plain(tx: Tx, room_id: str, limit: int) -> list[tuple[int, str, str]]:
    """(created_at, author name, text) of the newest `limit` live messages, oldest first.

    The lean shape the classic API lists, without building a Message per row.
    """
    rows = tx.fetchall(
        "SELECT m.created_at, COALESCE(u.username, m.guest_name), m.text"
        f" FROM {_FROM} WHERE m.room_id = :room AND m.deleted = FALSE"
        " ORDER BY m.seq DESC LIMIT :limit",
        {"room": room_id, "limit": limit},
    )
    return [(int(r[0]), str(r[1]), str(r[2])) for r in reversed(rows)]


def list_ids_by_author(tx: Tx, user_id: str, after_id: str, limit: int) -> list[str]:
    """Ids of the messages `user_id` wrote, after `after_id` in id order, at most `limit`."""
    rows = tx.fetchall(
        "SELECT id FROM messages WHERE author_id = :u AND id > :after ORDER BY id LIMIT :limit",
        {"u": user_id, "after": after_id, "limit": limit},
    )
    return [r[0] for r in rows]


def list_by_author(tx: Tx, user_id: str, after_id: str, limit: int) -> list[tuple[Message, str]]:
    """The live messages `user_id` wrote, with their room's name, after `after_id` in id
    order, at most `limit` (for their data export)."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS}, r.name FROM {_FROM} JOIN rooms r ON r.id = m.room_id"
        " WHERE m.author_id = :u AND m.id > :after AND m.deleted = FALSE"
        " ORDER BY m.id LIMIT :limit",
        {"u": user_id, "after": after_id, "limit": limit},
    )
    return [(_message(r), str(r[12])) for r in rows]


def list_expired(tx: Tx, room_id: str, after_seq: int, before_ms: int, limit: int) -> list[Message]:
    """The room's oldest messages (seq > after_seq) created before `before_ms`, by seq, at
    most `limit`. Times never go back within a room, so these are a run of seqs."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.room_id = :room AND m.seq > :after"
        " AND m.created_at < :before ORDER BY m.seq LIMIT :limit",
        {"room": room_id, "after": after_seq, "before": before_ms, "limit": limit},
    )
    return [_message(r) for r in rows]


def erase_through(tx: Tx, room_id: str, after_seq: int, upto_seq: int) -> int:
    """Remove the room's messages with after_seq < seq <= upto_seq for good (with their
    reactions) and note that history now starts after upto_seq; return how many went."""
    params = {"room": room_id, "after": after_seq, "upto": upto_seq}
    tx.execute(
        "DELETE FROM reactions WHERE message_id IN (SELECT id FROM messages"
        " WHERE room_id = :room AND seq > :after AND seq <= :upto)",
        params,
    )
    gone = tx.execute(
        "DELETE FROM messages WHERE room_id = :room AND seq > :after AND seq <= :upto", params
    )
    tx.execute(
        "UPDATE rooms SET pruned_seq = :upto WHERE id = :room AND pruned_seq < :upto", params
    )
    return gone
