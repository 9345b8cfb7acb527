"""Room bans: who may not be in a room again, by whom and why."""

from __future__ import annotations

from hubbub.models import Ban
from hubbub.store.engine import Tx
from hubbub.store.users import USER_COLUMNS, user_from_row

__all__ = ["Ban", "delete_ban", "insert_ban", "is_banned", "list_bans"]


def insert_ban(
    tx: Tx, room_id: str, user_id: str, banned_by: str | None, reason: str, now_ms: int
) -> bool:
    """Ban; False if the user was banned already (the first ban and its reason stay)."""
    return (
        tx.execute(
            "INSERT INTO bans (room_id, user_id, banned_by, reason, created_at)"
            " VALUES (:r, :u, :by, :reason, :now) ON CONFLICT DO NOTHING",
            {"r": room_id, "u": user_id, "by": banned_by, "reason": reason, "now": now_ms},
        )
        > 0
    )


def delete_ban(tx: Tx, room_id: str, user_id: str) -> bool:
    return (
        tx.execute(
            "DELETE FROM bans WHERE room_id = :r AND user_id = :u", {"r": room_id, "u": user_id}
        )
        > 0
    )


def list_bans(tx: Tx, room_id: str) -> list[Ban]:
    rows = tx.fetchall(
        f"SELECT b.banned_by, b.reason, b.created_at, {USER_COLUMNS}"
        " FROM bans b JOIN users u ON u.id = b.user_id WHERE b.room_id = :r"
        " ORDER BY b.created_at, u.username_key",
        {"r": room_id},
    )
    return [Ban(user_from_row(r[3:]), r[0], r[1], int(r[2])) for r in rows]


def is_banned(tx: Tx, room_id: str, user_id: str) -> bool:
    row = tx.fetchone(
        "SELECT 1 FROM bans WHERE room_id = :r AND user_id = :u", {"r": room_id, "u": user_id}
    )
    return row is not None
