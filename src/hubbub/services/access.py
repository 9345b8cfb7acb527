"""Who may see and act in a room. Used inside transaction functions.

Ranks order who may act on whom: member < admin < owner, and above them a server admin in a
public room or the lobby (server admins moderate those; a private room or DM is its members'
business alone). Removing, banning, muting and changing roles need a rank above the target's;
deleting another's message needs the admin rank (any admin may delete any message).
"""

from __future__ import annotations

from hubbub.errors import MessageNotFound, Muted, NotAllowed, NotAMember, RoomNotFound
from hubbub.models import Message, Role, Room, RoomAccess, User
from hubbub.store import Tx
from hubbub.store.bots import is_bot
from hubbub.store.messages import find_message
from hubbub.store.rooms import find_access, find_room

__all__ = [
    "MANAGERS",
    "SERVER_ADMIN",
    "check_manager",
    "is_public_room",
    "rank",
    "require_manager",
    "require_member",
    "require_voice",
    "room_access",
    "visible_message",
    "visible_room",
]

MANAGERS: frozenset[Role] = frozenset({"owner", "admin"})
_RANKS: dict[Role | None, int] = {None: 0, "member": 1, "admin": 2, "owner": 3}
SERVER_ADMIN = 4


def is_public_room(room: RoomAccess | Room) -> bool:
    """A public room (the lobby included), not a DM."""
    return room.visibility == "public" and room.kind == "room"


def rank(room: RoomAccess, role: Role | None, user: User | None = None) -> int:
    """How much say someone with `role` in `room` has; a server admin (`user.is_admin`) has
    the most in a public room."""
    if user is not None and user.is_admin and is_public_room(room):
        return SERVER_ADMIN
    return _RANKS[role]


def visible_room(tx: Tx, room_id: str, me: str) -> Room:
    """The room if `me` may see it: public, or `me` is a member. Otherwise RoomNotFound,
    so a private room's existence never leaks."""
    room = find_room(tx, room_id, me)
    if room is None or (room.my_role is None and _hidden(tx, room.visibility, me)):
        raise RoomNotFound(f"No room {room_id!r}")
    return room


def room_access(tx: Tx, room_id: str, me: str) -> RoomAccess:
    """Like visible_room, but only what access rules need (cheap: no counts)."""
    access = find_access(tx, room_id, me)
    if access is None or (access.my_role is None and _hidden(tx, access.visibility, me)):
        raise RoomNotFound(f"No room {room_id!r}")
    return access


def _hidden(tx: Tx, visibility: str, me: str) -> bool:
    """Whether a room `me` is not in is hidden from them: a private one always; a public one
    from a bot (bots see only the rooms they were added to). Members never get here."""
    return visibility == "private" or is_bot(tx, me)


def require_member(tx: Tx, room_id: str, me: str) -> RoomAccess:
    room = room_access(tx, room_id, me)
    if room.my_role is None:
        raise NotAMember("Join the room first")
    return room


def require_voice(tx: Tx, room_id: str, me: str) -> RoomAccess:
    """A member who may write (send, edit, react, type): not muted."""
    room = require_member(tx, room_id, me)
    if room.muted:
        raise Muted("You are muted in this room")
    return room


def check_manager(room: RoomAccess, me: User | None = None) -> RoomAccess:
    """The room, if the viewer manages it: its owner or an admin, or a server admin (`me`)
    in a public room. Else NotAMember / NotAllowed."""
    if me is not None and rank(room, room.my_role, me) == SERVER_ADMIN:
        return room
    if room.my_role is None:
        raise NotAMember("Join the room first")
    if room.my_role not in MANAGERS:
        raise NotAllowed("Only the room's owner or an admin can do this")
    return room


def require_manager(tx: Tx, room_id: str, me: User) -> RoomAccess:
    return check_manager(room_access(tx, room_id, me.id), me)


def visible_message(tx: Tx, message_id: str, me: str) -> Message:
    """The message if `me` can see its room; otherwise MessageNotFound (nothing leaks)."""
    message = find_message(tx, message_id, me)
    if message is None:
        raise MessageNotFound(f"No message {message_id!r}")
    try:
        room_access(tx, message.room_id, me)
    except RoomNotFound:
        raise MessageNotFound(f"No message {message_id!r}") from None
    return message
