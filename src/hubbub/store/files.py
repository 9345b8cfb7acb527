"""Upload queries: uploads, attachments (uploads with a message), and the storage keys doomed
when their rows go (deleted from storage after the commit; see services/files.py)."""

from __future__ import annotations

from hubbub.models import Attachment, Upload
from hubbub.store.engine import Row, Tx

__all__ = [
    "THUMB_SUFFIX",
    "attach",
    "attachments_of",
    "bytes_used",
    "doom",
    "doom_message_files",
    "doom_user_files",
    "find_upload",
    "forget_doomed",
    "insert_upload",
    "list_attached_by_user",
    "list_doomed",
    "purge_orphans",
    "swap_avatar",
]

THUMB_SUFFIX = ".thumb"
_COLUMNS = (
    "f.id, f.room_id, f.user_id, f.filename, f.content_type, f.size, f.sha256, f.created_at,"
    " f.width, f.height, f.thumb_width, f.message_id"
)


def _upload(row: Row) -> Upload:
    return Upload(
        id=row[0],
        room_id=row[1],
        user_id=row[2],
        filename=row[3],
        content_type=row[4],
        size=int(row[5]),
        sha256=row[6],
        created_at=int(row[7]),
        width=None if row[8] is None else int(row[8]),
        height=None if row[9] is None else int(row[9]),
        has_thumbnail=row[10] is not None,
        message_id=row[11],
    )


def insert_upload(tx: Tx, upload: Upload, thumb: tuple[int, int] | None) -> None:
    tx.execute(
        "INSERT INTO uploads (id, room_id, user_id, filename, content_type, size, sha256,"
        " width, height, thumb_width, thumb_height, created_at) VALUES (:id, :room, :user,"
        " :name, :type, :size, :sha, :w, :h, :tw, :th, :at)",
        {
            "id": upload.id,
            "room": upload.room_id,
            "user": upload.user_id,
            "name": upload.filename,
            "type": upload.content_type,
            "size": upload.size,
            "sha": upload.sha256,
            "w": upload.width,
            "h": upload.height,
            "tw": thumb[0] if thumb else None,
            "th": thumb[1] if thumb else None,
            "at": upload.created_at,
        },
    )


def find_upload(tx: Tx, upload_id: str) -> Upload | None:
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM uploads f WHERE f.id = :id", {"id": upload_id})
    return None if row is None else _upload(row)


def list_attached_by_user(tx: Tx, user_id: str, after_id: str, limit: int) -> list[Upload]:
    """The uploads `user_id` attached to live messages, after `after_id` in id order, at most
    `limit` (for their data export)."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM uploads f JOIN messages m ON m.id = f.message_id"
        " WHERE f.user_id = :u AND f.id > :after AND m.deleted = FALSE"
        " ORDER BY f.id LIMIT :limit",
        {"u": user_id, "after": after_id, "limit": limit},
    )
    return [_upload(r) for r in rows]


def bytes_used(tx: Tx, user_id: str) -> int:
    """What `user_id`'s uploads (attached or not) add up to, in bytes."""
    row = tx.fetchone("SELECT SUM(size) FROM uploads WHERE user_id = :u", {"u": user_id})
    return int(row[0] or 0) if row else 0


def attach(tx: Tx, upload_ids: list[str], message_id: str) -> None:
    for position, upload_id in enumerate(upload_ids):
        tx.execute(
            "UPDATE uploads SET message_id = :m, position = :p WHERE id = :id",
            {"m": message_id, "p": position, "id": upload_id},
        )


def attachments_of(tx: Tx, where: str, params: dict[str, object]) -> dict[str, list[Attachment]]:
    """The attachments of the messages `where` selects (`m.`-qualified), by message id, in
    their order."""
    found: dict[str, list[Attachment]] = {}
    for row in tx.fetchall(
        f"SELECT {_COLUMNS} FROM uploads f JOIN messages m ON m.id = f.message_id"
        f" WHERE {where} ORDER BY f.message_id, f.position",
        params,
    ):
        found.setdefault(row[11], []).append(_upload(row).attachment)
    return found


def _keys(upload_id: str, has_thumb: bool) -> list[str]:
    return [upload_id, upload_id + THUMB_SUFFIX] if has_thumb else [upload_id]


def doom(tx: Tx, keys: list[str]) -> None:
    """Queue storage objects for deletion after this transaction commits."""
    for key in keys:
        tx.execute("INSERT INTO doomed_files (key) VALUES (:k) ON CONFLICT DO NOTHING", {"k": key})


def _doom_where(tx: Tx, where: str, params: dict[str, object]) -> int:
    rows = tx.fetchall(f"SELECT id, thumb_width FROM uploads WHERE {where}", params)
    for upload_id, thumb in rows:
        doom(tx, _keys(upload_id, thumb is not None))
    if rows:
        tx.execute(f"DELETE FROM uploads WHERE {where}", params)
    return len(rows)


def doom_message_files(tx: Tx, message_id: str) -> int:
    """Delete a message's uploads and queue their bytes (and thumbnails) for deletion."""
    return _doom_where(tx, "message_id = :m", {"m": message_id})


def doom_user_files(tx: Tx, user_id: str, attached_too: bool) -> int:
    """Delete an account's unattached uploads (and, `attached_too`, all of them)."""
    where = "user_id = :u" + ("" if attached_too else " AND message_id IS NULL")
    return _doom_where(tx, where, {"u": user_id})


def purge_orphans(tx: Tx, before_ms: int, limit: int) -> int:
    """Delete up to `limit` uploads never attached and made before `before_ms`."""
    rows = tx.fetchall(
        "SELECT id FROM uploads WHERE message_id IS NULL AND created_at < :before"
        " ORDER BY created_at LIMIT :limit",
        {"before": before_ms, "limit": limit},
    )
    gone = 0
    for (upload_id,) in rows:
        gone += _doom_where(tx, "id = :id", {"id": upload_id})
    return gone


def list_doomed(tx: Tx, limit: int) -> list[str]:
    rows = tx.fetchall("SELECT key FROM doomed_files ORDER BY key LIMIT :limit", {"limit": limit})
    return [r[0] for r in rows]


def forget_doomed(tx: Tx, keys: list[str]) -> None:
    for key in keys:
        tx.execute("DELETE FROM doomed_files WHERE key = :k", {"k": key})


_AVATAR_TABLES = ("users", "rooms")


def swap_avatar(tx: Tx, table: str, owner_id: str, key: str | None) -> bool:
    """Set the avatar of a user or room (`table`) to `key` (None: none), queueing the old
    picture's bytes for deletion; False when there is no such row."""
    assert table in _AVATAR_TABLES
    row = tx.fetchone(f"SELECT avatar FROM {table} WHERE id = :id", {"id": owner_id})
    if row is None:
        return False
    if row[0] is not None and row[0] != key:
        doom(tx, [row[0]])
    tx.execute(f"UPDATE {table} SET avatar = :k WHERE id = :id", {"k": key, "id": owner_id})
    return True
