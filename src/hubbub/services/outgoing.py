"""Outgoing webhooks and bot event subscriptions (docs/integrations.md): endpoints that get
the events of a room (a room's outgoing webhook, made by its owner or an admin, with its own
bot account) or of the rooms a bot is in (a bot's subscription, made by the bot's owner),
signed with a secret shown once.

Matching is done by the log consumer `outgoing` (`match`, run by services/consumers.py): for
each page of the event log it queues (hook, position) pairs in the same transaction that moves
its place, so each event is queued exactly once per hook. The queue holds positions only: the
sender (services/outgoing_sender.py) reads the event from the log when it sends it, so an
event whose message was deleted meanwhile is sent in its redacted form.

What a hook gets: the event types it chose from EVENT_TYPES, in the rooms its bot is a member
of when the event is matched and still when it is sent (so never what its bot can't see);
never the bot's own messages or events about the bot itself (no loops); with trigger words,
only the message.created whose text starts with one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hubbub.errors import Invalid, OutgoingHookNotFound, TooManyHooks
from hubbub.events import Event, MessageCreated
from hubbub.ids import new_id
from hubbub.models import Delivery, OutgoingHook, User
from hubbub.services.access import require_manager
from hubbub.services.audit import record
from hubbub.services.bots import owned_bot
from hubbub.services.rooms import announce_join, remove_member
from hubbub.services.sessions import end_sessions
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.services.webhooks import NO_PASSWORD
from hubbub.store import Tx
from hubbub.store import outgoing as out_q
from hubbub.store import rooms as rooms_q
from hubbub.store import users as users_q

__all__ = [
    "DELIVERIES_MAX",
    "EVENT_TYPES",
    "HOOKS_PER_ROOM",
    "SUBSCRIPTIONS_PER_BOT",
    "TRIGGER_WORDS_MAX",
    "TRIGGER_WORD_MAX",
    "URL_MAX",
    "HookChange",
    "NewHook",
    "OutgoingService",
    "check_url",
    "sign",
]

# The event types an endpoint may ask for: those of a room its members see.
EVENT_TYPES = (
    "message.created",
    "message.updated",
    "message.deleted",
    "reaction.added",
    "reaction.removed",
    "message.pinned",
    "message.unpinned",
    "thread.updated",
    "member.joined",
    "member.left",
    "member.updated",
    "room.updated",
)
URL_MAX = 2048
TRIGGER_WORDS_MAX = 10
TRIGGER_WORD_MAX = 32
HOOKS_PER_ROOM = 10
SUBSCRIPTIONS_PER_BOT = 10
DELIVERIES_MAX = out_q.DELIVERIES_KEPT


def sign(secret: str, t: int, body: bytes) -> str:
    """The `Hubbub-Signature` header of `body` sent at unix time `t` (Stripe's scheme)."""
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def check_url(url: str, field: str = "url") -> str:
    """An absolute http(s) URL with a host, at most URL_MAX characters. (Whether hubbub may
    call its address is decided when it connects: hubbub.outbound.)"""
    if len(url) > URL_MAX:
        raise Invalid(f"{field} must be at most {URL_MAX} characters", field=field)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        raise Invalid(f"{field} is not a URL", field=field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"{field} must be an http:// or https:// URL with a host", field=field)
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise Invalid(f"{field} must not contain spaces or control characters", field=field)
    return url


def _check_events(events: list[str]) -> tuple[str, ...]:
    if not events:
        raise Invalid("events: choose at least one event type", field="events")
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise Invalid(
            f"events: {', '.join(unknown)} not among {', '.join(EVENT_TYPES)}", field="events"
        )
    return tuple(dict.fromkeys(events))


def _check_words(words: list[str]) -> tuple[str, ...]:
    if len(words) > TRIGGER_WORDS_MAX:
        raise Invalid(f"trigger_words: at most {TRIGGER_WORDS_MAX}", field="trigger_words")
    for word in words:
        if not 1 <= len(word) <= TRIGGER_WORD_MAX or any(
            c.isspace() or ord(c) < 0x20 for c in word
        ):
            raise Invalid(
                f"trigger_words: each 1..{TRIGGER_WORD_MAX} characters, no spaces",
                field="trigger_words",
            )
    return tuple(dict.fromkeys(words))


@dataclass(frozen=True, slots=True)
class NewHook:
    hook: OutgoingHook
    bot: User
    secret: str  # shown once


@dataclass(frozen=True, slots=True)
class HookChange:
    """What an update asks for; None leaves that part as it is."""

    enabled: bool | None = None
    url: str | None = None
    events: list[str] | None = None
    trigger_words: list[str] | None = None


@dataclass(frozen=True, slots=True)
class _Checked:
    enabled: bool | None
    url: str | None
    events: tuple[str, ...] | None
    trigger_words: tuple[str, ...] | None


def _check_change(change: HookChange) -> _Checked:
    return _Checked(
        change.enabled,
        None if change.url is None else check_url(change.url),
        None if change.events is None else _check_events(change.events),
        None if change.trigger_words is None else _check_words(change.trigger_words),
    )


def _apply(
    tx: Tx, outbox: Outbox, me: User, hook: OutgoingHook, change: _Checked
) -> tuple[OutgoingHook, User]:
    """Change `hook` as asked, writing an audit entry for each kind of change made; asking
    for what already is (on when on, off when off) changes nothing."""
    url = hook.url if change.url is None else change.url
    events = hook.events if change.events is None else change.events
    words = hook.trigger_words if change.trigger_words is None else change.trigger_words
    if (url, events, words) != (hook.url, hook.events, hook.trigger_words):
        out_q.update_hook(tx, hook.id, url, events, words)
        record(tx, outbox, me, "outgoing_webhook.update", hook.id, url)
    if change.enabled is True and hook.disabled_at is not None:
        out_q.enable_hook(tx, hook.id)
        record(tx, outbox, me, "outgoing_webhook.enable", hook.id, url)
    elif change.enabled is False and hook.disabled_at is None:
        reason = f"turned off by {me.username}"
        out_q.disable_hook(tx, hook.id, outbox.now_ms, reason)
        record(tx, outbox, me, "outgoing_webhook.disable", hook.id, reason)
    found = out_q.find_hook(tx, hook.id)
    bot = users_q.find_user_by_id(tx, hook.bot_id)
    if found is None or bot is None:
        raise OutgoingHookNotFound(f"No outgoing webhook {hook.id!r}")
    return found[0], bot


@dataclass(frozen=True, slots=True)
class OutgoingService:
    uow: UnitOfWork
    # Set when a hook is made: the matcher starts with the first hook (services/outgoing.py's
    # wait_for_hooks), so a server without hooks does no work (and no writes) for them.
    created: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for_hooks(self, poll_seconds: float = 30.0) -> None:
        """Return once any enabled hook exists (made here, or on another node: polled)."""
        while not await self.uow.read(out_q.any_hooks):
            with contextlib.suppress(TimeoutError):  # (not wait_for: see outgoing_sender.run)
                async with asyncio.timeout(poll_seconds):
                    await self.created.wait()
            self.created.clear()

    # -- a room's outgoing webhooks ------------------------------------------------------

    async def create_room_hook(
        self, me: User, room_id: str, url: str, events: list[str], trigger_words: list[str]
    ) -> NewHook:
        """An outgoing webhook for a room `me` manages (not a DM), with its own bot (a member
        of the room: replies post as it; taking it out of the room stops the hook)."""
        check_url(url)
        kinds = _check_events(events)
        words = _check_words(trigger_words)
        secret = "whsec_" + secrets.token_urlsafe(32)

        def fn(tx: Tx, outbox: Outbox) -> NewHook:
            room = require_manager(tx, room_id, me)
            if room.kind == "dm":
                raise Invalid("A DM has no webhooks", field="room_id")
            if out_q.count_hooks(tx, room_id=room_id) >= HOOKS_PER_ROOM:
                raise TooManyHooks(f"A room has at most {HOOKS_PER_ROOM} outgoing webhooks")
            now = outbox.now_ms
            name = urlsplit(url).hostname or "webhook"
            bot = User(new_id("u", now), f"out-{secrets.token_hex(5)}", name[:64], now, bot=True)
            if not users_q.insert_user(tx, bot, NO_PASSWORD, owner_id=me.id):
                raise Invalid("Try again", field="url")  # a 40-bit clash: never in practice
            rooms_q.upsert_member(tx, room_id, bot.id, "member", now, room.last_seq)
            announce_join(tx, outbox, room_id, bot, "member")
            hook = OutgoingHook(
                new_id("oh", now), "room", room_id, bot.id, url, kinds, words, me.id, now
            )
            hook = out_q.insert_hook(tx, hook, secret)
            record(tx, outbox, me, "outgoing_webhook.create", room_id, url)
            return NewHook(hook, bot, secret)

        made = await self.uow.write(fn)
        self.created.set()
        return made

    async def list_room_hooks(self, me: User, room_id: str) -> list[tuple[OutgoingHook, User]]:
        def fn(tx: Tx) -> list[tuple[OutgoingHook, User]]:
            require_manager(tx, room_id, me)
            return _with_bots(tx, out_q.list_hooks(tx, room_id=room_id))

        return await self.uow.read(fn)

    async def delete_room_hook(self, me: User, room_id: str, hook_id: str) -> None:
        """Stop it at once (nothing queued is sent); its bot leaves the room, deactivated."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            require_manager(tx, room_id, me)
            hook = _room_hook(tx, room_id, hook_id)
            out_q.delete_hook(tx, hook.id)
            bot = users_q.find_user_by_id(tx, hook.bot_id)
            member = rooms_q.find_member(tx, room_id, hook.bot_id)
            if bot is not None and member is not None:
                remove_member(tx, outbox, room_id, bot, member.role, "removed")
            users_q.set_deactivated(tx, hook.bot_id, outbox.now_ms)
            end_sessions(tx, outbox, hook.bot_id)  # it has none (no key): a deactivation ends them
            record(tx, outbox, me, "outgoing_webhook.delete", room_id, hook.url)

        await self.uow.write(fn)

    async def update_room_hook(
        self, me: User, room_id: str, hook_id: str, change: HookChange
    ) -> tuple[OutgoingHook, User]:
        """Turn a room's outgoing webhook off or on, or change its URL, events or trigger
        words (the room's managers, as for delete). Off empties its queue; on again starts
        afresh: no failures, and the events from now on (none from while it was off)."""
        checked = _check_change(change)

        def fn(tx: Tx, outbox: Outbox) -> tuple[OutgoingHook, User]:
            require_manager(tx, room_id, me)
            return _apply(tx, outbox, me, _room_hook(tx, room_id, hook_id), checked)

        changed = await self.uow.write(fn)
        if change.enabled:
            self.created.set()  # the matcher may be waiting for an enabled hook
        return changed

    async def room_deliveries(
        self, me: User, room_id: str, hook_id: str, limit: int
    ) -> list[Delivery]:
        """The hook's latest delivery attempts, newest first."""
        _check_limit(limit)

        def fn(tx: Tx) -> list[Delivery]:
            require_manager(tx, room_id, me)
            hook = _room_hook(tx, room_id, hook_id)
            return out_q.list_deliveries(tx, hook.id, limit)

        return await self.uow.read(fn)

    # -- a bot's event subscriptions -----------------------------------------------------

    async def subscribe(self, me: User, username: str, url: str, events: list[str]) -> NewHook:
        """A subscription of a bot `me` owns (or any, for a server admin) to events of the
        rooms it is in (mentions of the bot arrive as the message.created that mention it)."""
        check_url(url)
        kinds = _check_events(events)
        secret = "whsec_" + secrets.token_urlsafe(32)

        def fn(tx: Tx, outbox: Outbox) -> NewHook:
            bot = owned_bot(tx, me, username).bot
            if out_q.count_hooks(tx, bot_id=bot.id) >= SUBSCRIPTIONS_PER_BOT:
                raise TooManyHooks(f"A bot has at most {SUBSCRIPTIONS_PER_BOT} subscriptions")
            now = outbox.now_ms
            hook = OutgoingHook(new_id("oh", now), "bot", None, bot.id, url, kinds, (), me.id, now)
            hook = out_q.insert_hook(tx, hook, secret)
            record(tx, outbox, me, "bot.subscribe", bot.username, url)
            return NewHook(hook, bot, secret)

        made = await self.uow.write(fn)
        self.created.set()
        return made

    async def subscriptions(self, me: User, username: str) -> list[tuple[OutgoingHook, User]]:
        def fn(tx: Tx) -> list[tuple[OutgoingHook, User]]:
            bot = owned_bot(tx, me, username).bot
            return _with_bots(tx, out_q.list_hooks(tx, bot_id=bot.id))

        return await self.uow.read(fn)

    async def unsubscribe(self, me: User, username: str, hook_id: str) -> None:
        def fn(tx: Tx, outbox: Outbox) -> None:
            hook = _bot_hook(tx, me, username, hook_id)
            out_q.delete_hook(tx, hook.id)
            record(tx, outbox, me, "bot.unsubscribe", username, hook.url)

        await self.uow.write(fn)

    async def update_subscription(
        self, me: User, username: str, hook_id: str, change: HookChange
    ) -> tuple[OutgoingHook, User]:
        """Turn a bot's subscription off or on, or change its URL or events (the bot's owner
        or a server admin, as for unsubscribe); as update_room_hook."""
        if change.trigger_words is not None:
            raise Invalid("A subscription has no trigger words", field="trigger_words")
        checked = _check_change(change)

        def fn(tx: Tx, outbox: Outbox) -> tuple[OutgoingHook, User]:
            return _apply(tx, outbox, me, _bot_hook(tx, me, username, hook_id), checked)

        changed = await self.uow.write(fn)
        if change.enabled:
            self.created.set()
        return changed

    async def subscription_deliveries(
        self, me: User, username: str, hook_id: str, limit: int
    ) -> list[Delivery]:
        _check_limit(limit)

        def fn(tx: Tx) -> list[Delivery]:
            hook = _bot_hook(tx, me, username, hook_id)
            return out_q.list_deliveries(tx, hook.id, limit)

        return await self.uow.read(fn)

    # -- the log consumer ----------------------------------------------------------------

    async def match(self, events: list[Event]) -> Callable[[Tx], None] | None:
        """The LogConsumer handler: which hooks get which of `events`; returns the enqueueing
        (run with the consumer's advance, so exactly once)."""
        wanted = [e for e in events if e.type in EVENT_TYPES and e.room_id and not e.private]
        if not wanted:
            return None
        hooks = await self.uow.read(out_q.live_hooks)
        rows: list[tuple[str, int]] = []
        for event in wanted:
            for hook, rooms in hooks:
                if _wants(hook, rooms, event):
                    rows.append((hook.id, event.pos))
        if not rows:
            return None
        now = self.uow.clock.now_ms()

        def enqueue(tx: Tx) -> None:
            out_q.enqueue(tx, rows, now)

        return enqueue


def _wants(hook: OutgoingHook, rooms: frozenset[str], event: Event) -> bool:
    if event.pos <= hook.after_pos or event.type not in hook.events:
        return False
    if event.room_id not in rooms or event.subject == hook.bot_id:
        return False
    body = event.body
    if isinstance(body, MessageCreated):
        if body.message.author.id == hook.bot_id:
            return False  # its own message (a reply it posted): no loops
        if hook.trigger_words and not body.message.text.startswith(hook.trigger_words):
            return False
    return True


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= DELIVERIES_MAX:
        raise Invalid(f"limit must be 1..{DELIVERIES_MAX}", field="limit")


def _with_bots(tx: Tx, hooks: list[OutgoingHook]) -> list[tuple[OutgoingHook, User]]:
    found = []
    for hook in hooks:
        bot = users_q.find_user_by_id(tx, hook.bot_id)
        if bot is not None:
            found.append((hook, bot))
    return found


def _room_hook(tx: Tx, room_id: str, hook_id: str) -> OutgoingHook:
    found = out_q.find_hook(tx, hook_id)
    if found is None or found[0].kind != "room" or found[0].room_id != room_id:
        raise OutgoingHookNotFound(f"No outgoing webhook {hook_id!r} in this room")
    return found[0]


def _bot_hook(tx: Tx, me: User, username: str, hook_id: str) -> OutgoingHook:
    bot = owned_bot(tx, me, username).bot
    found = out_q.find_hook(tx, hook_id)
    if found is None or found[0].kind != "bot" or found[0].bot_id != bot.id:
        raise OutgoingHookNotFound(f"No subscription {hook_id!r} of this bot")
    return found[0]
