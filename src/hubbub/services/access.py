"""Who may see and act in a room. Used inside transaction functions."""

from __future__ import annotations

from hubbub.errors import NotAllowed, NotAMember, RoomNotFound
from hubbub.models import Role, Room, RoomAccess
from hubbub.store import Tx
from hubbub.store.rooms import find_access, find_room

__all__ = [
    "MANAGERS",
    "check_manager",
    "require_manager",
    "require_member",
    "room_access",
    "visible_room",
]

MANAGERS: frozenset[Role] = frozenset({"owner", "admin"})


def visible_room(tx: Tx, room_id: str, me: str) -> Room:
    """The room if `me` may see it: public, or `me` is a member. Otherwise RoomNotFound,
    so a private room's existence never leaks."""
    room = find_room(tx, room_id, me)
    if room is None or (room.visibility == "private" and room.my_role is None):
        raise RoomNotFound(f"No room {room_id!r}")
    return room


def room_access(tx: Tx, room_id: str, me: str) -> RoomAccess:
    """Like visible_room, but only what access rules need (cheap: no counts)."""
    access = find_access(tx, room_id, me)
    if access is None or (access.visibility == "private" and access.my_role is None):
        raise RoomNotFound(f"No room {room_id!r}")
    return access


def require_member(tx: Tx, room_id: str, me: str) -> RoomAccess:
    room = room_access(tx, room_id, me)
    if room.my_role is None:
        raise NotAMember("Join the room first")
    return room


def check_manager(room: RoomAccess) -> RoomAccess:
    """The room, if the viewer manages it (owner or admin); else NotAMember / NotAllowed."""
    if room.my_role is None:
        raise NotAMember("Join the room first")
    if room.my_role not in MANAGERS:
        raise NotAllowed("Only the room's owner or an admin can do this")
    return room


def require_manager(tx: Tx, room_id: str, me: str) -> RoomAccess:
    return check_manager(room_access(tx, room_id, me))
