"""Rooms, membership and direct messages: every rule about who is in which room.

Every change adds its events (member.joined/left/updated, room.updated, read.updated) to the
unit of work's outbox: they commit with the change and are published after the commit.
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass

import orjson

from hubbub.errors import (
    Banned,
    DmMembershipFixed,
    DmWithSelf,
    Invalid,
    NotAllowed,
    NotAMember,
    UserNotFound,
)
from hubbub.events import (
    LeftHow,
    MemberJoined,
    MemberLeft,
    MemberUpdated,
    ReadUpdated,
    RoomCreated,
    RoomUpdated,
)
from hubbub.ids import new_id
from hubbub.models import Member, NotifyLevel, Role, Room, User, Visibility
from hubbub.services.access import (
    check_manager,
    rank,
    require_manager,
    require_member,
    room_access,
    visible_room,
)
from hubbub.services.audit import record
from hubbub.services.fields import check_name, check_optional_text, is_lone_surrogate_in
from hubbub.services.notifications import with_level
from hubbub.services.ratelimits import RateLimits
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import bans as bans_q
from hubbub.store import messages as messages_q
from hubbub.store import rooms as rooms_q
from hubbub.store import users as users_q

__all__ = [
    "ASSIGNABLE_ROLES",
    "KEEP",
    "NAME_MAX",
    "RETENTION_DAYS_MAX",
    "TOPIC_MAX",
    "Keep",
    "RoomService",
    "announce_join",
    "parse_room_cursor",
    "public_room",
    "remove_member",
    "room_cursor",
]

NAME_MAX, TOPIC_MAX = 80, 250
RETENTION_DAYS_MAX = 36500


class Keep(enum.Enum):
    """A setting left as it is (absent from the request, as opposed to null)."""

    KEEP = "keep"


KEEP = Keep.KEEP
PUBLIC_PAGE, PUBLIC_PAGE_MAX = 50, 200
ASSIGNABLE_ROLES: frozenset[Role] = frozenset({"admin", "member"})


@dataclass(frozen=True, slots=True)
class RoomService:
    uow: UnitOfWork
    limits: RateLimits
    notify_default: NotifyLevel = "mentions"  # fills Room.notification_level (#18)

    async def create(self, me: User, name: str, topic: str | None, visibility: Visibility) -> Room:
        """Create a room owned by `me`. Limited per account (the `rooms` budget)."""
        check_name("name", name, 1, NAME_MAX)
        check_optional_text("topic", topic, 0, TOPIC_MAX, allow_blank=True)
        await self.limits.hit("rooms", me.id)

        def fn(tx: Tx, outbox: Outbox) -> Room:
            now = outbox.now_ms
            room = Room(
                id=new_id("r", now),
                name=name,
                topic=topic or "",
                visibility=visibility,
                kind="room",
                created_at=now,
                member_count=0,
                last_seq=0,
            )
            rooms_q.insert_room(tx, room)
            rooms_q.upsert_member(tx, room.id, me.id, "owner", now)
            announce_join(tx, outbox, room.id, me, "owner")
            made = visible_room(tx, room.id, me.id)
            if visibility == "public":  # room directories hear of it at once
                outbox.add(RoomCreated(public_room(made)))
            return made

        return with_level(await self.uow.write(fn), self.notify_default)

    async def list_mine(self, me: User) -> list[Room]:
        rooms = await self.uow.read(lambda tx: rooms_q.list_rooms_of(tx, me.id))
        return [with_level(r, self.notify_default) for r in rooms]

    async def list_public(
        self, me: User, prefix: str = "", cursor: str | None = None, limit: int = PUBLIC_PAGE
    ) -> tuple[list[Room], str | None]:
        """A page of the public rooms `me` can join (is not yet in), by name, whose name
        starts with `prefix` (ignoring case); and the cursor of the next page, or None. Pages
        are stable while rooms are added: a cursor is the last (name, id) seen."""
        if not 1 <= limit <= PUBLIC_PAGE_MAX:
            raise Invalid(f"limit must be 1..{PUBLIC_PAGE_MAX}", field="limit")
        check_optional_text("prefix", prefix, 0, NAME_MAX, allow_blank=True)
        after = None if cursor is None else parse_room_cursor(cursor)
        if me.bot:
            return [], None  # bots see only the rooms they were added to
        rooms = await self.uow.read(
            lambda tx: rooms_q.list_public_rooms(tx, me.id, prefix, after, limit + 1)
        )
        more = len(rooms) > limit
        rooms = rooms[:limit]
        return rooms, room_cursor(rooms[-1]) if more else None

    async def get(self, me: User, room_id: str) -> Room:
        room = await self.uow.read(lambda tx: visible_room(tx, room_id, me.id))
        return with_level(room, self.notify_default)

    async def update(
        self,
        me: User,
        room_id: str,
        name: str | None,
        topic: str | None,
        retention_days: int | Keep | None = KEEP,
        *,
        members_can_pin: bool | None = None,
    ) -> Room:
        """Rename or re-topic a room, or set how many days its messages are kept (None: the
        server's default): owner or admin only; never a DM."""
        if name is not None:
            check_name("name", name, 1, NAME_MAX)
        check_optional_text("topic", topic, 0, TOPIC_MAX, allow_blank=True)
        if isinstance(retention_days, int) and not 1 <= retention_days <= RETENTION_DAYS_MAX:
            raise Invalid(
                f"retention_days must be 1..{RETENTION_DAYS_MAX} or null", field="retention_days"
            )

        def fn(tx: Tx, outbox: Outbox) -> Room:
            room = require_manager(tx, room_id, me)
            if room.kind == "dm":
                raise NotAllowed("A direct message has no name or topic to change")
            rooms_q.update_room(tx, room_id, name, topic)
            if retention_days is not KEEP:
                rooms_q.set_retention(tx, room_id, retention_days)
                record(tx, outbox, me, "room.retention", room_id, str(retention_days))
            if members_can_pin is not None:
                rooms_q.set_members_can_pin(tx, room_id, members_can_pin)
            updated = visible_room(tx, room_id, me.id)
            outbox.add(RoomUpdated(public_room(updated)))
            return updated

        return with_level(await self.uow.write(fn), self.notify_default)

    async def join(self, me: User, room_id: str) -> None:
        """Join a public room; idempotent. A private room (or DM) you are not in is not found."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            room = room_access(tx, room_id, me.id)
            if room.banned:
                raise Banned("You are banned from this room")
            if room.my_role is None:
                rooms_q.upsert_member(
                    tx, room_id, me.id, "member", outbox.now_ms, start_read_seq=room.last_seq
                )
                announce_join(tx, outbox, room_id, me, "member")

        await self.uow.write(fn)

    async def leave(self, me: User, room_id: str) -> None:
        """Leave a room; idempotent. Not allowed for a DM."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            room = room_access(tx, room_id, me.id)
            if room.kind == "dm":
                raise DmMembershipFixed("You cannot leave a direct message")
            if room.my_role is not None:
                remove_member(tx, outbox, room_id, me, room.my_role, "left")

        await self.uow.write(fn)

    async def list_members(self, me: User, room_id: str) -> list[Member]:
        def fn(tx: Tx) -> list[Member]:
            room_access(tx, room_id, me.id)
            return rooms_q.list_members(tx, room_id)

        return await self.uow.read(fn)

    async def put_member(
        self,
        me: User,
        room_id: str,
        username: str,
        role: Role | None,
        muted: bool | None = None,
    ) -> tuple[Member, bool]:
        """Add `username` (as `role`, default member), change their role, or mute or unmute
        them. Returns the member and whether they were newly added.

        Owner or admin only (or a server admin in a public room); only the owner (or a server
        admin) grants or takes away admin; nobody changes the owner's role here; muting needs
        a rank above the target's; a banned user cannot be added (Banned).
        """
        if role is not None and role not in ASSIGNABLE_ROLES:
            raise Invalid("role must be 'admin' or 'member'", field="role")
        # Every call counts (a role change too): the budgets are about how often one account
        # can put people into rooms, and how often it can pull one person around.
        await self.limits.hit("member_adds", me.id)
        await self.limits.hit("member_adds_per_user", me.id, username.casefold())

        def fn(tx: Tx, outbox: Outbox) -> tuple[Member, bool]:
            room = room_access(tx, room_id, me.id)
            mine = rank(room, room.my_role, me)
            if mine == 0:
                raise NotAMember("Join the room first")
            if room.kind == "dm":
                raise DmMembershipFixed("Nobody can be added to a direct message")
            check_manager(room, me)
            target = _user(tx, username)
            current = rooms_q.find_member(tx, room_id, target.id)
            current_role = current.role if current else None
            new_role: Role = role or current_role or "member"
            if current is None and bans_q.is_banned(tx, room_id, target.id):
                raise Banned(f"{target.username} is banned from this room: unban them first")
            if current_role == "owner":
                if new_role != "owner":
                    raise NotAllowed("The owner's role cannot be changed")
            elif (
                (new_role == "admin" or current_role == "admin")
                and new_role != current_role
                and mine < rank(room, "owner")
            ):
                raise NotAllowed("Only the owner can grant or remove admin")
            was_muted = current.muted if current else False
            new_muted = was_muted if muted is None else muted
            if new_muted != was_muted and mine <= rank(room, current_role, target):
                raise NotAllowed("You cannot mute or unmute a member of equal or higher role")
            added = rooms_q.upsert_member(
                tx, room_id, target.id, new_role, outbox.now_ms, start_read_seq=room.last_seq
            )
            if new_muted:
                rooms_q.set_muted(tx, room_id, target.id, True)
            elif was_muted:
                rooms_q.set_muted(tx, room_id, target.id, False)
            if added:
                announce_join(tx, outbox, room_id, target, new_role)
            elif new_role != current_role or new_muted != was_muted:
                outbox.add(MemberUpdated(room_id, target, new_role, new_muted))
            if new_role != current_role and not added:
                record(tx, outbox, me, "room.role", f"{room_id}/{target.username}", new_role)
            if new_muted != was_muted:
                action = "room.mute" if new_muted else "room.unmute"
                record(tx, outbox, me, action, f"{room_id}/{target.username}")
            member = rooms_q.find_member(tx, room_id, target.id)
            assert member is not None
            return member, added

        return await self.uow.write(fn)

    async def remove_member(self, me: User, room_id: str, username: str) -> None:
        """Remove a member: yourself, or someone of a lower rank (an owner or admin, or a
        server admin in a public room, removing someone below them). Idempotent. From the
        moment this returns, nothing more of the room reaches them."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            room = room_access(tx, room_id, me.id)
            target = _user(tx, username)
            if room.kind == "dm":
                raise DmMembershipFixed("Nobody can be removed from a direct message")
            target_role = rooms_q.find_member_role(tx, room_id, target.id)
            if target.id == me.id:
                if target_role is not None:
                    remove_member(tx, outbox, room_id, target, target_role, "left")
                return
            check_manager(room, me)
            if rank(room, target_role, target) >= rank(room, room.my_role, me):
                raise NotAllowed("You cannot remove a member of equal or higher role")
            if target_role is not None:
                remove_member(tx, outbox, room_id, target, target_role, "removed")
                record(tx, outbox, me, "room.remove_member", f"{room_id}/{target.username}")

        await self.uow.write(fn)

    async def open_dm(self, me: User, username: str) -> tuple[Room, bool]:
        """The DM room between `me` and `username`, created on first use (then True).
        Limited per account (the `dms` budget)."""
        await self.limits.hit("dms", me.id)

        def fn(tx: Tx, outbox: Outbox) -> tuple[Room, bool]:
            now = outbox.now_ms
            other = _user(tx, username)
            if other.id == me.id:
                raise DmWithSelf("Choose someone else to message")
            room, dm_key = dm_room(me, other, now)
            existing = rooms_q.find_dm(tx, dm_key, me.id)
            if existing is not None:
                return existing, False
            if not rooms_q.insert_room(tx, room, dm_key=dm_key):  # created concurrently
                found = rooms_q.find_dm(tx, dm_key, me.id)
                assert found is not None
                return found, False
            for user in (me, other):
                rooms_q.upsert_member(tx, room.id, user.id, "member", now)
            for user in (me, other):
                announce_join(tx, outbox, room.id, user, "member")
            return visible_room(tx, room.id, me.id), True

        room, created = await self.uow.write(fn)
        return with_level(room, self.notify_default), created

    async def mark_read(self, me: User, room_id: str, seq: int) -> int:
        """Move my read marker forward to `seq` (capped at the room's last seq); my other
        connections get read.updated."""
        if seq < 0:
            raise Invalid("seq must be 0 or more", field="seq")

        def fn(tx: Tx, outbox: Outbox) -> int:
            room = require_member(tx, room_id, me.id)
            before = room.last_read_seq or 0
            marker = rooms_q.set_read(tx, room_id, me.id, min(seq, room.last_seq))
            if marker != before:
                unread, mentions = messages_q.count_unread(tx, room_id, me.id, marker)
                outbox.add(ReadUpdated(room_id, me.id, marker, unread, mentions))
            return marker

        return await self.uow.write(fn)


def room_cursor(room: Room) -> str:
    raw = orjson.dumps([room.name, room.id])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def parse_room_cursor(cursor: str) -> tuple[str, str]:
    """The (name, id) in a cursor made by _encode_cursor; Invalid for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, room_id = orjson.loads(raw)
        if not isinstance(name, str) or not isinstance(room_id, str):
            raise ValueError(cursor)
        for part in (name, room_id):
            if "\x00" in part or is_lone_surrogate_in(part):
                raise ValueError(cursor)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Invalid("cursor is not one this server made", field="cursor") from None
    return name, room_id


def dm_room(a: User, b: User, at: int) -> tuple[Room, str]:
    """A new DM room between `a` and `b` made at `at` (named after both, in order), and the
    key that makes it the only one between them."""
    room = Room(
        id=new_id("d", at),
        name=", ".join(sorted((a.username, b.username), key=str.lower)),
        topic="",
        visibility="private",
        kind="dm",
        created_at=at,
        member_count=0,
        last_seq=0,
    )
    return room, ":".join(sorted((a.id, b.id)))


def public_room(room: Room) -> Room:
    """The room without the viewer's fields, for an event many users receive."""
    return Room(
        id=room.id,
        name=room.name,
        topic=room.topic,
        visibility=room.visibility,
        kind=room.kind,
        created_at=room.created_at,
        member_count=room.member_count,
        last_seq=room.last_seq,
        avatar=room.avatar,
    )


def announce_join(tx: Tx, outbox: Outbox, room_id: str, user: User, role: Role) -> None:
    """member.joined, carrying the room so the new member's clients can show it."""
    room = rooms_q.find_room(tx, room_id, user.id)
    assert room is not None
    outbox.add(MemberJoined(public_room(room), user, role))


def _user(tx: Tx, username: str) -> User:
    user = users_q.find_user_by_username(tx, username)
    if user is None:
        raise UserNotFound(f"No user {username!r}")
    return user


def remove_member(
    tx: Tx, outbox: Outbox, room_id: str, user: User, role: Role, how: LeftHow
) -> None:
    """Take `user` out of the room (inside a write); if they owned it, hand it on to the
    admin who joined first, else the member who joined first (rooms_q.find_successor). An
    heir who was muted is unmuted: nobody in a private room could lift it from an owner."""
    rooms_q.delete_member(tx, room_id, user.id)
    outbox.add(MemberLeft(room_id, user, how))
    if role == "owner":
        heir = rooms_q.find_successor(tx, room_id)
        if heir is not None:
            rooms_q.upsert_member(tx, room_id, heir[0], "owner", 0)
            rooms_q.set_muted(tx, room_id, heir[0], False)
            heir_member = rooms_q.find_member(tx, room_id, heir[0])
            assert heir_member is not None
            outbox.add(MemberUpdated(room_id, heir_member.user, "owner", heir_member.muted))
