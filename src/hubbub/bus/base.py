"""The Bus interface. Every backend passes tests/contract/test_bus.py."""

from __future__ import annotations

from typing import Protocol

from hubbub.events import Ephemeral, Event

__all__ = ["Bus", "BusHandler"]


class BusHandler(Protocol):
    """What a bus calls with what it receives (every node's hub implements this)."""

    def on_events(self, events: list[Event]) -> None: ...

    def on_ephemeral(self, event: Ephemeral) -> None: ...

    def on_resync(self) -> None:
        """The bus (re)connected: messages may have been missed; read the database."""
        ...


class Bus(Protocol):
    async def start(self, handler: BusHandler) -> None:
        """Begin delivering everything published (by any node) to `handler`."""
        ...

    async def publish_events(self, events: list[Event]) -> None:
        """Announce committed events. Never raises: a lost message is recovered from the DB."""
        ...

    async def publish_ephemeral(self, event: Ephemeral) -> None:
        """Send a live-only event; may be lost if the bus is down."""
        ...

    async def set_online(self, user_id: str, online: bool) -> bool:
        """Record whether this node has `user_id` connected; return whether the user is
        connected to any node."""
        ...

    async def online_among(self, user_ids: list[str]) -> set[str] | None:
        """Which of these users are connected to any node; None if the bus has no view
        beyond this node (then the node's own view is the whole view)."""
        ...

    @property
    def state(self) -> str:
        """'connected', or 'degraded' when messages cannot currently be carried."""
        ...

    async def close(self) -> None: ...
