"""The JSON shapes of the v1 API, as plain dicts: built once, serialised with orjson.

This is the one place domain values become what clients see: REST bodies (web) and the `data`
of event frames (realtime). web/schemas.py and web/event_schemas.py describe the same shapes
for the OpenAPI document; the schema tests check that every response and event matches them.
Services never import this module: they return domain values.
"""

from __future__ import annotations

import time
from typing import Any, assert_never

from hubbub.codec import cards_to
from hubbub.events import (
    CommandReply,
    DurableEvent,
    EphemeralEvent,
    MemberJoined,
    MemberLeft,
    MemberUpdated,
    MessageCreated,
    MessageDeleted,
    MessagePinned,
    MessageUnpinned,
    MessageUpdated,
    NotificationsUpdated,
    Presence,
    ReactionAdded,
    ReactionRemoved,
    ReadUpdated,
    RoomCreated,
    RoomUpdated,
    SessionsRevoked,
    ThreadRead,
    ThreadUpdated,
    Typing,
    UserUpdated,
)
from hubbub.links import FileLinks, file_path, thumbnail_path
from hubbub.models import (
    Attachment,
    Author,
    EmailAddress,
    Member,
    Mentions,
    Message,
    Room,
    SessionInfo,
    ThreadSummary,
    Upload,
    User,
)

__all__ = [
    "admin_user",
    "attachment",
    "author",
    "avatar_url",
    "event_data",
    "me",
    "member",
    "message",
    "rfc3339",
    "room",
    "session_info",
    "upload",
    "user",
]


