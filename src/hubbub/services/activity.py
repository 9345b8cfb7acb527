"""Activity that is only ever live: typing notifications."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.events import Ephemeral, Typing
from hubbub.models import User
from hubbub.services.access import require_member
from hubbub.services.ratelimits import RateLimits
from hubbub.services.unit import UnitOfWork

__all__ = ["TYPING_MS", "ActivityService"]

TYPING_MS = 6000


@dataclass(frozen=True, slots=True)
class ActivityService:
    uow: UnitOfWork
    limits: RateLimits

    async def typing(self, me: User, room_id: str) -> None:
        """Tell the room's other members that `me` is typing, for the next ~6 s. Members only.

        At most one notification per user and room every ~2 s (the `typing` budget) goes out;
        the others are dropped silently: the first one already says it, for 6 s.
        """
        await self.uow.read(lambda tx: require_member(tx, room_id, me.id))
        if not await self.limits.allow("typing", me.id, room_id):
            return
        now = self.uow.clock.now_ms()
        await self.uow.announce(
            Ephemeral(
                now,
                Typing(room_id, me.id, me.username, now + TYPING_MS),
                (room_id,),
                except_user=me.id,
            )
        )
