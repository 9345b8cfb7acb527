"""The schema of every frame a stream sends: `components.schemas.Event` in the OpenAPI
document, a `oneOf` discriminated by `type`, with each event's exact `data`.

hubbub.wire.event_data makes the `data`; tests/test_event_catalogue.py checks that this union
covers exactly the catalogue (hubbub.events) plus the control frames, and the API and real-time
suites validate every frame they see against the published document.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, RootModel

from hubbub.web.schemas import MentionsOut, MessageOut, ThreadOut, UserOut

__all__ = ["CONTROL_TYPES", "Event", "EventsPage", "RoomPublicOut"]

Role = Literal["owner", "admin", "member"]
_ID = Field(description="The cursor: resume after this event")
_TS = Field(description="When the event happened (RFC 3339, UTC, milliseconds)")


class RoomPublicOut(BaseModel):
    """A room without any viewer's fields (events go to many users)."""

    id: str
    name: str
    topic: str
    visibility: Literal["public", "private"]
    kind: Literal["room", "dm"]
    created_at: str
    member_count: int
    last_seq: int
    retention_days: int | None
    members_can_pin: bool
    avatar_url: str | None


class MessageUpdatedData(BaseModel):
    id: str
    room_id: str
    seq: int
    text: str
    edited_at: str
    mentions: MentionsOut


class MessageDeletedData(BaseModel):
    id: str
    room_id: str
    seq: int


class ReactionData(BaseModel):
    message_id: str
    room_id: str
    seq: int
    emoji: str
    user: str = Field(description="The reacting user's username")
    user_id: str


class MemberJoinedData(BaseModel):
    room: RoomPublicOut
    user: UserOut
    role: Role


class MemberLeftData(BaseModel):
    room_id: str
    user: UserOut
    how: Literal["left", "removed", "banned"] = Field(
        description="left: by themself; removed or banned: by a moderator (then nothing more "
        "of the room reaches them)"
    )


class MemberUpdatedData(BaseModel):
    user: UserOut
    role: Role
    muted: bool


class ReadUpdatedData(BaseModel):
    room_id: str
    last_read_seq: int
    unread_count: int
    mention_count: int


class NotificationsUpdatedData(BaseModel):
    room_id: str
    notification_level: Literal["all", "mentions", "none"]
    notifications_muted_until: str | None


class ThreadUpdatedData(BaseModel):
    root_id: str
    room_id: str
    seq: int = Field(description="the root's seq")
    thread: ThreadOut


class ThreadReadData(BaseModel):
    root_id: str
    room_id: str
    last_read_seq: int
    unread_count: int


class MessagePinnedData(BaseModel):
    id: str
    room_id: str
    seq: int
    pinned_at: str
    by: UserOut


class TypingData(BaseModel):
    user: str
    user_id: str
    until: str = Field(description="Treat as stopped after this time")


class CommandReplyData(BaseModel):
    command: str = Field(description="the command that answered, with its slash")
    text: str
    user_id: str = Field(description="who ran it: the only one who gets this")


class PresenceData(BaseModel):
    user: str
    user_id: str
    online: bool


class _Durable(BaseModel):
    id: str = _ID
    room_id: str
    ts: str = _TS


class MessageCreatedEvent(_Durable):
    """A message was sent (to the room's members)."""

    type: Literal["message.created"]
    data: MessageOut


class MessageUpdatedEvent(_Durable):
    """A message's text was edited."""

    type: Literal["message.updated"]
    data: MessageUpdatedData


class MessageDeletedEvent(_Durable):
    """A message became a tombstone."""

    type: Literal["message.deleted"]
    data: MessageDeletedData


class ReactionAddedEvent(_Durable):
    type: Literal["reaction.added"]
    data: ReactionData


class ReactionRemovedEvent(_Durable):
    type: Literal["reaction.removed"]
    data: ReactionData


class RoomUpdatedEvent(_Durable):
    """A room's name or topic changed."""

    type: Literal["room.updated"]
    data: RoomPublicOut


class MemberJoinedEvent(_Durable):
    """Someone became a member (to the members, and to the new member)."""

    type: Literal["member.joined"]
    data: MemberJoinedData


class MemberLeftEvent(_Durable):
    """Someone left or was removed (to the members, and to the one who left)."""

    type: Literal["member.left"]
    data: MemberLeftData


class MemberUpdatedEvent(_Durable):
    """A member's role changed (or ownership passed to them)."""

    type: Literal["member.updated"]
    data: MemberUpdatedData


class ReadUpdatedEvent(_Durable):
    """Your read marker moved (to your own connections only)."""

    type: Literal["read.updated"]
    data: ReadUpdatedData


