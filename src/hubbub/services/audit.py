"""The audit log: every admin and moderation action, written in the transaction that does it.

Actions: admin.promote, admin.demote, user.create, user.deactivate, user.reactivate,
user.password_reset, invite.create, invite.revoke, room.ban, room.unban, room.mute,
room.unmute, room.remove_member, room.role, message.delete (someone else's).
"""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.errors import AdminsOnly, Invalid
from hubbub.ids import new_id
from hubbub.models import AuditEntry, User
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import audit as audit_q

__all__ = ["AUDIT_LIMIT_MAX", "AuditService", "record"]

AUDIT_LIMIT_MAX = 200


def record(
    tx: Tx, outbox: Outbox, actor: User | None, action: str, target: str, reason: str = ""
) -> None:
    """Log `actor` (None: the command line) doing `action` to `target`, now."""
    audit_q.insert_entry(
        tx,
        AuditEntry(
            id=new_id("a", outbox.now_ms),
            at=outbox.now_ms,
            actor_id=actor.id if actor else None,
            actor=actor.username if actor else None,
            action=action,
            target=target,
            reason=reason,
        ),
    )


@dataclass(frozen=True, slots=True)
class AuditService:
    uow: UnitOfWork

    async def entries(
        self, me: User, before: str | None, limit: int
    ) -> tuple[list[AuditEntry], str | None]:
        """Entries newest first (server admins only), older than the entry `before`, and the
        `before` of the next page (None on the last)."""
        if not me.is_admin:
            raise AdminsOnly("Only server admins can read the audit log")
        if not 1 <= limit <= AUDIT_LIMIT_MAX:
            raise Invalid(f"limit must be 1..{AUDIT_LIMIT_MAX}", field="limit")
        found = await self.uow.read(lambda tx: audit_q.list_entries(tx, before, limit + 1))
        page = found[:limit]
        return page, (page[-1].id if len(found) > limit else None)
