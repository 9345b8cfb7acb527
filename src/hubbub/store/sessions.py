"""Session queries: a session is a token (stored by its hash) with an id, its user, when it
was made and last used, and by what client."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.models import User
from hubbub.store.engine import Tx
from hubbub.store.users import USER_COLUMNS, user_from_row

__all__ = [
    "SessionRow",
    "delete_session",
    "delete_sessions_of",
    "find_session",
    "find_session_by_token",
    "insert_session",
    "list_idle_sessions",
    "list_sessions",
    "session_exists",
    "touch_session",
]


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    user_id: str
    created_at: int
    last_used_at: int
    user_agent: str | None


def insert_session(
    tx: Tx,
    session_id: str,
    token_hash: str,
    user_id: str,
    now_ms: int,
    user_agent: str | None = None,
) -> None:
    tx.execute(
        "INSERT INTO auth_tokens (id, token_hash, user_id, created_at, last_used_at, user_agent)"
        " VALUES (:id, :h, :u, :now, :now, :ua)",
        {"id": session_id, "h": token_hash, "u": user_id, "now": now_ms, "ua": user_agent},
    )


def find_session_by_token(tx: Tx, token_hash: str) -> tuple[str, User, int] | None:
    """The session id, user and last use of a token (by its hash), or None."""
    row = tx.fetchone(
        f"SELECT t.id, t.last_used_at, {USER_COLUMNS}"
        " FROM auth_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = :h",
        {"h": token_hash},
    )
    return None if row is None else (row[0], user_from_row(row[2:]), int(row[1]))


def find_session(tx: Tx, session_id: str) -> User | None:
    """The user of a session that is still signed in, or None."""
    row = tx.fetchone(
        f"SELECT {USER_COLUMNS} FROM auth_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.id = :id",
        {"id": session_id},
    )
    return None if row is None else user_from_row(row)


def session_exists(tx: Tx, session_id: str) -> bool:
    return tx.fetchone("SELECT 1 FROM auth_tokens WHERE id = :id", {"id": session_id}) is not None


def touch_session(tx: Tx, session_id: str, now_ms: int) -> None:
    tx.execute(
        "UPDATE auth_tokens SET last_used_at = :now WHERE id = :id AND last_used_at < :now",
        {"now": now_ms, "id": session_id},
    )


def list_sessions(tx: Tx, user_id: str) -> list[SessionRow]:
    """A user's sessions, most recently used first."""
    rows = tx.fetchall(
        "SELECT id, user_id, created_at, last_used_at, user_agent FROM auth_tokens"
        " WHERE user_id = :u ORDER BY last_used_at DESC, id",
        {"u": user_id},
    )
    return [SessionRow(r[0], r[1], int(r[2]), int(r[3]), r[4]) for r in rows]


def delete_session(tx: Tx, session_id: str) -> bool:
    """End a session; False if there was none."""
    return tx.execute("DELETE FROM auth_tokens WHERE id = :id", {"id": session_id}) > 0


def delete_sessions_of(tx: Tx, user_id: str, keep: str | None = None) -> list[str]:
    """End every session of a user but `keep`; return the ids ended."""
    rows = tx.fetchall(
        "SELECT id FROM auth_tokens WHERE user_id = :u AND id <> :keep",
        {"u": user_id, "keep": keep or ""},
    )
    ids = [r[0] for r in rows]
    tx.execute(
        "DELETE FROM auth_tokens WHERE user_id = :u AND id <> :keep",
        {"u": user_id, "keep": keep or ""},
    )
    return ids


def list_idle_sessions(tx: Tx, unused_since: int, limit: int) -> list[tuple[str, str]]:
    """(session id, user id) of sessions not used since `unused_since` (ms), oldest first;
    never a bot's (its key does not idle out)."""
    rows = tx.fetchall(
        "SELECT t.id, t.user_id FROM auth_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.last_used_at < :t AND u.kind = 'user'"
        " ORDER BY t.last_used_at LIMIT :limit",
        {"t": unused_since, "limit": limit},
    )
    return [(r[0], r[1]) for r in rows]
