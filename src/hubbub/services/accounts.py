"""Accounts: sign up, profiles, finding people."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.config import Settings
from hubbub.errors import (
    Invalid,
    InviteInvalid,
    InviteRequired,
    RegistrationClosed,
    ResetExpired,
    UsernameTaken,
    UserNotFound,
)
from hubbub.events import UserUpdated
from hubbub.ids import new_id
from hubbub.models import LOBBY_ROOM_ID, User
from hubbub.services.fields import check_name, check_text, check_username
from hubbub.services.passwords import PASSWORD_MAX, PASSWORD_MIN, Passwords, check_password
from hubbub.services.ratelimits import RateLimits
from hubbub.services.rooms import announce_join
from hubbub.services.sessions import Session, end_sessions, open_session, token_hash
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import invites as invites_q
from hubbub.store import resets as resets_q
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
        invite_code: str | None = None,
    ) -> Session:
        """Create an account (a member of the lobby) and a session. The first account of a
        deployment is a server admin.

        HUBBUB_REGISTRATION decides who may: "open" anyone (an invite, if given, must be
        good), "invite" only with an invite (InviteRequired / InviteInvalid), "closed"
        nobody (RegistrationClosed: admins make accounts). Also raises UsernameTaken,
        WeakPassword, or RateLimited when `client` (its address) signs up too often.
        """
        policy = self.settings.registration
        if policy == "closed":
            raise RegistrationClosed("Signing up is closed here: ask an admin for an account")
        if policy == "invite" and not invite_code:
            raise InviteRequired("Signing up here needs an invite: ask someone for a link")
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
            # One conditional update takes a use: two sign-ups never share the last one.
            if invite_code and not invites_q.use_invite(tx, invite_code, now):
                raise InviteInvalid("The invite is unknown, used up, revoked or expired")
            user = User(
                id=new_id("u", now),
                username=username,
                display_name=display or username,
                created_at=now,
                is_admin=not users_q.has_users(tx),  # the first account runs the server
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

    async def update_profile(self, me: User, display_name: str | None) -> User:
        """Change your display name (everyone connected hears of it: user.updated)."""
        if display_name is not None:
            check_name("display_name", display_name, 1, DISPLAY_NAME_MAX)
        await self.limits.hit("profile", me.id)

        def fn(tx: Tx, outbox: Outbox) -> User:
            if display_name is not None and display_name != me.display_name:
                users_q.set_display_name(tx, me.id, display_name)
                updated = users_q.find_user_by_id(tx, me.id)
                assert updated is not None
                outbox.add(UserUpdated(updated))
                return updated
            return me

        return await self.uow.write(fn)

    async def reset_password(self, code: str, new_password: str, client: str) -> None:
        """Set a new password with a one-time reset code (ResetExpired if it is unknown, used
        or expired). Every session of the account ends, every other reset link of it stops
        working, and its sign-in lock-out is lifted."""
        await self.limits.hit("password_resets", client)
        check_text("new_password", new_password, PASSWORD_MIN, PASSWORD_MAX, allow_blank=True)
        hashed_code = token_hash(code)
        now = self.uow.clock.now_ms()
        user_id = await self.uow.read(lambda tx: resets_q.find_reset(tx, hashed_code, now))
        user = (
            await self.uow.read(lambda tx: users_q.find_user_by_id(tx, user_id))
            if user_id
            else None
        )
        if user is None:
            raise ResetExpired("This reset link is used or expired: ask an admin for a new one")
        check_password(new_password, user.username, field="new_password")
        new_hash = await self.passwords.hash(new_password)

        def fn(tx: Tx, outbox: Outbox) -> bool:
            if resets_q.take_reset(tx, hashed_code, outbox.now_ms) != user.id:
                return False
            resets_q.revoke_resets(tx, user.id)  # an older link must not reset it again
            users_q.set_password_hash(tx, user.id, new_hash)
            end_sessions(tx, outbox, user.id)
            return True

        if not await self.uow.write(fn):
            raise ResetExpired("This reset link is used or expired: ask an admin for a new one")
        await self.limits.clear("sign_in_account", user.username.casefold())

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
