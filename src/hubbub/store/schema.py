"""Versioned schema migrations: numbered SQL files applied in order, recorded in the database.

One history serves every engine: the files are portable SQL. `migrate` is idempotent and runs
inside one write transaction, so a failed migration leaves the schema as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from hubbub.store.engine import Tx

__all__ = ["Migration", "applied_versions", "load_migrations", "migrate"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        # Comments run to the end of the line; our migrations keep "--" out of string literals.
        body = "\n".join(line.split("--", 1)[0] for line in self.sql.splitlines())
        return [stmt.strip() for stmt in body.split(";") if stmt.strip()]


def load_migrations() -> list[Migration]:
    """All migrations shipped in the package, ordered by version."""
    found = []
    for entry in resources.files("hubbub.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)


def applied_versions(tx: Tx) -> set[int]:
    """Versions recorded as applied; empty for a database never migrated. Read-only."""
    if tx.dialect == "sqlite":
        exists = tx.fetchone(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        )
    else:
        exists = tx.fetchone("SELECT to_regclass('schema_migrations')")
        exists = exists if exists and exists[0] is not None else None
    if exists is None:
        return set()
    return {int(row[0]) for row in tx.fetchall("SELECT version FROM schema_migrations")}


def migrate(tx: Tx, now_ms: int) -> list[int]:
    """Apply every migration not yet applied; return the versions applied now."""
    if tx.dialect == "postgresql":  # two nodes starting at once must not both migrate
        tx.execute("SELECT pg_advisory_xact_lock(4242001)")
    _ensure_table(tx)
    done = applied_versions(tx)
    applied = []
    for migration in load_migrations():
        if migration.version in done:
            continue
        for statement in migration.statements():
            tx.execute(statement)
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, :t)",
            {"v": migration.version, "n": migration.name, "t": now_ms},
        )
        applied.append(migration.version)
    return applied


def _ensure_table(tx: Tx) -> None:
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
    )
