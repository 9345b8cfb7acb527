"""Message storage: append with a gapless per-room seq, history pages, posters."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.clock import Clock
from hubbub.ids import new_id
from hubbub.models import Author, Message
from hubbub.store.engine import Engine, Row, Tx

__all__ = ["MessageStore", "NewMessage", "fetch_message", "insert_message"]

MESSAGE_COLUMNS = (
    "m.id, m.room_id, m.seq, m.author_id, u.username, u.display_name, m.guest_name, m.text,"
    " m.created_at, m.edited_at, m.deleted, m.reply_to"
)
MESSAGE_FROM = "messages m LEFT JOIN users u ON u.id = m.author_id"


def message_from_row(row: Row) -> Message:
    author_id, username, display_name, guest_name = row[3], row[4], row[5], row[6]
    if author_id is None:
        author = Author(id=None, username=None, display_name=guest_name, guest=True)
    else:
        author = Author(id=author_id, username=username, display_name=display_name, guest=False)
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
    )


@dataclass(frozen=True, slots=True)
class NewMessage:
    room_id: str
    text: str
    author_id: str | None = None
    guest_name: str | None = None
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
    if row is None:
        raise LookupError(new.room_id)
    seq, created_at = int(row[0]), int(row[1])
    message_id = new_id("m")
    tx.execute(
        "INSERT INTO messages (id, room_id, seq, author_id, guest_name, text, reply_to, created_at)"
        " VALUES (:id, :room, :seq, :author, :guest, :text, :reply, :at)",
        {
            "id": message_id,
            "room": new.room_id,
            "seq": seq,
            "author": new.author_id,
            "guest": new.guest_name,
            "text": new.text,
            "reply": new.reply_to,
            "at": created_at,
        },
    )
    if new.author_id is not None:
        author_row = tx.fetchone(
            "SELECT username, display_name FROM users WHERE id = :id", {"id": new.author_id}
        )
        assert author_row is not None
        author = Author(
            id=new.author_id, username=author_row[0], display_name=author_row[1], guest=False
        )
    else:
        author = Author(id=None, username=None, display_name=new.guest_name or "", guest=True)
    tx.execute(
        "INSERT INTO posters (room_id, name, first_seq) VALUES (:room, :name, :seq)"
        " ON CONFLICT DO NOTHING",
        {"room": new.room_id, "name": author.name, "seq": seq},
    )
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
    )


def fetch_message(tx: Tx, message_id: str) -> Message | None:
    row = tx.fetchone(
        f"SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = :id", {"id": message_id}
    )
    return None if row is None else message_from_row(row)


class MessageStore:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def append(self, new: NewMessage) -> Message:
        """Commit a new message and return it with its seq and server timestamp."""
        return await self._engine.write(lambda tx: insert_message(tx, new, self._clock.now_ms()))

    async def list_latest(self, room_id: str, limit: int) -> list[Message]:
        """The newest `limit` messages of a room, ascending by seq."""

        def q(tx: Tx) -> list[Message]:
            rows = tx.fetchall(
                f"SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.room_id = :room"
                " ORDER BY m.seq DESC LIMIT :limit",
                {"room": room_id, "limit": limit},
            )
            return [message_from_row(r) for r in reversed(rows)]

        return await self._engine.read(q)

    async def list_posters(self, room_id: str) -> list[str]:
        """Names that have posted in a room, each once, in order of first post."""

        def q(tx: Tx) -> list[str]:
            rows = tx.fetchall(
                "SELECT name FROM posters WHERE room_id = :room ORDER BY first_seq",
                {"room": room_id},
            )
            return [r[0] for r in rows]

        return await self._engine.read(q)
