"""Log consumers' places in the event log and their leases (migration 0017).

A consumer is a worker that reads the event log after its stored position and acts on what it
finds. At most one node holds a consumer's lease at a time; the holder renews it on every
claim, and another node takes it over once it has lapsed (the holder died or hangs).
"""

from __future__ import annotations

from hubbub.store.engine import Tx

__all__ = ["LeaseLost", "advance", "claim", "drop", "position", "release"]


class LeaseLost(Exception):
    """This node no longer holds the consumer's lease: another node took it over."""


def claim(tx: Tx, name: str, holder: str, now_ms: int, lease_ms: int) -> int | None:
    """Take or renew the lease of consumer `name` for `holder`; return its position, or None
    while another node's lease runs. A consumer seen for the first time starts at the log's
    head: it acts on what happens from then on, not on the past."""
    tx.execute(
        "INSERT INTO log_consumers (name, pos, holder, lease_until)"
        " SELECT :name, pos, NULL, 0 FROM event_counter WHERE id = 1"
        " ON CONFLICT (name) DO NOTHING",
        {"name": name},
    )
    row = tx.fetchone(
        "UPDATE log_consumers SET holder = :holder, lease_until = :until"
        " WHERE name = :name AND (holder = :holder OR holder IS NULL OR lease_until < :now)"
        " RETURNING pos",
        {"name": name, "holder": holder, "until": now_ms + lease_ms, "now": now_ms},
    )
    return int(row[0]) if row else None


def advance(tx: Tx, name: str, holder: str, pos: int) -> None:
    """Record that every event up to `pos` is handled. Raises LeaseLost (rolling back the
    transaction it runs in) when `holder` no longer holds the lease."""
    changed = tx.execute(
        "UPDATE log_consumers SET pos = :pos WHERE name = :name AND holder = :holder"
        " AND pos <= :pos",
        {"name": name, "holder": holder, "pos": pos},
    )
    if changed != 1:
        raise LeaseLost(name)


def release(tx: Tx, name: str, holder: str) -> None:
    """Give the lease up (on a clean shutdown), so another node need not wait for it."""
    tx.execute(
        "UPDATE log_consumers SET holder = NULL, lease_until = 0"
        " WHERE name = :name AND holder = :holder",
        {"name": name, "holder": holder},
    )


def position(tx: Tx, name: str) -> int | None:
    row = tx.fetchone("SELECT pos FROM log_consumers WHERE name = :name", {"name": name})
    return int(row[0]) if row else None


def drop(tx: Tx, name: str) -> None:
    """Forget a consumer (its endpoint was deleted)."""
    tx.execute("DELETE FROM log_consumers WHERE name = :name", {"name": name})
