"""Accounts and sessions: sign up, sign in, sign out, authenticate a bearer token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from hubbub.clock import Clock
from hubbub.config import Settings
from hubbub.errors import InvalidCredentials, Unauthenticated, UsernameTaken, UserNotFound
from hubbub.ids import new_id
from hubbub.models import LOBBY_ROOM_ID, Event, User
from hubbub.services.fields import check_optional_text, check_text, check_username
from hubbub.services.outbox import Outbox, Publisher
from hubbub.services.passwords import Passwords
from hubbub.services.ratelimit import RateLimiter
from hubbub.services.rooms import announce_join
from hubbub.store import Store, Tx
from hubbub.store import rooms as rooms_q
from hubbub.store import users as users_q

__all__ = ["AccountService", "Session", "token_hash"]

PASSWORD_MIN, PASSWORD_MAX = 8, 256
DISPLAY_NAME_MAX = 64
SEARCH_LIMIT_MAX = 100


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe one-way index."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    token: str


@dataclass(frozen=True, slots=True)
class AccountService:
    store: Store
    clock: Clock
    settings: Settings
    passwords: Passwords
    events: Publisher
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
        now = self.clock.now_ms()
        user = User(
            id=new_id("u"), username=username, display_name=display or username, created_at=now
        )
        token = secrets.token_urlsafe(32)

        def tx_fn(tx: Tx) -> list[Event]:
            if not users_q.insert_user(tx, user, password_hash):
                raise UsernameTaken(f"The username {username!r} is taken")
            lobby = rooms_q.find_room(tx, LOBBY_ROOM_ID, user.id)
            rooms_q.upsert_member(
                tx,
                LOBBY_ROOM_ID,
                user.id,
                "member",
                now,
                start_read_seq=lobby.last_seq if lobby else 0,
            )
            users_q.insert_token(tx, token_hash(token), user.id, now)
            outbox = Outbox()
            announce_join(tx, outbox, LOBBY_ROOM_ID, user, "member")
            return outbox.commit(tx, now)

        await self.events.publish(await self.store.write(tx_fn))
        return Session(user, token)

    async def sign_in(self, username: str, password: str, client: str) -> Session:
        """A new session. Unknown user and wrong password both raise InvalidCredentials; too
        many attempts from `client` (its address) raise RateLimited."""
        self.limiter.take(client)
        found = await self.store.read(lambda tx: users_q.find_credentials(tx, username))
        if not await self.passwords.verify(found[1] if found else None, password) or not found:
            raise InvalidCredentials("Wrong username or password")
        token = secrets.token_urlsafe(32)
        now = self.clock.now_ms()
        await self.store.write(
            lambda tx: users_q.insert_token(tx, token_hash(token), found[0].id, now)
        )
        return Session(found[0], token)

    async def sign_out(self, token: str) -> None:
        """End the session: the token stops working at once."""
        await self.store.write(lambda tx: users_q.delete_token(tx, token_hash(token)))

    async def authenticate(self, token: str | None) -> User:
        if not token:
            raise Unauthenticated("Send 'Authorization: Bearer <token>'")
        user = await self.store.read(lambda tx: users_q.find_user_by_token(tx, token_hash(token)))
        if user is None:
            raise Unauthenticated("The token is invalid or signed out")
        return user

    async def get_user(self, username: str) -> User:
        user = await self.store.read(lambda tx: users_q.find_user_by_username(tx, username))
        if user is None:
            raise UserNotFound(f"No user {username!r}")
        return user

    async def search(self, prefix: str, limit: int) -> list[User]:
        """Users whose username starts with `prefix`, ignoring case, sorted by username."""
        return await self.store.read(lambda tx: users_q.search_users(tx, prefix, limit))
