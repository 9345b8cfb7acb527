"""Pydantic models of the v1 API: request bodies (validated types) and response shapes (docs).

Lengths and formats are checked by the services (limits are configurable); these models check
types and required fields. Responses are built by hubbub.wire and must match these models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hubbub.services.accounts import DISPLAY_NAME_MAX
from hubbub.services.fields import NO_NUL_PATTERN, NOT_BLANK_PATTERN, USERNAME_PATTERN
from hubbub.services.messages import ATTACHMENTS_MAX
from hubbub.services.passwords import PASSWORD_MAX, PASSWORD_MIN
from hubbub.services.rooms import NAME_MAX, RETENTION_DAYS_MAX, TOPIC_MAX

__all__ = [
    "PROBLEMS",
    "AccountIn",
    "AttachmentOut",
    "DmIn",
    "JsonInt",
    "MemberIn",
    "MemberOut",
    "MembersOut",
    "MessageIn",
    "MessageOut",
    "MessagePatch",
    "MessagesPage",
    "Problem",
    "ReadIn",
    "RoomIn",
    "RoomOut",
    "RoomPatch",
    "RoomsOut",
    "SessionIn",
    "SessionOut",
    "UploadOut",
    "UserOut",
    "UsersOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def integral(value: Any) -> Any:
    """JSON Schema counts 3.0 as an integer; accept it as 3 (but not 3.5, nor "3")."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


JsonInt = Annotated[int, BeforeValidator(integral)]
"""An integer field as JSON Schema means it: 3 and 3.0, not 3.5 or "3"."""

# A bounded JsonInt for an optional field (`RetentionDays | None`): the bounds sit on the
# integer branch as `minimum`/`maximum` in the OpenAPI document (Field(ge=...) on
# `JsonInt | None` would leave pydantic's own `ge`/`le` keys there, which no client reads).
RetentionDays = Annotated[int, Field(ge=1, le=RETENTION_DAYS_MAX), BeforeValidator(integral)]


def _text(max_len: int, *, min_len: int = 1, blank_ok: bool = False, optional: bool = False) -> Any:
    """A string field whose limits the OpenAPI document states and pydantic enforces."""
    return Field(
        default=None if optional else ...,
        min_length=min_len,
        max_length=max_len,
        pattern=NO_NUL_PATTERN if blank_ok else NOT_BLANK_PATTERN,
    )


# The longest message text is configurable (Settings.message_text_max): the services enforce
# it, and web/openapi.py writes the configured value into the document.
MESSAGE_TEXT = Field(
    json_schema_extra={"minLength": 1, "pattern": NOT_BLANK_PATTERN},
    description="1 to message_text_max (default 4000) characters, not only whitespace",
)


class AccountIn(_In):
    username: str = Field(
        pattern=USERNAME_PATTERN,
        examples=["alice"],
        description="2-32 of letters, digits, _ . - (unique, ignoring case)",
    )
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    display_name: str | None = _text(DISPLAY_NAME_MAX, optional=True)
    invite_code: str | None = Field(
        default=None,
        max_length=64,
        pattern=NO_NUL_PATTERN,
        description="Needed when the server signs up by invite only (HUBBUB_REGISTRATION)",
    )


class SessionIn(_In):
    username: str = Field(pattern=NO_NUL_PATTERN)
    password: str


class RoomIn(_In):
    name: str = _text(NAME_MAX)
    topic: str | None = _text(TOPIC_MAX, min_len=0, blank_ok=True, optional=True)
    visibility: Literal["public", "private"]


class RoomPatch(_In):
    name: str | None = _text(NAME_MAX, optional=True)
    topic: str | None = _text(TOPIC_MAX, min_len=0, blank_ok=True, optional=True)
    retention_days: RetentionDays | None = Field(
        default=None,
        description="erase messages older than this many days; null: the server's default",
    )
    members_can_pin: bool | None = Field(
        default=None, description="let any member pin messages (else owners and admins)"
    )


class MemberIn(_In):
    role: Literal["admin", "member"] | None = None
    muted: bool | None = Field(
        default=None, description="Mute (reads, can't write) or unmute the member"
    )


