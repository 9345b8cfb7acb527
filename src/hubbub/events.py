"""The event catalogue: every kind of event hubbub emits, one frozen type each.

Durable events are stored in the log (store/events.py) at a gapless position and replayed on
resume; ephemeral ones (typing, presence) are only ever live. Each type holds domain values
(a Message, a User, milliseconds), never the API's wire shape: hubbub.wire turns a type into
the `data` of its frame, in one place, when it is framed.

In the log and on the bus a durable event is `type` plus a payload `{"v": VERSION, ...fields}`
made by `encode` and read back by `decode`. Changing a type's fields means a new VERSION and a
migration of the stored rows (see store/migrations/0003_event_payloads.py).

Adding an event type: a class here (in DURABLE_TYPES or EPHEMERAL_TYPES), its data shape in
hubbub.wire.event_data, its frame schema in web/event_schemas.py, and a row in docs/api.md's
event table; tests/test_event_catalogue.py checks that all four agree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_origin, get_type_hints

from hubbub import codec
from hubbub.models import (
    NO_MENTIONS,
    Mentions,
    Message,
    NotifyLevel,
    Role,
    Room,
    ThreadSummary,
    User,
)

__all__ = [
    "DURABLE_TYPES",
    "EPHEMERAL_TYPES",
    "VERSION",
    "CommandReply",
    "DurableEvent",
    "Ephemeral",
    "EphemeralEvent",
    "Event",
    "LeftHow",
    "MemberJoined",
    "MemberLeft",
    "MemberUpdated",
    "MessageCreated",
    "MessageDeleted",
    "MessagePinned",
    "MessageUnpinned",
    "MessageUpdated",
    "NotificationsUpdated",
    "Presence",
    "ReactionAdded",
    "ReactionRemoved",
    "ReadUpdated",
    "RoomCreated",
    "RoomUpdated",
    "SessionsRevoked",
    "ThreadRead",
    "ThreadUpdated",
    "Typing",
    "UserUpdated",
    "decode",
    "decode_durable",
    "decode_ephemeral",
    "encode",
]

VERSION = 1


class _Kind:
    """What every event type has. `subject` is the user a membership or read event is about
    (their own connections get it too); `private` events reach only the subject."""

    __slots__ = ()
    TYPE: ClassVar[str]

    @property
    def subject(self) -> str | None:
        return None

    @property
    def private(self) -> bool:
        return False

    @property
    def everyone(self) -> bool:
        """Delivered to every signed-in user, whatever rooms they are in."""
        return False

    @property
    def about_message(self) -> str | None:
        """The message the event is about (stored indexed, so deleting or editing a message
        rewrites exactly its own earlier events)."""
        return None


# -- durable events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageCreated(_Kind):
    TYPE: ClassVar[str] = "message.created"
    message: Message

    @property
    def room_id(self) -> str:
        return self.message.room_id

    @property
    def about_message(self) -> str:
        return self.message.id


@dataclass(frozen=True, slots=True)
class MessageUpdated(_Kind):
    TYPE: ClassVar[str] = "message.updated"
    id: str
    room_id: str
    seq: int
    text: str
    edited_at: int
    mentions: Mentions = NO_MENTIONS  # added in 0.2 (optional: no new version)

    @property
    def about_message(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class MessageDeleted(_Kind):
    TYPE: ClassVar[str] = "message.deleted"
    id: str
    room_id: str
    seq: int

    @property
    def about_message(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class ReactionAdded(_Kind):
    TYPE: ClassVar[str] = "reaction.added"
    message_id: str
    room_id: str
    seq: int
    emoji: str
    user_id: str
    username: str

    @property
    def about_message(self) -> str:
        return self.message_id

    @property
    def subject(self) -> str | None:
        return self.user_id


@dataclass(frozen=True, slots=True)
class ReactionRemoved(_Kind):
    TYPE: ClassVar[str] = "reaction.removed"
    message_id: str
    room_id: str
    seq: int
    emoji: str
    user_id: str
    username: str

    @property
    def about_message(self) -> str:
        return self.message_id

    @property
    def subject(self) -> str | None:
        return self.user_id


@dataclass(frozen=True, slots=True)
class RoomUpdated(_Kind):
    TYPE: ClassVar[str] = "room.updated"
    room: Room

    @property
    def room_id(self) -> str:
        return self.room.id


@dataclass(frozen=True, slots=True)
class MemberJoined(_Kind):
    """Someone became a member; carries the room so their own clients can show it."""

    TYPE: ClassVar[str] = "member.joined"
    room: Room
    user: User
    role: Role

    @property
    def room_id(self) -> str:
        return self.room.id

    @property
    def subject(self) -> str | None:
        return self.user.id


LeftHow = Literal["left", "removed", "banned"]


@dataclass(frozen=True, slots=True)
class MemberLeft(_Kind):
    """Someone is no longer in a room: they left, were removed, or were banned. Once removed
    or banned, nothing more of the room reaches them, not even what was queued."""

    TYPE: ClassVar[str] = "member.left"
    room_id: str
    user: User
    how: LeftHow = "left"  # added in 0.2 (optional: no new version)

    @property
    def subject(self) -> str | None:
        return self.user.id


@dataclass(frozen=True, slots=True)
class MemberUpdated(_Kind):
    """A role change, or an ownership handover."""

    TYPE: ClassVar[str] = "member.updated"
    room_id: str
    user: User
    role: Role
    muted: bool = False  # added in 0.2 (optional: no new version)

    @property
    def subject(self) -> str | None:
        return self.user.id


@dataclass(frozen=True, slots=True)
class ReadUpdated(_Kind):
    """A user's read marker moved: for their own connections only (badges on every device)."""

    TYPE: ClassVar[str] = "read.updated"
    room_id: str
    user_id: str
    last_read_seq: int
    unread_count: int
    mention_count: int = 0  # added in 0.2 (optional: no new version)

    @property
    def subject(self) -> str | None:
        return self.user_id

    @property
    def private(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class NotificationsUpdated(_Kind):
    """A member changed their notification level or mute in a room (#18): for their own
    connections only (every device applies the same rule)."""

    TYPE: ClassVar[str] = "notifications.updated"
    room_id: str
    user_id: str
    notification_level: NotifyLevel  # the effective level
    muted_until: int | None = None  # ms

    @property
    def subject(self) -> str | None:
        return self.user_id

    @property
    def private(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class RoomCreated(_Kind):
    """A public room was made: every signed-in user hears of it (room directories)."""

    TYPE: ClassVar[str] = "room.created"
    room: Room

    @property
    def room_id(self) -> str:
        return self.room.id

    @property
    def everyone(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class UserUpdated(_Kind):
    """Someone's profile changed (their display name): every signed-in user hears of it."""

    TYPE: ClassVar[str] = "user.updated"
    user: User

    @property
    def room_id(self) -> None:
        return None

    @property
    def subject(self) -> str | None:
        return self.user.id

    @property
    def everyone(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class SessionsRevoked(_Kind):
    """Sessions of a user ended (sign-out, revocation): their streams close at once, on every
    node. The user's other connections get the event too (a sessions list can update)."""

    TYPE: ClassVar[str] = "session.revoked"
    user_id: str
    session_ids: tuple[str, ...]

    @property
    def room_id(self) -> None:
        return None

    @property
    def subject(self) -> str | None:
        return self.user_id

    @property
    def private(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class ThreadUpdated(_Kind):
    """A thread's summary changed (a reply came, or one was deleted): the room's members
    update the root."""

    TYPE: ClassVar[str] = "thread.updated"
    root_id: str
    room_id: str
    seq: int  # the root's
    thread: ThreadSummary

    @property
    def about_message(self) -> str:
        return self.root_id


@dataclass(frozen=True, slots=True)
class ThreadRead(_Kind):
    """A user's read marker in a thread moved: their own connections only."""

    TYPE: ClassVar[str] = "thread.read"
    root_id: str
    room_id: str
    user_id: str
    last_read_seq: int
    unread_count: int

    @property
    def subject(self) -> str | None:
        return self.user_id

    @property
    def private(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class MessagePinned(_Kind):
    TYPE: ClassVar[str] = "message.pinned"
    id: str
    room_id: str
    seq: int
    pinned_at: int
    by: User

    @property
    def about_message(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class MessageUnpinned(_Kind):
    TYPE: ClassVar[str] = "message.unpinned"
    id: str
    room_id: str
    seq: int

    @property
    def about_message(self) -> str:
        return self.id


DurableEvent = (
    MessageCreated
    | MessageUpdated
    | MessageDeleted
    | ReactionAdded
    | ReactionRemoved
    | RoomUpdated
    | MemberJoined
    | MemberLeft
    | MemberUpdated
    | ReadUpdated
    | NotificationsUpdated
    | RoomCreated
    | UserUpdated
    | SessionsRevoked
    | ThreadUpdated
    | ThreadRead
    | MessagePinned
    | MessageUnpinned
)
DURABLE_TYPES: dict[str, type[DurableEvent]] = {
    t.TYPE: t
    for t in (
        MessageCreated,
        MessageUpdated,
        MessageDeleted,
        ReactionAdded,
        ReactionRemoved,
        RoomUpdated,
        MemberJoined,
        MemberLeft,
        MemberUpdated,
        ReadUpdated,
        NotificationsUpdated,
        RoomCreated,
        UserUpdated,
        SessionsRevoked,
        ThreadUpdated,
        ThreadRead,
        MessagePinned,
        MessageUnpinned,
    )
}


@dataclass(frozen=True, slots=True)
class Event:
    """A durable event at its position in the log, committed at `ts` (ms)."""

    pos: int
    ts: int
    body: DurableEvent

    @property
    def type(self) -> str:
        return self.body.TYPE

    @property
    def room_id(self) -> str | None:
        return self.body.room_id

    @property
    def subject(self) -> str | None:
        return self.body.subject

    @property
    def private(self) -> bool:
        return self.body.private

    @property
    def everyone(self) -> bool:
        return self.body.everyone


# -- ephemeral events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Typing(_Kind):
    TYPE: ClassVar[str] = "typing"
    room_id: str
    user_id: str
    username: str
    until: int  # ms: treat as stopped after this


@dataclass(frozen=True, slots=True)
class Presence(_Kind):
    TYPE: ClassVar[str] = "presence"
    user_id: str
    username: str
    online: bool


@dataclass(frozen=True, slots=True)
class CommandReply(_Kind):
    """A slash command's answer shown only to the one who ran it (services/commands.py)."""

    TYPE: ClassVar[str] = "command.reply"
    room_id: str
    user_id: str
    command: str  # "/name"
    text: str


EphemeralEvent = Typing | Presence | CommandReply
EPHEMERAL_TYPES: dict[str, type[EphemeralEvent]] = {
    t.TYPE: t for t in (Typing, Presence, CommandReply)
}


@dataclass(frozen=True, slots=True)
class Ephemeral:
    """A live-only event: never stored, no position. It goes to the members of `room_ids`,
    except `except_user` (the typer; the user whose presence it is); with `only_user`, to
    that user's connections alone (a command's answer for the one who ran it)."""

    ts: int
    body: EphemeralEvent
    room_ids: tuple[str, ...]
    except_user: str | None = None
    only_user: str | None = None

    @property
    def type(self) -> str:
        return self.body.TYPE


# -- the stored form --------------------------------------------------------------------------

_TO: dict[Any, Any] = {
    Message: codec.message_to,
    Room: codec.room_to,
    User: codec.user_to,
    Mentions: codec.mentions_to,
    ThreadSummary: codec.thread_to,
}
_FROM: dict[Any, Any] = {
    Message: codec.message_from,
    Room: codec.room_from,
    User: codec.user_from,
    Mentions: codec.mentions_from,
    ThreadSummary: codec.thread_from,
}


_FIELDS: dict[str, tuple[tuple[str, Any], ...]] = {}


def _fields(kind: type[Any]) -> tuple[tuple[str, Any], ...]:
    """(name, type) of each field of an event type, worked out once per type."""
    found = _FIELDS.get(kind.TYPE)
    if found is None:
        hints = get_type_hints(kind)
        found = _FIELDS[kind.TYPE] = tuple(
            (f.name, hints[f.name]) for f in dataclasses.fields(kind)
        )
    return found


def encode(body: DurableEvent | EphemeralEvent) -> dict[str, Any]:
    """The versioned payload of an event: `{"v": VERSION, field: value, ...}`."""
    payload: dict[str, Any] = {"v": VERSION}
    for name, hint in _fields(type(body)):
        value = getattr(body, name)
        convert = _TO.get(hint)
        payload[name] = convert(value) if convert is not None else value
    return payload


def decode(type_name: str, payload: dict[str, Any]) -> DurableEvent | EphemeralEvent:
    """The event stored as `encode` made it. Raises ValueError for an unknown type or a
    version this release cannot read (a newer node's event: it is read from the log later)."""
    kind = DURABLE_TYPES.get(type_name) or EPHEMERAL_TYPES.get(type_name)
    if kind is None:
        raise ValueError(f"unknown event type {type_name!r}")
    if payload.get("v") != VERSION:
        raise ValueError(f"{type_name} payload version {payload.get('v')!r} is not {VERSION}")
    values = {}
    for name, hint in _fields(kind):
        if name not in payload:
            continue  # an optional field added later: the type's default (see codec.py)
        convert = _FROM.get(hint)
        if convert is None and get_origin(hint) is tuple:
            convert = tuple  # JSON has lists; the event holds tuples (hashable, frozen)
        values[name] = convert(payload[name]) if convert is not None else payload[name]
    return kind(**values)


def decode_durable(type_name: str, payload: dict[str, Any]) -> DurableEvent:
    body = decode(type_name, payload)
    if isinstance(body, Typing | Presence | CommandReply):
        raise ValueError(f"{type_name} is not a durable event")
    return body


def decode_ephemeral(type_name: str, payload: dict[str, Any]) -> EphemeralEvent:
    body = decode(type_name, payload)
    if not isinstance(body, Typing | Presence | CommandReply):
        raise ValueError(f"{type_name} is not an ephemeral event")
    return body
