"""Storage: an Engine (SQLite or PostgreSQL) and query modules whose functions run on any engine.

Services compose query functions into one transaction function and run it with `write` (rules
and writes commit together) or `read`.
"""

from __future__ import annotations

import secrets
from typing import TypeVar

from hubbub.clock import Clock
from hubbub.models import LOBBY_ROOM_ID
from hubbub.store.engine import Engine, Tx, TxFn
from hubbub.store.schema import applied_versions, load_migrations, migrate

__all__ = ["Engine", "Store", "Tx", "TxFn"]

T = TypeVar("T")


class Store:
    """The database of one hubbub deployment. Owns its engine."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self._clock = clock

    async def write(self, fn: TxFn[T]) -> T:
        """Run `fn` in a write transaction; return its result once committed."""
        return await self.engine.write(fn)

    async def read(self, fn: TxFn[T]) -> T:
        """Run `fn` on a snapshot that includes every acknowledged write."""
        return await self.engine.read(fn)

    async def migrate(self) -> list[int]:
        """Apply pending migrations and make sure the lobby room exists; return the versions
        applied."""

        def tx_fn(tx: Tx) -> list[int]:
            now = self._clock.now_ms()
            applied = migrate(tx, now)
            tx.execute(
                "INSERT INTO rooms (id, name, topic, visibility, kind, created_at)"
                " VALUES (:id, 'general', 'The lobby: everyone is here', 'public', 'room', :now)"
                " ON CONFLICT DO NOTHING",
                {"id": LOBBY_ROOM_ID, "now": now},
            )
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('deployment_id', :id)"
                " ON CONFLICT DO NOTHING",
                {"id": secrets.token_hex(4)},
            )
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('files_key', :key) ON CONFLICT DO NOTHING",
                {"key": secrets.token_hex(32)},
            )
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('email_key', :key) ON CONFLICT DO NOTHING",
                {"key": secrets.token_hex(32)},
            )
            return applied

        return await self.engine.write(tx_fn)

    async def rotate_deployment_id(self) -> str:
        """Give the deployment a new id: every outstanding cursor stops resuming (clients get
        `reset` and refetch state). Use after restoring a backup, which rewinds the log."""
        new = secrets.token_hex(4)
        await self.engine.write(
            lambda tx: tx.execute(
                "UPDATE meta SET value = :v WHERE key = 'deployment_id'", {"v": new}
            )
        )
        return new

    async def deployment_id(self) -> str:
        """A random id made at first migration; it goes into every cursor."""
        row = await self.engine.read(
            lambda tx: tx.fetchone("SELECT value FROM meta WHERE key = 'deployment_id'")
        )
        assert row is not None, "run migrations first"
        return str(row[0])

    async def files_key(self) -> bytes:
        """The key that signs links to files (made at first migration; shared by the
        cluster's nodes through the database)."""
        row = await self.engine.read(
            lambda tx: tx.fetchone("SELECT value FROM meta WHERE key = 'files_key'")
        )
        assert row is not None, "run migrations first"
        return bytes.fromhex(str(row[0]))

    async def email_key(self) -> bytes:
        """The key that signs one-click unsubscribe links in mails (made at first start;
        shared by the cluster's nodes through the database)."""
        row = await self.engine.read(
            lambda tx: tx.fetchone("SELECT value FROM meta WHERE key = 'email_key'")
        )
        assert row is not None, "run migrations first"
        return bytes.fromhex(str(row[0]))

    async def pending_migrations(self) -> list[int]:
        """Versions shipped but not yet applied (empty when the schema is current)."""
        done = await self.engine.read(applied_versions)
        return [m.version for m in load_migrations() if m.version not in done]

    async def flush(self) -> None:
        """See Engine.flush: deleted data leaves the files (docs/architecture.md)."""
        await self.engine.flush()

    async def close(self) -> None:
        await self.engine.close()
