"""Events collected inside a transaction function and stored with its writes."""

from __future__ import annotations

from typing import Any, Protocol

from hubbub.models import Event
from hubbub.store import Tx
from hubbub.store.events import NewEvent, append_events

__all__ = ["Outbox", "Publisher"]


class Publisher(Protocol):
    async def publish(self, events: list[Event]) -> None:
        """Announce events that are committed."""
        ...


class Outbox:
    """Create one per transaction attempt; `add` events, then `commit` them last."""

    def __init__(self) -> None:
        self._items: list[NewEvent] = []

    def add(
        self,
        type: str,
        room_id: str,
        data: dict[str, Any],
        *,
        subject: str | None = None,
        private: bool = False,
    ) -> None:
        self._items.append(NewEvent(type, room_id, data, subject, private))

    def commit(self, tx: Tx, now_ms: int) -> list[Event]:
        """Store the events; call as the transaction's last statement (see append_events)."""
        return append_events(tx, self._items, now_ms)
