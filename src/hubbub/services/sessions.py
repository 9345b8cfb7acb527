"""Sessions: sign in, sign out, and the bearer token of every request.

A session is a random token (256 bits; only its SHA-256 is stored) with an id that names it
without revealing it. Ending a session commits a `session.revoked` event: its live streams
close at once on every node (the hub stops their subscriptions).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from hubbub.errors import InvalidCredentials, Unauthenticated
from hubbub.events import SessionsRevoked
from hubbub.ids import new_id
from hubbub.models import User
from hubbub.services.passwords import Passwords
from hubbub.services.ratelimits import RateLimits
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import tickets as tickets_q
from hubbub.store import users as users_q

__all__ = [
    "TICKET_SECONDS",
    "USER_AGENT_MAX",
    "Session",
    "SessionService",
    "open_session",
    "token_hash",
]

USER_AGENT_MAX = 256
TICKET_SECONDS = 30


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe one-way index."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    user: User
    token: str


def open_session(tx: Tx, outbox: Outbox, user: User, user_agent: str | None) -> Session:
    """Store a new session of `user` (inside a write) and return it with its token."""
    token = secrets.token_urlsafe(32)
    session_id = new_id("s", outbox.now_ms)
    agent = user_agent[:USER_AGENT_MAX] if user_agent else None
    users_q.insert_session(tx, session_id, token_hash(token), user.id, outbox.now_ms, agent)
    return Session(session_id, user, token)


@dataclass(frozen=True, slots=True)
class SessionService:
    uow: UnitOfWork
    passwords: Passwords
    limits: RateLimits

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
        InvalidCredentials.

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
        await self.limits.clear("sign_in_account", account)
        user = found[0]
        return await self.uow.write(lambda tx, outbox: open_session(tx, outbox, user, user_agent))

    async def sign_out(self, session: Session) -> None:
        """End the session: the token stops working and its streams close, at once."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            if users_q.delete_session(tx, session.id):
                outbox.add(SessionsRevoked(session.user.id, (session.id,)))

        await self.uow.write(fn)

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
        if it is unknown, used, expired, or its session has ended. (The session's token is
        not known here: `token` is empty.)"""

        def fn(tx: Tx, outbox: Outbox) -> Session | None:
            session_id = tickets_q.take_ticket(tx, token_hash(ticket), outbox.now_ms)
            user = users_q.find_session(tx, session_id) if session_id else None
            return None if user is None or session_id is None else Session(session_id, user, "")

        session = await self.uow.write(fn)
        if session is None:
            raise Unauthenticated("The stream ticket is unknown, used or expired")
        return session

    async def purge_expired_tickets(self) -> int:
        return await self.uow.write(lambda tx, outbox: tickets_q.purge_tickets(tx, outbox.now_ms))

    async def authenticate(self, token: str | None) -> Session:
        """The session of a bearer token; Unauthenticated if it is missing, unknown or ended."""
        if not token:
            raise Unauthenticated("Send 'Authorization: Bearer <token>'")
        found = await self.uow.read(lambda tx: users_q.find_session_by_token(tx, token_hash(token)))
        if found is None:
            raise Unauthenticated("The token is invalid or signed out")
        return Session(found[0], found[1], token)