class NotificationsUpdatedEvent(_Durable):
    """Your notification level or mute in a room changed (to your own connections only)."""

    type: Literal["notifications.updated"]
    data: NotificationsUpdatedData


class ThreadUpdatedEvent(_Durable):
    """A thread's replies changed (count, latest, participants): to the room's members."""

    type: Literal["thread.updated"]
    data: ThreadUpdatedData


class ThreadReadEvent(_Durable):
    """Your read marker in a thread moved (to your own connections only)."""

    type: Literal["thread.read"]
    data: ThreadReadData


class MessagePinnedEvent(_Durable):
    """A message was pinned in its room."""

    type: Literal["message.pinned"]
    data: MessagePinnedData


class MessageUnpinnedEvent(_Durable):
    """A message was unpinned."""

    type: Literal["message.unpinned"]
    data: MessageDeletedData


class RoomCreatedEvent(_Durable):
    """A public room was made (to every signed-in user: room directories stay live)."""

    type: Literal["room.created"]
    data: RoomPublicOut


class UserUpdatedEvent(BaseModel):
    """Someone's display name changed (to every signed-in user)."""

    id: str = _ID
    type: Literal["user.updated"]
    room_id: None
    ts: str = _TS
    data: UserOut


class SessionRevokedData(BaseModel):
    session_ids: list[str] = Field(description="The ids of the sessions that ended")


class SessionRevokedEvent(BaseModel):
    """Sessions of yours ended (sign-out, revocation): their streams close (to your other
    connections; a stream of an ended session closes instead)."""

    id: str = _ID
    type: Literal["session.revoked"]
    room_id: None
    ts: str = _TS
    data: SessionRevokedData


class TypingEvent(BaseModel):
    """Someone is typing in a room (live only: no `id`)."""

    type: Literal["typing"]
    room_id: str
    ts: str = _TS
    data: TypingData


class PresenceEvent(BaseModel):
    """Someone came online or went offline (live only: no `id`)."""

    type: Literal["presence"]
    room_id: None
    ts: str = _TS
    data: PresenceData


class CommandReplyEvent(BaseModel):
    """A slash command's answer, for the one who ran it only (live only: no `id`)."""

    type: Literal["command.reply"]
    room_id: str
    ts: str = _TS
    data: CommandReplyData


class HelloFrame(BaseModel):
    """The first frame of a WebSocket or SSE stream: the subscription is live, starting after
    `cursor`. Not an event: no `id`, never replayed."""

    type: Literal["hello"]
    cursor: str


class PingFrame(BaseModel):
    """WebSocket heartbeat."""

    type: Literal["ping"]


class ResetFrame(BaseModel):
    """The cursor cannot be resumed: fetch state again, then stream from the new head."""

    type: Literal["reset"]


class SlowConsumerFrame(BaseModel):
    """SSE: this stream fell too far behind and ends; reconnect with your last cursor."""

    type: Literal["slow_consumer"]


class SessionEndedFrame(BaseModel):
    """SSE: the session this stream was opened with was signed out or revoked; it ends.
    (WebSocket: close code 4401.)"""

    type: Literal["session_ended"]


class TooManyStreamsFrame(BaseModel):
    """SSE: the user already has as many streams open as allowed; this one ends.
    (WebSocket: close code 4429.)"""

    type: Literal["too_many_streams"]


CONTROL_TYPES = frozenset(
    {"hello", "ping", "reset", "slow_consumer", "session_ended", "too_many_streams"}
)

_Frame = Annotated[
    MessageCreatedEvent
    | MessageUpdatedEvent
    | MessageDeletedEvent
    | ReactionAddedEvent
    | ReactionRemovedEvent
    | RoomUpdatedEvent
    | MemberJoinedEvent
    | MemberLeftEvent
    | MemberUpdatedEvent
    | ReadUpdatedEvent
    | NotificationsUpdatedEvent
    | RoomCreatedEvent
    | UserUpdatedEvent
    | SessionRevokedEvent
    | ThreadUpdatedEvent
    | ThreadReadEvent
    | MessagePinnedEvent
    | MessageUnpinnedEvent
    | TypingEvent
    | PresenceEvent
    | CommandReplyEvent
    | HelloFrame
    | PingFrame
    | ResetFrame
    | SlowConsumerFrame
    | SessionEndedFrame
    | TooManyStreamsFrame,
    Field(discriminator="type"),
]


class Event(RootModel[_Frame]):
    """Any frame of the event stream, by `type`: durable events (with an `id` cursor),
    ephemeral ones (typing, presence), and the control frames hello, ping, reset and
    slow_consumer."""


class EventsPage(BaseModel):
    """A long-poll answer."""

    events: list[Event]
    next: str = Field(description="The cursor to pass as `since` next time")
