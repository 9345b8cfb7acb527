"""Sessions: sign in and out, the bearer token of every request, the sessions list, password
changes, and one-time stream tickets.

A session is a random token (256 bits; only its SHA-256 is stored) with an id that names it
without revealing it. Ending sessions commits a `session.revoked` event: their live streams
close at once on every node (the hub stops their subscriptions). A session not used for
`session_idle_days` has expired: it no longer authenticates, and the upkeep sweep ends it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from hubbub.config import Settings
from hubbub.errors import (
    AccountDeactivated,
    InvalidCredentials,
    SessionNotFound,
    Unauthenticated,
    WrongPassword,
)
from hubbub.events import SessionsRevoked
from hubbub.ids import new_id
from hubbub.models import SessionInfo, User
from hubbub.services.authcache import AuthCache
from hubbub.services.fields import check_text
from hubbub.services.passwords import PASSWORD_MAX, PASSWORD_MIN, Passwords, check_password
from hubbub.services.ratelimits import RateLimits
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import resets as resets_q
from hubbub.store import sessions as sessions_q
from hubbub.store import tickets as tickets_q
from hubbub.store import users as users_q

__all__ = [
    "TICKET_SECONDS",
    "USER_AGENT_MAX",
    "Session",
    "SessionInfo",
    "SessionService",
    "end_sessions",
    "open_session",
    "token_hash",
]

USER_AGENT_MAX = 256
TICKET_SECONDS = 30
TOUCH_EVERY_MS = 60_000  # last_used_at is written at most this often per session
SWEEP_BATCH = 500
DAY_MS = 24 * 3600 * 1000


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe one-way index."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    user: User
    token: str  # "" when the session was reached some other way (a stream ticket)


def open_session(tx: Tx, outbox: Outbox, user: User, user_agent: str | None) -> Session:
    """Store a new session of `user` (inside a write) and return it with its token."""
    token = secrets.token_urlsafe(32)
    session_id = new_id("s", outbox.now_ms)
    agent = user_agent[:USER_AGENT_MAX] if user_agent else None
    sessions_q.insert_session(tx, session_id, token_hash(token), user.id, outbox.now_ms, agent)
    return Session(session_id, user, token)


def end_sessions(tx: Tx, outbox: Outbox, user_id: str, keep: str | None = None) -> list[str]:
    """End every session of `user_id` but `keep` (inside a write): their tokens stop working
    and their streams close. Returns the ids ended."""
    ended = sessions_q.delete_sessions_of(tx, user_id, keep)
    if ended:
        outbox.add(SessionsRevoked(user_id, tuple(ended)))
    return ended


@dataclass(frozen=True, slots=True)
class SessionService:
    uow: UnitOfWork
    settings: Settings
    passwords: Passwords
    limits: RateLimits
    cache: AuthCache

    @property
    def _idle_ms(self) -> int:
        return self.settings.session_idle_days * DAY_MS

    async def sign_in(
        self,
        username: str,
        password: str,
        client: str,
        *,
        user_agent: str | None = None,
        known: Session | None = None,
    ) -> Session:
        """A new session for the right password. Unknown user and wrong password both raise
        InvalidCredentials; a deactivated account (with the right password) raises
        AccountDeactivated.

        Failures are limited per client address and per account. An account with too many
        recent failures is locked (RateLimited) for sign-ins, except from a device that is
        still signed in to it (`known`, the request's own valid session), so a guesser can't
        lock its owner out; a correct password then lifts the lock.
        """
        account = username.casefold()
        await self.limits.check("sign_in", client)
        trusted = known is not None and known.user.username.casefold() == account
        if not trusted:
            await self.limits.check("sign_in_account", account)
        found = await self.uow.read(lambda tx: users_q.find_credentials(tx, username))
        if not await self.passwords.verify(found[1] if found else None, password) or not found:
            await self.limits.hit("sign_in", client)
            await self.limits.hit("sign_in_account", account)
            raise InvalidCredentials("Wrong username or password")
        user = found[0]
        if user.deactivated:
            raise AccountDeactivated("This account was deactivated by a server admin")
        await self.limits.clear("sign_in_account", account)
        return await self.uow.write(lambda tx, outbox: open_session(tx, outbox, user, user_agent))

    async def sign_out(self, session: Session) -> None:
        """End the session: the token stops working and its streams close, at once."""
        await self.revoke(session, session.id)

    async def authenticate(self, token: str | None) -> Session:
        """The session of a bearer token; Unauthenticated if it is missing, unknown, ended,
        expired (unused for session_idle_days) or its account is deactivated. Notes the use,
        at most once a minute per session.

        Answered from the node's AuthCache when it can (no database read): an ending or a
        change of the user forgets the entry (services/authcache.py)."""
        if not token:
            raise Unauthenticated("Send 'Authorization: Bearer <token>'")
        hashed = token_hash(token)
        cache = self.cache
        cached = cache.find(hashed)
        if cached is not None:
            session_id, user, last_used = cached.session_id, cached.user, cached.last_used
        else:
            generation = cache.generation  # before the read: see AuthCache.remember
            read_at = self.uow.clock.now_ms()
            found = await self.uow.read(lambda tx: sessions_q.find_session_by_token(tx, hashed))
            if found is None:
                raise Unauthenticated("The token is invalid or signed out")
            session_id, user, last_used = found
        now = self.uow.clock.now_ms()
        if user.deactivated:
            raise Unauthenticated("The account is deactivated")
        if now - last_used > self._idle_ms and not user.bot:  # a bot's key never idles out
            raise Unauthenticated("The session expired: sign in again")
        if cached is None:
            cache.remember(
                hashed, session_id, user, last_used, read_at=read_at, generation=generation
            )
        if now - last_used > TOUCH_EVERY_MS:

            def touch(tx: Tx, outbox: Outbox) -> int:
                sessions_q.touch_session(tx, session_id, outbox.now_ms)
                return outbox.now_ms

            cache.note_use(hashed, session_id, await self.uow.write(touch))
        return Session(session_id, user, token)

    async def list_sessions(self, session: Session) -> list[SessionInfo]:
        """The user's live sessions, most recently used first; `current` marks this one.
        Expired ones (idle too long) are left out before the upkeep removes them."""
        rows = await self.uow.read(lambda tx: sessions_q.list_sessions(tx, session.user.id))
        cutoff = self.uow.clock.now_ms() - self._idle_ms
        return [
            SessionInfo(r.id, r.created_at, r.last_used_at, r.user_agent, r.id == session.id)
            for r in rows
            if r.last_used_at >= cutoff or r.id == session.id
        ]

    async def revoke(self, session: Session, session_id: str) -> None:
        """End one of the user's own sessions (this one too); SessionNotFound for any other.
        Its token stops working and its streams close, at once."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            owner = sessions_q.find_session(tx, session_id)
            if owner is None or owner.id != session.user.id:
                raise SessionNotFound(f"No session {session_id!r} of yours")
            sessions_q.delete_session(tx, session_id)
            outbox.add(SessionsRevoked(session.user.id, (session_id,)))

        await self.uow.write(fn)

    async def revoke_others(self, session: Session) -> list[str]:
        """End every session of the user but this one; return their ids."""
        return await self.uow.write(
            lambda tx, outbox: end_sessions(tx, outbox, session.user.id, keep=session.id)
        )

    async def change_password(
        self, session: Session, current: str, new: str, client: str
    ) -> list[str]:
        """Replace the password, given the current one (WrongPassword otherwise, limited like
        sign-ins); every *other* session ends at once, outstanding reset links stop working,
        and a sign-in lock-out of the account is lifted. Returns the ids ended."""
        user = session.user
        check_text("new_password", new, PASSWORD_MIN, PASSWORD_MAX, allow_blank=True)
        check_password(new, user.username, field="new_password")
        await self.limits.check("sign_in_account", user.username.casefold())
        found = await self.uow.read(lambda tx: users_q.find_credentials(tx, user.username))
        if found is None or not await self.passwords.verify(found[1], current):
            await self.limits.hit("sign_in", client)
            await self.limits.hit("sign_in_account", user.username.casefold())
            raise WrongPassword("The current password is wrong")
        new_hash = await self.passwords.hash(new)

        def fn(tx: Tx, outbox: Outbox) -> list[str]:
            users_q.set_password_hash(tx, user.id, new_hash)
            resets_q.revoke_resets(tx, user.id)  # a link made before must not undo this
            return end_sessions(tx, outbox, user.id, keep=session.id)

        ended = await self.uow.write(fn)
        await self.limits.clear("sign_in_account", user.username.casefold())
        return ended

    async def sweep_idle(self) -> int:
        """End sessions unused for session_idle_days (their streams close too); return how
        many. Bounded batches: the writer is never held long."""
        ended = 0
        while True:

            def fn(tx: Tx, outbox: Outbox) -> int:
                idle = sessions_q.list_idle_sessions(tx, outbox.now_ms - self._idle_ms, SWEEP_BATCH)
                by_user: dict[str, list[str]] = {}
                for session_id, user_id in idle:
                    sessions_q.delete_session(tx, session_id)
                    by_user.setdefault(user_id, []).append(session_id)
                for user_id, ids in by_user.items():
                    outbox.add(SessionsRevoked(user_id, tuple(ids)))
                return len(idle)

            count = await self.uow.write(fn)
            ended += count
            if count < SWEEP_BATCH:
                return ended

    async def issue_ticket(self, session: Session) -> tuple[str, int]:
        """A one-time ticket that opens one stream as `session` within TICKET_SECONDS, so a
        browser never has to put its long-lived token in a URL. Returns it and its expiry."""
        ticket = secrets.token_urlsafe(32)

        def fn(tx: Tx, outbox: Outbox) -> int:
            expires_at = outbox.now_ms + TICKET_SECONDS * 1000
            tickets_q.insert_ticket(tx, token_hash(ticket), session.id, expires_at)
            return expires_at

        return ticket, await self.uow.write(fn)

    async def redeem_ticket(self, ticket: str) -> Session:
        """The session a ticket was issued to, once: the ticket is used up. Unauthenticated
        if it is unknown, used, expired, or its session has ended."""

        def fn(tx: Tx, outbox: Outbox) -> Session | None:
            session_id = tickets_q.take_ticket(tx, token_hash(ticket), outbox.now_ms)
            user = sessions_q.find_session(tx, session_id) if session_id else None
            if user is None or session_id is None or user.deactivated:
                return None
            return Session(session_id, user, "")

        session = await self.uow.write(fn)
        if session is None:
            raise Unauthenticated("The stream ticket is unknown, used or expired")
        return session

    async def purge_expired_tickets(self) -> int:
        return await self.uow.write(lambda tx, outbox: tickets_q.purge_tickets(tx, outbox.now_ms))
