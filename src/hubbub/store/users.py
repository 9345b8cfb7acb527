"""Account queries: users, their profile, admin flags and deactivation."""

from __future__ import annotations

from hubbub.models import User
from hubbub.store.engine import Row, Tx
from hubbub.store.patterns import ESCAPE, prefix_pattern

__all__ = [
    "USER_COLUMNS",
    "count_active_admins",
    "find_credentials",
    "find_user_by_id",
    "find_user_by_username",
    "has_users",
    "insert_user",
    "list_users",
    "mark_deleted",
    "search_users",
    "set_admin",
    "set_deactivated",
    "set_display_name",
    "set_password_hash",
    "user_from_row",
]

# The columns user_from_row reads, in order (`u.`-qualified where a query joins users).
USER_COLUMNS = (
    "u.id, u.username, u.display_name, u.created_at, u.is_admin, u.deactivated_at, u.kind, u.avatar"
)
_FROM = "users u"


def user_from_row(row: Row) -> User:
    return User(
        id=row[0],
        username=row[1],
        display_name=row[2],
        created_at=int(row[3]),
        is_admin=bool(row[4]),
        deactivated=row[5] is not None,
        bot=row[6] == "bot",
        avatar=row[7],
    )


def insert_user(tx: Tx, user: User, password_hash: str, owner_id: str | None = None) -> bool:
    """Insert; return False if the username is taken (case-insensitively). `owner_id`: a
    bot's creator."""
    return (
        tx.execute(
            "INSERT INTO users (id, username, username_key, display_name, password_hash,"
            " created_at, is_admin, kind, owner_id)"
            " VALUES (:id, :username, :key, :display, :hash, :at, :admin, :kind, :owner)"
            " ON CONFLICT DO NOTHING",
            {
                "id": user.id,
                "username": user.username,
                "key": user.username.lower(),
                "display": user.display_name,
                "hash": password_hash,
                "at": user.created_at,
                "admin": user.is_admin,
                "kind": "bot" if user.bot else "user",
                "owner": owner_id,
            },
        )
        > 0
    )


def has_users(tx: Tx) -> bool:
    return tx.fetchone("SELECT 1 FROM users LIMIT 1") is not None


def find_user_by_username(tx: Tx, username: str) -> User | None:
    row = tx.fetchone(
        f"SELECT {USER_COLUMNS} FROM {_FROM} WHERE u.username_key = :key AND u.deleted_at IS NULL",
        {"key": username.lower()},
    )
    return None if row is None else user_from_row(row)


def find_user_by_id(tx: Tx, user_id: str) -> User | None:
    row = tx.fetchone(f"SELECT {USER_COLUMNS} FROM {_FROM} WHERE u.id = :id", {"id": user_id})
    return None if row is None else user_from_row(row)


def find_credentials(tx: Tx, username: str) -> tuple[User, str] | None:
    """The user and their password hash, for signing in."""
    row = tx.fetchone(
        f"SELECT {USER_COLUMNS}, u.password_hash FROM {_FROM} WHERE u.username_key = :key"
        " AND u.deleted_at IS NULL",
        {"key": username.lower()},
    )
    return None if row is None else (user_from_row(row), row[8])


def search_users(tx: Tx, prefix: str, limit: int) -> list[User]:
    """Active users whose username starts with `prefix` (ignoring case), by username."""
    rows = tx.fetchall(
        f"SELECT {USER_COLUMNS} FROM {_FROM} WHERE u.username_key LIKE :p {ESCAPE}"
        " AND u.deactivated_at IS NULL ORDER BY u.username_key LIMIT :limit",
        {"p": prefix_pattern(prefix), "limit": limit},
    )
    return [user_from_row(r) for r in rows]


def list_users(
    tx: Tx, prefix: str, deactivated: bool | None, after: str | None, limit: int
) -> list[User]:
    """Every account (for admins): by username, starting after the username `after`, those
    starting with `prefix`, only (de)activated ones if `deactivated` is not None."""
    where = [f"u.username_key LIKE :p {ESCAPE}", "u.deleted_at IS NULL"]
    params: dict[str, object] = {"p": prefix_pattern(prefix), "limit": limit}
    if deactivated is not None:
        where.append("u.deactivated_at IS NOT NULL" if deactivated else "u.deactivated_at IS NULL")
    if after is not None:
        where.append("u.username_key > :after")
        params["after"] = after.lower()
    rows = tx.fetchall(
        f"SELECT {USER_COLUMNS} FROM {_FROM} WHERE {' AND '.join(where)}"
        " ORDER BY u.username_key LIMIT :limit",
        params,
    )
    return [user_from_row(r) for r in rows]


def count_active_admins(tx: Tx) -> int:
    row = tx.fetchone("SELECT COUNT(*) FROM users WHERE is_admin AND deactivated_at IS NULL")
    return int(row[0]) if row else 0


def set_display_name(tx: Tx, user_id: str, display_name: str) -> None:
    tx.execute(
        "UPDATE users SET display_name = :d WHERE id = :id", {"d": display_name, "id": user_id}
    )


def set_password_hash(tx: Tx, user_id: str, password_hash: str) -> None:
    tx.execute(
        "UPDATE users SET password_hash = :h WHERE id = :id", {"h": password_hash, "id": user_id}
    )


def set_admin(tx: Tx, user_id: str, is_admin: bool) -> None:
    tx.execute("UPDATE users SET is_admin = :a WHERE id = :id", {"a": is_admin, "id": user_id})


def mark_deleted(tx: Tx, user_id: str, username: str, display_name: str, now_ms: int) -> None:
    """Strip an account of everything personal: its username becomes `username` (a
    placeholder), its display name `display_name`; no password, no admin, deactivated. Its
    username_key stays, so the old username remains reserved."""
    tx.execute(
        "UPDATE users SET username = :name, display_name = :display, password_hash = '!',"
        " is_admin = FALSE, deactivated_at = COALESCE(deactivated_at, :now), deleted_at = :now"
        " WHERE id = :id",
        {"name": username, "display": display_name, "now": now_ms, "id": user_id},
    )


def set_deactivated(tx: Tx, user_id: str, at_ms: int | None) -> None:
    """Deactivate (at `at_ms`) or, with None, reactivate."""
    tx.execute("UPDATE users SET deactivated_at = :at WHERE id = :id", {"at": at_ms, "id": user_id})