class DmIn(_In):
    username: str = Field(pattern=NO_NUL_PATTERN)


class MessageIn(_In):
    text: str = Field(
        default="",
        json_schema_extra={"pattern": f"^$|{NOT_BLANK_PATTERN}"},
        description="1 to message_text_max (default 4000) characters, not only whitespace;"
        " empty (or left out) only when the message has attachments",
    )
    attachments: list[Annotated[str, Field(pattern=NO_NUL_PATTERN, max_length=64)]] = Field(
        default_factory=list,
        max_length=ATTACHMENTS_MAX,
        description="ids of your uploads to this room (POST /rooms/{room_id}/uploads) not yet"
        " attached, in the order shown; at most 10",
    )
    reply_to: str | None = Field(default=None, pattern=NO_NUL_PATTERN)
    thread_root: str | None = Field(
        default=None,
        pattern=NO_NUL_PATTERN,
        max_length=64,
        description="reply in this top-level message's thread",
    )
    also_to_room: bool = Field(
        default=False, description="a thread reply that also shows in the room's timeline"
    )


class MessagePatch(_In):
    text: str = MESSAGE_TEXT


class ReadIn(_In):
    seq: JsonInt = Field(ge=0)


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    created_at: str
    is_admin: bool = Field(description="A server admin")
    kind: Literal["user", "bot"] = Field(description="bot: an integration's account")
    avatar_url: str | None = Field(description="their picture (a 256 px WebP); null: none")


class UsersOut(BaseModel):
    users: list[UserOut]


class SessionOut(BaseModel):
    user: UserOut
    token: str


class AuthorOut(BaseModel):
    id: str | None
    username: str | None
    display_name: str = Field(description="for an integration, the name it gave this message")
    guest: bool
    bot: bool = Field(description="written by a bot account (an integration)")
    avatar_url: str | None = Field(
        default=None,
        description="their picture when the message was sent (history: their picture now)",
    )


class ReactionOut(BaseModel):
    emoji: str
    count: int
    me: bool


class MentionsOut(BaseModel):
    users: list[str] = Field(description="ids of the members mentioned by @username")
    room: bool = Field(description="@room: everyone in the room")
    here: bool = Field(description="@here: the members connected when it was sent")


class ThreadOut(BaseModel):
    reply_count: int = Field(description="replies that are not deleted")
    last_reply_at: str | None
    participants: list[UserOut] = Field(description="up to 5 repliers, by first reply")


class CardFieldOut(BaseModel):
    title: str
    value: str = Field(description="Markdown")
    short: bool = Field(description="may sit beside another short field")


class CardOut(BaseModel):
    """An integration's attachment (a Slack attachment), shown as a card. Texts are in the
    Markdown subset; `title_link` is http(s) or empty."""

    fallback: str
    color: str = Field(description="good, warning, danger, a #rrggbb colour, or empty")
    pretext: str
    title: str
    title_link: str
    text: str
    fields: list[CardFieldOut]
    footer: str
    ts: int | None = Field(description="seconds since the epoch")


class AttachmentOut(BaseModel):
    id: str
    filename: str
    content_type: str = Field(description="sniffed from the content, not the uploader's word")
    size: int = Field(description="bytes")
    width: int | None = Field(description="images only")
    height: int | None = Field(description="images only")
    url: str = Field(description="signed, expiring (HUBBUB_FILE_LINK_SECONDS) download link")
    thumbnail_url: str | None = Field(description="images only: a WebP of at most 400 px")


class UploadOut(AttachmentOut):
    sha256: str = Field(description="of the bytes as stored (a JPEG's after its metadata went)")


class MessageOut(BaseModel):
    id: str
    room_id: str
    seq: int
    author: AuthorOut
    text: str
    created_at: str
    edited_at: str | None
    deleted: bool
    reply_to: str | None
    reactions: list[ReactionOut]
    mentions: MentionsOut
    thread_root: str | None = Field(description="set on a reply in a thread: its root's id")
    also_to_room: bool
    thread: ThreadOut | None = Field(description="a root's thread: null until it has replies")
    pinned_at: str | None
    cards: list[CardOut] = Field(description="an integration's attachments; [] otherwise")
    attachments: list[AttachmentOut]


