"""SQLite engine: one writer thread with group commit (store/batching.py), reader threads.

WAL mode lets readers run in parallel with the writer; `BEGIN IMMEDIATE` takes SQLite's write
lock, so even several processes on one file write one at a time (in commit order).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import TypeVar

from hubbub.errors import Unavailable
from hubbub.store.backup import shared_lock
from hubbub.store.batching import BatchWriter
from hubbub.store.engine import Params, Row, TxFn
from hubbub.store.threaded import ThreadedEngine

__all__ = ["SQLiteEngine"]

T = TypeVar("T")
log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 5000


class _SQLiteTx:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params | None = None) -> int:
        return self._conn.execute(sql, params or {}).rowcount

    def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        row: Row | None = self._conn.execute(sql, params or {}).fetchone()
        return row

    def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        return self._conn.execute(sql, params or {}).fetchall()


class _WriterSession:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.tx = _SQLiteTx(conn)

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def is_unavailable(self, error: BaseException) -> bool:
        # "database is locked" past the busy timeout, disk I/O errors: worth a retry.
        return isinstance(error, sqlite3.OperationalError) and any(
            word in str(error) for word in ("locked", "busy", "disk I/O", "unable to open")
        )

    def close(self) -> None:
        self.conn.close()


def _connect(path: Path, synchronous: str, *, readonly: bool) -> sqlite3.Connection:
    uri = f"file:{path.resolve()}{'?mode=ro' if readonly else ''}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    # Deleted and overwritten content is zeroed, not left in free space (redaction).
    conn.execute("PRAGMA secure_delete = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn


class SQLiteEngine(ThreadedEngine):
    """An Engine over one SQLite file. Create with `await SQLiteEngine.open(...)`."""

    dialect = "sqlite"

    def __init__(
        self, path: Path, *, synchronous: str = "FULL", batch_max: int = 256, readers: int = 4
    ) -> None:
        self.path = path
        self._synchronous = synchronous
        # Held while open: `hubbub restore` refuses to replace a database in use.
        self._lock_fd: int | None = shared_lock(path)
        writer = BatchWriter(
            "hubbub-sqlite-writer",
            lambda: _WriterSession(_connect(path, synchronous, readonly=False)),
            batch_max,
        )
        writer.start(_WriterSession(_connect(path, synchronous, readonly=False)))
        super().__init__(writer, readers, "hubbub-sqlite-reader")
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()

    @classmethod
    async def open(
        cls, path: Path, *, synchronous: str = "FULL", batch_max: int = 256, readers: int = 4
    ) -> SQLiteEngine:
        """Create the parent directory and the file if needed, and start the writer."""

        def make() -> SQLiteEngine:
            path.parent.mkdir(parents=True, exist_ok=True)
            return cls(path, synchronous=synchronous, batch_max=batch_max, readers=readers)

        return await asyncio.to_thread(make)

    async def flush(self) -> None:
        """Checkpoint the write-ahead log into the database and truncate it to nothing, so
        the old versions of rewritten pages (a deleted message's text) leave the `-wal` file;
        secure_delete has zeroed them in the main file. Retries while readers hold old
        snapshots (busy), up to the busy timeout."""

        def checkpoint() -> None:
            conn = _connect(self.path, self._synchronous, readonly=False)
            try:
                for _ in range(20):
                    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                    if not busy:
                        return
                    time.sleep(0.05)
                log.warning("the SQLite checkpoint stayed busy; deleted text may stay in the WAL")
            finally:
                conn.close()

        await asyncio.to_thread(checkpoint)

    def _release(self) -> None:
        with self._reader_lock:
            for conn in self._reader_conns:
                conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _run_read(self, fn: TxFn[T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path, self._synchronous, readonly=True)
            self._local.conn = conn
            with self._reader_lock:
                self._reader_conns.append(conn)
        try:
            conn.execute("BEGIN")
            try:
                return fn(_SQLiteTx(conn))
            finally:
                conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise Unavailable("The database is busy; retry shortly") from exc
