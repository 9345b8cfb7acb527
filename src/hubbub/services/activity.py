"""Activity that is only ever live: typing notifications."""

from __future__ import annotations

from dataclasses import dataclass, field

from hubbub.events import Ephemeral, Typing
from hubbub.models import User
from hubbub.services.access import require_voice
from hubbub.services.ratelimits import RateLimits
from hubbub.services.unit import UnitOfWork

__all__ = ["TYPING_MS", "ActivityService"]

TYPING_MS = 6000
TYPISTS_MAX = 10_000  # typed-but-not-sent pairs remembered; past it the oldest are forgotten


@dataclass(frozen=True, slots=True)
class ActivityService:
    uow: UnitOfWork
    limits: RateLimits
    # (user, room) pairs with a typing notification since their last message there: only
    # those have a thinning window worth ending when a message is sent (sends are frequent,
    # so the common case costs one set lookup).
    _typists: dict[tuple[str, str], None] = field(default_factory=dict)

    async def message_sent(self, me: User, room_id: str) -> None:
        """A message ends its author's "typing" on the others' screens: the next keystroke
        may say "typing" again at once, not when the thinning window runs out."""
        if self._typists.pop((me.id, room_id), 0) is None:
            await self.limits.clear("typing", me.id, room_id)

    async def typing(self, me: User, room_id: str) -> None:
        """Tell the room's other members that `me` is typing, for the next ~6 s. Members only.

        At most one notification per user and room every ~2 s (the `typing` budget) goes out;
        the others are dropped silently: the first one already says it, for 6 s.
        """
        await self.uow.read(lambda tx: require_voice(tx, room_id, me.id))
        if not await self.limits.allow("typing", me.id, room_id):
            return
        self._typists[(me.id, room_id)] = None
        if len(self._typists) > TYPISTS_MAX:
            del self._typists[next(iter(self._typists))]
        now = self.uow.clock.now_ms()
        await self.uow.announce(
            Ephemeral(
                now,
                Typing(room_id, me.id, me.username, now + TYPING_MS),
                (room_id,),
                except_user=me.id,
            )
        )
