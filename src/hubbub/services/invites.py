"""Invites: links that let someone sign up (HUBBUB_REGISTRATION=invite), a number of times,
until they expire. Server admins make them, and members too with HUBBUB_MEMBERS_CAN_INVITE."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from hubbub.config import Settings
from hubbub.errors import AdminsOnly, Invalid, InviteNotFound
from hubbub.models import Invite, User
from hubbub.services.audit import record
from hubbub.services.ratelimits import RateLimits
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import invites as invites_q

__all__ = [
    "INVITE_HOURS_DEFAULT",
    "INVITE_HOURS_MAX",
    "INVITE_USES_MAX",
    "InviteService",
    "invite_url",
]

INVITE_USES_MAX = 1000
INVITE_HOURS_MAX = 720
INVITE_HOURS_DEFAULT = 168


def invite_url(settings: Settings, code: str) -> str:
    """The link that opens sign-up with the invite filled in."""
    return f"{settings.base_url}/invite/{code}"


@dataclass(frozen=True, slots=True)
class InviteService:
    uow: UnitOfWork
    settings: Settings
    limits: RateLimits

    def _may_invite(self, me: User | None) -> None:
        if me is not None and not (me.is_admin or self.settings.members_can_invite):
            raise AdminsOnly("Only server admins can make invites here")

    async def create(
        self, me: User | None, max_uses: int = 1, expires_in_hours: int = INVITE_HOURS_DEFAULT
    ) -> Invite:
        """A new invite (`me` None: the command line)."""
        self._may_invite(me)
        if not 1 <= max_uses <= INVITE_USES_MAX:
            raise Invalid(f"max_uses must be 1..{INVITE_USES_MAX}", field="max_uses")
        if not 1 <= expires_in_hours <= INVITE_HOURS_MAX:
            raise Invalid(
                f"expires_in_hours must be 1..{INVITE_HOURS_MAX}", field="expires_in_hours"
            )
        if me is not None:
            await self.limits.hit("invites", me.id)
        code = secrets.token_urlsafe(12)

        def fn(tx: Tx, outbox: Outbox) -> Invite:
            invite = Invite(
                code=code,
                created_by=me.id if me else None,
                max_uses=max_uses,
                uses=0,
                expires_at=outbox.now_ms + expires_in_hours * 3600 * 1000,
                revoked=False,
                created_at=outbox.now_ms,
            )
            invites_q.insert_invite(tx, invite)
            record(tx, outbox, me, "invite.create", code[:6] + "…", f"{max_uses} uses")
            return invite

        return await self.uow.write(fn)

    async def list_invites(self, me: User) -> list[Invite]:
        """Your invites, newest first; a server admin sees everyone's."""
        return await self.uow.read(
            lambda tx: invites_q.list_invites(tx, None if me.is_admin else me.id)
        )

    async def revoke(self, me: User, code: str) -> None:
        """Stop an invite working: its maker or a server admin. Idempotent."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            invite = invites_q.find_invite(tx, code)
            if invite is None or not (me.is_admin or invite.created_by == me.id):
                raise InviteNotFound("No such invite of yours")
            if not invite.revoked:
                invites_q.revoke_invite(tx, code)
                record(tx, outbox, me, "invite.revoke", code[:6] + "…")

        await self.uow.write(fn)
