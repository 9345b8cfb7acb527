"""The unit of work: the one way services write. It runs a transaction function with an
outbox, stores the outbox's events as the transaction's last statement, commits, and only then
publishes them (telling `committed`, this node's own listener, first). No service calls the
bus (or the hub) itself, so no write can forget to announce what it did, or announce what was
never committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from hubbub.clock import Clock
from hubbub.events import DurableEvent, Ephemeral, Event
from hubbub.store import Store, Tx
from hubbub.store.events import append_events

__all__ = ["Announcer", "Outbox", "UnitOfWork"]

T = TypeVar("T")


class Announcer(Protocol):
    """What the unit of work needs of the bus."""

    async def publish_events(self, events: list[Event]) -> None: ...

    async def publish_ephemeral(self, event: Ephemeral) -> None: ...


class Outbox:
    """The events of one transaction attempt, and its time (`now_ms`, read in the writer: when
    the transaction runs, which is when it commits)."""

    __slots__ = ("_items", "now_ms")

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self._items: list[DurableEvent] = []

    def add(self, event: DurableEvent) -> None:
        self._items.append(event)

    def commit(self, tx: Tx) -> list[Event]:
        """Store the events (see append_events: last statement of the transaction)."""
        return append_events(tx, self._items, self.now_ms)


@dataclass(frozen=True, slots=True)
class UnitOfWork:
    store: Store
    clock: Clock
    announcer: Announcer
    # Told of each write's events right after its commit, before they are published and
    # before the write returns: this node's caches forget what the write made stale before
    # its request answers (other nodes learn through their hubs).
    committed: Callable[[list[Event]], None] | None = None

    async def write(self, fn: Callable[[Tx, Outbox], T]) -> T:
        """Run `fn(tx, outbox)` in a write transaction; once it has committed, publish the
        events `fn` added, then return its result. If `fn` raises, nothing is stored or
        published and the error propagates."""

        def tx_fn(tx: Tx) -> tuple[T, list[Event]]:
            outbox = Outbox(self.clock.now_ms())
            result = fn(tx, outbox)
            return result, outbox.commit(tx)

        result, events = await self.store.write(tx_fn)
        if events:
            if self.committed is not None:
                self.committed(events)
            await self.announcer.publish_events(events)
        return result

    async def read(self, fn: Callable[[Tx], T]) -> T:
        """Run `fn(tx)` on a snapshot that includes every acknowledged write."""
        return await self.store.read(fn)

    async def announce(self, event: Ephemeral) -> None:
        """Send a live-only event (typing); nothing is stored."""
        await self.announcer.publish_ephemeral(event)
