"""Mentions: `@username`, `@room` and `@here` in a message's text, resolved when the message is
stored (or edited) into rows the mention counts and the mentions inbox read.

- `@username` (as registered, any case) mentions that account if it is a member of the room.
- `@room` mentions everyone in the room (a flag on the message, not a row per member).
- `@here` mentions the members connected at that moment (a row per such member).
- Text in code spans and fenced code blocks mentions nobody; `bob@example.com` is no mention.
- In rooms with more than `room_mention_max` members, `@room`/`@here` need an owner or admin
  (or a server admin in a public room): NotAllowed otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from hubbub.errors import NotAllowed
from hubbub.models import Mentions, Message, RoomAccess, User
from hubbub.services.access import rank
from hubbub.store import Tx
from hubbub.store import mentions as mentions_q

__all__ = [
    "MENTIONS_MAX",
    "NOBODY_ONLINE",
    "Online",
    "Parsed",
    "check_broadcast",
    "parse",
    "store_mentions",
]

MENTIONS_MAX = 50  # distinct @usernames resolved per message
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_MENTION = re.compile(r"(?<![\w@./+-])@([A-Za-z0-9_.\-]{2,32})")


class Online(Protocol):
    """Who of some users is connected now, on any node (realtime presence)."""

    async def online_among(self, user_ids: list[str]) -> set[str]: ...


class _Nobody:
    """Presence where there is none (the command line): nobody is connected."""

    async def online_among(self, user_ids: list[str]) -> set[str]:
        return set()


NOBODY_ONLINE: Online = _Nobody()


@dataclass(frozen=True, slots=True)
class Parsed:
    usernames: tuple[str, ...] = ()  # casefolded, distinct, in order of appearance
    room: bool = False
    here: bool = False

    @property
    def any(self) -> bool:
        return bool(self.usernames or self.room or self.here)


NOTHING = Parsed()


def parse(text: str) -> Parsed:
    """The mentions in `text` (cheap when there is no `@`: the send path's common case)."""
    if "@" not in text:
        return NOTHING
    names: dict[str, None] = {}
    room = here = False
    for match in _MENTION.finditer(_CODE.sub(" ", text)):
        name = match.group(1).rstrip(".-").casefold()
        if name == "room":
            room = True
        elif name == "here":
            here = True
        elif len(name) >= 2 and len(names) < MENTIONS_MAX:
            names[name] = None
    return Parsed(tuple(names), room, here)


def check_broadcast(room: RoomAccess, me: User, member_count: int, limit: int) -> None:
    """@room/@here in a room bigger than `limit` need a manager."""
    if member_count > limit and rank(room, room.my_role, me) < rank(room, "admin"):
        raise NotAllowed(
            f"Only owners and admins may use @room or @here in rooms of more than {limit}"
        )


def store_mentions(
    tx: Tx,
    message: Message,
    parsed: Parsed,
    online: frozenset[str] = frozenset(),
    *,
    fresh: bool = False,
) -> Mentions:
    """Record whom `message` mentions, replacing what an earlier version mentioned (`fresh`:
    a message just inserted, with its @room/@here flags already set); return its Mentions.
    `online`: the members connected now, for @here."""
    if not fresh:
        mentions_q.clear(tx, message.id)
        mentions_q.set_flags(tx, message.id, parsed.room, parsed.here)
    if not parsed.any:
        return Mentions()
    users = mentions_q.resolve_members(tx, message.room_id, parsed.usernames)
    here: list[str] = []
    if parsed.here and online:
        here = [u for u in mentions_q.members_among(tx, message.room_id, online) if u not in users]
    mentions_q.insert(tx, message, users, "user")
    mentions_q.insert(tx, message, here, "here")
    return Mentions(tuple(sorted(users)), parsed.room, parsed.here)
