"""Plain typed values passed between layers. No I/O, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "NO_MENTIONS",
    "Attachment",
    "AuditEntry",
    "Author",
    "Ban",
    "BotAccount",
    "Card",
    "CardField",
    "Delivery",
    "EmailAddress",
    "EmailNotify",
    "Invite",
    "Member",
    "Mentions",
    "Message",
    "NotifyLevel",
    "NotifyPrefs",
    "OutgoingHook",
    "PushSubscription",
    "ReactionCount",
    "Role",
    "Room",
    "RoomAccess",
    "RoomKind",
    "SessionInfo",
    "SlashCommand",
    "ThreadSummary",
    "Upload",
    "User",
    "Visibility",
    "Webhook",
]

Role = Literal["owner", "admin", "member"]
Visibility = Literal["public", "private"]
RoomKind = Literal["room", "dm"]
NotifyLevel = Literal["all", "mentions", "none"]  # notifications (#18)
EmailNotify = Literal["off", "digest"]

LOBBY_ROOM_ID = "general"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    display_name: str
    created_at: int  # ms since epoch
    is_admin: bool = False  # a server admin
    deactivated: bool = False  # shown to admins only
    bot: bool = False  # a bot account (an integration's), never signed in with a password
    avatar: str | None = None  # the storage key of their picture


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """A user's address for missed-message email (#18): shown to them only."""

    email: str | None
    confirmed: bool


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a message: an account, or a guest name from the classic API (id None)."""

    id: str | None
    username: str | None
    display_name: str
    guest: bool
    bot: bool = False  # written by a bot account (an integration)
    avatar: str | None = None  # the storage key of their picture (wire: avatar_url)

    @property
    def name(self) -> str:
        """The name the classic API shows: the username, or the guest's name."""
        return self.username if self.username is not None else self.display_name


@dataclass(frozen=True, slots=True)
class ReactionCount:
    emoji: str
    count: int
    me: bool


@dataclass(frozen=True, slots=True)
class Mentions:
    """Who a message mentions: accounts by @username (members only), @room, @here."""

    users: tuple[str, ...] = ()
    room: bool = False
    here: bool = False


NO_MENTIONS = Mentions()


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    """A thread root's replies: how many (live), the latest, up to five repliers."""

    reply_count: int
    last_reply_at: int | None
    participants: tuple[User, ...] = ()


@dataclass(frozen=True, slots=True)
class CardField:
    title: str
    value: str  # Markdown
    short: bool


