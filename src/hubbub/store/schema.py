"""Versioned schema migrations: numbered files applied in order, recorded in the database.

One history serves every engine. A migration is `NNNN_name.sql` (portable SQL) or, for data
that SQL cannot convert the same way on both engines, `NNNN_name.py` with `upgrade(tx)` written
against the same Tx as every query. `migrate` is idempotent and runs inside one write
transaction, so a failed migration leaves the schema as it was.

A migration allows a rolling restart (nodes of the previous release keep serving on the
migrated schema while new ones start) only when it says so: a `-- rolling: yes` line in an SQL
migration, `ROLLING = True` in a Python one. Say so only when the previous release's code reads
and writes the new schema correctly (new nullable or defaulted columns it never sees, new
tables, new indexes), and no new event or stored format reaches its nodes.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from hubbub.store.engine import Tx

__all__ = ["Migration", "applied_versions", "load_migrations", "migrate"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sql|py)$")
_ROLLING = re.compile(r"^--\s*rolling:\s*yes\b", re.MULTILINE | re.IGNORECASE)
_PACKAGE = "hubbub.store.migrations"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str = ""
    upgrade: Callable[[Tx], None] | None = None
    # Nodes of the previous release may keep running on the migrated schema (see above).
    rolling: bool = False

    def statements(self) -> list[str]:
        # Comments run to the end of the line; our migrations keep "--" out of string literals.
        body = "\n".join(line.split("--", 1)[0] for line in self.sql.splitlines())
        return [stmt.strip() for stmt in body.split(";") if stmt.strip()]

    def apply(self, tx: Tx) -> None:
        for statement in self.statements():
            tx.execute(statement)
        if self.upgrade is not None:
            self.upgrade(tx)


def load_migrations() -> list[Migration]:
    """All migrations shipped in the package, ordered by version."""
    found = []
    for entry in resources.files(_PACKAGE).iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            continue
        version, name, suffix = int(match[1]), match[2], match[3]
        if suffix == "sql":
            sql = entry.read_text("utf-8")
            found.append(Migration(version, name, sql=sql, rolling=bool(_ROLLING.search(sql))))
        else:
            module = importlib.import_module(f"{_PACKAGE}.{entry.name.removesuffix('.py')}")
            rolling = getattr(module, "ROLLING", False) is True
            found.append(Migration(version, name, upgrade=module.upgrade, rolling=rolling))
    versions = [m.version for m in found]
    assert len(versions) == len(set(versions)), f"two migrations share a version: {versions}"
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
        migration.apply(tx)
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
