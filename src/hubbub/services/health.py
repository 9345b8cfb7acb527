"""Readiness: can this node serve? (database reachable and migrated; bus state)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from hubbub.store import Store

__all__ = ["HealthService", "Readiness"]

CHECK_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Readiness:
    database: str  # "ok", "migrations pending: [...]" or "unreachable: <error type>"
    bus: str  # "connected" or "degraded"

    @property
    def status(self) -> str:
        """'unavailable' (cannot serve), 'degraded' (serving; live push via the database
        poll only) or 'ready'."""
        if self.database != "ok":
            return "unavailable"
        return "ready" if self.bus == "connected" else "degraded"


@dataclass(frozen=True, slots=True)
class HealthService:
    store: Store
    bus_state: Callable[[], str]  # "connected" or "degraded"

    async def readiness(self) -> Readiness:
        """Check the database (with a timeout: an outage must not hang the probe)."""
        try:
            await asyncio.wait_for(self.store.engine.ping(), CHECK_TIMEOUT)
            pending = await asyncio.wait_for(self.store.pending_migrations(), CHECK_TIMEOUT)
            database = "ok" if not pending else f"migrations pending: {pending}"
        except Exception as exc:  # any failure to answer means "not ready", with the reason
            database = f"unreachable: {type(exc).__name__}"
        return Readiness(database, self.bus_state())
