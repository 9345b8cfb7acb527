"""Services: every rule and every write. They never import the web framework or a driver."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.clock import Clock
from hubbub.config import Settings
from hubbub.services.accounts import AccountService
from hubbub.services.classic import ClassicService
from hubbub.services.messages import MessageService
from hubbub.services.passwords import Passwords
from hubbub.services.rooms import RoomService
from hubbub.store import Store

__all__ = ["Services", "build_services"]


@dataclass(frozen=True, slots=True)
class Services:
    classic: ClassicService
    accounts: AccountService
    rooms: RoomService
    messages: MessageService


def build_services(store: Store, clock: Clock, settings: Settings) -> Services:
    return Services(
        classic=ClassicService(store, clock, settings),
        accounts=AccountService(store, clock, settings, Passwords(settings.password_hashing)),
        rooms=RoomService(store, clock),
        messages=MessageService(store, clock, settings),
    )
