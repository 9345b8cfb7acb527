"""What the SQLite and PostgreSQL engines share: writes through one group-commit writer
thread, reads on a pool of reader threads, each with its own connection."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from hubbub.store.batching import BatchWriter
from hubbub.store.engine import TxFn

__all__ = ["ThreadedEngine"]

T = TypeVar("T")


class ThreadedEngine:
    """Subclasses provide `_run_read` (run a read in a reader thread) and may override
    `_release` (close reader connections; runs in a thread at close)."""

    dialect: str

    def __init__(self, writer: BatchWriter, readers: int, thread_prefix: str) -> None:
        self._writer = writer
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix=thread_prefix)
        self._closed = False

    @property
    def writer(self) -> BatchWriter:
        return self._writer

    @property
    def commits(self) -> int:
        return self._writer.commits

    @property
    def writes(self) -> int:
        return self._writer.writes

    async def write(self, fn: TxFn[T]) -> T:
        return await self._writer.submit(fn)

    async def read(self, fn: TxFn[T]) -> T:
        if self._closed:
            raise RuntimeError("engine is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._run_read, fn)

    async def ping(self) -> None:
        await self.read(lambda tx: tx.fetchone("SELECT 1"))

    async def flush(self) -> None:
        return None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._writer.close()
        self._readers.shutdown(wait=True)
        await asyncio.to_thread(self._release)

    def _run_read(self, fn: TxFn[T]) -> T:
        raise NotImplementedError

    def _release(self) -> None:
        """Close the reader connections (after every reader thread has finished)."""