@dataclass(frozen=True, slots=True)
class Card:
    """Structured content an integration attached to a message (a Slack attachment), shown
    by clients as a card. Every text is in the Markdown subset; links are http(s) only."""

    fallback: str = ""
    color: str = ""
    pretext: str = ""
    title: str = ""
    title_link: str = ""
    text: str = ""
    fields: tuple[CardField, ...] = ()
    footer: str = ""
    ts: int | None = None  # seconds since the epoch


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to a message, as readers see it (links are made by the web layer)."""

    id: str
    filename: str
    content_type: str
    size: int
    width: int | None = None  # images only
    height: int | None = None
    has_thumbnail: bool = False


@dataclass(frozen=True, slots=True)
class Upload:
    """An uploaded file: `message_id` is None until it is attached (an orphan, removed after
    24 h). `content_type` was sniffed from the bytes."""

    id: str
    room_id: str
    user_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: int
    width: int | None = None
    height: int | None = None
    has_thumbnail: bool = False
    message_id: str | None = None

    @property
    def attachment(self) -> Attachment:
        return Attachment(
            self.id,
            self.filename,
            self.content_type,
            self.size,
            self.width,
            self.height,
            self.has_thumbnail,
        )


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    room_id: str
    seq: int
    author: Author
    text: str
    created_at: int
    edited_at: int | None
    deleted: bool
    reply_to: str | None
    reactions: tuple[ReactionCount, ...] = ()
    mentions: Mentions = NO_MENTIONS
    thread_root: str | None = None  # a reply in this message's thread
    also_to_room: bool = False  # a thread reply also shown in the room's timeline
    thread: ThreadSummary | None = None  # a root with replies
    pinned_at: int | None = None
    cards: tuple[Card, ...] = ()  # an integration's attachments
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    name: str
    topic: str
    visibility: Visibility
    kind: RoomKind
    created_at: int
    member_count: int
    last_seq: int
    # Days its messages are kept; None: the server's default (message_retention).
    retention_days: int | None = None
    members_can_pin: bool = False  # else only owners and admins pin messages
    avatar: str | None = None  # the storage key of its picture
    # Only for a member viewing the room; None otherwise.
    my_role: Role | None = None
    last_read_seq: int | None = None
    unread_count: int | None = None
    mention_count: int | None = None  # unread messages that mention the viewer
    # The viewer's notification level (#18): their own choice, else "all" in a DM, else the
    # server's default (services fill that in: the store does not know it; None there).
    notification_level: NotifyLevel | None = None
    notifications_muted_until: int | None = None  # ms; nothing notifies before then


@dataclass(frozen=True, slots=True)
class RoomAccess:
    """What access rules need to know about a room and the viewer: cheap to read (no counts)."""

    id: str
    visibility: Visibility
    kind: RoomKind
    last_seq: int
    my_role: Role | None
    last_read_seq: int | None
    muted: bool = False  # the viewer may read but not write
    banned: bool = False  # the viewer may not join or be added
    pruned_seq: int = 0  # retention removed every message up to this seq
    members_can_pin: bool = False


@dataclass(frozen=True, slots=True)
class Member:
    user: User
    role: Role
    joined_at: int
    muted: bool = False


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A signed-in session as its owner sees it in their sessions list."""

    id: str
    created_at: int
    last_used_at: int
    user_agent: str | None
    current: bool  # the session asking


@dataclass(frozen=True, slots=True)
class Invite:
    code: str
    created_by: str | None  # None: made on the command line
    max_uses: int
    uses: int
    expires_at: int
    revoked: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class Ban:
    user: User
    banned_by: str | None
    reason: str
    created_at: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    at: int
    actor_id: str | None
    actor: str | None  # the actor's username (None: the command line)
    action: str
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class BotAccount:
    """A bot with an API key (not a webhook's), and who made it."""

    bot: User
    owner_id: str | None


@dataclass(frozen=True, slots=True)
class Webhook:
    """A room's incoming webhook; it posts as its own bot account (`bot_id`)."""

    id: str
    room_id: str
    name: str
    bot_id: str
    created_by: str
    created_at: int


@dataclass(frozen=True, slots=True)
class OutgoingHook:
    """An endpoint that receives events (docs/integrations.md): a room's outgoing webhook
    (kind "room", with its own bot) or a bot's event subscription (kind "bot")."""

    id: str
    kind: Literal["room", "bot"]
    room_id: str | None
    bot_id: str
    url: str
    events: tuple[str, ...]
    trigger_words: tuple[str, ...]
    created_by: str
    created_at: int
    after_pos: int = 0
    failures: int = 0
    disabled_at: int | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt to deliver an event to an outgoing hook (no text: status and timing)."""

    id: str
    hook_id: str
    pos: int
    attempt: int
    at: int
    status: int | None
    latency_ms: int | None
    error: str | None
    outcome: Literal["delivered", "retry", "failed", "dropped"]


@dataclass(frozen=True, slots=True)
class SlashCommand:
    name: str
    url: str
    description: str
    created_by: str
    created_at: int


@dataclass(frozen=True, slots=True)
class NotifyPrefs:
    """A user's notification preferences (#18); the defaults for one who never chose."""

    dnd_until: int | None = None  # ms: do not disturb before then
    email: EmailNotify = "off"
    push_preview: bool = True


@dataclass(frozen=True, slots=True)
class PushSubscription:
    """A browser's Web Push subscription (#18), made by one session and gone with it."""

    id: str
    user_id: str
    session_id: str
    endpoint: str
    p256dh: str  # the browser's P-256 public key, base64url (unpadded)
    auth: str  # its 16-byte authentication secret, base64url (unpadded)
    created_at: int
