"""Domain errors. Each carries a stable machine `code`; HTTP status lives in web/problems.py."""

from __future__ import annotations

__all__ = [
    "BotNotFound",
    "CommandNotFound",
    "CommandTaken",
    "Conflict",
    "DomainError",
    "ExportNotFound",
    "Forbidden",
    "Invalid",
    "NotFound",
    "OutgoingHookNotFound",
    "PushSubscriptionNotFound",
    "TooLarge",
    "TooManyBots",
    "TooManyHooks",
    "TooManyPushSubscriptions",
    "Unauthenticated",
    "Unavailable",
]


class DomainError(Exception):
    """Base of every error a client can cause or should see. `code` is part of the API."""

    code = "error"
    title = "Error"

    def __init__(self, detail: str = "", *, field: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.field = field


class Invalid(DomainError):
    code = "invalid"
    title = "Invalid input"


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Forbidden"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


class TooLarge(DomainError):
    """A request asks to store more than allowed (413)."""

    code = "too_large"
    title = "Too large"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Authentication required"


class Unavailable(DomainError):
    """A backend (database) is unreachable; the request may be retried."""

    code = "unavailable"
    title = "Service unavailable"


# -- specific errors: `code` values are part of the API (docs/api.md lists them) -------------


class Busy(Unavailable):
    """Too much of an expensive kind of work (password hashing) is queued: retry shortly."""

    code = "busy"
    title = "Busy: retry shortly"


class WeakPassword(Invalid):
    code = "weak_password"
    title = "The password is too easy to guess"


class WrongPassword(Forbidden):
    code = "wrong_password"
    title = "The current password is wrong"


class AccountDeactivated(Forbidden):
    code = "account_deactivated"
    title = "This account is deactivated"


class SessionNotFound(NotFound):
    code = "session_not_found"
    title = "Session not found"


class AdminsOnly(Forbidden):
    code = "not_allowed"
    title = "Only server admins can do this"


class OwnPasswordReset(Forbidden):
    code = "own_password"
    title = "Change your own password with your current one"


class LastAdmin(Conflict):
    code = "last_admin"
    title = "The last active server admin must stay"


class Banned(Forbidden):
    code = "banned"
    title = "Banned from this room"


class Muted(Forbidden):
    code = "muted"
    title = "Muted in this room"


class InviteRequired(Forbidden):
    code = "invite_required"
    title = "Signing up needs an invite"


class InviteInvalid(Forbidden):
    code = "invite_invalid"
    title = "The invite is unknown, used up, revoked or expired"


class RegistrationClosed(Forbidden):
    code = "registration_closed"
    title = "Signing up is closed: an admin makes accounts"


class InviteNotFound(NotFound):
    code = "invite_not_found"
    title = "Invite not found"


class BotNotFound(NotFound):
    code = "bot_not_found"
    title = "Bot not found"


class TooManyBots(Conflict):
    code = "too_many_bots"
    title = "Too many bots"


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    title = "Webhook not found"


class OutgoingHookNotFound(NotFound):
    code = "outgoing_webhook_not_found"
    title = "Outgoing webhook not found"


class CommandNotFound(NotFound):
    code = "command_not_found"
    title = "Slash command not found"


class TooManyHooks(Conflict):
    code = "too_many_hooks"
    title = "Too many outgoing webhooks"


class CommandTaken(Conflict):
    code = "command_taken"
    title = "A command with that name exists"


class PushSubscriptionNotFound(NotFound):
    code = "push_subscription_not_found"
    title = "Push subscription not found"


class TooManyPushSubscriptions(Conflict):
    code = "too_many_push_subscriptions"
    title = "Too many push subscriptions"


class ExportNotFound(NotFound):
    code = "export_not_found"
    title = "No export"


class EmailDisabled(Conflict):
    """This server sends no mail (no HUBBUB_SMTP_URL)."""

    code = "email_disabled"
    title = "This server sends no email"


class MailUnavailable(Unavailable):
    """The mail relay did not take a mail: try again later."""

    code = "mail_unavailable"
    title = "The mail could not be sent"


class ConfirmationExpired(DomainError):
    """An email confirmation link that is unknown, used or expired (410)."""

    code = "confirmation_expired"
    title = "The confirmation link is used or expired"


class ResetExpired(DomainError):
    """A password-reset link that is unknown, used or expired (410)."""

    code = "reset_expired"
    title = "The reset link is used or expired"


class UsernameTaken(Conflict):
    code = "username_taken"
    title = "Username taken"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    title = "Invalid username or password"


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "User not found"


class RoomNotFound(NotFound):
    code = "room_not_found"
    title = "Room not found"


class MessageNotFound(NotFound):
    code = "message_not_found"
    title = "Message not found"


class NotAMember(Forbidden):
    code = "not_a_member"
    title = "Not a member of this room"


class NotAllowed(Forbidden):
    code = "not_allowed"
    title = "Your role does not allow this"


class NotAuthor(Forbidden):
    code = "not_author"
    title = "Only the author can do this"


class DmMembershipFixed(Forbidden):
    code = "dm_membership_fixed"
    title = "A direct message has exactly its two members"


class DmWithSelf(Invalid):
    code = "dm_with_self"
    title = "Cannot open a direct message with yourself"


class MessageDeleted(Conflict):
    code = "message_deleted"
    title = "The message was deleted"


class TooManyReactions(Invalid):
    code = "too_many_reactions"
    title = "Too many different reactions on this message"


class InvalidSearchQuery(Invalid):
    """A search query that cannot run: too long, too many terms, a bad filter value."""

    code = "invalid_query"
    title = "The search query cannot be run"


class IdempotencyKeyReused(Invalid):
    code = "idempotency_key_reused"
    title = "Idempotency key reused with a different request"


class CursorExpired(DomainError):
    """The cursor is malformed, from another deployment, or older than what is kept."""

    code = "cursor_expired"
    title = "Cursor cannot be resumed"


class RateLimited(DomainError):
    """Too many attempts from this client; `retry_after` says when to try again (seconds)."""

    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str = "", *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class TooManyStreams(RateLimited):
    """The user has as many streams open as allowed; close one first."""

    code = "too_many_streams"
    title = "Too many open streams"

    def __init__(self, detail: str = "", *, retry_after: int = 5) -> None:
        super().__init__(detail, retry_after=retry_after)


class FileTooLarge(TooLarge):
    code = "file_too_large"
    title = "The file is larger than this server accepts"


class QuotaExceeded(TooLarge):
    code = "quota_exceeded"
    title = "Your uploads would exceed your storage quota"


class FileNotFound(NotFound):
    code = "file_not_found"
    title = "File not found"


class LinkExpired(Forbidden):
    code = "link_expired"
    title = "The link has expired: fetch a new one"


class ImageTooLarge(Invalid):
    """An image whose pixel count is beyond the limit (a decompression bomb)."""

    code = "image_too_large"
    title = "The image has too many pixels"


class BadImage(Invalid):
    code = "bad_image"
    title = "Not an image this server can read"
