"""Pydantic models of the account self-service, administration, invite and moderation API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hubbub.mail import ADDRESS_MAX
from hubbub.services.accounts import DISPLAY_NAME_MAX
from hubbub.services.fields import NO_NUL_PATTERN, NOT_BLANK_PATTERN, USERNAME_PATTERN
from hubbub.services.invites import INVITE_HOURS_MAX, INVITE_USES_MAX
from hubbub.services.moderation import REASON_MAX
from hubbub.services.passwords import PASSWORD_MAX, PASSWORD_MIN
from hubbub.web.schemas import RoomOut, UserOut, integral

__all__ = [
    "AccountDeletion",
    "AdminRoomsOut",
    "AdminUserCreate",
    "AdminUserCreatedOut",
    "AdminUserOut",
    "AdminUserPatch",
    "AdminUsersOut",
    "AuditEntryOut",
    "AuditOut",
    "BanIn",
    "BanOut",
    "BansOut",
    "InviteIn",
    "InviteOut",
    "InvitesOut",
    "MeOut",
    "MePatch",
    "PasswordChange",
    "ResetIn",
    "ResetLinkOut",
    "SessionInfoOut",
    "SessionsOut",
]

# Bounded optional integers, bounds on the integer branch (see RetentionDays).
InviteUses = Annotated[int, Field(ge=1, le=INVITE_USES_MAX), BeforeValidator(integral)]
InviteHours = Annotated[int, Field(ge=1, le=INVITE_HOURS_MAX), BeforeValidator(integral)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class MePatch(_In):
    display_name: str | None = Field(
        default=None, min_length=1, max_length=DISPLAY_NAME_MAX, pattern=NOT_BLANK_PATTERN
    )
    email: str | None = Field(
        default=None,
        max_length=ADDRESS_MAX,
        description="your address for missed-message email: stored unconfirmed, and a"
        " confirmation link is mailed to it; null removes it; absent leaves it",
    )


class MeOut(UserOut):
    email: str | None = Field(description="your address for missed-message email (you only)")
    email_confirmed: bool = Field(description="whether you opened its confirmation link")


class PasswordChange(_In):
    current_password: str = Field(max_length=PASSWORD_MAX)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class AccountDeletion(_In):
    password: str = Field(max_length=PASSWORD_MAX)
    erase_messages: bool = Field(
        default=False,
        description="also erase every message you wrote, as deletes do (default: they stay, "
        'attributed to "Deleted user")',
    )


class ResetIn(_In):
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class SessionInfoOut(BaseModel):
    id: str
    created_at: str
    last_used_at: str
    user_agent: str | None
    current: bool = Field(description="The session of this request")


class SessionsOut(BaseModel):
    sessions: list[SessionInfoOut]


class AdminUserOut(UserOut):
    deactivated: bool


class AdminUsersOut(BaseModel):
    users: list[AdminUserOut]
    next_cursor: str | None


class AdminUserPatch(_In):
    admin: bool | None = None
    deactivated: bool | None = None


class AdminUserCreate(_In):
    username: str = Field(pattern=USERNAME_PATTERN)
    display_name: str | None = Field(
        default=None, min_length=1, max_length=DISPLAY_NAME_MAX, pattern=NOT_BLANK_PATTERN
    )


class ResetLinkOut(BaseModel):
    code: str
    url: str = Field(description="Open it to set a new password (once, before expires_at)")
    expires_at: str


class AdminUserCreatedOut(BaseModel):
    user: AdminUserOut
    reset: ResetLinkOut = Field(description="The link that sets the new account's password")


class AdminRoomsOut(BaseModel):
    rooms: list[RoomOut]
    next_cursor: str | None


class AuditEntryOut(BaseModel):
    id: str
    at: str
    actor: str | None = Field(description="The actor's username; null: the command line")
    action: str
    target: str
    reason: str


class AuditOut(BaseModel):
    entries: list[AuditEntryOut]
    next_before: str | None = Field(description="Pass as `before` for older entries")


class InviteIn(_In):
    # Optional, so null means the same as leaving the field out (docs/api.md, Conventions).
    max_uses: InviteUses | None = Field(default=None, description="How many sign-ups (default 1)")
    expires_in_hours: InviteHours | None = Field(
        default=None, description="Hours until it expires (default 168)"
    )


class InviteOut(BaseModel):
    code: str
    url: str
    max_uses: int
    uses: int
    expires_at: str
    revoked: bool


class InvitesOut(BaseModel):
    invites: list[InviteOut]


class BanIn(_In):
    # Optional, so null means the same as leaving it out (no reason).
    reason: str | None = Field(default=None, max_length=REASON_MAX, pattern=NO_NUL_PATTERN)


class BanOut(BaseModel):
    user: UserOut
    reason: str
    banned_at: str


class BansOut(BaseModel):
    bans: list[BanOut]
