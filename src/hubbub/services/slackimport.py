"""Importing a Slack workspace export (`hubbub import-slack EXPORT.zip`, docs/integrations.md).

What it creates, in this order, each recorded in the import map (`slack_imports`, store/
slackimport.py) in the transaction that creates it, and looked up there first, so a second run
of the same export adds nothing and an interrupted run resumes:

- accounts without passwords (claimable: `hubbub admin reset-link`), with valid, unique
  usernames; deleted Slack users and bots deactivated; bots as kind "bot";
- rooms: public and private channels, DMs (a two-person DM is a hubbub DM), group DMs as
  private rooms; with their members;
- messages, conversation by conversation in timestamp order (so seqs follow it), with their
  original times, thread replies, reactions, edit times, mentions; files the export holds are
  attached, others linked.

Imported history does not flood the live streams: rooms and memberships are announced like any
(`room.created`, `member.joined`), but messages are not (one `room.updated` per conversation
tells connected clients its `last_seq` moved; they read the history as usual), and it counts
as read for the members. Messages go in batches of BATCH per transaction through the ordinary
store path (store/messages.insert_message: gapless seqs, the search index), and the export is
read one daily file at a time, so memory stays bounded whatever its size.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import anyio.to_thread

from hubbub.config import Settings
from hubbub.errors import DomainError
from hubbub.events import RoomCreated, RoomUpdated
from hubbub.ids import new_id
from hubbub.models import LOBBY_ROOM_ID, Role, Room, User
from hubbub.services import mentions
from hubbub.services.admin import NO_PASSWORD
from hubbub.services.files import FileService
from hubbub.services.messages import ATTACHMENTS_MAX, author_of
from hubbub.services.rooms import NAME_MAX, TOPIC_MAX, announce_join, dm_room, public_room
from hubbub.services.slackexport import SlackConversation, SlackExport, SlackUser
from hubbub.services.slackmessages import Planned, SlackFile, plan_message, username_base
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import files as files_q
from hubbub.store import messages as messages_q
from hubbub.store import reactions as reactions_q
from hubbub.store import rooms as rooms_q
from hubbub.store import slackimport as map_q
from hubbub.store import threads as threads_q
from hubbub.store import users as users_q

__all__ = ["BATCH", "Progress", "SlackImportService", "Summary"]

BATCH = 500  # messages per transaction
USER_BATCH = 200
REACTIONS_MAX = 50  # distinct reactions kept per message (services/messages.py's limit)
DISPLAY_MAX = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# (daily files done, daily files in all, the conversation being read)
Progress = Callable[[int, int, str], None]


@dataclass
class Summary:
    """What an import created (or, with --dry-run, what the export holds to import), and
    what it left out with why. `already`: objects an earlier run imported, left alone."""

    users: int = 0
    bots: int = 0
    rooms: int = 0
    dms: int = 0
    memberships: int = 0
    messages: int = 0
    replies: int = 0
    reactions: int = 0
    files_attached: int = 0
    files_linked: int = 0
    already: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, other: Summary) -> None:
        for name in (
            "users", "bots", "rooms", "dms", "memberships", "messages", "replies",
            "reactions", "files_attached", "files_linked", "already",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.skipped.update(other.skipped)


def _display(name: str, fallback: str) -> str:
    return _CONTROL.sub("", name).strip()[:DISPLAY_MAX] or fallback


def _link(f: SlackFile) -> str:
    label = f.name.replace("[", "(").replace("]", ")")
    return f"📎 [{label}]({f.url.replace(')', '%29')})" if f.url else f"📎 {label}"


@dataclass(frozen=True, slots=True)
class SlackImportService:
    uow: UnitOfWork
    settings: Settings
    files: FileService

    async def run(self, path: Path, progress: Progress | None = None) -> Summary:
        """Import the export at `path` (ExportUnreadable if it is not one)."""
        export = await anyio.to_thread.run_sync(SlackExport.open, path)
        try:
            return await _Run(self, export, progress).run()
        finally:
            export.close()

    @staticmethod
    async def count(path: Path, progress: Progress | None = None) -> Summary:
        """A dry run: read all of the export at `path` and count what it holds to import (as
        into an empty database), touching no database."""
        export = await anyio.to_thread.run_sync(SlackExport.open, path)
        try:
            return await _count(export, progress)
        finally:
            export.close()


async def _count(export: SlackExport, progress: Progress | None) -> Summary:
    summary = Summary()
    users = await anyio.to_thread.run_sync(export.users)
    names = {u.id: username_base(u.name) for u in users}
    summary.users = sum(not u.is_bot for u in users)
    summary.bots = sum(u.is_bot for u in users)
    conversations = await anyio.to_thread.run_sync(export.conversations)
    total = sum(len(export.days(c)) for c in conversations)
    done = 0
    bots: set[str] = set()
    for conversation in conversations:
        if conversation.kind == "dm" and len(set(conversation.members)) == 2:
            summary.dms += 1
        else:
            summary.rooms += 1
        summary.memberships += len(set(conversation.members) & names.keys())
        for day in export.days(conversation):
            for raw in await anyio.to_thread.run_sync(export.read_day, day):
                planned = plan_message(raw, conversation.id, names.get)
                if isinstance(planned, str):
                    summary.skipped[planned] += 1
                    continue
                if planned.is_bot_author and planned.author not in bots:
                    bots.add(planned.author)
                    summary.bots += 1
                summary.messages += 1
                summary.replies += planned.thread_key is not None
                summary.reactions += sum(len(users) for _, users in planned.reactions)
                for f in planned.files:
                    if export.file_entry(f.id) is None:
                        summary.files_linked += 1
                    else:
                        summary.files_attached += 1
            done += 1
            if progress is not None:
                progress(done, total, conversation.name)
    return summary


class _Run:
    """One import: the accounts made so far (Slack id -> account), and the running summary."""

    def __init__(
        self, service: SlackImportService, export: SlackExport, progress: Progress | None
    ) -> None:
        self.uow = service.uow
        self.files = service.files
        self.text_max = service.settings.message_text_max
        self.export = export
        self.progress = progress
        self.summary = Summary()
        self.accounts: dict[str, User] = {}  # Slack user or bot id -> account

    async def run(self) -> Summary:
        users = await anyio.to_thread.run_sync(self.export.users)
        for start in range(0, len(users), USER_BATCH):
            chunk = users[start : start + USER_BATCH]
            made, counts = await self.uow.write(partial(self._users, users=chunk))
            self.accounts.update(made)
            self.summary.add(counts)
        conversations = await anyio.to_thread.run_sync(self.export.conversations)
        total = sum(len(self.export.days(c)) for c in conversations)
        done = 0
        for conversation in conversations:
            room_id, counts = await self.uow.write(
                partial(self._conversation, conversation=conversation)
            )
            self.summary.add(counts)
            last_seq = 0
            batch: list[Planned] = []
            for day in self.export.days(conversation):
                for raw in await anyio.to_thread.run_sync(self.export.read_day, day):
                    planned = plan_message(raw, conversation.id, self._username)
                    if isinstance(planned, str):
                        self.summary.skipped[planned] += 1
                        continue
                    batch.append(planned)
                    if len(batch) >= BATCH:
                        last_seq = max(last_seq, await self._flush(room_id, batch))
                        batch = []
                done += 1
                if self.progress is not None:
                    self.progress(done, total, conversation.name)
            if batch:
                last_seq = max(last_seq, await self._flush(room_id, batch))
            if last_seq:
                await self.uow.write(partial(_settle, room_id=room_id, upto_seq=last_seq))
        return self.summary

    def _username(self, slack_id: str) -> str | None:
        account = self.accounts.get(slack_id)
        return None if account is None else account.username

    # -- accounts ---------------------------------------------------------------------------

    def _users(
        self, tx: Tx, outbox: Outbox, users: list[SlackUser]
    ) -> tuple[dict[str, User], Summary]:
        counts = Summary()
        made: dict[str, User] = {}
        known = map_q.list_mapped(tx, "user", [u.id for u in users])
        for slack in users:
            if slack.id in known:
                found = users_q.find_user_by_id(tx, known[slack.id])
                if found is not None:
                    made[slack.id] = found
                counts.already += 1
                continue
            user = _new_account(
                tx, outbox, slack.name, slack.display_name, bot=slack.is_bot,
                active=not (slack.deleted or slack.is_bot),
            )  # fmt: skip
            map_q.map_id(tx, "user", slack.id, user.id, outbox.now_ms)
            made[slack.id] = user
            if slack.is_bot:
                counts.bots += 1
            else:
                counts.users += 1
        return made, counts

    def _author(
        self, tx: Tx, outbox: Outbox, planned: Planned, counts: Summary, fresh: dict[str, User]
    ) -> User:
        """The account of a message's author: imported with the users, else (a bot that posted
        through an integration, or a user missing from users.json) made now, deactivated.
        Accounts found or made here go into `fresh` (kept once the transaction commits)."""
        found = self.accounts.get(planned.author) or fresh.get(planned.author)
        if found is not None:
            return found
        kind: map_q.Kind = "bot" if planned.is_bot_author else "user"
        mapped = map_q.find_mapped(tx, kind, planned.author)
        user = None if mapped is None else users_q.find_user_by_id(tx, mapped)
        if user is None:
            user = _new_account(
                tx, outbox, planned.author_name, planned.author_name,
                bot=planned.is_bot_author, active=False,
            )  # fmt: skip
            map_q.map_id(tx, kind, planned.author, user.id, outbox.now_ms)
            if planned.is_bot_author:
                counts.bots += 1
            else:
                counts.users += 1
        fresh[planned.author] = user
        return user

    # -- conversations ----------------------------------------------------------------------

    def _conversation(
        self, tx: Tx, outbox: Outbox, conversation: SlackConversation
    ) -> tuple[str, Summary]:
        counts = Summary()
        mapped = map_q.find_mapped(tx, "conversation", conversation.id)
        if mapped is not None and tx.fetchone("SELECT 1 FROM rooms WHERE id = :id", {"id": mapped}):
            counts.already += 1
            return mapped, counts
        members = list(
            dict.fromkeys(self.accounts[m] for m in conversation.members if m in self.accounts)
        )
        now = outbox.now_ms
        created = conversation.created_ms or now
        room_id = None
        if conversation.kind == "dm" and len(members) == 2:
            room, dm_key = dm_room(members[0], members[1], created)
            if rooms_q.insert_room(tx, room, dm_key=dm_key):
                room_id = room.id
                counts.dms += 1
            else:  # the two already have a DM on hubbub: its history grows
                existing = rooms_q.find_dm(tx, dm_key, members[0].id)
                assert existing is not None
                room_id = existing.id
        else:
            name = conversation.name
            if conversation.kind in ("dm", "mpim"):
                name = ", ".join(sorted((u.username for u in members), key=str.lower)) or name
            room = Room(
                id=new_id("r", created),
                name=_display(name, conversation.id)[:NAME_MAX],
                topic=_CONTROL.sub(" ", conversation.topic)[:TOPIC_MAX],
                visibility="public" if conversation.kind == "public" else "private",
                kind="room",
                created_at=created,
                member_count=0,
                last_seq=0,
            )
            rooms_q.insert_room(tx, room)
            room_id = room.id
            counts.rooms += 1
        creator = self.accounts.get(conversation.creator or "")
        for user in members:
            role: Role = "owner" if creator is not None and user.id == creator.id else "member"
            if conversation.kind == "dm":
                role = "member"
            if rooms_q.upsert_member(tx, room_id, user.id, role, created):
                announce_join(tx, outbox, room_id, user, role)
                counts.memberships += 1
        made = rooms_q.find_room(tx, room_id, "")
        assert made is not None
        if made.visibility == "public" and made.kind == "room":
            outbox.add(RoomCreated(public_room(made)))
        map_q.map_id(tx, "conversation", conversation.id, room_id, now)
        return room_id, counts

    # -- messages ---------------------------------------------------------------------------

    async def _flush(self, room_id: str, batch: list[Planned]) -> int:
        """Store a batch of one conversation's messages in one transaction (the files the
        export holds first); return the seq of the last one stored (0: none)."""
        done = await self.uow.read(
            lambda tx: map_q.list_mapped(tx, "message", [p.key for p in batch])
        )
        uploads: dict[str, str] = {}  # Slack file id -> upload id
        counts = Summary()
        for planned in batch:
            if planned.key in done:
                continue
            author_id = (await self._author_id(planned)) if planned.files else None
            for f in planned.files[:ATTACHMENTS_MAX]:
                entry = self.export.file_entry(f.id)
                if entry is None or author_id is None:
                    continue
                if await self.uow.read(partial(map_q.find_mapped, kind="file", slack_id=f.id)):
                    continue  # shared again: attached to its first message, linked here
                try:
                    upload = await self.files.store_imported(
                        author_id, room_id, f.name, self._chunks(entry)
                    )
                except DomainError as exc:
                    counts.skipped[f"file not attached, linked instead: {exc.code}"] += 1
                    continue
                uploads[f.id] = upload.id
        fresh: dict[str, User] = {}
        last_seq, written = await self.uow.write(
            lambda tx, o: self._messages(tx, o, room_id, batch, uploads, fresh)
        )
        self.accounts.update(fresh)
        self.summary.add(counts)
        self.summary.add(written)
        return last_seq

    async def _author_id(self, planned: Planned) -> str:
        """The author's account id, made now if need be (before their files are stored)."""
        fresh: dict[str, User] = {}

        def fn(tx: Tx, outbox: Outbox) -> tuple[User, Summary]:
            fresh.clear()
            counts = Summary()
            return self._author(tx, outbox, planned, counts, fresh), counts

        user, counts = await self.uow.write(fn)
        self.accounts[planned.author] = user
        self.summary.add(counts)
        return user.id

    async def _chunks(self, entry: str) -> AsyncIterator[bytes]:
        chunks = self.export.file_chunks(entry)
        with contextlib.closing(chunks):
            while chunk := await anyio.to_thread.run_sync(next, chunks, b""):
                yield chunk

    def _messages(
        self,
        tx: Tx,
        outbox: Outbox,
        room_id: str,
        batch: list[Planned],
        uploads: dict[str, str],
        fresh: dict[str, User],
    ) -> tuple[int, Summary]:
        fresh.clear()  # a retried transaction starts again
        counts = Summary()
        last_seq = 0
        for planned in batch:
            if map_q.find_mapped(tx, "message", planned.key) is not None:
                counts.already += 1
                continue
            author = self._author(tx, outbox, planned, counts, fresh)
            root = None
            if planned.thread_key is not None:
                root_id = map_q.find_mapped(tx, "message", planned.thread_key)
                root = None if root_id is None else messages_q.find_message(tx, root_id)
                if root is not None and (
                    root.room_id != room_id or root.thread_root is not None or root.deleted
                ):
                    root = None
            attached = [uploads[f.id] for f in planned.files if f.id in uploads]
            linked = [f for f in planned.files if f.id not in uploads]
            text = planned.text
            if linked:
                text = "\n".join([text, *(_link(f) for f in linked)]).strip("\n")
            text = text[: self.text_max]
            parsed = mentions.parse(text)
            new = messages_q.NewMessage(
                room_id,
                text,
                author_of(author),
                thread_root=None if root is None else root.id,
                also_to_room=root is not None and planned.also_to_room,
                mention_room=parsed.room,
                mention_here=parsed.here,
                sender_name=planned.sender_name,
                cards=planned.cards,
            )
            message = messages_q.insert_message(tx, new, planned.at_ms)
            last_seq = message.seq
            if planned.edited_ms is not None:
                map_q.set_edited_at(tx, message.id, max(planned.edited_ms, message.created_at))
            if parsed.usernames:
                mentions.store_mentions(tx, message, mentions.Parsed(parsed.usernames), fresh=True)
            if attached:
                files_q.attach(tx, attached, message.id)
                for f in planned.files:
                    if f.id in uploads:
                        map_q.map_id(tx, "file", f.id, uploads[f.id], outbox.now_ms)
            if root is not None:
                threads_q.note_reply(tx, root.id, author.id, message.created_at)
                if root.author.id is not None and root.thread is None:
                    threads_q.follow(tx, root.id, room_id, root.author.id, root.seq)
                threads_q.follow(tx, root.id, room_id, author.id, message.seq)
                counts.replies += 1
            for emoji, reactors in planned.reactions[:REACTIONS_MAX]:
                for slack_id in reactors:
                    reactor = self.accounts.get(slack_id) or fresh.get(slack_id)
                    if reactor is None:
                        counts.skipped["reaction by a user not in the export"] += 1
                    elif reactions_q.add_reaction(
                        tx, message.id, reactor.id, emoji, message.created_at
                    ):
                        counts.reactions += 1
            map_q.map_id(tx, "message", planned.key, message.id, outbox.now_ms)
            counts.messages += 1
            counts.files_attached += len(attached)
            counts.files_linked += len(linked)
        return last_seq, counts


