"""The in-process bus: one node, direct calls."""

from __future__ import annotations

from hubbub.bus.base import BusHandler
from hubbub.events import Ephemeral, Event

__all__ = ["MemoryBus"]


class MemoryBus:
    def __init__(self) -> None:
        self._handler: BusHandler | None = None

    async def start(self, handler: BusHandler) -> None:
        self._handler = handler

    async def publish_events(self, events: list[Event]) -> None:
        if self._handler is not None and events:
            self._handler.on_events(events)

    async def publish_ephemeral(self, event: Ephemeral) -> None:
        if self._handler is not None:
            self._handler.on_ephemeral(event)

    async def set_online(self, user_id: str, online: bool) -> bool:
        return online  # one node: its view is the whole view

    async def online_among(self, user_ids: list[str]) -> set[str] | None:
        return None

    @property
    def state(self) -> str:
        return "connected"

    async def close(self) -> None:
        self._handler = None
