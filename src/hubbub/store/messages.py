"""Message queries: append with a gapless per-room seq, ranges by seq, edits, tombstones."""

from __future__ import annotations

from dataclasses import dataclass, replace

import orjson

from hubbub.codec import cards_from, cards_to
from hubbub.errors import RoomNotFound
from hubbub.ids import new_id
from hubbub.models import (
    NO_MENTIONS,
    Attachment,
    Author,
    Card,
    Mentions,
    Message,
    ReactionCount,
    ThreadSummary,
    User,
)
from hubbub.store import search
from hubbub.store.engine import Row, Tx
from hubbub.store.files import attachments_of
from hubbub.store.users import USER_COLUMNS, user_from_row

__all__ = [
    "MENTIONED",
    "MENTIONS_ME",
    "UNREAD",
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
    "list_where",
    "mark_deleted",
    "set_pinned",
    "update_text",
]

# What counts as unread for the viewer `:me` (a message `x` after their marker): live, not
# theirs, and in the room's timeline (a thread reply counts only if also sent to the room).
UNREAD = (
    "x.deleted = FALSE AND (x.author_id IS NULL OR x.author_id <> :me)"
    " AND (x.thread_root IS NULL OR x.also_to_room)"
)
# ... and mentions them: @room, or a mention row (@username, or @here while connected).
MENTIONED = (
    "(x.mention_room OR EXISTS (SELECT 1 FROM message_mentions mm"
    " WHERE mm.message_id = x.id AND mm.user_id = :me))"
)
# A mention counts even in a reply that stays in its thread.
MENTIONS_ME = "x.deleted = FALSE AND (x.author_id IS NULL OR x.author_id <> :me) AND " + MENTIONED

_COLUMNS = (
    "m.id, m.room_id, m.seq, m.author_id, u.username, u.display_name, m.guest_name, m.text,"
    " m.created_at, m.edited_at, m.deleted, m.reply_to, m.mention_room, m.mention_here,"
    " m.thread_root, m.also_to_room, m.reply_count, m.last_reply_at, m.pinned_at,"
    " u.kind, m.sender_name, m.cards, u.avatar"
)
PARTICIPANTS_SHOWN = 5
_FROM = "messages m LEFT JOIN users u ON u.id = m.author_id"


@dataclass(frozen=True, slots=True)
class _Extras:
    """What a page of messages needs besides its rows, by message id."""

    reactions: dict[str, tuple[ReactionCount, ...]]
    mentioned: dict[str, tuple[str, ...]]
    participants: dict[str, tuple[User, ...]]
    attachments: dict[str, list[Attachment]]


_NO_EXTRAS = _Extras({}, {}, {}, {})


def _message(row: Row, extras: _Extras = _NO_EXTRAS) -> Message:
    author_id = row[3]
    if author_id is None:
        author = Author(id=None, username=None, display_name=row[6], guest=True)
    else:
        author = Author(
            id=author_id,
            username=row[4],
            display_name=row[20] or row[5],  # an integration's name for this message
            guest=False,
            bot=row[19] == "bot",
            avatar=row[22],
        )
    deleted = bool(row[10])
    message_id = row[0]
    reply_count = int(row[16])
    thread = None
    if reply_count or row[17] is not None:
        thread = ThreadSummary(
            reply_count,
            None if row[17] is None else int(row[17]),
            extras.participants.get(message_id, ()),
        )
    mentions = NO_MENTIONS
    if not deleted and (row[12] or row[13] or message_id in extras.mentioned):
        mentions = Mentions(extras.mentioned.get(message_id, ()), bool(row[12]), bool(row[13]))
    return Message(
        id=message_id,
        room_id=row[1],
        seq=int(row[2]),
        author=author,
        text="" if deleted else row[7],
        created_at=int(row[8]),
        edited_at=None if row[9] is None else int(row[9]),
        deleted=deleted,
        reply_to=row[11],
        reactions=() if deleted else extras.reactions.get(message_id, ()),
        mentions=mentions,
        thread_root=row[14],
        also_to_room=bool(row[15]),
        thread=thread,
        pinned_at=None if row[18] is None else int(row[18]),
        cards=() if deleted or not row[21] else cards_from(orjson.loads(row[21])),
        attachments=() if deleted else tuple(extras.attachments.get(message_id, ())),
    )


