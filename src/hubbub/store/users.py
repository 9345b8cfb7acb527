"""Account and token queries."""

from __future__ import annotations

from hubbub.models import User
from hubbub.store.engine import Row, Tx

__all__ = [
    "delete_token",
    "find_credentials",
    "find_user_by_id",
    "find_user_by_token",
    "find_user_by_username",
    "insert_token",
    "insert_user",
    "search_users",
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
    escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM users WHERE username_key LIKE :p ESCAPE '\\'"
        " ORDER BY username_key LIMIT :limit",
        {"p": escaped + "%", "limit": limit},
    )
    return [_user(r) for r in rows]


def insert_token(tx: Tx, token_hash: str, user_id: str, now_ms: int) -> None:
    tx.execute(
        "INSERT INTO auth_tokens (token_hash, user_id, created_at) VALUES (:h, :u, :now)",
        {"h": token_hash, "u": user_id, "now": now_ms},
    )


def find_user_by_token(tx: Tx, token_hash: str) -> User | None:
    row = tx.fetchone(
        "SELECT u.id, u.username, u.display_name, u.created_at"
        " FROM auth_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = :h",
        {"h": token_hash},
    )
    return None if row is None else _user(row)


def delete_token(tx: Tx, token_hash: str) -> None:
    tx.execute("DELETE FROM auth_tokens WHERE token_hash = :h", {"h": token_hash})
