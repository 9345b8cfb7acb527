"""Retention: messages older than their room's window are erased for good, and the event log
keeps only `event_retention`. Run by every node's upkeep; each step is idempotent, so nodes
may race, and bounded (BATCH rows per transaction), so the writer is never held for long.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hubbub.config import Settings
from hubbub.services.files import Reap, no_reaping
from hubbub.services.redaction import redact_pruned
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import events as events_q
from hubbub.store import messages as messages_q
from hubbub.store import rooms as rooms_q

__all__ = ["BATCH", "RetentionService", "Swept"]

BATCH = 500
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Swept:
    messages: int
    events: int


@dataclass(frozen=True, slots=True)
class RetentionService:
    uow: UnitOfWork
    settings: Settings
    reap: Reap = no_reaping

    async def sweep(self) -> Swept:
        """One pass: expired messages in every room, then the event log's old end."""
        return Swept(await self.sweep_messages(), await self.sweep_events())

    async def sweep_messages(self) -> int:
        default = self.settings.message_retention_seconds
        now_ms = self.uow.clock.now_ms()
        rooms = await self.uow.read(
            lambda tx: rooms_q.list_retention(tx, with_default=default is not None)
        )
        erased = 0
        for room_id, days in rooms:
            window_ms = days * DAY_MS if days is not None else int((default or 0) * 1000)
            before_ms = now_ms - window_ms
            while True:
                gone = await self.uow.write(_erase_batch(room_id, before_ms))
                erased += gone
                if gone < BATCH:
                    break
        if erased:
            await self.reap()  # the erased messages' files
        return erased

    async def sweep_events(self) -> int:
        before_ms = self.uow.clock.now_ms() - int(self.settings.event_retention_seconds * 1000)
        pruned = 0
        while True:
            gone = await self.uow.write(
                lambda tx, outbox: events_q.prune_before(tx, before_ms, BATCH)
            )
            pruned += gone
            if gone < BATCH:
                return pruned


def _erase_batch(room_id: str, before_ms: int) -> Callable[[Tx, Outbox], int]:
    """One transaction's worth: up to BATCH of the room's expired messages, redacted from
    every copy (services/redaction.py), then erased."""

    def fn(tx: Tx, outbox: Outbox) -> int:
        after = rooms_q.pruned_seq(tx, room_id)
        if after is None:
            return 0
        expired = messages_q.list_expired(tx, room_id, after, before_ms, BATCH)
        if not expired:
            return 0
        for message in expired:
            redact_pruned(tx, message)
        return messages_q.erase_through(tx, room_id, after, expired[-1].seq)

    return fn
