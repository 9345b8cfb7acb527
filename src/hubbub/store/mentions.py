"""Mention rows: who a message mentions (by @username, or @here while connected)."""

from __future__ import annotations

from collections.abc import Iterable

from hubbub.models import Message
from hubbub.store.engine import Tx

__all__ = ["clear", "insert", "member_ids", "members_among", "resolve_members", "set_flags"]


def clear(tx: Tx, message_id: str) -> None:
    tx.execute("DELETE FROM message_mentions WHERE message_id = :m", {"m": message_id})


def resolve_members(tx: Tx, room_id: str, usernames: Iterable[str]) -> list[str]:
    """Ids of the room's members among casefolded `usernames`."""
    keys = list(usernames)
    if not keys:
        return []
    names = {f"k{i}": k for i, k in enumerate(keys)}
    rows = tx.fetchall(
        "SELECT u.id FROM users u JOIN members m ON m.user_id = u.id AND m.room_id = :room"
        f" WHERE u.deleted_at IS NULL AND u.username_key IN ({', '.join(':' + k for k in names)})",
        {"room": room_id, **names},
    )
    return [r[0] for r in rows]


def member_ids(tx: Tx, room_id: str) -> list[str]:
    return [
        r[0] for r in tx.fetchall("SELECT user_id FROM members WHERE room_id = :r", {"r": room_id})
    ]


def members_among(tx: Tx, room_id: str, user_ids: Iterable[str]) -> list[str]:
    wanted = set(user_ids)
    return sorted(u for u in member_ids(tx, room_id) if u in wanted)


def insert(tx: Tx, message: Message, user_ids: Iterable[str], kind: str) -> None:
    for user_id in user_ids:
        tx.execute(
            "INSERT INTO message_mentions (message_id, user_id, room_id, seq, kind)"
            " VALUES (:m, :u, :r, :s, :k) ON CONFLICT DO NOTHING",
            {"m": message.id, "u": user_id, "r": message.room_id, "s": message.seq, "k": kind},
        )


def set_flags(tx: Tx, message_id: str, room: bool, here: bool) -> None:
    tx.execute(
        "UPDATE messages SET mention_room = :room, mention_here = :here WHERE id = :m",
        {"room": room, "here": here, "m": message_id},
    )
