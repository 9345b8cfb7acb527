"""Incoming webhooks: a room's Slack-compatible URLs, each posting as its own bot account."""

from __future__ import annotations

from hubbub.models import Webhook
from hubbub.store.engine import Row, Tx

__all__ = [
    "delete_webhook",
    "find_by_secret",
    "find_webhook",
    "insert_webhook",
    "list_webhooks",
]

_COLUMNS = "id, room_id, name, bot_id, created_by, created_at"


def _webhook(row: Row) -> Webhook:
    return Webhook(row[0], row[1], row[2], row[3], row[4], int(row[5]))


def insert_webhook(tx: Tx, hook: Webhook, secret_hash: str) -> None:
    tx.execute(
        "INSERT INTO webhooks (id, room_id, name, secret_hash, bot_id, created_by, created_at)"
        " VALUES (:id, :room, :name, :hash, :bot, :by, :at)",
        {
            "id": hook.id,
            "room": hook.room_id,
            "name": hook.name,
            "hash": secret_hash,
            "bot": hook.bot_id,
            "by": hook.created_by,
            "at": hook.created_at,
        },
    )


def find_by_secret(tx: Tx, secret_hash: str) -> Webhook | None:
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM webhooks WHERE secret_hash = :h", {"h": secret_hash})
    return None if row is None else _webhook(row)


def find_webhook(tx: Tx, room_id: str, hook_id: str) -> Webhook | None:
    row = tx.fetchone(
        f"SELECT {_COLUMNS} FROM webhooks WHERE id = :id AND room_id = :r",
        {"id": hook_id, "r": room_id},
    )
    return None if row is None else _webhook(row)


def list_webhooks(tx: Tx, room_id: str) -> list[Webhook]:
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM webhooks WHERE room_id = :r ORDER BY created_at, id",
        {"r": room_id},
    )
    return [_webhook(r) for r in rows]


def delete_webhook(tx: Tx, hook_id: str) -> None:
    tx.execute("DELETE FROM webhooks WHERE id = :id", {"id": hook_id})
