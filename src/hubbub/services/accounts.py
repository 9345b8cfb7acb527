"""Accounts: sign up, profiles, finding people."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.config import Settings
from hubbub.errors import Invalid, UsernameTaken, UserNotFound
from hubbub.ids import new_id
from hubbub.models import LOBBY_ROOM_ID, User
from hubbub.services.fields import check_name, check_text, check_username
from hubbub.services.passwords import PASSWORD_MAX, PASSWORD_MIN, Passwords, check_password
from hubbub.services.ratelimits import RateLimits
from hubbub.services.rooms import announce_join
from hubbub.services.sessions import Session, open_session
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import rooms as rooms_q
from hubbub.store import users as users_q

__all__ = ["DISPLAY_NAME_MAX", "SEARCH_LIMIT_MAX", "AccountService"]

DISPLAY_NAME_MAX = 64
SEARCH_LIMIT_MAX = 100
SEARCH_PREFIX_MAX = 32


@dataclass(frozen=True, slots=True)
class AccountService:
    uow: UnitOfWork
    settings: Settings
    passwords: Passwords
    limits: RateLimits

    async def register(
        self,
        username: str,
        password: str,
        display_name: str | None,
        client: str,
        *,
        user_agent: str | None = None,
    ) -> Session:
        """Create an account (a member of the lobby) and a session. Raises UsernameTaken,
        WeakPassword, or RateLimited when `client` (its address) signs up too often."""
        check_username(username)
        check_text(
            "password", password, PASSWORD_MIN, PASSWORD_MAX, allow_blank=True, allow_nul=True
        )  # hashed, never stored: any characters will do, but not the weakest passwords
        check_password(password, username)
        display = (
            None
            if display_name is None
            else check_name("display_name", display_name, 1, DISPLAY_NAME_MAX)
        )
        await self.limits.hit("sign_up", client)
        password_hash = await self.passwords.hash(password)

        def fn(tx: Tx, outbox: Outbox) -> Session:
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
            announce_join(tx, outbox, LOBBY_ROOM_ID, user, "member")
            return open_session(tx, outbox, user, user_agent)

        return await self.uow.write(fn)

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
