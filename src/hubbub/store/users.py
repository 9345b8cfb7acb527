"""Account and token queries."""

from __future__ import annotations

from hubbub.models import User
from hubbub.store.engine import Row, Tx
from hubbub.store.patterns import ESCAPE, prefix_pattern

__all__ = [
    "delete_session",
    "find_credentials",
    "find_session",
    "find_session_by_token",
    "find_user_by_id",
    "find_user_by_username",
    "insert_session",
    "insert_user",
    "search_users",
    "session_exists",
]

_COLUMNS = "id, username, display_name, created_at"


def _user(row: Row) -> User:
    return User(id=row[0], username=row[1], display_name=row[2], created_at=int(row[3]))


def insert_user(tx: Tx, user: User, password_hash: str) -> bool:
    """Insert; return False if the username is taken (case-insensitively)."""
    return (
        tx.execute(
            "INSERT INTO users"
            " (id, username, username_key, display_name, password_hash, created_at)"
            " VALUES (:id, :username, :key, :display, :hash, :at) ON CONFLICT DO NOTHING",
            {
                "id": user.id,
                "username": user.username,
                "key": user.username.lower(),
                "display": user.display_name,
                "hash": password_hash,
                "at": user.created_at,
            },
        )
        > 0
    )


def find_user_by_username(tx: Tx, username: str) -> User | None:
    row = tx.fetchone(
        f"SELECT {_COLUMNS} FROM users WHERE username_key = :key", {"key": username.lower()}
    )
    return None if row is None else _user(row)


def find_user_by_id(tx: Tx, user_id: str) -> User | None:
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM users WHERE id = :id", {"id": user_id})
    return None if row is None else _user(row)


def find_credentials(tx: Tx, username: str) -> tuple[User, str] | None:
    """The user and their password hash, for signing in."""
    row = tx.fetchone(
        f"SELECT {_COLUMNS}, password_hash FROM users WHERE username_key = :key",
        {"key": username.lower()},
    )
    return None if row is None else (_user(row), row[4])


def search_users(tx: Tx, prefix: str, limit: int) -> list[User]:
    """Users whose username starts with `prefix` (ignoring case), by username."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM users WHERE username_key LIKE :p {ESCAPE}"
        " ORDER BY username_key LIMIT :limit",
        {"p": prefix_pattern(prefix), "limit": limit},
    )
    return [_user(r) for r in rows]


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


def find_session_by_token(tx: Tx, token_hash: str) -> tuple[str, User] | None:
    """The session id and user of a token (by its hash), or None."""
    row = tx.fetchone(
        "SELECT t.id, u.id, u.username, u.display_name, u.created_at"
        " FROM auth_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = :h",
        {"h": token_hash},
    )
    return None if row is None else (row[0], _user(row[1:]))


def session_exists(tx: Tx, session_id: str) -> bool:
    return tx.fetchone("SELECT 1 FROM auth_tokens WHERE id = :id", {"id": session_id}) is not None


def delete_session(tx: Tx, session_id: str) -> bool:
    """End a session; False if there was none."""
    return tx.execute("DELETE FROM auth_tokens WHERE id = :id", {"id": session_id}) > 0


def find_session(tx: Tx, session_id: str) -> User | None:
    """The user of a session that is still signed in, or None."""
    row = tx.fetchone(
        "SELECT u.id, u.username, u.display_name, u.created_at"
        " FROM auth_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = :id",
        {"id": session_id},
    )
    return None if row is None else _user(row)
