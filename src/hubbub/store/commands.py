"""Slash commands (migration 0020): the registered commands and the response URLs of their
runs (each good for a few answers within a while)."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.models import SlashCommand
from hubbub.store.engine import Row, Tx

__all__ = [
    "ResponseGrant",
    "delete_command",
    "find_command",
    "insert_command",
    "insert_response",
    "list_commands",
    "use_response",
]

_COLUMNS = "name, url, description, created_by, created_at"


def _command(row: Row) -> SlashCommand:
    return SlashCommand(row[0], row[1], row[2], row[3], int(row[4]))


def insert_command(tx: Tx, command: SlashCommand, secret: str) -> bool:
    """Store a command; False if the name is taken."""
    changed = tx.execute(
        "INSERT INTO slash_commands (name, url, description, secret, created_by, created_at)"
        " VALUES (:name, :url, :description, :secret, :by, :at) ON CONFLICT (name) DO NOTHING",
        {
            "name": command.name,
            "url": command.url,
            "description": command.description,
            "secret": secret,
            "by": command.created_by,
            "at": command.created_at,
        },
    )
    return changed == 1


def find_command(tx: Tx, name: str) -> tuple[SlashCommand, str] | None:
    """The command and its signing secret."""
    row = tx.fetchone(f"SELECT {_COLUMNS}, secret FROM slash_commands WHERE name = :n", {"n": name})
    return None if row is None else (_command(row), str(row[-1]))


def list_commands(tx: Tx) -> list[SlashCommand]:
    rows = tx.fetchall(f"SELECT {_COLUMNS} FROM slash_commands ORDER BY name")
    return [_command(r) for r in rows]


def delete_command(tx: Tx, name: str) -> bool:
    tx.execute("DELETE FROM command_responses WHERE command = :n", {"n": name})
    return tx.execute("DELETE FROM slash_commands WHERE name = :n", {"n": name}) == 1


@dataclass(frozen=True, slots=True)
class ResponseGrant:
    command: str
    user_id: str
    room_id: str


def insert_response(
    tx: Tx, token_hash: str, command: str, user_id: str, room_id: str, expires_at: int
) -> None:
    tx.execute(
        "DELETE FROM command_responses WHERE expires_at < :now", {"now": expires_at - 2 * 3600_000}
    )
    tx.execute(
        "INSERT INTO command_responses (token_hash, command, user_id, room_id, uses, expires_at)"
        " VALUES (:h, :c, :u, :r, 0, :exp)",
        {"h": token_hash, "c": command, "u": user_id, "r": room_id, "exp": expires_at},
    )


def use_response(tx: Tx, token_hash: str, now_ms: int, max_uses: int) -> ResponseGrant | None:
    """Count one use of a response URL; None if unknown, expired or used up."""
    row = tx.fetchone(
        "UPDATE command_responses SET uses = uses + 1 WHERE token_hash = :h"
        " AND uses < :max AND expires_at > :now RETURNING command, user_id, room_id",
        {"h": token_hash, "max": max_uses, "now": now_ms},
    )
    return None if row is None else ResponseGrant(row[0], row[1], row[2])
