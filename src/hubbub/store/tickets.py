"""One-time stream tickets: stored by hash, taken (deleted) by the one connection that uses
them, forgotten once expired."""

from __future__ import annotations

from hubbub.store.engine import Tx

__all__ = ["insert_ticket", "purge_tickets", "take_ticket"]


def insert_ticket(tx: Tx, ticket_hash: str, session_id: str, expires_at: int) -> None:
    tx.execute(
        "INSERT INTO stream_tickets (ticket_hash, session_id, expires_at) VALUES (:h, :s, :e)",
        {"h": ticket_hash, "s": session_id, "e": expires_at},
    )


def take_ticket(tx: Tx, ticket_hash: str, now_ms: int) -> str | None:
    """The session id of an unexpired ticket, deleting it (so it works once); else None."""
    row = tx.fetchone(
        "DELETE FROM stream_tickets WHERE ticket_hash = :h RETURNING session_id, expires_at",
        {"h": ticket_hash},
    )
    if row is None or int(row[1]) < now_ms:
        return None
    return str(row[0])


def purge_tickets(tx: Tx, now_ms: int) -> int:
    return tx.execute("DELETE FROM stream_tickets WHERE expires_at < :now", {"now": now_ms})
