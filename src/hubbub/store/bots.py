"""Bot-account queries: the bots people make for scripts (API keys), as opposed to the bots
incoming webhooks post as (store/webhooks.py), which have no key."""

from __future__ import annotations

from hubbub.models import BotAccount
from hubbub.store.engine import Tx
from hubbub.store.users import USER_COLUMNS, user_from_row

__all__ = ["count_bots", "find_bot", "is_bot", "list_bots"]

# A live bot with a key: kind 'bot', not a webhook's, neither deactivated nor deleted.
_API_BOT = (
    "u.kind = 'bot' AND u.deactivated_at IS NULL AND u.deleted_at IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.bot_id = u.id)"
    " AND NOT EXISTS (SELECT 1 FROM outgoing_hooks o WHERE o.bot_id = u.id AND o.kind = 'room')"
)


def is_bot(tx: Tx, user_id: str) -> bool:
    row = tx.fetchone("SELECT kind FROM users WHERE id = :id", {"id": user_id})
    return row is not None and row[0] == "bot"


def find_bot(tx: Tx, username: str) -> BotAccount | None:
    row = tx.fetchone(
        f"SELECT {USER_COLUMNS}, u.owner_id FROM users u"
        f" WHERE u.username_key = :key AND {_API_BOT}",
        {"key": username.lower()},
    )
    return None if row is None else BotAccount(user_from_row(row[:-1]), row[-1])


def list_bots(tx: Tx, owner_id: str | None) -> list[BotAccount]:
    """Live bots with keys, by username: those `owner_id` made, or every one (None)."""
    where = _API_BOT + ("" if owner_id is None else " AND u.owner_id = :owner")
    rows = tx.fetchall(
        f"SELECT {USER_COLUMNS}, u.owner_id FROM users u WHERE {where} ORDER BY u.username_key",
        {"owner": owner_id},
    )
    return [BotAccount(user_from_row(r[:-1]), r[-1]) for r in rows]


def count_bots(tx: Tx, owner_id: str) -> int:
    row = tx.fetchone(
        f"SELECT COUNT(*) FROM users u WHERE {_API_BOT} AND u.owner_id = :owner",
        {"owner": owner_id},
    )
    return int(row[0]) if row else 0
