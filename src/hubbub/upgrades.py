"""What an upgrade would do to a database: the migrations `hubbub migrate` would apply, whether
they allow a rolling restart, and whether a newer hubbub already migrated it. Read-only: it
never creates a database or applies anything (`hubbub migrate --check`, `hubbub doctor`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import psycopg

from hubbub.app import open_store
from hubbub.config import Settings
from hubbub.store.schema import Migration, applied_versions, load_migrations

__all__ = ["DatabaseUnreachable", "MigrationPlan", "migration_plan"]

# How long to wait for the database before saying it cannot be reached.
CHECK_TIMEOUT_SECONDS = 10.0


class DatabaseUnreachable(Exception):
    """The database could not be opened or read; the message says why."""


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    # Migrations `hubbub migrate` would apply, in order.
    pending: tuple[Migration, ...]
    # Versions the database has that this hubbub does not know: a newer release migrated it.
    unknown: tuple[int, ...] = ()
    # False for a SQLite file that does not exist yet (every migration is pending).
    exists: bool = True

    @property
    def is_current(self) -> bool:
        return not self.pending and not self.unknown

    @property
    def allows_rolling_restart(self) -> bool:
        """Whether nodes of the previous release may keep serving while these are applied."""
        return all(m.rolling for m in self.pending)


async def migration_plan(settings: Settings) -> MigrationPlan:
    """Compare the database's applied migrations with the ones this hubbub ships.
    DatabaseUnreachable when it cannot be read."""
    shipped = load_migrations()
    path = settings.sqlite_path
    if path is not None and not path.exists():
        return MigrationPlan(tuple(shipped), exists=False)
    if path is None:
        # One plain connection first: the engine's pool would only say it timed out, and log
        # each retry; the driver's own error says why (refused, no such database, password).
        await asyncio.to_thread(_probe_postgres, settings.database_url)
    try:
        store = await asyncio.wait_for(open_store(settings), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure to open is the answer, in words
        raise DatabaseUnreachable(_reason(exc)) from exc
    try:
        applied = await asyncio.wait_for(store.read(applied_versions), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        raise DatabaseUnreachable(_reason(exc)) from exc
    finally:
        await store.close()
    known = {m.version for m in shipped}
    return MigrationPlan(
        pending=tuple(m for m in shipped if m.version not in applied),
        unknown=tuple(sorted(applied - known)),
    )


def _probe_postgres(url: str) -> None:
    try:
        psycopg.connect(url, connect_timeout=int(CHECK_TIMEOUT_SECONDS)).close()
    except psycopg.Error as exc:
        raise DatabaseUnreachable(" ".join(str(exc).split())) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s"
    # Driver errors chain the cause that says the most (connection refused, no such file).
    cause = exc.__cause__ or exc.__context__
    text = str(exc).strip() or type(exc).__name__
    if cause is not None and str(cause).strip() and str(cause).strip() not in text:
        text = f"{text}: {str(cause).strip()}"
    return text.splitlines()[0] if "\n" in text else text
