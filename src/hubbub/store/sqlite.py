"""SQLite engine: one writer thread with group commit, and a pool of reader threads.

Group commit: the writer drains every queued write (up to `batch_max`) into one transaction,
each write inside its own SAVEPOINT so a failing one rolls back alone, then COMMITs once (one
fsync for the whole batch) and only then answers the waiting callers. Under load this turns
~5k single-row commits/s into tens of thousands of rows/s while keeping "2xx means committed".
WAL mode lets readers run in parallel with the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hubbub.store.engine import Params, Row, TxFn

__all__ = ["SQLiteEngine"]

log = logging.getLogger(__name__)
T = TypeVar("T")
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


@dataclass(slots=True)
class _Job:
    fn: TxFn[Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


_STOP = object()


def _connect(path: Path, synchronous: str, *, readonly: bool) -> sqlite3.Connection:
    uri = f"file:{path.resolve()}{'?mode=ro' if readonly else ''}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn


def _settle(results: list[tuple[_Job, Any, BaseException | None]]) -> None:
    for job, value, error in results:
        if job.future.done():  # the caller went away (cancelled); the write still happened
            continue
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(value)


class SQLiteEngine:
    """An Engine over one SQLite file. Create with `await SQLiteEngine.open(...)`."""

    dialect = "sqlite"

    def __init__(
        self, path: Path, *, synchronous: str = "FULL", batch_max: int = 256, readers: int = 4
    ) -> None:
        self.path = path
        self._synchronous = synchronous
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._writer_conn = _connect(path, synchronous, readonly=False)
        self._thread = threading.Thread(
            target=self._run_writer, name="hubbub-sqlite-writer", daemon=True
        )
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()
        self._readers = ThreadPoolExecutor(
            max_workers=readers, thread_name_prefix="hubbub-sqlite-reader"
        )
        self._closed = False
        # Counters for metrics and tests: transactions committed, writes they carried.
        self.commits = 0
        self.writes = 0
        self._thread.start()

    @classmethod
    async def open(
        cls, path: Path, *, synchronous: str = "FULL", batch_max: int = 256, readers: int = 4
    ) -> SQLiteEngine:
        """Create the parent directory and the file if needed, and start the writer."""

        def make() -> SQLiteEngine:
            path.parent.mkdir(parents=True, exist_ok=True)
            return cls(path, synchronous=synchronous, batch_max=batch_max, readers=readers)

        return await asyncio.to_thread(make)

    async def write(self, fn: TxFn[T]) -> T:
        if self._closed:
            raise RuntimeError("engine is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, future, loop))
        return await future

    async def read(self, fn: TxFn[T]) -> T:
        if self._closed:
            raise RuntimeError("engine is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._run_read, fn)

    async def ping(self) -> None:
        await self.read(lambda tx: tx.fetchone("SELECT 1"))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._readers.shutdown(wait=True)
        with self._reader_lock:
            for conn in self._reader_conns:
                conn.close()
        self._writer_conn.close()

    # -- threads -------------------------------------------------------------------------

    def _run_read(self, fn: Callable[[_SQLiteTx], T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path, self._synchronous, readonly=True)
            self._local.conn = conn
            with self._reader_lock:
                self._reader_conns.append(conn)
        conn.execute("BEGIN")
        try:
            return fn(_SQLiteTx(conn))
        finally:
            conn.execute("COMMIT")

    def _run_writer(self) -> None:
        conn = self._writer_conn
        tx = _SQLiteTx(conn)
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[_Job] = [first]  # type: ignore[list-item]
            while len(batch) < self._batch_max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            self._commit_batch(conn, tx, batch)

    def _commit_batch(self, conn: sqlite3.Connection, tx: _SQLiteTx, batch: list[_Job]) -> None:
        results: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                conn.execute("SAVEPOINT job")
                try:
                    value = job.fn(tx)
                except Exception as exc:
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    results.append((job, None, exc))
                else:
                    conn.execute("RELEASE job")
                    results.append((job, value, None))
            conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed: nothing in the batch is durable
            log.exception("sqlite batch commit failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(job, None, exc) for job in batch]
        self.commits += 1
        self.writes += len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, Any, BaseException | None]]] = {}
        for item in results:
            by_loop.setdefault(item[0].loop, []).append(item)
        for loop, items in by_loop.items():
            # RuntimeError: that event loop is closed, so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, items)
