"""The small interface every database backend implements, and the transaction handle queries use.

Queries are plain synchronous functions `fn(tx) -> T` written once, in SQL that both SQLite and
PostgreSQL accept, with `:name` placeholders. An Engine runs them: `write` in a transaction that
is committed before the awaiting caller resumes, `read` on a snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

__all__ = ["Engine", "Params", "Row", "Tx", "TxFn"]

T = TypeVar("T")
Row = Sequence[Any]
Params = Mapping[str, Any]


class Tx(Protocol):
    """One open transaction. Not thread-safe; only used inside a TxFn."""

    dialect: str

    def execute(self, sql: str, params: Params | None = None) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    def fetchone(self, sql: str, params: Params | None = None) -> Row | None: ...

    def fetchall(self, sql: str, params: Params | None = None) -> list[Row]: ...


TxFn = Callable[[Tx], T]


class Engine(Protocol):
    dialect: str

    async def write(self, fn: TxFn[T]) -> T:
        """Run `fn` in a write transaction and return its result once it is committed.

        If `fn` raises, its changes are rolled back and the exception propagates; other
        writes batched into the same commit are unaffected.
        """
        ...

    async def read(self, fn: TxFn[T]) -> T:
        """Run `fn` on a consistent read snapshot that sees every write already acknowledged."""
        ...

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        ...

    async def flush(self) -> None:
        """Make deleted data unrecoverable from the database's files where the engine can
        (SQLite: checkpoint and truncate the write-ahead log); a no-op elsewhere."""
        ...

    async def close(self) -> None: ...
