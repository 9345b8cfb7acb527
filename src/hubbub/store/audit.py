"""The audit log: what admins and moderators did, to whom, when and why."""

from __future__ import annotations

from hubbub.models import AuditEntry
from hubbub.store.engine import Tx

__all__ = ["AuditEntry", "insert_entry", "list_entries"]


def insert_entry(tx: Tx, entry: AuditEntry) -> None:
    tx.execute(
        "INSERT INTO audit_log (id, at, actor_id, action, target, reason)"
        " VALUES (:id, :at, :actor, :action, :target, :reason)",
        {
            "id": entry.id,
            "at": entry.at,
            "actor": entry.actor_id,
            "action": entry.action,
            "target": entry.target,
            "reason": entry.reason,
        },
    )


def list_entries(tx: Tx, before: str | None, limit: int) -> list[AuditEntry]:
    """Entries newest first, older than the entry id `before` if given."""
    where = "WHERE a.id < :before" if before is not None else ""
    rows = tx.fetchall(
        "SELECT a.id, a.at, a.actor_id, u.username, a.action, a.target, a.reason"
        f" FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id {where}"
        " ORDER BY a.id DESC LIMIT :limit",
        {"before": before, "limit": limit},
    )
    return [AuditEntry(r[0], int(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]
