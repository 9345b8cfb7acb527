"""Storage: an Engine (SQLite or PostgreSQL) and the query modules that run on any engine."""

from __future__ import annotations

from hubbub.clock import Clock
from hubbub.store.engine import Engine
from hubbub.store.messages import MessageStore, NewMessage
from hubbub.store.schema import applied_versions, load_migrations, migrate

__all__ = ["Engine", "NewMessage", "Store"]


class Store:
    """Everything the services persist, grouped by noun. Owns its engine."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.messages = MessageStore(engine, clock)
        self._clock = clock

    async def migrate(self) -> list[int]:
        """Apply pending migrations; return the versions applied."""
        return await self.engine.write(lambda tx: migrate(tx, self._clock.now_ms()))

    async def pending_migrations(self) -> list[int]:
        """Versions shipped but not yet applied (empty when the schema is current)."""
        done = await self.engine.read(applied_versions)
        return [m.version for m in load_migrations() if m.version not in done]

    async def close(self) -> None:
        await self.engine.close()
