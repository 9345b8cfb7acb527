"""Group commit: one writer thread, one connection, many queued writes per transaction.

The writer drains every queued write (up to `batch_max`) into one transaction, each write in
its own SAVEPOINT so a failing one rolls back alone, then COMMITs once and only then answers
the waiting callers. Under load, concurrent writers share one commit (one fsync) instead of
queueing behind one each, and "a 2xx means committed" still holds.

Engines supply a Session: how to connect, begin (taking whatever lock orders writers), and
whether an error means the connection is gone (then the writer reconnects for the next batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from hubbub.errors import DomainError, Unavailable
from hubbub.store.engine import Tx, TxFn

__all__ = ["BatchWriter", "Session"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class Session(Protocol):
    """One database connection, as the writer thread drives it."""

    @property
    def tx(self) -> Tx: ...

    def begin(self) -> None: ...

    def execute(self, sql: str) -> None:
        """Run a statement with no parameters and no result (SAVEPOINT and friends)."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def is_unavailable(self, error: BaseException) -> bool:
        """True if `error` means the database cannot be reached (retryable, answer 503)."""
        ...

    def close(self) -> None: ...


@dataclass(slots=True)
class _Job:
    fn: TxFn[Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


_STOP = object()
Result = tuple[_Job, Any, BaseException | None]


def _settle(results: list[Result]) -> None:
    for job, value, error in results:
        if job.future.done():  # the caller went away (cancelled); the write still happened
            continue
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(value)


class BatchWriter:
    def __init__(self, name: str, connect: Callable[[], Session], batch_max: int) -> None:
        self._connect = connect
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._session: Session | None = None
        self._closed = False
        # Counters for metrics and tests: transactions committed, writes they carried.
        self.commits = 0
        self.writes = 0
        self.last_commit_seconds = 0.0
        # Called on the writer thread after each commit with (writes, seconds); must not block.
        self.on_commit: Callable[[int, float], None] | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self, session: Session | None = None) -> None:
        """Start the thread, optionally with an already open session."""
        self._session = session
        self._thread.start()

    async def submit(self, fn: TxFn[T]) -> T:
        if self._closed:
            raise RuntimeError("writer is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, future, loop))
        return await future

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if not isinstance(first, _Job):  # _STOP
                break
            batch: list[_Job] = [first]
            while len(batch) < self._batch_max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(item, _Job):
                    stopping = True
                    break
                batch.append(item)
            self._answer(self._commit_batch(batch))
        if self._session is not None:
            with contextlib.suppress(Exception):
                self._session.close()

    def _commit_batch(self, batch: list[_Job]) -> list[Result]:
        started = time.perf_counter()
        try:
            if self._session is None:
                self._session = self._connect()
            session = self._session
            session.begin()
            results: list[Result] = []
            for job in batch:
                session.execute("SAVEPOINT job")
                try:
                    value = job.fn(session.tx)
                except Exception as exc:
                    if self._is_unavailable(exc):
                        raise
                    session.execute("ROLLBACK TO SAVEPOINT job")
                    session.execute("RELEASE SAVEPOINT job")
                    results.append((job, None, exc))
                else:
                    session.execute("RELEASE SAVEPOINT job")
                    results.append((job, value, None))
            session.commit()
        except Exception as exc:  # the batch as a whole failed: nothing in it is durable
            return [(job, None, self._batch_error(exc)) for job in batch]
        self.commits += 1
        self.writes += len(batch)
        self.last_commit_seconds = time.perf_counter() - started
        if self.on_commit is not None:
            self.on_commit(len(batch), self.last_commit_seconds)
        return results

    def _is_unavailable(self, exc: BaseException) -> bool:
        return self._session is not None and self._session.is_unavailable(exc)

    def _batch_error(self, exc: Exception) -> Exception:
        session = self._session
        if session is not None:
            try:
                session.rollback()
            except Exception:  # the connection is gone: open a new one for the next batch
                self._drop_session()
        if isinstance(exc, DomainError):
            return exc
        if session is None or session.is_unavailable(exc):
            self._drop_session()
            log.warning("database unavailable for writes: %s", exc)
            return Unavailable("The database is unavailable; retry shortly")
        log.exception("batch commit failed")
        return exc

    def _drop_session(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                self._session.close()
        self._session = None

    def _answer(self, results: list[Result]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[Result]] = {}
        for item in results:
            by_loop.setdefault(item[0].loop, []).append(item)
        for loop, items in by_loop.items():
            # RuntimeError: that event loop is closed, so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, items)
