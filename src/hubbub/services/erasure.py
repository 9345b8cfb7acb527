"""Deleting an account: at once, the account is stripped of everything personal (its username
becomes a placeholder and its display name "Deleted user"; no password, no sessions, so its
streams close; no rooms but its DMs; no invites, reset links or export), and the old username
stays reserved. Then, in bounded batches (an `erasures` row, resumed by the upkeep after a
crash), its messages are either erased as deletes are (`erase_messages`) or re-attributed in
the event log, and every event that names the account is rewritten to the placeholder.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, replace

from hubbub.errors import LastAdmin, UserNotFound, WrongPassword
from hubbub.events import (
    DurableEvent,
    MemberJoined,
    MemberLeft,
    MemberUpdated,
    MessageCreated,
    MessageDeleted,
    ReactionAdded,
    ReactionRemoved,
    UserUpdated,
)
from hubbub.models import Author, User
from hubbub.services.admin import AdminService
from hubbub.services.audit import record
from hubbub.services.files import Reap, no_reaping
from hubbub.services.passwords import Passwords
from hubbub.services.ratelimits import RateLimits
from hubbub.services.redaction import redact_deleted
from hubbub.services.rooms import remove_member
from hubbub.services.sessions import Session, end_sessions
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import email as email_q
from hubbub.store import erasures as erasures_q
from hubbub.store import events as events_q
from hubbub.store import files as files_q
from hubbub.store import messages as messages_q
from hubbub.store import rooms as rooms_q
from hubbub.store import users as users_q

__all__ = ["BATCH", "DELETED_NAME", "ErasureService", "placeholder_username"]

DELETED_NAME = "Deleted user"
BATCH = 200


def placeholder_username(user_id: str) -> str:
    """What a deleted account is called from then on: nothing of the old name."""
    return "deleted-" + hashlib.sha256(user_id.encode()).hexdigest()[:10]


@dataclass(frozen=True, slots=True)
class ErasureService:
    uow: UnitOfWork
    passwords: Passwords
    limits: RateLimits
    reap: Reap = no_reaping

    async def delete_me(
        self, session: Session, password: str, erase_messages: bool, client: str
    ) -> None:
        """Delete your own account, given its password (WrongPassword otherwise, limited like
        sign-ins)."""
        user = session.user
        await self.limits.check("sign_in_account", user.username.casefold())
        found = await self.uow.read(lambda tx: users_q.find_credentials(tx, user.username))
        if found is None or not await self.passwords.verify(found[1], password):
            await self.limits.hit("sign_in", client)
            await self.limits.hit("sign_in_account", user.username.casefold())
            raise WrongPassword("The password is wrong")
        await self._delete(user, user.id, erase_messages)

    async def delete_user(self, me: User | None, username: str, erase_messages: bool) -> None:
        """A server admin (or the command line) deletes an account."""
        AdminService._require_admin(me)

        def find(tx: Tx) -> User:
            target = users_q.find_user_by_username(tx, username)
            if target is None:
                raise UserNotFound(f"No user {username!r}")
            return target

        target = await self.uow.read(find)
        await self._delete(me, target.id, erase_messages)

    async def _delete(self, actor: User | None, user_id: str, erase_messages: bool) -> None:
        def fn(tx: Tx, outbox: Outbox) -> None:
            target = users_q.find_user_by_id(tx, user_id)
            if target is None:
                raise UserNotFound("No such user")
            if target.is_admin and not target.deactivated and users_q.count_active_admins(tx) <= 1:
                raise LastAdmin("This is the last active server admin: promote someone first")
            placeholder = placeholder_username(target.id)
            users_q.mark_deleted(tx, target.id, placeholder, DELETED_NAME, outbox.now_ms)
            gone = replace(target, username=placeholder, display_name=DELETED_NAME)
            end_sessions(tx, outbox, target.id)
            erasures_q.forget_personal(tx, target.id, target.username, placeholder)
            email_q.forget_user(tx, target.id)  # the address, its links, its queue
            for room_id, role, kind in rooms_q.list_memberships(tx, target.id):
                if kind != "dm":
                    remove_member(tx, outbox, room_id, gone, role, "left")
            # Uploads never attached go now; attached ones go with their messages (erased
            # in the batches) or stay with them.
            files_q.doom_user_files(tx, target.id, attached_too=False)
            files_q.swap_avatar(tx, "users", target.id, None)
            erasures_q.insert_erasure(tx, target.id, erase_messages, outbox.now_ms)
            action = "user.delete_erasing" if erase_messages else "user.delete"
            record(tx, outbox, actor, action, target.id)

        await self.uow.write(fn)
        await self.continue_erasures(user_id)

    async def continue_erasures(self, user_id: str | None = None) -> int:
        """Work through pending erasures (one account's, or all) in bounded transactions;
        return how many batches ran."""
        pending = await self.uow.read(lambda tx: erasures_q.list_erasures(tx, user_id))
        batches = 0
        for pending_id in pending:
            step = functools.partial(_erase_batch, user_id=pending_id)
            while await self.uow.write(step):
                batches += 1
        if pending:
            await self.reap()  # the erased messages' files
        return batches


def _erase_batch(tx: Tx, outbox: Outbox, user_id: str) -> bool:
    """One bounded step of an erasure; False when there is nothing left to do."""
    job = erasures_q.find_erasure(tx, user_id)
    user = users_q.find_user_by_id(tx, user_id)
    if job is None or user is None:
        return False
    if job.phase == "messages":
        ids = messages_q.list_ids_by_author(tx, user_id, job.after, BATCH)
        for message_id in ids:
            message = messages_q.find_message(tx, message_id)
            assert message is not None
            if job.erase_messages and not message.deleted:
                messages_q.mark_deleted(tx, message_id)
                redact_deleted(tx, message)
                outbox.add(MessageDeleted(message.id, message.room_id, message.seq))
            author = Author(user.id, user.username, user.display_name, guest=False)
            for event in events_q.message_events(tx, message_id):
                if isinstance(event.body, MessageCreated):
                    created = replace(event.body.message, author=author)
                    events_q.replace_event(tx, event.pos, MessageCreated(created))
        if len(ids) < BATCH:
            erasures_q.advance(tx, user_id, "events", "0")
        else:
            erasures_q.advance(tx, user_id, "messages", ids[-1])
        return True
    after = int(job.after or "0")
    events = events_q.subject_events(tx, user_id, after, BATCH)
    for event in events:
        renamed = _renamed(event.body, user)
        if renamed is not None:
            events_q.replace_event(tx, event.pos, renamed)
    if len(events) < BATCH:
        erasures_q.finish(tx, user_id)
        return False
    erasures_q.advance(tx, user_id, "events", str(events[-1].pos))
    return True


def _renamed(body: DurableEvent, user: User) -> DurableEvent | None:
    """The event with the deleted account's user object in place of the old one."""
    if isinstance(body, MemberJoined | MemberLeft | MemberUpdated):
        return replace(body, user=replace(user, is_admin=False))
    if isinstance(body, UserUpdated):
        return replace(body, user=user)
    if isinstance(body, ReactionAdded | ReactionRemoved):
        return replace(body, username=user.username)
    return None