def rfc3339(ms: int) -> str:
    """RFC 3339 UTC with milliseconds: 2026-11-26T04:14:36.123Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def user(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "created_at": rfc3339(u.created_at),
        "is_admin": u.is_admin,
        "kind": "bot" if u.bot else "user",
        "avatar_url": avatar_url(u.avatar),
    }


def me(u: User, address: EmailAddress) -> dict[str, Any]:
    """The signed-in user as they see themselves: with their email address."""
    return {**user(u), "email": address.email, "email_confirmed": address.confirmed}


def avatar_url(key: str | None) -> str | None:
    """Avatars are served to anyone with the link: its key is random and unguessable."""
    return None if key is None else f"/api/v1/avatars/{key}"


def session_info(s: SessionInfo) -> dict[str, Any]:
    return {
        "id": s.id,
        "created_at": rfc3339(s.created_at),
        "last_used_at": rfc3339(s.last_used_at),
        "user_agent": s.user_agent,
        "current": s.current,
    }


def admin_user(u: User) -> dict[str, Any]:
    """A user as server admins see them: whether the account is deactivated too."""
    return {**user(u), "deactivated": u.deactivated}


def author(a: Author) -> dict[str, Any]:
    return {
        "id": a.id,
        "username": a.username,
        "display_name": a.display_name,
        "guest": a.guest,
        "bot": a.bot,
        "avatar_url": avatar_url(a.avatar),
    }


def attachment(a: Attachment, links: FileLinks | None) -> dict[str, Any]:
    """An attachment with its links: signed and expiring when `links` is given (what an
    `<img>` can open), else plain paths (which need the bearer token)."""
    if links is not None:
        url = links.file_url(a.id, a.filename)
        thumb = links.thumbnail_url(a.id) if a.has_thumbnail else None
    else:
        url = file_path(a.id, a.filename)
        thumb = thumbnail_path(a.id) if a.has_thumbnail else None
    return {
        "id": a.id,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "width": a.width,
        "height": a.height,
        "url": url,
        "thumbnail_url": thumb,
    }


def upload(u: Upload, links: FileLinks | None) -> dict[str, Any]:
    return {**attachment(u.attachment, links), "sha256": u.sha256}


def message(m: Message, links: FileLinks | None = None) -> dict[str, Any]:
    return {
        "id": m.id,
        "room_id": m.room_id,
        "seq": m.seq,
        "author": author(m.author),
        "text": m.text,
        "created_at": rfc3339(m.created_at),
        "edited_at": None if m.edited_at is None else rfc3339(m.edited_at),
        "deleted": m.deleted,
        "reply_to": m.reply_to,
        "reactions": [{"emoji": r.emoji, "count": r.count, "me": r.me} for r in m.reactions],
        "mentions": mentions(m.mentions),
        "thread_root": m.thread_root,
        "also_to_room": m.also_to_room,
        "thread": thread(m.thread),
        "pinned_at": None if m.pinned_at is None else rfc3339(m.pinned_at),
        "cards": cards_to(m.cards),
        "attachments": [attachment(a, links) for a in m.attachments],
    }


def mentions(m: Mentions) -> dict[str, Any]:
    return {"users": list(m.users), "room": m.room, "here": m.here}


def thread(t: ThreadSummary | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "reply_count": t.reply_count,
        "last_reply_at": None if t.last_reply_at is None else rfc3339(t.last_reply_at),
        "participants": [user(u) for u in t.participants],
    }


def room(r: Room) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": r.id,
        "name": r.name,
        "topic": r.topic,
        "visibility": r.visibility,
        "kind": r.kind,
        "created_at": rfc3339(r.created_at),
        "member_count": r.member_count,
        "last_seq": r.last_seq,
        "retention_days": r.retention_days,
        "members_can_pin": r.members_can_pin,
        "avatar_url": avatar_url(r.avatar),
    }
    if r.my_role is not None:
        body["my_role"] = r.my_role
        body["last_read_seq"] = r.last_read_seq
        body["unread_count"] = r.unread_count
        body["mention_count"] = r.mention_count or 0
        # notifications (#18)
        body["notification_level"] = r.notification_level
        muted = r.notifications_muted_until
        body["notifications_muted_until"] = None if muted is None else rfc3339(muted)
    return body


def member(m: Member) -> dict[str, Any]:
    return {
        "user": user(m.user),
        "role": m.role,
        "joined_at": rfc3339(m.joined_at),
        "muted": m.muted,
    }


def event_data(e: DurableEvent | EphemeralEvent, links: FileLinks | None = None) -> dict[str, Any]:
    """The `data` of an event's frame (docs/api.md, "Event types"); `links` signs the links
    to attachments."""
    match e:
        case MessageCreated():
            return message(e.message, links)
        case MessageUpdated():
            return {
                "id": e.id,
                "room_id": e.room_id,
                "seq": e.seq,
                "text": e.text,
                "edited_at": rfc3339(e.edited_at),
                "mentions": mentions(e.mentions),
            }
        case MessageDeleted():
            return {"id": e.id, "room_id": e.room_id, "seq": e.seq}
        case ReactionAdded() | ReactionRemoved():
            return {
                "message_id": e.message_id,
                "room_id": e.room_id,
                "seq": e.seq,
                "emoji": e.emoji,
                "user": e.username,
                "user_id": e.user_id,
            }
        case RoomUpdated():
            return room(e.room)
        case MemberJoined():
            return {"room": room(e.room), "user": user(e.user), "role": e.role}
        case MemberLeft():
            return {"room_id": e.room_id, "user": user(e.user), "how": e.how}
        case MemberUpdated():
            return {"user": user(e.user), "role": e.role, "muted": e.muted}
        case RoomCreated():
            return room(e.room)
        case UserUpdated():
            return user(e.user)
        case ReadUpdated():
            return {
                "room_id": e.room_id,
                "last_read_seq": e.last_read_seq,
                "unread_count": e.unread_count,
                "mention_count": e.mention_count,
            }
        case NotificationsUpdated():
            return {
                "room_id": e.room_id,
                "notification_level": e.notification_level,
                "notifications_muted_until": None
                if e.muted_until is None
                else rfc3339(e.muted_until),
            }
        case ThreadUpdated():
            return {
                "root_id": e.root_id,
                "room_id": e.room_id,
                "seq": e.seq,
                "thread": thread(e.thread),
            }
        case ThreadRead():
            return {
                "root_id": e.root_id,
                "room_id": e.room_id,
                "last_read_seq": e.last_read_seq,
                "unread_count": e.unread_count,
            }
        case MessagePinned():
            return {
                "id": e.id,
                "room_id": e.room_id,
                "seq": e.seq,
                "pinned_at": rfc3339(e.pinned_at),
                "by": user(e.by),
            }
        case MessageUnpinned():
            return {"id": e.id, "room_id": e.room_id, "seq": e.seq}
        case SessionsRevoked():
            return {"session_ids": list(e.session_ids)}
        case Typing():
            return {"user": e.username, "user_id": e.user_id, "until": rfc3339(e.until)}
        case Presence():
            return {"user": e.username, "user_id": e.user_id, "online": e.online}
        case CommandReply():
            return {"command": e.command, "text": e.text, "user_id": e.user_id}
        case _:
            assert_never(e)
