"""Data exports: one per account, its status, and its zip stored in chunks (so any node can
serve it, and no node holds it in memory)."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.store.engine import Tx

__all__ = [
    "ExportRow",
    "claim_next",
    "discard",
    "find_export",
    "mark_ready",
    "purge_expired",
    "read_chunk",
    "request_export",
    "write_chunk",
]


@dataclass(frozen=True, slots=True)
class ExportRow:
    user_id: str
    status: str  # pending | building | ready
    requested_at: int
    ready_at: int | None
    expires_at: int | None
    size: int | None


_COLUMNS = "user_id, status, requested_at, ready_at, expires_at, size"


def _row(row: tuple[object, ...]) -> ExportRow:
    return ExportRow(
        str(row[0]),
        str(row[1]),
        int(str(row[2])),
        None if row[3] is None else int(str(row[3])),
        None if row[4] is None else int(str(row[4])),
        None if row[5] is None else int(str(row[5])),
    )


def find_export(tx: Tx, user_id: str) -> ExportRow | None:
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM exports WHERE user_id = :u", {"u": user_id})
    return None if row is None else _row(tuple(row))


def request_export(tx: Tx, user_id: str, now_ms: int) -> None:
    """A new export for `user_id`, replacing any earlier one."""
    discard(tx, user_id)
    tx.execute(
        "INSERT INTO exports (user_id, status, requested_at) VALUES (:u, 'pending', :now)",
        {"u": user_id, "now": now_ms},
    )


def claim_next(tx: Tx, now_ms: int, stale_ms: int) -> ExportRow | None:
    """Take the oldest pending export (or one whose builder stopped more than `stale_ms`
    ago) for this node to build."""
    row = tx.fetchone(
        f"SELECT {_COLUMNS} FROM exports WHERE status = 'pending'"
        " OR (status = 'building' AND claimed_at < :stale) ORDER BY requested_at LIMIT 1",
        {"stale": now_ms - stale_ms},
    )
    if row is None:
        return None
    export = _row(tuple(row))
    tx.execute("DELETE FROM export_chunks WHERE user_id = :u", {"u": export.user_id})
    tx.execute(
        "UPDATE exports SET status = 'building', claimed_at = :now WHERE user_id = :u",
        {"now": now_ms, "u": export.user_id},
    )
    return export


def write_chunk(tx: Tx, user_id: str, requested_at: int, n: int, data: bytes) -> bool:
    """Store chunk `n` of the export being built for the request made at `requested_at`;
    False (nothing stored) if that export was discarded or replaced meanwhile."""
    return (
        tx.execute(
            "INSERT INTO export_chunks (user_id, n, data) SELECT :u, :n, :d WHERE EXISTS"
            " (SELECT 1 FROM exports WHERE user_id = :u AND status = 'building'"
            " AND requested_at = :req)",
            {"u": user_id, "n": n, "d": data, "req": requested_at},
        )
        > 0
    )


def mark_ready(
    tx: Tx, user_id: str, requested_at: int, size: int, now_ms: int, ttl_ms: int
) -> bool:
    """Finish the build; False if the export was discarded or requested again meanwhile."""
    return (
        tx.execute(
            "UPDATE exports SET status = 'ready', ready_at = :now, expires_at = :exp, size = :size"
            " WHERE user_id = :u AND status = 'building' AND requested_at = :req",
            {
                "now": now_ms,
                "exp": now_ms + ttl_ms,
                "size": size,
                "u": user_id,
                "req": requested_at,
            },
        )
        > 0
    )


def read_chunk(tx: Tx, user_id: str, n: int) -> bytes | None:
    row = tx.fetchone(
        "SELECT data FROM export_chunks WHERE user_id = :u AND n = :n", {"u": user_id, "n": n}
    )
    return None if row is None else bytes(row[0])


def discard(tx: Tx, user_id: str) -> None:
    """Remove the account's export and its chunks (redaction: it holds message text)."""
    tx.execute("DELETE FROM export_chunks WHERE user_id = :u", {"u": user_id})
    tx.execute("DELETE FROM exports WHERE user_id = :u", {"u": user_id})


def purge_expired(tx: Tx, now_ms: int) -> int:
    rows = tx.fetchall(
        "SELECT user_id FROM exports WHERE status = 'ready' AND expires_at < :now", {"now": now_ms}
    )
    for (user_id,) in rows:
        discard(tx, user_id)
    return len(rows)
