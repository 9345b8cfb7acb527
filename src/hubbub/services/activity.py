"""Activity that is only ever live: typing notifications."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.events import Ephemeral, Typing
from hubbub.models import User
from hubbub.services.access import require_member
from hubbub.services.unit import UnitOfWork

__all__ = ["TYPING_MS", "ActivityService"]

TYPING_MS = 6000


@dataclass(frozen=True, slots=True)
class ActivityService:
    uow: UnitOfWork

    async def typing(self, me: User, room_id: str) -> None:
        """Tell the room's other members that `me` is typing, for the next ~6 s. Members only."""
        await self.uow.read(lambda tx: require_member(tx, room_id, me.id))
        now = self.uow.clock.now_ms()
        await self.uow.announce(
            Ephemeral(
                now,
                Typing(room_id, me.id, me.username, now + TYPING_MS),
                (room_id,),
                except_user=me.id,
            )
        )
