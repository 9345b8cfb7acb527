"""PostgreSQL engine: the same transaction functions as SQLite, run on psycopg in threads.

Writes: one writer thread per node with group commit (store/batching.py). Each batch first
locks the single event_counter row, so every writing transaction in the cluster takes its
locks in the same order (no deadlocks) and event positions are assigned in commit order,
gapless (see docs/architecture.md). Reads: a pool of connections, each read one REPEATABLE
READ snapshot, so multi-query reads (catch-up) are consistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from psycopg import IsolationLevel
from psycopg_pool import ConnectionPool, PoolTimeout

from hubbub.errors import Unavailable
from hubbub.store.batching import BatchWriter
from hubbub.store.engine import Params, Row, TxFn
from hubbub.store.threaded import ThreadedEngine

__all__ = ["PostgresEngine"]

T = TypeVar("T")
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
CONNECT_TIMEOUT = 5
STATEMENT_TIMEOUT_MS = 15000


@lru_cache(maxsize=2048)
def pyformat(sql: str) -> str:
    """`:name` placeholders (what our queries use) to psycopg's `%(name)s`."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def _unavailable(error: BaseException) -> bool:
    return isinstance(error, (psycopg.OperationalError, PoolTimeout))


class _PgTx:
    dialect = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params | None = None) -> int:
        return self._conn.execute(pyformat(sql), params or {}).rowcount

    def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        return self._conn.execute(pyformat(sql), params or {}).fetchone()

    def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        return self._conn.execute(pyformat(sql), params or {}).fetchall()


class _WriterSession:
    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(
            dsn,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )
        self._tx = _PgTx(self.conn)
        self._has_counter = False

    @property
    def tx(self) -> _PgTx:
        return self._tx

    def begin(self) -> None:
        self.conn.execute("BEGIN")
        if not self._has_counter:  # before the first migration there is nothing to lock
            row = self.conn.execute("SELECT to_regclass('event_counter')").fetchone()
            self._has_counter = row is not None and row[0] is not None
        if self._has_counter:
            self.conn.execute("SELECT pos FROM event_counter WHERE id = 1 FOR UPDATE")

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def is_unavailable(self, error: BaseException) -> bool:
        return _unavailable(error) or self.conn.closed

    def close(self) -> None:
        self.conn.close()


def _configure_reader(conn: psycopg.Connection[Any]) -> None:
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True


class PostgresEngine(ThreadedEngine):
    dialect = "postgresql"

    def __init__(self, dsn: str, *, batch_max: int = 256, readers: int = 4) -> None:
        self.dsn = dsn
        writer = BatchWriter("hubbub-pg-writer", lambda: _WriterSession(dsn), batch_max)
        writer.start()
        super().__init__(writer, readers, "hubbub-pg-reader")
        self._pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=readers,
            timeout=CONNECT_TIMEOUT,
            open=False,
            configure=_configure_reader,
            name="hubbub-readers",
            kwargs={
                "connect_timeout": CONNECT_TIMEOUT,
                "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            },
        )
        self._pool.open(wait=False)

    @classmethod
    async def open(cls, dsn: str, *, batch_max: int = 256, readers: int = 4) -> PostgresEngine:
        return await asyncio.to_thread(cls, dsn, batch_max=batch_max, readers=readers)

    def _release(self) -> None:
        self._pool.close()

    def _run_read(self, fn: TxFn[T]) -> T:
        try:
            with self._pool.connection() as conn:
                try:
                    return fn(_PgTx(conn))
                finally:
                    with contextlib.suppress(Exception):
                        conn.rollback()  # read-only: nothing to keep; ends the snapshot
        except Exception as exc:
            if _unavailable(exc):
                raise Unavailable("The database is unavailable; retry shortly") from exc
            raise
