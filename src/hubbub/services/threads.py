"""Threads: replies in a top-level message's thread, their summary on the root, who follows a
thread and how far they have read it; and the mentions inbox.

A reply is a message of the room like any other (the room's next seq: the log stays gapless
and resumable) that names its root. It shows in the room's timeline only with `also_to_room`;
otherwise it counts towards the thread's unread replies, not the room's unread count.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.errors import Invalid, MessageDeleted, NotAMember
from hubbub.events import ThreadRead, ThreadUpdated
from hubbub.models import Message, User
from hubbub.services.access import require_member, visible_message
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import messages as messages_q
from hubbub.store import threads as threads_q

__all__ = [
    "LIST_MAX",
    "FollowedThread",
    "ThreadPage",
    "ThreadService",
    "check_root",
    "on_reply",
    "on_reply_gone",
]

LIST_MAX = 100


def check_root(tx: Tx, room_id: str, root_id: str) -> Message:
    """The root a reply may go under: a live top-level message of `room_id`."""
    root = messages_q.find_message(tx, root_id)
    if root is None or root.room_id != room_id:
        raise Invalid("thread_root must be a message in this room", field="thread_root")
    if root.thread_root is not None:
        raise Invalid(
            "thread_root must be a top-level message, not a reply in a thread",
            field="thread_root",
        )
    if root.deleted:
        raise MessageDeleted("A deleted message takes no replies")
    return root


def on_reply(tx: Tx, outbox: Outbox, root: Message, reply: Message) -> None:
    """Inside the reply's write: count it on the root; the replier follows the thread (having
    read up to their reply), and so does the root's author when the thread begins (not on
    later replies: an author who unfollowed stays unfollowed); announce the new summary."""
    threads_q.note_reply(tx, root.id, reply.author.id, reply.created_at)
    if root.author.id is not None and root.thread is None:
        threads_q.follow(tx, root.id, root.room_id, root.author.id, root.seq)
    if reply.author.id is not None:
        threads_q.follow(tx, root.id, root.room_id, reply.author.id, reply.seq)
    outbox.add(ThreadUpdated(root.id, root.room_id, root.seq, threads_q.summary(tx, root.id)))


def on_reply_gone(tx: Tx, outbox: Outbox, reply: Message) -> None:
    """Inside a write that deleted (or erased) a reply: the root's summary again."""
    assert reply.thread_root is not None
    root = messages_q.find_message(tx, reply.thread_root)
    if root is None:
        return
    threads_q.recount(tx, root.id)
    outbox.add(ThreadUpdated(root.id, root.room_id, root.seq, threads_q.summary(tx, root.id)))


@dataclass(frozen=True, slots=True)
class ThreadPage:
    root: Message
    replies: list[Message]
    has_more: bool


@dataclass(frozen=True, slots=True)
class FollowedThread:
    root: Message
    unread_count: int
    last_read_seq: int


@dataclass(frozen=True, slots=True)
class ThreadService:
    uow: UnitOfWork

    async def replies(self, me: User, root_id: str, after: int, limit: int) -> ThreadPage:
        """A thread's replies after the room seq `after`, oldest first."""
        _check_limit(limit)
        if after < 0:
            raise Invalid("after must be 0 or more", field="after")

        def fn(tx: Tx) -> ThreadPage:
            root = _visible(tx, root_id, me.id)
            found = messages_q.list_where(
                tx,
                "m.thread_root = :root AND m.seq > :after",
                {"root": root.id, "after": after},
                "m.seq",
                limit + 1,
                me.id,
            )
            return ThreadPage(root, found[:limit], len(found) > limit)

        return await self.uow.read(fn)

    async def follow(self, me: User, root_id: str, on: bool) -> None:
        """Follow or stop following a thread (members of its room; idempotent)."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            root = _visible(tx, root_id, me.id)
            if root.thread_root is not None:
                raise Invalid("Only a top-level message has a thread to follow", field="id")
            if on:
                require_member(tx, root.room_id, me.id)
                threads_q.follow(tx, root.id, root.room_id, me.id, root.seq)
            else:
                threads_q.unfollow(tx, root.id, me.id)

        await self.uow.write(fn)

    async def mark_read(self, me: User, root_id: str, seq: int) -> int:
        """Move my read marker in a followed thread forward to `seq`; my connections get
        thread.read. NotAMember-like refusal if I don't follow it."""
        if seq < 0:
            raise Invalid("seq must be 0 or more", field="seq")

        def fn(tx: Tx, outbox: Outbox) -> int:
            root = _visible(tx, root_id, me.id)
            before = threads_q.follow_marker(tx, root.id, me.id)
            if before is None:
                raise NotAMember("Follow the thread first")
            marker = threads_q.set_follow_marker(tx, root.id, me.id, seq)
            if marker != before:
                unread = threads_q.unread_in(tx, root.id, me.id, marker)
                outbox.add(ThreadRead(root.id, root.room_id, me.id, marker, unread))
            return marker

        return await self.uow.write(fn)

    async def followed(self, me: User, unread_only: bool, limit: int) -> list[FollowedThread]:
        """Threads I follow in rooms I am in, most recently replied first."""
        _check_limit(limit)

        def fn(tx: Tx) -> list[FollowedThread]:
            rows = threads_q.list_followed(tx, me.id, unread_only, limit)
            if not rows:
                return []
            ids = {f"r{i}": row[0] for i, row in enumerate(rows)}
            roots = messages_q.list_where(
                tx, f"m.id IN ({', '.join(':' + k for k in ids)})", dict(ids), "m.id", limit, me.id
            )
            by_id = {m.id: m for m in roots}
            return [
                FollowedThread(by_id[root_id], unread, marker)
                for root_id, _, marker, unread in rows
                if root_id in by_id
            ]

        return await self.uow.read(fn)

    async def mentions(self, me: User, before: tuple[int, str] | None, limit: int) -> list[Message]:
        """Live messages that mention me (by @username, @room, or @here while I was
        connected) in rooms I am still in, newest first; `before`: (created_at, id) of the
        last one seen."""
        _check_limit(limit)
        where = (
            "m.deleted = FALSE AND (m.author_id IS NULL OR m.author_id <> :me)"
            " AND m.room_id IN (SELECT room_id FROM members WHERE user_id = :me)"
            " AND (m.mention_room OR m.id IN (SELECT message_id FROM message_mentions"
            " WHERE user_id = :me))"
        )
        params: dict[str, object] = {"me": me.id}
        if before is not None:
            where += " AND (m.created_at < :at OR (m.created_at = :at AND m.id < :id))"
            params.update(at=before[0], id=before[1])

        def fn(tx: Tx) -> list[Message]:
            return messages_q.list_where(
                tx, where, params, "m.created_at DESC, m.id DESC", limit, me.id
            )

        return await self.uow.read(fn)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= LIST_MAX:
        raise Invalid(f"limit must be 1..{LIST_MAX}", field="limit")


def _visible(tx: Tx, message_id: str, me: str) -> Message:
    return visible_message(tx, message_id, me)