def _new_account(
    tx: Tx, outbox: Outbox, name: str, display_name: str, *, bot: bool, active: bool
) -> User:
    """An account without a password (claimable with a reset link), under the first free
    username made from `name`; active ones join the lobby, as accounts an admin makes do."""
    now = outbox.now_ms
    base = username_base(name)
    for n in range(1, 10_000):
        suffix = "" if n == 1 else f"-{n}"
        user = User(
            new_id("u", now),
            base[: 32 - len(suffix)] + suffix,
            _display(display_name, base),
            now,
            bot=bot,
        )
        if users_q.insert_user(tx, user, NO_PASSWORD):
            break
    else:  # pragma: no cover - ten thousand accounts with one name
        raise RuntimeError(f"no free username for {name!r}")
    if not active:
        users_q.set_deactivated(tx, user.id, now)
        return User(user.id, user.username, user.display_name, now, deactivated=True, bot=bot)
    lobby = rooms_q.find_access(tx, LOBBY_ROOM_ID, user.id)
    if lobby is not None:
        rooms_q.upsert_member(tx, LOBBY_ROOM_ID, user.id, "member", now, lobby.last_seq)
        announce_join(tx, outbox, LOBBY_ROOM_ID, user, "member")
    return user


def _settle(tx: Tx, outbox: Outbox, room_id: str, upto_seq: int) -> None:
    """After a conversation's messages: they count as read, and connected clients hear that
    the room's history moved on (one event, not one per message)."""
    map_q.mark_imported_read(tx, room_id, upto_seq)
    room = rooms_q.find_room(tx, room_id, "")
    assert room is not None
    outbox.add(RoomUpdated(public_room(room)))
