"""Messages: send (idempotently), history pages, edit, delete, reactions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import orjson

from hubbub.config import Settings
from hubbub.errors import (
    IdempotencyKeyReused,
    Invalid,
    MessageDeleted,
    NotAuthor,
    TooManyReactions,
)
from hubbub.events import (
    MessageCreated,
    MessageUpdated,
    ReactionAdded,
    ReactionRemoved,
)
from hubbub.events import (
    MessageDeleted as MessageDeletedEvent,
)
from hubbub.models import NO_MENTIONS, Author, Card, Message, User
from hubbub.services import mentions
from hubbub.services.access import rank, require_voice, room_access, visible_message
from hubbub.services.activity import ActivityService
from hubbub.services.audit import record
from hubbub.services.fields import check_text
from hubbub.services.files import Reap, no_reaping
from hubbub.services.ratelimits import RateLimits
from hubbub.services.redaction import redact_deleted, redact_edited
from hubbub.services.threads import check_root, on_reply, on_reply_gone
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import files as files_q
from hubbub.store import idempotency as idem_q
from hubbub.store import mentions as mentions_q
from hubbub.store import messages as messages_q
from hubbub.store import reactions as reactions_q
from hubbub.store import rooms as rooms_q

__all__ = [
    "ATTACHMENTS_MAX",
    "HISTORY_LIMIT_DEFAULT",
    "HISTORY_LIMIT_MAX",
    "HistoryPage",
    "Integration",
    "MessageService",
    "Sent",
]

HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX = 50, 200
EMOJI_MAX = 32
REACTIONS_PER_USER = 20
REACTIONS_PER_MESSAGE = 50
IDEMPOTENCY_KEY_MAX = 255
IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000
ATTACHMENTS_MAX = 10


@dataclass(frozen=True, slots=True)
class Integration:
    """What an integration (an incoming webhook) adds to a message it posts."""

    sender_name: str | None = None  # the name shown for this message, instead of the bot's
    cards: tuple[Card, ...] = ()


@dataclass(frozen=True, slots=True)
class Sent:
    """The message a send created, or (`replayed`) the one an earlier send with the same
    idempotency key created, as it was then."""

    message: Message
    replayed: bool


@dataclass(frozen=True, slots=True)
class HistoryPage:
    messages: list[Message]
    has_more_before: bool
    has_more_after: bool


def author_of(user: User) -> Author:
    return Author(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        guest=False,
        bot=user.bot,
        avatar=user.avatar,
    )


@dataclass(frozen=True, slots=True)
class MessageService:
    uow: UnitOfWork
    settings: Settings
    limits: RateLimits
    activity: ActivityService
    online: mentions.Online = mentions.NOBODY_ONLINE
    reap: Reap = no_reaping

    async def send(
        self,
        me: User,
        room_id: str,
        text: str,
        reply_to: str | None = None,
        idempotency_key: str | None = None,
        thread_root: str | None = None,
        also_to_room: bool = False,
        integration: Integration | None = None,
        attachments: list[str] | None = None,
    ) -> Sent:
        """Commit a message to a room `me` is a member of; with `thread_root`, as a reply in
        that message's thread (shown in the room too with `also_to_room`). Its @mentions are
        resolved and stored with it (services/mentions.py).

        With an idempotency key, the message is stored as the key's answer in the same
        transaction, and a retry with the same key and request returns it again (creating
        nothing); the same key with a different request raises IdempotencyKeyReused.

        `attachments`: up to ATTACHMENTS_MAX uploads of `me` to this room not attached yet
        (Invalid otherwise); with any, `text` may be empty.
        """
        files = list(attachments or [])
        if len(files) > ATTACHMENTS_MAX or len(set(files)) != len(files):
            raise Invalid(
                f"attachments: at most {ATTACHMENTS_MAX} different uploads", field="attachments"
            )
        with_cards = integration is not None and bool(integration.cards)
        if not ((files or with_cards) and text == ""):
            check_text("text", text, 1, self.settings.message_text_max)
        if idempotency_key is not None:
            # A field value's surrounding whitespace is not part of it (RFC 9110 5.5).
            idempotency_key = idempotency_key.strip(" \t")
            check_text("Idempotency-Key", idempotency_key, 1, IDEMPOTENCY_KEY_MAX)
        if also_to_room and thread_root is None:
            raise Invalid("also_to_room needs a thread_root", field="also_to_room")
        await self.limits.hit(_budget(me), me.id)
        parsed = mentions.parse(text)
        online = await self._online(room_id, parsed)
        request: list[object] = [room_id, text, reply_to]
        if thread_root is not None:
            request += [thread_root, also_to_room]
        if files:
            request += [files]
        request_hash = hashlib.sha256(orjson.dumps(request)).hexdigest()

        def fn(tx: Tx, outbox: Outbox) -> Sent:
            now = outbox.now_ms
            if idempotency_key is not None:
                stored = idem_q.find_answer(tx, me.id, idempotency_key, now - IDEMPOTENCY_TTL_MS)
                if stored is not None:
                    if stored.request_hash not in (request_hash, idem_q.REDACTED):
                        raise IdempotencyKeyReused(
                            "This Idempotency-Key was used for a different request"
                        )
                    return Sent(stored.message, replayed=True)
            room = require_voice(tx, room_id, me.id)
            if reply_to is not None:
                target = messages_q.find_message(tx, reply_to)
                if target is None or target.room_id != room_id:
                    raise Invalid("reply_to must be a message in the same room", field="reply_to")
            root = None if thread_root is None else check_root(tx, room_id, thread_root)
            if (parsed.room or parsed.here) and integration is None:
                # An integration speaks with the authority of the manager who set it up.
                count = rooms_q.member_count(tx, room_id)
                mentions.check_broadcast(room, me, count, self.settings.room_mention_max)
            new = messages_q.NewMessage(
                room_id,
                text,
                author_of(me),
                reply_to,
                thread_root=thread_root,
                also_to_room=also_to_room,
                mention_room=parsed.room,
                mention_here=parsed.here,
                sender_name=None if integration is None else integration.sender_name,
                cards=() if integration is None else integration.cards,
            )
            uploads = [files_q.find_upload(tx, upload_id) for upload_id in files]
            attached = []
            for upload in uploads:
                if (
                    upload is None
                    or upload.room_id != room_id
                    or upload.user_id != me.id
                    or upload.message_id is not None
                ):
                    raise Invalid(
                        "attachments must be your own uploads to this room, not yet attached",
                        field="attachments",
                    )
                attached.append(upload.attachment)
            message = messages_q.insert_message(tx, new, now)
            if attached:
                files_q.attach(tx, files, message.id)
                message = replace(message, attachments=tuple(attached))
            if parsed.any:
                found = mentions.store_mentions(tx, message, parsed, online, fresh=True)
                message = replace(message, mentions=found)
            outbox.add(MessageCreated(message))
            if root is not None:  # the reply first, then its root's new summary
                on_reply(tx, outbox, root, message)
            if idempotency_key is not None:
                idem_q.save_answer(
                    tx, me.id, idempotency_key, idem_q.StoredAnswer(request_hash, message), now
                )
            return Sent(message, replayed=False)

        sent = await self.uow.write(fn)
        await self.activity.message_sent(me, room_id)
        return sent

    async def _online(self, room_id: str, parsed: mentions.Parsed) -> frozenset[str]:
        """For @here: the room's members connected now (asked before the write: presence
        may be a network round trip)."""
        if not parsed.here:
            return frozenset()
        members = await self.uow.read(lambda tx: mentions_q.member_ids(tx, room_id))
        return frozenset(await self.online.online_among(members))

    async def purge_expired_keys(self) -> int:
        """Forget idempotency keys older than their 24 h lifetime; return how many."""

        def fn(tx: Tx, outbox: Outbox) -> int:
            return idem_q.purge_answers(tx, outbox.now_ms - IDEMPOTENCY_TTL_MS)

        return await self.uow.write(fn)

    async def history(
        self,
        me: User,
        room_id: str,
        before: int | None,
        after: int | None,
        limit: int = HISTORY_LIMIT_DEFAULT,
    ) -> HistoryPage:
        """A page of messages ascending by seq.

        No cursor: the newest page. `before`: the newest `limit` with seq < before. `after`:
        the oldest `limit` with seq > after. Seqs are gapless, so pages are exact ranges.
        """
        if not 1 <= limit <= HISTORY_LIMIT_MAX:
            raise Invalid(f"limit must be 1..{HISTORY_LIMIT_MAX}", field="limit")
        for name, value in (("before", before), ("after", after)):
            if value is not None and value < 0:
                raise Invalid(f"{name} must be 0 or more", field=name)

        def fn(tx: Tx) -> HistoryPage:
            room = room_access(tx, room_id, me.id)
            top = room.last_seq if before is None else min(before - 1, room.last_seq)
            # Retention erased every seq up to pruned_seq; the rest all exist (deleted ones
            # as tombstones), so pages are exact ranges and "more" is arithmetic.
            oldest = room.pruned_seq + 1
            if after is not None:
                lo, hi = max(after + 1, oldest), min(top, max(after, oldest - 1) + limit)
            else:
                lo, hi = max(oldest, top - limit + 1), top
            messages = messages_q.list_seq_range(tx, room_id, lo, hi, me.id)
            return HistoryPage(
                messages,
                has_more_before=min(lo - 1, room.last_seq) >= oldest,
                has_more_after=max(hi, 0) < room.last_seq,
            )

        return await self.uow.read(fn)

    async def around(
        self, me: User, room_id: str, seq: int, limit: int = HISTORY_LIMIT_DEFAULT
    ) -> HistoryPage:
        """The page of `limit` messages centred on `seq` (ascending; as many before it as
        after, give or take one, fewer at either end of the history), for jumping to a
        message from a search hit or a permalink. A `seq` past either end gives the page at
        that end."""
        if not 1 <= limit <= HISTORY_LIMIT_MAX:
            raise Invalid(f"limit must be 1..{HISTORY_LIMIT_MAX}", field="limit")
        if seq < 0:
            raise Invalid("around must be 0 or more", field="around")

        def fn(tx: Tx) -> HistoryPage:
            room = room_access(tx, room_id, me.id)
            oldest, newest = room.pruned_seq + 1, room.last_seq
            centre = min(max(seq, oldest), max(newest, oldest))
            lo = max(oldest, centre - (limit - 1) // 2)
            hi = min(newest, lo + limit - 1)
            lo = max(oldest, hi - limit + 1)
            messages = messages_q.list_seq_range(tx, room_id, lo, hi, me.id)
            return HistoryPage(
                messages,
                has_more_before=lo > oldest and newest >= oldest,
                has_more_after=hi < newest,
            )

        return await self.uow.read(fn)

    async def timeline(
        self,
        me: User,
        room_id: str,
        before: int | None,
        after: int | None,
        limit: int = HISTORY_LIMIT_DEFAULT,
    ) -> HistoryPage:
        """Like `history`, but only the room's timeline: top-level messages and the thread
        replies also sent to the room (`top_level=true`). Not a seq range: pages by query."""
        if not 1 <= limit <= HISTORY_LIMIT_MAX:
            raise Invalid(f"limit must be 1..{HISTORY_LIMIT_MAX}", field="limit")
        for name, value in (("before", before), ("after", after)):
            if value is not None and value < 0:
                raise Invalid(f"{name} must be 0 or more", field=name)
        top = "m.room_id = :room AND (m.thread_root IS NULL OR m.also_to_room)"

        def fn(tx: Tx) -> HistoryPage:
            room_access(tx, room_id, me.id)
            if after is not None:
                params: dict[str, object] = {"room": room_id, "at": after}
                found = messages_q.list_where(
                    tx, f"{top} AND m.seq > :at", params, "m.seq", limit + 1, me.id
                )
                page = found[:limit]
                earlier = messages_q.list_where(
                    tx, f"{top} AND m.seq <= :at", params, "m.seq DESC", 1, me.id
                )
                return HistoryPage(page, bool(earlier), len(found) > limit)
            params = {"room": room_id, "at": before if before is not None else 2**62}
            found = messages_q.list_where(
                tx, f"{top} AND m.seq < :at", params, "m.seq DESC", limit + 1, me.id
            )
            later = before is not None and bool(
                messages_q.list_where(tx, f"{top} AND m.seq >= :at", params, "m.seq", 1, me.id)
            )
            return HistoryPage(list(reversed(found[:limit])), len(found) > limit, later)

        return await self.uow.read(fn)

    async def get(self, me: User, message_id: str) -> Message:
        return await self.uow.read(lambda tx: visible_message(tx, message_id, me.id))

    async def edit(self, me: User, message_id: str, text: str) -> Message:
        """Replace the text of my own message; sets edited_at; its mentions are resolved
        again (so mention counts follow the new text)."""
        check_text("text", text, 1, self.settings.message_text_max)
        await self.limits.hit(_budget(me), me.id)
        parsed = mentions.parse(text)

        async def room_of() -> str:
            found = await self.uow.read(lambda tx: visible_message(tx, message_id, me.id))
            return found.room_id

        online = await self._online(await room_of(), parsed) if parsed.here else frozenset()

        def fn(tx: Tx, outbox: Outbox) -> Message:
            message = visible_message(tx, message_id, me.id)
            if message.author.id != me.id:
                raise NotAuthor("Only the author can edit a message")
            room = require_voice(tx, message.room_id, me.id)
            if message.deleted:
                raise MessageDeleted("A deleted message cannot be edited")
            if (parsed.room and not message.mentions.room) or (
                parsed.here and not message.mentions.here
            ):
                count = rooms_q.member_count(tx, message.room_id)
                mentions.check_broadcast(room, me, count, self.settings.room_mention_max)
            messages_q.update_text(tx, message_id, text, outbox.now_ms)
            if parsed.any or message.mentions != NO_MENTIONS:
                mentions.store_mentions(tx, message, parsed, online)
            found = messages_q.find_message(tx, message_id, me.id)
            assert found is not None
            assert found.edited_at is not None
            redact_edited(tx, found)
            outbox.add(
                MessageUpdated(
                    found.id,
                    found.room_id,
                    found.seq,
                    found.text,
                    found.edited_at,
                    found.mentions,
                )
            )
            return found

        return await self.uow.write(fn)

    async def delete(self, me: User, message_id: str) -> None:
        """Tombstone a message: its author, or the room's owner or an admin. Idempotent."""
        await self.limits.hit(_budget(me), me.id)

        def fn(tx: Tx, outbox: Outbox) -> None:
            message = visible_message(tx, message_id, me.id)
            moderated = message.author.id != me.id
            if moderated:
                room = room_access(tx, message.room_id, me.id)
                if rank(room, room.my_role, me) < rank(room, "admin"):
                    raise NotAuthor("Only the author, the owner or an admin can delete this")
            if message.deleted:
                return
            messages_q.mark_deleted(tx, message_id)
            redact_deleted(tx, message)
            if message.thread_root is not None:
                on_reply_gone(tx, outbox, message)
            if moderated:
                record(tx, outbox, me, "message.delete", f"{message.room_id}/{message.seq}")
            outbox.add(MessageDeletedEvent(message.id, message.room_id, message.seq))

        await self.uow.write(fn)
        await self.reap()  # its files' bytes, now that their rows are gone

    async def react(self, me: User, message_id: str, emoji: str, *, add: bool) -> None:
        """Add or remove my reaction; idempotent. Members only; not on deleted messages. A
        message takes at most REACTIONS_PER_USER distinct reactions from one user and
        REACTIONS_PER_MESSAGE distinct ones in all (TooManyReactions)."""
        check_text("emoji", emoji, 1, EMOJI_MAX)
        await self.limits.hit("reactions", me.id)

        def fn(tx: Tx, outbox: Outbox) -> None:
            message = visible_message(tx, message_id, me.id)
            require_voice(tx, message.room_id, me.id)
            if message.deleted:
                raise MessageDeleted("A deleted message takes no reactions")
            if add:
                counts = reactions_q.count_reactions(tx, message_id, me.id, emoji)
                if not counts.already_mine and counts.mine >= REACTIONS_PER_USER:
                    raise TooManyReactions(
                        f"At most {REACTIONS_PER_USER} different reactions of yours per message"
                    )
                if not counts.present and counts.distinct >= REACTIONS_PER_MESSAGE:
                    raise TooManyReactions(
                        f"At most {REACTIONS_PER_MESSAGE} different reactions per message"
                    )
                changed = reactions_q.add_reaction(tx, message_id, me.id, emoji, outbox.now_ms)
            else:
                changed = reactions_q.remove_reaction(tx, message_id, me.id, emoji)
            if not changed:  # idempotent repeat: nothing happened, nothing to announce
                return
            kind = ReactionAdded if add else ReactionRemoved
            outbox.add(kind(message.id, message.room_id, message.seq, emoji, me.id, me.username))

        await self.uow.write(fn)


def _budget(me: User) -> str:
    """Bots write on budgets of their own (an integration posts more than a person)."""
    return "bot_messages" if me.bot else "messages"
