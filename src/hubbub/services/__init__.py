"""Services: every rule and every write. They never import the web framework or a driver."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.bus import Bus
from hubbub.clock import Clock
from hubbub.config import Settings
from hubbub.services.accounts import AccountService
from hubbub.services.classic import ClassicService
from hubbub.services.events import EventService
from hubbub.services.health import HealthService
from hubbub.services.hub import Hub
from hubbub.services.messages import MessageService
from hubbub.services.passwords import Passwords
from hubbub.services.ratelimit import RateLimiter
from hubbub.services.rooms import RoomService
from hubbub.store import Store

__all__ = ["Services", "build_services"]


@dataclass(frozen=True, slots=True)
class Services:
    classic: ClassicService
    accounts: AccountService
    rooms: RoomService
    messages: MessageService
    events: EventService
    health: HealthService


def build_services(store: Store, clock: Clock, settings: Settings, bus: Bus, hub: Hub) -> Services:
    events = EventService(store, clock, bus, hub, max_buffer=settings.stream_buffer)
    return Services(
        classic=ClassicService(store, clock, settings, events),
        accounts=AccountService(
            store,
            clock,
            settings,
            Passwords(settings.password_hashing),
            events,
            RateLimiter(settings.auth_attempts_per_minute, clock),
        ),
        rooms=RoomService(store, clock, events),
        messages=MessageService(store, clock, settings, events),
        events=events,
        health=HealthService(store, bus),
    )
