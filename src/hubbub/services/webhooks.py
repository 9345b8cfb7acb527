"""Incoming webhooks, Slack-compatible: a room's managers make a secret URL; whatever POSTs
a Slack payload to it posts a message in the room as the webhook's own bot account.

The bot is a member of the room (it shows in the member list, marked as a bot); removing or
muting it there stops the webhook as it would stop a person. Deleting the webhook takes the
bot out of the room and deactivates it; its messages stay, under its name.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from hubbub.config import Settings
from hubbub.errors import Invalid, NotAMember, RoomNotFound, WebhookNotFound
from hubbub.ids import new_id
from hubbub.models import Message, User, Webhook
from hubbub.services.access import check_manager, require_manager, room_access
from hubbub.services.audit import record
from hubbub.services.fields import check_name
from hubbub.services.messages import Integration, MessageService
from hubbub.services.ratelimits import RateLimits
from hubbub.services.rooms import announce_join, remove_member
from hubbub.services.sessions import end_sessions, token_hash
from hubbub.services.slack import convert_payload
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import messages as messages_q
from hubbub.store import rooms as rooms_q
from hubbub.store import users as users_q
from hubbub.store import webhooks as webhooks_q

__all__ = ["HOOK_NAME_MAX", "NO_PASSWORD", "NewWebhook", "WebhookService"]

HOOK_NAME_MAX = 64
NO_PASSWORD = "!"  # no password hash matches: a bot never signs in


@dataclass(frozen=True, slots=True)
class NewWebhook:
    hook: Webhook
    bot: User
    secret: str  # shown once: only its hash is stored


@dataclass(frozen=True, slots=True)
class WebhookService:
    uow: UnitOfWork
    settings: Settings
    limits: RateLimits
    messages: MessageService

    def url(self, secret: str) -> str:
        return f"{self.settings.base_url}/hooks/{secret}"

    async def create(self, me: User, room_id: str, name: str) -> NewWebhook:
        """A webhook for a room `me` manages (owner or admin; not a DM), with its bot."""
        check_name("name", name, 1, HOOK_NAME_MAX)
        secret = secrets.token_urlsafe(32)

        def fn(tx: Tx, outbox: Outbox) -> NewWebhook:
            room = room_access(tx, room_id, me.id)
            if room.kind == "dm":
                raise Invalid("A DM has no webhooks", field="room_id")
            check_manager(room, me)
            now = outbox.now_ms
            bot = User(
                new_id("u", now),
                f"hook-{secrets.token_hex(5)}",
                name,
                now,
                bot=True,
            )
            if not users_q.insert_user(tx, bot, NO_PASSWORD, owner_id=me.id):
                raise Invalid("Try again", field="name")  # a 40-bit clash: never in practice
            rooms_q.upsert_member(tx, room_id, bot.id, "member", now, room.last_seq)
            announce_join(tx, outbox, room_id, bot, "member")
            hook = Webhook(new_id("wh", now), room_id, name, bot.id, me.id, now)
            webhooks_q.insert_webhook(tx, hook, token_hash(secret))
            record(tx, outbox, me, "webhook.create", room_id, name)
            return NewWebhook(hook, bot, secret)

        return await self.uow.write(fn)

    async def list(self, me: User, room_id: str) -> list[tuple[Webhook, User]]:
        """The room's webhooks with their bots (owners and admins), oldest first."""

        def fn(tx: Tx) -> list[tuple[Webhook, User]]:
            require_manager(tx, room_id, me)
            found = []
            for hook in webhooks_q.list_webhooks(tx, room_id):
                bot = users_q.find_user_by_id(tx, hook.bot_id)
                if bot is not None:
                    found.append((hook, bot))
            return found

        return await self.uow.read(fn)

    async def delete(self, me: User, room_id: str, hook_id: str) -> None:
        """Revoke the URL at once; the bot leaves the room and is deactivated."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            require_manager(tx, room_id, me)
            hook = webhooks_q.find_webhook(tx, room_id, hook_id)
            if hook is None:
                raise WebhookNotFound(f"No webhook {hook_id!r} in this room")
            webhooks_q.delete_webhook(tx, hook.id)
            bot = users_q.find_user_by_id(tx, hook.bot_id)
            member = rooms_q.find_member(tx, room_id, hook.bot_id)
            if bot is not None and member is not None:
                remove_member(tx, outbox, room_id, bot, member.role, "removed")
            users_q.set_deactivated(tx, hook.bot_id, outbox.now_ms)
            end_sessions(tx, outbox, hook.bot_id)  # it has none (no key): a deactivation ends them
            record(tx, outbox, me, "webhook.delete", room_id, hook.name)

        await self.uow.write(fn)

    async def post(self, secret: str, payload: Any) -> Message:
        """Post a Slack payload through the webhook with this secret. Raises WebhookNotFound
        (unknown or revoked), RateLimited, slack.PayloadInvalid / slack.NoText, and what
        sending raises (NotAMember or Muted when the room took the bot out or muted it)."""
        hashed = token_hash(secret)
        found = await self.uow.read(lambda tx: _hook_and_bot(tx, hashed))
        if found is None:
            raise WebhookNotFound("No such webhook")
        hook, bot = found
        await self.limits.hit("webhooks", hook.id)
        converted = convert_payload(payload)
        text = converted.text if converted.text.strip() else ""
        limit = self.settings.message_text_max
        if len(text) > limit:  # an alert cut short beats an alert lost
            text = text[: limit - 1] + "…"
        thread_root = None
        wanted = converted.thread_ts
        if wanted is not None:
            root = await self.uow.read(lambda tx: messages_q.find_message(tx, wanted))
            if root is not None and root.room_id == hook.room_id and root.thread_root is None:
                thread_root = root.id
        try:
            sent = await self.messages.send(
                bot,
                hook.room_id,
                text,
                thread_root=thread_root,
                integration=Integration(converted.sender_name, converted.cards),
            )
        except RoomNotFound:
            # A bot sees no room it is not in: one that took the bot out is still there.
            room = await self.uow.read(lambda tx: rooms_q.find_access(tx, hook.room_id, bot.id))
            if room is None:
                raise
            raise NotAMember("The room took the webhook's bot out") from None
        return sent.message


def _hook_and_bot(tx: Tx, secret_hash: str) -> tuple[Webhook, User] | None:
    hook = webhooks_q.find_by_secret(tx, secret_hash)
    if hook is None:
        return None
    bot = users_q.find_user_by_id(tx, hook.bot_id)
    return None if bot is None else (hook, bot)
