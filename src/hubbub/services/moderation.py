"""Bans: who may not be in a room again. (Mutes are a member setting: RoomService.put_member.)

Banning takes the user out of the room at once (member.left with how "banned": nothing more
of the room reaches them, not even what was queued), keeps them from joining or being added
(Banned), and hides a private room from them (404). Owners and admins ban members below
them; server admins ban in public rooms. Never in a DM.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.errors import NotAllowed, UserNotFound
from hubbub.models import Ban, User
from hubbub.services.access import check_manager, rank, room_access
from hubbub.services.audit import record
from hubbub.services.fields import check_text
from hubbub.services.rooms import remove_member
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import bans as bans_q
from hubbub.store import rooms as rooms_q
from hubbub.store import users as users_q

__all__ = ["REASON_MAX", "ModerationService"]

REASON_MAX = 500


@dataclass(frozen=True, slots=True)
class ModerationService:
    uow: UnitOfWork

    async def ban(self, me: User, room_id: str, username: str, reason: str = "") -> None:
        """Ban `username` from the room (idempotent: a second ban keeps the first reason)."""
        check_text("reason", reason, 0, REASON_MAX, allow_blank=True)

        def fn(tx: Tx, outbox: Outbox) -> None:
            room = room_access(tx, room_id, me.id)
            if room.kind == "dm":
                raise NotAllowed("Nobody can be banned from a direct message")
            check_manager(room, me)
            target = _user(tx, username)
            target_role = rooms_q.find_member_role(tx, room_id, target.id)
            if rank(room, target_role, target) >= rank(room, room.my_role, me):
                raise NotAllowed("You cannot ban someone of equal or higher role")
            if not bans_q.insert_ban(tx, room_id, target.id, me.id, reason, outbox.now_ms):
                return
            if target_role is not None:
                remove_member(tx, outbox, room_id, target, target_role, "banned")
            record(tx, outbox, me, "room.ban", f"{room_id}/{target.username}", reason)

        await self.uow.write(fn)

    async def unban(self, me: User, room_id: str, username: str) -> None:
        """Lift a ban (idempotent); they may join or be added again."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            room = room_access(tx, room_id, me.id)
            if room.kind == "dm":
                raise NotAllowed("Nobody is banned from a direct message")
            check_manager(room, me)
            target = _user(tx, username)
            if bans_q.delete_ban(tx, room_id, target.id):
                record(tx, outbox, me, "room.unban", f"{room_id}/{target.username}")

        await self.uow.write(fn)

    async def list_bans(self, me: User, room_id: str) -> list[Ban]:
        """The room's bans (for those who may ban), oldest first."""

        def fn(tx: Tx) -> list[Ban]:
            check_manager(room_access(tx, room_id, me.id), me)
            return bans_q.list_bans(tx, room_id)

        return await self.uow.read(fn)


def _user(tx: Tx, username: str) -> User:
    user = users_q.find_user_by_username(tx, username)
    if user is None:
        raise UserNotFound(f"No user {username!r}")
    return user
