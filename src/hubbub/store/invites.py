"""Invites: codes that let someone sign up, a number of times, until they expire."""

from __future__ import annotations

from hubbub.models import Invite
from hubbub.store.engine import Row, Tx

__all__ = ["Invite", "find_invite", "insert_invite", "list_invites", "revoke_invite", "use_invite"]

_COLUMNS = "code, created_by, max_uses, uses, expires_at, revoked, created_at"


def _invite(row: Row) -> Invite:
    return Invite(row[0], row[1], int(row[2]), int(row[3]), int(row[4]), bool(row[5]), int(row[6]))


def insert_invite(tx: Tx, invite: Invite) -> None:
    tx.execute(
        f"INSERT INTO invites ({_COLUMNS}) VALUES (:code, :by, :max, 0, :exp, FALSE, :at)",
        {
            "code": invite.code,
            "by": invite.created_by,
            "max": invite.max_uses,
            "exp": invite.expires_at,
            "at": invite.created_at,
        },
    )


def find_invite(tx: Tx, code: str) -> Invite | None:
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM invites WHERE code = :c", {"c": code})
    return None if row is None else _invite(row)


def list_invites(tx: Tx, created_by: str | None) -> list[Invite]:
    """Invites made by `created_by` (None: everyone's), newest first."""
    if created_by is None:
        rows = tx.fetchall(f"SELECT {_COLUMNS} FROM invites ORDER BY created_at DESC, code")
    else:
        rows = tx.fetchall(
            f"SELECT {_COLUMNS} FROM invites WHERE created_by = :u ORDER BY created_at DESC, code",
            {"u": created_by},
        )
    return [_invite(r) for r in rows]


def use_invite(tx: Tx, code: str, now_ms: int) -> bool:
    """Spend one use of a live invite; False if it is unknown, revoked, expired or used up.
    One conditional UPDATE: two sign-ups can never both take the last use."""
    return (
        tx.execute(
            "UPDATE invites SET uses = uses + 1 WHERE code = :c AND NOT revoked"
            " AND uses < max_uses AND expires_at > :now",
            {"c": code, "now": now_ms},
        )
        > 0
    )


def revoke_invite(tx: Tx, code: str) -> bool:
    return tx.execute("UPDATE invites SET revoked = TRUE WHERE code = :c", {"c": code}) > 0
