"""Copy a whole deployment from one database to another (e.g. SQLite to PostgreSQL).

Everything moves: every table of the schema (accounts, sessions, rooms, members and read
markers, messages with their seqs, reactions, idempotency keys, the event log and its counter,
bans, invites, the audit log, pending erasures and exports), and the deployment id (so
clients' cursors stay valid); the search index is rebuilt from the messages instead. The
destination is migrated first and must hold no data.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from hubbub.store import Store, Tx
from hubbub.store import push as push_q
from hubbub.store import search as search_q

__all__ = ["DERIVED", "PER_DATABASE", "SHARED_KEYS", "TABLES", "CopyError", "copy_database"]

# Parents before children (foreign keys); each with the key that orders it for paging. Every
# table of the schema but the per-database ones (schema_migrations, meta, event_counter) is
# here: tests/cluster/test_copy_data.py checks that against a migrated database.
TABLES: list[tuple[str, str]] = [
    ("users", "id"),
    ("auth_tokens", "token_hash"),
    ("stream_tickets", "ticket_hash"),
    ("rooms", "id"),
    ("members", "room_id, user_id"),
    ("messages", "id"),
    ("reactions", "message_id, emoji, user_id"),
    ("message_mentions", "message_id, user_id"),
    ("thread_participants", "root_id, user_id"),
    ("thread_follows", "root_id, user_id"),
    ("posters", "room_id, name"),
    ("idempotency_keys", "user_id, key"),
    ("events", "pos"),
    ("bans", "room_id, user_id"),
    ("invites", "code"),
    ("password_resets", "code_hash"),
    ("audit_log", "id"),
    ("erasures", "user_id"),
    ("exports", "user_id"),
    ("export_chunks", "user_id, n"),
    ("webhooks", "id"),
    ("uploads", "id"),
    ("doomed_files", "key"),
    ("notify_prefs", "user_id"),
    ("log_consumers", "name"),
    ("slack_imports", "kind, slack_id"),
    ("email_confirmations", "token_hash"),
    ("email_queue", "user_id, message_id"),
    ("email_sends", "user_id"),
    ("outgoing_hooks", "id"),
    ("outgoing_queue", "hook_id, pos"),
    ("outgoing_deliveries", "id"),
    ("slash_commands", "name"),
    ("command_responses", "token_hash"),
    ("push_subscriptions", "id"),
    ("push_queue", "message_id, subscription_id"),
]
PER_DATABASE = {"schema_migrations", "meta", "event_counter"}
# The keys in `meta` that belong to the deployment rather than to one database: copied.
SHARED_KEYS = ("files_key", "email_key", push_q.VAPID_KEY)
# Made from the copied messages rather than copied: the search index (on SQLite also its
# postings). The destination indexes every message again when its server starts
# (store/search.py's backfill).
DERIVED = {"search_docs", "search_state", "search_postings", "search_rooms"}
CHUNK = 2000


class CopyError(Exception):
    """The copy cannot go ahead (the message says why)."""


def _columns(tx: Tx, table: str) -> list[str]:
    if tx.dialect == "sqlite":
        return [row[1] for row in tx.fetchall(f"PRAGMA table_info({table})")]
    rows = tx.fetchall(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t"
        " AND table_schema = current_schema() ORDER BY ordinal_position",
        {"t": table},
    )
    return [row[0] for row in rows]


def _count(tx: Tx, table: str) -> int:
    row = tx.fetchone(f"SELECT COUNT(*) FROM {table}")
    return int(row[0]) if row else 0


async def copy_database(
    source: Store, dest: Store, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every row; return the row count per table (verified equal on both sides)."""
    if await source.pending_migrations():
        raise CopyError("the source has pending migrations: run `hubbub migrate` on it first")
    await dest.migrate()
    busy = await dest.read(lambda tx: _count(tx, "users") + _count(tx, "messages"))
    if busy:
        raise CopyError("the destination already has accounts or messages: use an empty one")
    await dest.write(lambda tx: tx.execute("DELETE FROM rooms"))  # the lobby migrate made

    counts = {
        table: await _copy_table(source, dest, table, order, progress) for table, order in TABLES
    }
    await _copy_counters(source, dest)
    await dest.write(search_q.restart_backfill)
    for table, _ in TABLES:
        there = await dest.read(partial(_count, table=table))
        if there != counts[table]:
            raise CopyError(f"{table}: copied {counts[table]} rows but the destination has {there}")
    return counts


def _booleans(tx: Tx, table: str) -> set[str]:
    """The table's boolean columns, where the engine has a boolean type (PostgreSQL): SQLite
    stores them as 0/1, which PostgreSQL does not take for a boolean."""
    if tx.dialect == "sqlite":
        return set()
    rows = tx.fetchall(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t"
        " AND table_schema = current_schema() AND data_type = 'boolean'",
        {"t": table},
    )
    return {row[0] for row in rows}


async def _copy_table(
    source: Store, dest: Store, table: str, order: str, progress: Callable[[str, int], None] | None
) -> int:
    columns = await source.read(lambda tx: _columns(tx, table))
    booleans = await dest.read(lambda tx: _booleans(tx, table))
    names = ", ".join(columns)
    insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join(f':{c}' for c in columns)})"
    select = f"SELECT {names} FROM {table} ORDER BY {order} LIMIT :n OFFSET :o"

    def page(tx: Tx, offset: int) -> list[Any]:
        return tx.fetchall(select, {"n": CHUNK, "o": offset})

    def write(tx: Tx, batch: list[dict[str, Any]]) -> None:
        for params in batch:
            tx.execute(insert, params)

    copied = 0
    while True:
        rows = await source.read(partial(page, offset=copied))
        if not rows:
            return copied
        batch = [_params(columns, booleans, row) for row in rows]
        await dest.write(partial(write, batch=batch))
        copied += len(rows)
        if progress is not None:
            progress(table, copied)


async def _copy_counters(source: Store, dest: Store) -> None:
    row = await source.read(
        lambda tx: tx.fetchone("SELECT pos, floor FROM event_counter WHERE id = 1")
    )
    deployment = await source.deployment_id()
    # The deployment's keys go along, so what was signed before the copy still verifies:
    # browsers subscribed with the VAPID key, unsubscribe links already mailed (email_key),
    # file links already handed out (files_key).
    keys = await source.read(
        lambda tx: {k: v for k in SHARED_KEYS if (v := push_q.find_meta(tx, k)) is not None}
    )

    def write(tx: Tx) -> None:
        tx.execute(
            "UPDATE event_counter SET pos = :p, floor = :f WHERE id = 1",
            {"p": row[0] if row else 0, "f": row[1] if row else 0},
        )
        tx.execute("UPDATE meta SET value = :v WHERE key = 'deployment_id'", {"v": deployment})
        for key, value in keys.items():
            tx.execute("DELETE FROM meta WHERE key = :k", {"k": key})
            push_q.insert_meta(tx, key, value)

    await dest.write(write)


def _params(columns: list[str], booleans: set[str], row: Any) -> dict[str, Any]:
    params = dict(zip(columns, row, strict=True))
    for column in booleans:
        if params[column] is not None:
            params[column] = bool(params[column])
    return params
