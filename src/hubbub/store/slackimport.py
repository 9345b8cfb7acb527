"""Slack import queries: the map of imported Slack ids to hubbub ids (what makes a second run
add nothing), and the few writes an imported message needs besides an ordinary insert."""

from __future__ import annotations

from typing import Literal

from hubbub.store.engine import Tx

__all__ = [
    "Kind",
    "find_mapped",
    "list_mapped",
    "map_id",
    "mark_imported_read",
    "set_edited_at",
]

Kind = Literal["user", "bot", "conversation", "message", "file"]


def find_mapped(tx: Tx, kind: Kind, slack_id: str) -> str | None:
    """The hubbub id the Slack object became, or None if it was never imported."""
    row = tx.fetchone(
        "SELECT hubbub_id FROM slack_imports WHERE kind = :kind AND slack_id = :id",
        {"kind": kind, "id": slack_id},
    )
    return None if row is None else str(row[0])


def list_mapped(tx: Tx, kind: Kind, slack_ids: list[str]) -> dict[str, str]:
    """Slack id -> hubbub id, for those of `slack_ids` already imported (one query)."""
    if not slack_ids:
        return {}
    names = {f"s{i}": s for i, s in enumerate(slack_ids)}
    rows = tx.fetchall(
        "SELECT slack_id, hubbub_id FROM slack_imports WHERE kind = :kind"
        f" AND slack_id IN ({', '.join(':' + k for k in names)})",
        {"kind": kind, **names},
    )
    return {str(r[0]): str(r[1]) for r in rows}


def map_id(tx: Tx, kind: Kind, slack_id: str, hubbub_id: str, now_ms: int) -> None:
    """Remember what the Slack object became (in the transaction that created it)."""
    tx.execute(
        "INSERT INTO slack_imports (kind, slack_id, hubbub_id, created_at)"
        " VALUES (:kind, :id, :hubbub, :now)",
        {"kind": kind, "id": slack_id, "hubbub": hubbub_id, "now": now_ms},
    )


def set_edited_at(tx: Tx, message_id: str, at_ms: int) -> None:
    """An imported message's original edit time (its text is already the edited one)."""
    tx.execute(
        "UPDATE messages SET edited_at = :at WHERE id = :id", {"at": at_ms, "id": message_id}
    )


def mark_imported_read(tx: Tx, room_id: str, upto_seq: int) -> None:
    """Imported history counts as read: every member's marker, and every follower's in the
    room's threads, moves up to `upto_seq` (never back)."""
    params = {"room": room_id, "seq": upto_seq}
    tx.execute(
        "UPDATE members SET last_read_seq = :seq WHERE room_id = :room AND last_read_seq < :seq",
        params,
    )
    tx.execute(
        "UPDATE thread_follows SET last_read_seq = :seq"
        " WHERE room_id = :room AND last_read_seq < :seq",
        params,
    )
