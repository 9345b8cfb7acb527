"""Notifications (#18): each member's level and mute per room, each user's preferences, and
the rule for who a stored message notifies, in one place.

The rule (store/notifications.py runs it as one query): a message notifies the members of its
room who are not its author and not bots, whose mute of the room has ended, who are not in
do-not-disturb, and whose effective level is not `none`, when
- it mentions them (`@username`, `@room`, or `@here` while they were connected, as recorded
  in message_mentions and messages.mention_room), or
- it is a reply in a thread they follow, or
- their level is `all` and it shows in the room's timeline (not a thread-only reply).
The effective level is the member's choice, else `all` in a DM, else the server's default
(HUBBUB_NOTIFY_DEFAULT). Someone who left the room is no longer a member: never notified.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import get_args

from hubbub.errors import Invalid
from hubbub.events import NotificationsUpdated
from hubbub.models import EmailNotify, NotifyLevel, NotifyPrefs, Room, User
from hubbub.services.access import require_member, visible_room
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import notifications as notify_q
from hubbub.store.notifications import Reason

__all__ = ["LEVELS", "NotificationService", "Recipient", "parse_time", "with_level"]

LEVELS: tuple[NotifyLevel, ...] = get_args(NotifyLevel)
EMAIL_CHOICES: tuple[EmailNotify, ...] = get_args(EmailNotify)
TIME_MAX_LEN = 64


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: str
    reason: Reason  # mention | thread | dm | message


def with_level(room: Room, server_default: NotifyLevel) -> Room:
    """The room with the viewer's effective level filled in (the store leaves None where the
    server's default applies: it does not know it)."""
    if room.my_role is None or room.notification_level is not None:
        return room
    return dataclasses.replace(room, notification_level=server_default)


def parse_time(field: str, value: str, now_ms: int) -> int:
    """An RFC 3339 time with a zone, in the future, as ms since the epoch; else Invalid."""
    if len(value) > TIME_MAX_LEN:
        raise Invalid(f"{field} is too long for a time", field=field)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(
            f"{field} must be an RFC 3339 time, like 2030-01-02T03:04:05Z", field=field
        ) from None
    if when.tzinfo is None:
        raise Invalid(f"{field} needs a time zone (Z or an offset)", field=field)
    ms = int(when.timestamp() * 1000)
    if ms <= now_ms:
        raise Invalid(f"{field} must be in the future", field=field)
    return ms


@dataclass(frozen=True, slots=True)
class NotificationService:
    uow: UnitOfWork
    server_default: NotifyLevel = "mentions"

    async def set_room(
        self, me: User, room_id: str, level: str | None, muted_until: str | None
    ) -> Room:
        """Set my level in a room (None: back to the default) and mute it until a time (None:
        not muted); replaces both. Members only (404 for a room I cannot see, 403 for one I
        am not in). My other connections get notifications.updated. Idempotent."""
        if level is not None and level not in LEVELS:
            raise Invalid(f"level must be one of {', '.join(LEVELS)}", field="level")
        chosen: NotifyLevel | None = next((lv for lv in LEVELS if lv == level), None)

        def fn(tx: Tx, outbox: Outbox) -> Room:
            until = (
                None
                if muted_until is None
                else parse_time("muted_until", muted_until, outbox.now_ms)
            )
            require_member(tx, room_id, me.id)
            notify_q.set_member_level(tx, room_id, me.id, chosen, until)
            room = with_level(visible_room(tx, room_id, me.id), self.server_default)
            assert room.notification_level is not None
            outbox.add(
                NotificationsUpdated(
                    room_id, me.id, room.notification_level, room.notifications_muted_until
                )
            )
            return room

        return await self.uow.write(fn)

    async def get_prefs(self, me: User) -> NotifyPrefs:
        return await self.uow.read(lambda tx: notify_q.find_prefs(tx, me.id))

    async def put_prefs(
        self, me: User, dnd_until: str | None, email: str, push_preview: bool
    ) -> NotifyPrefs:
        """Replace my preferences: do not disturb until a time (None: off), email (`off` or
        `digest`; nothing is sent yet), whether notifications may show message text."""
        if email not in EMAIL_CHOICES:
            raise Invalid(f"email must be one of {', '.join(EMAIL_CHOICES)}", field="email")
        mail: EmailNotify = "digest" if email == "digest" else "off"

        def fn(tx: Tx, outbox: Outbox) -> NotifyPrefs:
            until = (
                None
                if dnd_until is None
                else parse_time("do_not_disturb_until", dnd_until, outbox.now_ms)
            )
            prefs = NotifyPrefs(dnd_until=until, email=mail, push_preview=push_preview)
            notify_q.put_prefs(tx, me.id, prefs)
            return prefs

        return await self.uow.write(fn)

    async def recipients(self, message_id: str) -> list[Recipient]:
        """Who the stored message notifies now, by user id (the module's rule); [] for a
        deleted or unknown message."""
        now = self.uow.clock.now_ms()
        rows = await self.uow.read(
            lambda tx: notify_q.list_recipients(tx, message_id, now, self.server_default)
        )
        return [Recipient(user_id, reason) for user_id, reason in rows]

    async def recipients_many(self, message_ids: list[str]) -> dict[str, list[Recipient]]:
        """recipients() of each message, in one read (a log consumer's page)."""
        now = self.uow.clock.now_ms()

        def fn(tx: Tx) -> dict[str, list[Recipient]]:
            return {
                mid: [
                    Recipient(user_id, reason)
                    for user_id, reason in notify_q.list_recipients(
                        tx, mid, now, self.server_default
                    )
                ]
                for mid in message_ids
            }

        return await self.uow.read(fn) if message_ids else {}
