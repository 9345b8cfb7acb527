"""Server administration: accounts (admins, deactivation, new accounts, reset links) and the
list of every room. Server admins only; `me` None is the command line (`hubbub admin ...`).

Deactivating ends every session of the account at once (its streams close) and keeps it
from signing in; its messages stay. The last active admin can be neither demoted nor
deactivated (LastAdmin)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from hubbub.config import Settings
from hubbub.errors import (
    AdminsOnly,
    Invalid,
    LastAdmin,
    OwnPasswordReset,
    UsernameTaken,
    UserNotFound,
)
from hubbub.events import UserUpdated
from hubbub.ids import new_id
from hubbub.models import LOBBY_ROOM_ID, Room, User
from hubbub.services.audit import record
from hubbub.services.fields import check_name, check_text, check_username
from hubbub.services.rooms import announce_join, parse_room_cursor, room_cursor
from hubbub.services.sessions import end_sessions, token_hash
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import resets as resets_q
from hubbub.store import rooms as rooms_q
from hubbub.store import users as users_q

__all__ = ["ADMIN_PAGE_MAX", "RESET_HOURS", "AdminService", "ResetLink"]

ADMIN_PAGE_MAX = 200
RESET_HOURS = 24
# Stored for accounts made without a password: no password verifies against it.
NO_PASSWORD = "!"


@dataclass(frozen=True, slots=True)
class ResetLink:
    code: str
    url: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class AdminService:
    uow: UnitOfWork
    settings: Settings

    @staticmethod
    def _require_admin(me: User | None) -> None:
        if me is not None and not me.is_admin:
            raise AdminsOnly("Only server admins can do this")

    async def list_users(
        self,
        me: User,
        prefix: str = "",
        deactivated: bool | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[User], str | None]:
        """A page of every account by username (the cursor is the last username seen)."""
        self._require_admin(me)
        if not 1 <= limit <= ADMIN_PAGE_MAX:
            raise Invalid(f"limit must be 1..{ADMIN_PAGE_MAX}", field="limit")
        check_text("prefix", prefix, 0, 32, allow_blank=True)
        if cursor is not None:
            check_text("cursor", cursor, 1, 64)
        users = await self.uow.read(
            lambda tx: users_q.list_users(tx, prefix, deactivated, cursor, limit + 1)
        )
        more = len(users) > limit
        users = users[:limit]
        return users, users[-1].username if more else None

    async def update_user(
        self,
        me: User | None,
        username: str,
        *,
        admin: bool | None = None,
        deactivated: bool | None = None,
    ) -> User:
        """Promote or demote a server admin, deactivate or reactivate an account."""
        self._require_admin(me)

        def fn(tx: Tx, outbox: Outbox) -> User:
            target = _user(tx, username)
            losing_admin = (
                target.is_admin
                and not target.deactivated
                and (admin is False or deactivated is True)
            )
            if losing_admin and users_q.count_active_admins(tx) <= 1:
                raise LastAdmin("This is the last active server admin: promote someone first")
            if admin is not None and admin != target.is_admin:
                users_q.set_admin(tx, target.id, admin)
                record(
                    tx, outbox, me, "admin.promote" if admin else "admin.demote", target.username
                )
                promoted = users_q.find_user_by_id(tx, target.id)
                assert promoted is not None
                outbox.add(UserUpdated(promoted))  # `is_admin` is part of the User
            if deactivated is not None and deactivated != target.deactivated:
                if deactivated:
                    users_q.set_deactivated(tx, target.id, outbox.now_ms)
                    end_sessions(tx, outbox, target.id)
                    record(tx, outbox, me, "user.deactivate", target.username)
                else:
                    users_q.set_deactivated(tx, target.id, None)
                    record(tx, outbox, me, "user.reactivate", target.username)
            updated = users_q.find_user_by_id(tx, target.id)
            assert updated is not None
            return updated

        return await self.uow.write(fn)

    async def create_user(
        self, me: User | None, username: str, display_name: str | None = None
    ) -> tuple[User, ResetLink]:
        """An account with no password yet, and the one-time link that sets it (whatever
        HUBBUB_REGISTRATION says). As with signing up, the first account of a deployment is a
        server admin."""
        self._require_admin(me)
        check_username(username)
        if display_name is not None:
            check_name("display_name", display_name, 1, 64)
        code = secrets.token_urlsafe(24)

        def fn(tx: Tx, outbox: Outbox) -> tuple[User, ResetLink]:
            now = outbox.now_ms
            user = User(
                new_id("u", now),
                username,
                display_name or username,
                now,
                is_admin=not users_q.has_users(tx),  # the first account runs the server
            )
            if not users_q.insert_user(tx, user, NO_PASSWORD):
                raise UsernameTaken(f"The username {username!r} is taken")
            lobby = rooms_q.find_access(tx, LOBBY_ROOM_ID, user.id)
            rooms_q.upsert_member(
                tx, LOBBY_ROOM_ID, user.id, "member", now, lobby.last_seq if lobby else 0
            )
            announce_join(tx, outbox, LOBBY_ROOM_ID, user, "member")
            record(tx, outbox, me, "user.create", username)
            return user, self._reset_link(tx, outbox, user, code)

        return await self.uow.write(fn)

    async def password_reset(self, me: User | None, username: str) -> ResetLink:
        """A one-time link (RESET_HOURS) that sets a new password for `username`. Not for
        yourself (OwnPasswordReset): a stolen admin token must not be enough to take the
        account over; PUT /me/password asks for the current password."""
        self._require_admin(me)
        code = secrets.token_urlsafe(24)

        def fn(tx: Tx, outbox: Outbox) -> ResetLink:
            target = _user(tx, username)
            if me is not None and target.id == me.id:
                raise OwnPasswordReset("Change your own password with PUT /api/v1/me/password")
            record(tx, outbox, me, "user.password_reset", target.username)
            return self._reset_link(tx, outbox, target, code)

        return await self.uow.write(fn)

    def _reset_link(self, tx: Tx, outbox: Outbox, user: User, code: str) -> ResetLink:
        expires_at = outbox.now_ms + RESET_HOURS * 3600 * 1000
        resets_q.insert_reset(tx, token_hash(code), user.id, expires_at, outbox.now_ms)
        return ResetLink(code, f"{self.settings.base_url}/reset/{code}", expires_at)

    async def list_rooms(
        self, me: User, cursor: str | None = None, limit: int = 50
    ) -> tuple[list[Room], str | None]:
        """Every room and DM (metadata only, never messages), by name."""
        self._require_admin(me)
        if not 1 <= limit <= ADMIN_PAGE_MAX:
            raise Invalid(f"limit must be 1..{ADMIN_PAGE_MAX}", field="limit")
        after = None if cursor is None else parse_room_cursor(cursor)
        rooms = await self.uow.read(lambda tx: rooms_q.list_all_rooms(tx, after, limit + 1))
        more = len(rooms) > limit
        rooms = rooms[:limit]
        return rooms, room_cursor(rooms[-1]) if more else None


def _user(tx: Tx, username: str) -> User:
    user = users_q.find_user_by_username(tx, username)
    if user is None:
        raise UserNotFound(f"No user {username!r}")
    return user
