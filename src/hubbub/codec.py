"""Domain values as JSON-ready dicts, and back: the stored form of what the event log, the bus
and idempotent answers keep. Times stay integer milliseconds; nothing here is the API's wire
shape (hubbub.wire makes that, from the decoded values).

Adding an optional field (read with a default) keeps the version: older rows still decode and
older releases ignore it. Any other change is a new payload version (hubbub.events.VERSION)
and a migration of the rows already stored.
"""

from __future__ import annotations

from typing import Any

from hubbub.models import (
    NO_MENTIONS,
    Attachment,
    Author,
    Card,
    CardField,
    Mentions,
    Message,
    ReactionCount,
    Room,
    ThreadSummary,
    User,
)

__all__ = [
    "attachment_from",
    "attachment_to",
    "mentions_from",
    "mentions_to",
    "message_from",
    "message_to",
    "room_from",
    "room_to",
    "thread_from",
    "thread_to",
    "user_from",
    "user_to",
]


def user_to(u: User) -> dict[str, Any]:
    """A user as events carry them (never whether the account is deactivated)."""
    body: dict[str, Any] = {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "created_at": u.created_at,
        "is_admin": u.is_admin,
        "bot": u.bot,
    }
    if u.avatar is not None:
        body["avatar"] = u.avatar
    return body


def user_from(d: dict[str, Any]) -> User:
    return User(
        id=d["id"],
        username=d["username"],
        display_name=d["display_name"],
        created_at=int(d["created_at"]),
        is_admin=bool(d.get("is_admin", False)),  # added in 0.2 (optional: no new version)
        bot=bool(d.get("bot", False)),  # added in 0.2 (optional: no new version)
        avatar=d.get("avatar"),  # added with files (likewise)
    )


def _author_to(a: Author) -> dict[str, Any]:
    return {
        "id": a.id,
        "username": a.username,
        "display_name": a.display_name,
        "guest": a.guest,
        "bot": a.bot,
        "avatar": a.avatar,
    }


def _author_from(d: dict[str, Any]) -> Author:
    return Author(
        id=d["id"],
        username=d["username"],
        display_name=d["display_name"],
        guest=bool(d["guest"]),
        bot=bool(d.get("bot", False)),  # added in 0.2 (optional: no new version)
        avatar=d.get("avatar"),  # added in 0.2 (optional: no new version)
    )


def cards_to(cards: tuple[Card, ...]) -> list[dict[str, Any]]:
    return [
        {
            "fallback": c.fallback,
            "color": c.color,
            "pretext": c.pretext,
            "title": c.title,
            "title_link": c.title_link,
            "text": c.text,
            "fields": [{"title": f.title, "value": f.value, "short": f.short} for f in c.fields],
            "footer": c.footer,
            "ts": c.ts,
        }
        for c in cards
    ]


def cards_from(raw: list[dict[str, Any]] | None) -> tuple[Card, ...]:
    if not raw:
        return ()
    return tuple(
        Card(
            fallback=c["fallback"],
            color=c["color"],
            pretext=c["pretext"],
            title=c["title"],
            title_link=c["title_link"],
            text=c["text"],
            fields=tuple(CardField(f["title"], f["value"], bool(f["short"])) for f in c["fields"]),
            footer=c["footer"],
            ts=None if c["ts"] is None else int(c["ts"]),
        )
        for c in raw
    )


def mentions_to(m: Mentions) -> dict[str, Any]:
    return {"users": list(m.users), "room": m.room, "here": m.here}


def mentions_from(d: dict[str, Any] | None) -> Mentions:
    if not d:
        return NO_MENTIONS
    return Mentions(tuple(d["users"]), bool(d["room"]), bool(d["here"]))


def thread_to(t: ThreadSummary | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "reply_count": t.reply_count,
        "last_reply_at": t.last_reply_at,
        "participants": [user_to(u) for u in t.participants],
    }


def thread_from(d: dict[str, Any] | None) -> ThreadSummary | None:
    if d is None:
        return None
    return ThreadSummary(
        int(d["reply_count"]),
        None if d["last_reply_at"] is None else int(d["last_reply_at"]),
        tuple(user_from(u) for u in d["participants"]),
    )


def message_to(m: Message) -> dict[str, Any]:
    body = {
        "id": m.id,
        "room_id": m.room_id,
        "seq": m.seq,
        "author": _author_to(m.author),
        "text": m.text,
        "created_at": m.created_at,
        "edited_at": m.edited_at,
        "deleted": m.deleted,
        "reply_to": m.reply_to,
        "reactions": [{"emoji": r.emoji, "count": r.count, "me": r.me} for r in m.reactions],
        "mentions": mentions_to(m.mentions),
        "thread_root": m.thread_root,
        "also_to_room": m.also_to_room,
        "thread": thread_to(m.thread),
        "pinned_at": m.pinned_at,
        "cards": cards_to(m.cards),
    }
    if m.attachments:
        body["attachments"] = [attachment_to(a) for a in m.attachments]
    return body


def attachment_to(a: Attachment) -> dict[str, Any]:
    return {
        "id": a.id,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "width": a.width,
        "height": a.height,
        "thumbnail": a.has_thumbnail,
    }


def attachment_from(d: dict[str, Any]) -> Attachment:
    return Attachment(
        id=d["id"],
        filename=d["filename"],
        content_type=d["content_type"],
        size=int(d["size"]),
        width=d.get("width"),
        height=d.get("height"),
        has_thumbnail=bool(d.get("thumbnail", False)),
    )


def message_from(d: dict[str, Any]) -> Message:
    return Message(
        id=d["id"],
        room_id=d["room_id"],
        seq=int(d["seq"]),
        author=_author_from(d["author"]),
        text=d["text"],
        created_at=int(d["created_at"]),
        edited_at=None if d["edited_at"] is None else int(d["edited_at"]),
        deleted=bool(d["deleted"]),
        reply_to=d["reply_to"],
        reactions=tuple(
            ReactionCount(r["emoji"], int(r["count"]), bool(r["me"])) for r in d["reactions"]
        ),
        # Added in 0.2 (optional: no new version).
        mentions=mentions_from(d.get("mentions")),
        thread_root=d.get("thread_root"),
        also_to_room=bool(d.get("also_to_room", False)),
        thread=thread_from(d.get("thread")),
        pinned_at=d.get("pinned_at"),
        cards=cards_from(d.get("cards")),
        # Added with files (optional: no new version).
        attachments=tuple(attachment_from(a) for a in d.get("attachments", ())),
    )


def room_to(r: Room) -> dict[str, Any]:
    """The room without any viewer's fields (those are never stored)."""
    return {
        "id": r.id,
        "name": r.name,
        "topic": r.topic,
        "visibility": r.visibility,
        "kind": r.kind,
        "created_at": r.created_at,
        "member_count": r.member_count,
        "last_seq": r.last_seq,
        "retention_days": r.retention_days,
        "members_can_pin": r.members_can_pin,
        **({"avatar": r.avatar} if r.avatar is not None else {}),
    }


def room_from(d: dict[str, Any]) -> Room:
    return Room(
        id=d["id"],
        name=d["name"],
        topic=d["topic"],
        visibility=d["visibility"],
        kind=d["kind"],
        created_at=int(d["created_at"]),
        member_count=int(d["member_count"]),
        last_seq=int(d["last_seq"]),
        retention_days=d.get("retention_days"),  # added in 0.2 (optional: no new version)
        members_can_pin=bool(d.get("members_can_pin", False)),  # likewise
        avatar=d.get("avatar"),  # added with files (likewise)
    )
