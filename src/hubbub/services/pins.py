"""Pins: a room's owners and admins (or any member, where the room allows it) pin messages."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.errors import MessageDeleted, NotAllowed, NotAMember
from hubbub.events import MessagePinned, MessageUnpinned
from hubbub.models import Message, RoomAccess, User
from hubbub.services.access import rank, room_access, visible_message
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import messages as messages_q

__all__ = ["PINS_MAX", "PinService"]

PINS_MAX = 100


def _may_pin(room: RoomAccess, me: User) -> None:
    if rank(room, room.my_role, me) >= rank(room, "admin"):
        return
    if room.my_role is None:
        raise NotAMember("Join the room first")
    if not room.members_can_pin:
        raise NotAllowed("Only the room's owner or an admin can pin here")


@dataclass(frozen=True, slots=True)
class PinService:
    uow: UnitOfWork

    async def pin(self, me: User, message_id: str, on: bool) -> None:
        """Pin or unpin a message (idempotent)."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            message = visible_message(tx, message_id, me.id)
            _may_pin(room_access(tx, message.room_id, me.id), me)
            if on:
                if message.deleted:
                    raise MessageDeleted("A deleted message cannot be pinned")
                if message.pinned_at is None:
                    messages_q.set_pinned(tx, message.id, outbox.now_ms, me.id)
                    outbox.add(
                        MessagePinned(message.id, message.room_id, message.seq, outbox.now_ms, me)
                    )
            elif message.pinned_at is not None:
                messages_q.set_pinned(tx, message.id, None, None)
                outbox.add(MessageUnpinned(message.id, message.room_id, message.seq))

        await self.uow.write(fn)

    async def pins(self, me: User, room_id: str) -> list[Message]:
        """The room's pinned messages, the latest pin first."""

        def fn(tx: Tx) -> list[Message]:
            room_access(tx, room_id, me.id)
            return messages_q.list_where(
                tx,
                "m.room_id = :room AND m.pinned_at IS NOT NULL",
                {"room": room_id},
                "m.pinned_at DESC, m.id",
                PINS_MAX,
                me.id,
            )

        return await self.uow.read(fn)
