"""Accounts and sessions: sign up, sign in, sign out, authenticate a bearer token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from hubbub.config import Settings
from hubbub.errors import (
    Invalid,
    InvalidCredentials,
    Unauthenticated,
    UsernameTaken,
    UserNotFound,
)
from hubbub.ids import new_id
from hubbub.models import LOBBY_ROOM_ID, User
from hubbub.services.fields import check_optional_text, check_text, check_username
from hubbub.services.passwords import Passwords
from hubbub.services.ratelimit import RateLimiter
from hubbub.services.rooms import announce_join
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import rooms as rooms_q
from hubbub.store import users as users_q

__all__ = ["AccountService", "Session", "token_hash"]

PASSWORD_MIN, PASSWORD_MAX = 8, 256
DISPLAY_NAME_MAX = 64
SEARCH_LIMIT_MAX = 100
SEARCH_PREFIX_MAX = 32


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe one-way index."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    token: str


@dataclass(frozen=True, slots=True)
class AccountService:
    uow: UnitOfWork
    settings: Settings
    passwords: Passwords
    limiter: RateLimiter

    async def register(
        self, username: str, password: str, display_name: str | None, client: str
    ) -> Session:
        """Create an account (a member of the lobby) and a session. Raises UsernameTaken, or
        RateLimited when `client` (its address) tries too often."""
        self.limiter.take(client)
        check_username(username)
        check_text(
            "password", password, PASSWORD_MIN, PASSWORD_MAX, allow_blank=True, allow_nul=True
        )  # hashed, never stored: any characters will do
        display = check_optional_text("display_name", display_name, 1, DISPLAY_NAME_MAX)
        password_hash = await self.passwords.hash(password)
        token = secrets.token_urlsafe(32)

        def fn(tx: Tx, outbox: Outbox) -> User:
            now = outbox.now_ms
            user = User(
                id=new_id("u", now),
                username=username,
                display_name=display or username,
                created_at=now,
            )
            if not users_q.insert_user(tx, user, password_hash):
                raise UsernameTaken(f"The username {username!r} is taken")
            lobby = rooms_q.find_access(tx, LOBBY_ROOM_ID, user.id)
            rooms_q.upsert_member(
                tx,
                LOBBY_ROOM_ID,
                user.id,
                "member",
                now,
                start_read_seq=lobby.last_seq if lobby else 0,
            )
            users_q.insert_token(tx, token_hash(token), user.id, now)
            announce_join(tx, outbox, LOBBY_ROOM_ID, user, "member")
            return user

        return Session(await self.uow.write(fn), token)

    async def sign_in(self, username: str, password: str, client: str) -> Session:
        """A new session. Unknown user and wrong password both raise InvalidCredentials; too
        many attempts from `client` (its address) raise RateLimited."""
        self.limiter.take(client)
        found = await self.uow.read(lambda tx: users_q.find_credentials(tx, username))
        if not await self.passwords.verify(found[1] if found else None, password) or not found:
            raise InvalidCredentials("Wrong username or password")
        user, token = found[0], secrets.token_urlsafe(32)
        await self.uow.write(
            lambda tx, outbox: users_q.insert_token(tx, token_hash(token), user.id, outbox.now_ms)
        )
        return Session(user, token)

    async def sign_out(self, token: str) -> None:
        """End the session: the token stops working at once."""
        await self.uow.write(lambda tx, outbox: users_q.delete_token(tx, token_hash(token)))

    async def authenticate(self, token: str | None) -> Session:
        """The session of a bearer token; Unauthenticated if it is missing, unknown or ended."""
        if not token:
            raise Unauthenticated("Send 'Authorization: Bearer <token>'")
        user = await self.uow.read(lambda tx: users_q.find_user_by_token(tx, token_hash(token)))
        if user is None:
            raise Unauthenticated("The token is invalid or signed out")
        return Session(user, token)

    async def get_user(self, username: str) -> User:
        user = await self.uow.read(lambda tx: users_q.find_user_by_username(tx, username))
        if user is None:
            raise UserNotFound(f"No user {username!r}")
        return user

    async def search(self, prefix: str, limit: int) -> list[User]:
        """Users whose username starts with `prefix`, ignoring case, sorted by username."""
        if not 1 <= limit <= SEARCH_LIMIT_MAX:
            raise Invalid(f"limit must be 1..{SEARCH_LIMIT_MAX}", field="limit")
        check_text("prefix", prefix, 0, SEARCH_PREFIX_MAX, allow_blank=True)
        return await self.uow.read(lambda tx: users_q.search_users(tx, prefix, limit))