@dataclass(frozen=True, slots=True)
class NewMessage:
    room_id: str
    text: str
    author: Author
    reply_to: str | None = None
    thread_root: str | None = None
    also_to_room: bool = False
    mention_room: bool = False
    mention_here: bool = False
    sender_name: str | None = None  # an integration's name for this message
    cards: tuple[Card, ...] = ()


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
        "INSERT INTO messages (id, room_id, seq, author_id, guest_name, text, reply_to,"
        " created_at, thread_root, also_to_room, mention_room, mention_here, sender_name, cards)"
        " VALUES (:id, :room, :seq, :author, :guest, :text, :reply, :at, :root, :also,"
        " :m_room, :m_here, :sender, :cards)",
        {
            "id": message_id,
            "room": new.room_id,
            "seq": seq,
            "author": new.author.id,
            "guest": new.author.display_name if new.author.guest else None,
            "text": new.text,
            "reply": new.reply_to,
            "at": created_at,
            "root": new.thread_root,
            "also": new.also_to_room,
            "m_room": new.mention_room,
            "m_here": new.mention_here,
            "sender": new.sender_name,
            "cards": orjson.dumps(cards_to(new.cards)).decode() if new.cards else None,
        },
    )
    tx.execute(
        "INSERT INTO posters (room_id, name, first_seq) VALUES (:room, :name, :seq)"
        " ON CONFLICT DO NOTHING",
        {"room": new.room_id, "name": new.author.name, "seq": seq},
    )
    author = new.author
    if new.sender_name:
        author = replace(author, display_name=new.sender_name)
    search.index(tx, search.Entry(message_id, new.room_id, new.author.id, created_at), new.text)
    return Message(
        id=message_id,
        room_id=new.room_id,
        seq=seq,
        author=author,
        text=new.text,
        created_at=created_at,
        edited_at=None,
        deleted=False,
        reply_to=new.reply_to,
        thread_root=new.thread_root,
        also_to_room=new.also_to_room,
        cards=new.cards,
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


def _extras(
    tx: Tx, rows: list[Row], where: str, params: dict[str, object], me: str | None
) -> _Extras:
    """Reactions, @username mentions, thread participants and attachments of the messages
    `where` selects (`m.`-qualified), in four queries whatever the page's size."""
    if not rows:
        return _NO_EXTRAS
    reactions = _reactions_by_message(tx, where, params, me)
    mentioned: dict[str, list[str]] = {}
    if any(r[12] or r[13] or "@" in (r[7] or "") for r in rows):
        for message_id, user_id in tx.fetchall(
            "SELECT mm.message_id, mm.user_id FROM message_mentions mm"
            f" JOIN messages m ON m.id = mm.message_id WHERE {where} AND mm.kind = 'user'"
            " ORDER BY mm.message_id, mm.user_id",
            params,
        ):
            mentioned.setdefault(message_id, []).append(user_id)
    participants: dict[str, list[User]] = {}
    if any(int(r[16]) for r in rows):
        for found in tx.fetchall(
            f"SELECT tp.root_id, {USER_COLUMNS} FROM thread_participants tp"
            " JOIN messages m ON m.id = tp.root_id JOIN users u ON u.id = tp.user_id"
            f" WHERE {where} AND m.reply_count > 0 ORDER BY tp.root_id, tp.first_at",
            params,
        ):
            users = participants.setdefault(found[0], [])
            if len(users) < PARTICIPANTS_SHOWN:
                users.append(user_from_row(found[1:]))
    return _Extras(
        reactions,
        {k: tuple(v) for k, v in mentioned.items()},
        {k: tuple(v) for k, v in participants.items()},
        attachments_of(tx, where, params),
    )


def find_message(tx: Tx, message_id: str, me: str | None = None) -> Message | None:
    """The message with its reactions (`me` marks the viewer's own), mentions and thread,
    or None."""
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.id = :id", {"id": message_id})
    if row is None:
        return None
    return _message(row, _extras(tx, [row], "m.id = :id", {"id": message_id}, me))


def list_seq_range(tx: Tx, room_id: str, lo: int, hi: int, me: str | None) -> list[Message]:
    """Messages with lo <= seq <= hi, ascending, with reactions, mentions and threads."""
    if hi < lo:
        return []
    params = {"room": room_id, "lo": lo, "hi": hi}
    where = "m.room_id = :room AND m.seq BETWEEN :lo AND :hi"
    rows = tx.fetchall(f"SELECT {_COLUMNS} FROM {_FROM} WHERE {where} ORDER BY m.seq", params)
    extras = _extras(tx, rows, where, params, me)
    return [_message(r, extras) for r in rows]


def list_where(
    tx: Tx, where: str, params: dict[str, object], order: str, limit: int, me: str | None
) -> list[Message]:
    """Messages matching `where` (m.-qualified SQL of this module's callers, never user
    input), in `order`, at most `limit`, with reactions, mentions and threads."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE {where} ORDER BY {order} LIMIT :limit",
        {**params, "limit": limit},
    )
    if not rows:
        return []
    ids = {f"id{i}": r[0] for i, r in enumerate(rows)}
    in_page = f"m.id IN ({', '.join(':' + k for k in ids)})"
    extras = _extras(tx, rows, in_page, dict(ids), me)
    return [_message(r, extras) for r in rows]


def list_posters(tx: Tx, room_id: str) -> list[str]:
    """Names that have posted in a room, each once, in order of first post."""
    rows = tx.fetchall(
        "SELECT name FROM posters WHERE room_id = :room ORDER BY first_seq", {"room": room_id}
    )
    return [r[0] for r in rows]


def update_text(tx: Tx, message_id: str, text: str, now_ms: int) -> None:
    """Replace a message's text; the search index follows (only the new text is found)."""
    tx.execute(
        "UPDATE messages SET text = :text, edited_at = :now WHERE id = :id",
        {"text": text, "now": now_ms, "id": message_id},
    )
    search.reindex(tx, message_id, text)


def mark_deleted(tx: Tx, message_id: str) -> None:
    """Turn a message into a tombstone: its seq stays, its text, reactions, mentions and pin
    go, and it leaves the search index."""
    search.unindex(tx, message_id)
    tx.execute(
        "UPDATE messages SET deleted = TRUE, text = '', mention_room = FALSE,"
        " mention_here = FALSE, pinned_at = NULL, pinned_by = NULL, cards = NULL"
        " WHERE id = :id",
        {"id": message_id},
    )
    tx.execute("DELETE FROM reactions WHERE message_id = :id", {"id": message_id})
    tx.execute("DELETE FROM message_mentions WHERE message_id = :id", {"id": message_id})


def set_pinned(tx: Tx, message_id: str, at_ms: int | None, by: str | None) -> None:
    tx.execute(
        "UPDATE messages SET pinned_at = :at, pinned_by = :by WHERE id = :id",
        {"at": at_ms, "by": by, "id": message_id},
    )


def count_unread(tx: Tx, room_id: str, user_id: str, after_seq: int) -> tuple[int, int]:
    """(unread, mentions): messages after `after_seq` that count as unread for `user_id`,
    and those of them that mention them."""
    row = tx.fetchone(
        f"SELECT SUM(CASE WHEN {UNREAD} THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN {MENTIONS_ME} THEN 1 ELSE 0 END) FROM messages x"
        " WHERE x.room_id = :room AND x.seq > :after",
        {"room": room_id, "after": after_seq, "me": user_id},
    )
    return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


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
    return [(_message(r), str(r[-1])) for r in rows]


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
    reactions and their search index entries) and note that history now starts after
    upto_seq; return how many went."""
    params = {"room": room_id, "after": after_seq, "upto": upto_seq}
    search.unindex_range(tx, room_id, after_seq, upto_seq)
    doomed = "(SELECT id FROM messages WHERE room_id = :room AND seq > :after AND seq <= :upto)"
    for table, column in (
        ("reactions", "message_id"),
        ("message_mentions", "message_id"),
        ("thread_participants", "root_id"),
        ("thread_follows", "root_id"),
    ):
        tx.execute(f"DELETE FROM {table} WHERE {column} IN {doomed}", params)
    gone = tx.execute(
        "DELETE FROM messages WHERE room_id = :room AND seq > :after AND seq <= :upto", params
    )
    tx.execute(
        "UPDATE rooms SET pruned_seq = :upto WHERE id = :room AND pruned_seq < :upto", params
    )
    return gone