class MessagesPage(BaseModel):
    messages: list[MessageOut]
    has_more_before: bool
    has_more_after: bool


class RoomOut(BaseModel):
    id: str
    name: str
    topic: str
    visibility: Literal["public", "private"]
    kind: Literal["room", "dm"]
    created_at: str
    member_count: int
    last_seq: int
    retention_days: int | None = Field(
        description="days its messages are kept before they are erased; null: the server's"
        " default (HUBBUB_MESSAGE_RETENTION)",
    )
    members_can_pin: bool = Field(description="any member may pin (else owners and admins)")
    avatar_url: str | None = Field(description="its picture (a 256 px WebP); null: none")
    my_role: Literal["owner", "admin", "member"] | None = Field(
        default=None, description="only for members"
    )
    last_read_seq: int | None = Field(default=None, description="only for members")
    unread_count: int | None = Field(default=None, description="only for members")
    mention_count: int | None = Field(
        default=None, description="only for members: unread messages that mention you"
    )
    notification_level: Literal["all", "mentions", "none"] | None = Field(
        default=None,
        description="only for members: what notifies you here; your choice, else `all` in a"
        " DM, else the server's default (HUBBUB_NOTIFY_DEFAULT)",
    )
    notifications_muted_until: str | None = Field(
        default=None, description="only for members: nothing notifies you here before then"
    )


class RoomsOut(BaseModel):
    rooms: list[RoomOut]
    next_cursor: str | None = Field(
        description="scope=public: pass as `cursor` for the next page; null at the end"
    )


class MemberOut(BaseModel):
    user: UserOut
    role: Literal["owner", "admin", "member"]
    joined_at: str
    muted: bool = Field(description="Reads the room but may not write in it")


class MembersOut(BaseModel):
    members: list[MemberOut]


class Problem(BaseModel):
    """RFC 9457 problem details. Branch on `code`."""

    type: str = "about:blank"
    status: int
    code: str
    title: str
    detail: str
    field: str | None = None
    errors: list[dict[str, str]] | None = None


_PROBLEM_CONTENT = {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
}
_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing or invalid bearer token",
    403: "Not allowed",
    404: "Not found, or not visible to you",
    409: "Conflict",
    410: "The cursor cannot be resumed (cursor_expired): fetch state again",
    413: "Body too large (file_too_large, quota_exceeded for uploads)",
    415: "Content-Type is not application/json",
    416: "The Range is outside the file (range_not_satisfiable)",
    422: "Validation failed",
    429: "Too many attempts from this address (rate_limited); see Retry-After",
    503: "Database unavailable; retry",
}


def PROBLEMS(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses, as problem+json."""
    return {s: {"description": _DESCRIPTIONS[s], "content": _PROBLEM_CONTENT} for s in statuses}


# -- the classic API (served by web.classic; documented by web.openapi) ----------------------


class ClassicPost(BaseModel):
    """Lengths are configurable; web/openapi.py writes the configured maxima into the document."""

    user: str = Field(min_length=1, pattern=NOT_BLANK_PATTERN)
    text: str = Field(min_length=1, pattern=NO_NUL_PATTERN)


class ClassicMessage(BaseModel):
    timestamp: float = Field(description="Unix time in seconds, taken when committed")
    user: str
    text: str


class ClassicMessages(BaseModel):
    messages: list[ClassicMessage]


class ClassicUsers(BaseModel):
    users: list[str]


class ClassicOk(BaseModel):
    ok: bool


class ClassicError(BaseModel):
    ok: bool = False
    error: str = Field(description="A human-readable reason")
    code: str = Field(description="A stable machine code")


# -- real-time (the event frames are in web/event_schemas.py) -------------------------------


class StreamTicketOut(BaseModel):
    ticket: str = Field(description="Pass as `?ticket=` to open one stream")
    expires_at: str = Field(description="Unused after this, it no longer works")


class PresenceOut(BaseModel):
    online: list[str] = Field(description="The ids, of those asked about, that are online")
