"""Missed-message email (#18).

A user gives an address (`set_address`); it is stored unconfirmed and a confirmation link
goes to it (a random token, kept only as its SHA-256, used once, within a day). Nothing else
is mailed to an unconfirmed address.

Digests: the log consumer "email" hands each page of events to `handle`, which finds, for
every new message, who it notifies by a DM or a mention (NotificationService's rule) and
wants digests (`email: digest`) at a confirmed address, and returns the queue rows to write
with the consumer's new place: each (user, message) is queued exactly once. The queue holds
ids only (docs/architecture.md, the redaction rule): the text is read when the mail is made,
so a message deleted meanwhile is never mailed.

`send_due` (run by `run_sender` on the node that holds the consumer's lease) takes each user
whose oldest queued message is older than HUBBUB_EMAIL_DELAY, holds their digest (one row,
taken atomically, so two nodes never send it both), and mails ONE digest of what is still
unread (past their read marker), live, and in a room they are still in; with nothing left it
mails nothing. The rows it considered go; messages queued meanwhile wait for the next
window. A failed send is retried with back-off (1, 2, 4 ... 60 minutes), up to
SEND_ATTEMPTS_MAX times, then dropped. A node that dies while sending leaves its hold to lapse
(HOLD_SECONDS) and another sends: at most that mail may go twice.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from hubbub import mail
from hubbub.config import Settings
from hubbub.errors import ConfirmationExpired, EmailDisabled, Invalid, MailUnavailable, NotFound
from hubbub.events import Event, MessageCreated
from hubbub.models import EmailAddress, User
from hubbub.services.digests import confirmation_mail, digest_mail
from hubbub.services.notifications import NotificationService
from hubbub.services.ratelimits import RateLimits
from hubbub.services.sessions import token_hash
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import email as email_q
from hubbub.store import notifications as notify_q
from hubbub.store import users as users_q

__all__ = ["CONFIRM_HOURS", "EMAIL_REASONS", "EmailService", "MailCounts"]

log = logging.getLogger(__name__)

CONFIRM_HOURS = 24
EMAIL_REASONS = ("dm", "mention")  # what a digest is about (not followed threads, not `all`)
HOLD_SECONDS = 300.0  # a node's claim on a user's digest while it sends (> the SMTP timeout)
SEND_ATTEMPTS_MAX = 8
DUE_PAGE = 50  # digests looked at per round


@dataclass
class MailCounts:
    """What this node's sender did (read by the metrics collector)."""

    sent: dict[str, int] = field(default_factory=lambda: {"confirmation": 0, "digest": 0})
    failed: dict[str, int] = field(default_factory=lambda: {"confirmation": 0, "digest": 0})
    retried: int = 0
    oldest_queued_ms: int | None = None  # the oldest queued message, at the last round
    rounds: int = 0  # rounds of send_due finished


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class EmailService:
    uow: UnitOfWork
    settings: Settings
    limits: RateLimits
    notifications: NotificationService
    key: bytes  # signs unsubscribe links (Store.email_key)
    holder: str = "this-node"
    counts: MailCounts = field(default_factory=MailCounts)

    @property
    def enabled(self) -> bool:
        return self.settings.smtp is not None

    # -- the address --------------------------------------------------------------------------

    def check_address(self, email: str | None) -> mail.SmtpTarget | None:
        """Whether `email` may be set here (None: removing, always fine); returns the relay.
        EmailDisabled without SMTP, Invalid for a malformed address. Changes nothing."""
        if email is None:
            return None
        target = self.settings.smtp
        if target is None:
            raise EmailDisabled("This server sends no email: its admin has not set up SMTP")
        why = mail.check_address(email)
        if why is not None:
            raise Invalid(f"email {why}", field="email")
        return target

    async def get_address(self, me: User) -> EmailAddress:
        return await self.uow.read(lambda tx: email_q.find_address(tx, me.id))

    async def set_address(self, me: User, email: str | None) -> EmailAddress:
        """Set (and send a confirmation link to) or, with None, remove my address. Setting
        the address it already is, unconfirmed, sends a new link (the old one stops working);
        confirmed, changes nothing. EmailDisabled without SMTP (removing works anyway);
        Invalid for a malformed address; RateLimited past the `email` budget;
        MailUnavailable when the relay does not take the mail (the address stays, unconfirmed:
        ask again)."""
        if email is None:
            await self.uow.write(lambda tx, _: email_q.set_address(tx, me.id, None, False))
            return EmailAddress(None, False)
        target = self.check_address(email)
        assert target is not None
        current = await self.get_address(me)
        if current.email == email and current.confirmed:
            return current
        await self.limits.hit("email", me.id)
        token = secrets.token_urlsafe(32)

        def fn(tx: Tx, outbox: Outbox) -> None:
            email_q.set_address(tx, me.id, email, False)
            email_q.insert_confirmation(
                tx,
                token_hash(token),
                me.id,
                email,
                outbox.now_ms + CONFIRM_HOURS * 3_600_000,
                outbox.now_ms,
            )

        await self.uow.write(fn)
        message = confirmation_mail(
            sender=self.settings.mail_from,
            to=email,
            username=me.username,
            link=f"{self.settings.base_url}/email/confirm/{token}",
            hours=CONFIRM_HOURS,
            now_ms=self.uow.clock.now_ms(),
        )
        try:
            await mail.send(target, message)
        except mail.MailError as exc:
            self.counts.failed["confirmation"] += 1
            log.warning("confirmation mail for %s not sent: %s", me.id, exc)
            raise MailUnavailable(
                "The mail server did not take the confirmation mail: try again later"
            ) from None
        self.counts.sent["confirmation"] += 1
        return EmailAddress(email, False)

    async def confirm(self, token: str) -> None:
        """Confirm the address a link was sent to (once). ConfirmationExpired if the link is
        unknown, used, expired, or the user has set another address since."""
        hashed = token_hash(token)
        found = await self.uow.write(
            lambda tx, outbox: email_q.take_confirmation(tx, hashed, outbox.now_ms)
        )
        if found is None:
            raise ConfirmationExpired(
                "This confirmation link is used or expired: set your address again for a new one"
            )

    # -- one-click unsubscribe (RFC 8058) -----------------------------------------------------

    def unsubscribe_token(self, user_id: str) -> str:
        mac = hmac.new(self.key, f"unsubscribe:{user_id}".encode(), hashlib.sha256).digest()
        return f"{user_id}.{_b64(mac[:18])}"

    def unsubscribe_url(self, user_id: str) -> str:
        return f"{self.settings.base_url}/email/unsubscribe/{self.unsubscribe_token(user_id)}"

    async def unsubscribe(self, token: str) -> None:
        """Turn email notifications off for the user the signed token names, without signing
        in (the link in every digest). Idempotent. NotFound for a token hubbub did not make."""
        user_id, _, _ = token.partition(".")
        expected = self.unsubscribe_token(user_id).encode()
        if not user_id or not hmac.compare_digest(token.encode(), expected):
            raise NotFound("This unsubscribe link is not one of this server's")

        def fn(tx: Tx, outbox: Outbox) -> None:
            if users_q.find_user_by_id(tx, user_id) is None:
                return
            prefs = notify_q.find_prefs(tx, user_id)
            if prefs.email != "off":
                notify_q.put_prefs(tx, user_id, dataclasses.replace(prefs, email="off"))

        await self.uow.write(fn)

    # -- the consumer's handler ---------------------------------------------------------------

    async def handle(self, events: list[Event]) -> Callable[[Tx], None] | None:
        """Queue (user, message) for each new message that notifies someone by a DM or a
        mention and who wants digests at a confirmed address."""
        created = [
            (e.body.message.id, e.ts)
            for e in events
            if isinstance(e.body, MessageCreated) and not e.body.message.deleted
        ]
        if not created or not await self.uow.read(email_q.count_digest_users):
            return None
        wanted: list[tuple[str, str, int]] = []
        for message_id, at in created:
            recipients = await self.notifications.recipients(message_id)
            ids = [r.user_id for r in recipients if r.reason in EMAIL_REASONS]
            if not ids:
                continue
            find = functools.partial(email_q.filter_digest_users, user_ids=ids)
            takers = await self.uow.read(find)
            wanted.extend((u, message_id, at) for u in ids if u in takers)
        if not wanted:
            return None

        def enqueue(tx: Tx) -> None:
            for user_id, message_id, at in wanted:
                email_q.queue(tx, user_id, message_id, at)

        return enqueue

    # -- the sender ---------------------------------------------------------------------------

    async def send_due(self) -> int:
        """Mail every digest that is due (see the module's docstring); return how many went."""
        target = self.settings.smtp
        if target is None:
            return 0
        now = self.uow.clock.now_ms()
        cutoff = now - round(self.settings.email_delay_seconds * 1000)
        due = await self.uow.read(lambda tx: email_q.list_due_users(tx, cutoff, now, DUE_PAGE))
        sent = 0
        for user_id in due:
            if await self._send_one(target, user_id):
                sent += 1
        self.counts.oldest_queued_ms = await self.uow.read(email_q.oldest_queued)
        self.counts.rounds += 1
        return sent

    async def run_sender(self, may_send: Callable[[], bool], poll_seconds: float) -> None:
        """Every `poll_seconds`, while `may_send()` (this node holds the email consumer's
        lease), mail the digests that are due. A failure is logged, not fatal."""
        while True:
            await self.uow.clock.sleep(poll_seconds)
            if not may_send():
                continue
            try:
                await self.send_due()
            except Exception:
                log.exception("sending email digests failed; trying again shortly")

    async def _send_one(self, target: mail.SmtpTarget, user_id: str) -> bool:
        hold_ms = round(HOLD_SECONDS * 1000)
        attempts = await self.uow.write(
            lambda tx, outbox: email_q.hold(tx, user_id, self.holder, outbox.now_ms, hold_ms)
        )
        if attempts is None:  # another node has it, or its retry is not due
            return False

        def read(tx: Tx) -> tuple[list[str], list[email_q.DigestItem], EmailAddress, str, bool]:
            queued = email_q.list_queued(tx, user_id)
            items = email_q.list_digest_items(tx, user_id, queued)
            user = users_q.find_user_by_id(tx, user_id)
            wants = notify_q.find_prefs(tx, user_id).email == "digest"
            live = user is not None and not user.deactivated
            return (
                queued,
                items,
                email_q.find_address(tx, user_id),
                user.username if user else "",
                wants and live,
            )

        queued, items, address, username, wants = await self.uow.read(read)
        if not items or not wants or not address.confirmed or address.email is None:
            await self.uow.write(lambda tx, _: self._done(tx, user_id, queued))
            return False
        try:
            message = digest_mail(
                sender=self.settings.mail_from,
                to=address.email,
                username=username,
                items=items,
                base_url=self.settings.base_url,
                unsubscribe_url=self.unsubscribe_url(user_id),
                now_ms=self.uow.clock.now_ms(),
            )
        except Exception:  # a mail that cannot be made would fail the same way every time
            self.counts.failed["digest"] += 1
            log.exception("digest for %s could not be made; dropped", user_id)
            await self.uow.write(lambda tx, _: self._done(tx, user_id, queued))
            return False
        try:
            await mail.send(target, message)
        except mail.MailError as exc:
            tries = attempts + 1
            if tries >= SEND_ATTEMPTS_MAX:
                self.counts.failed["digest"] += 1
                log.warning("digest for %s dropped after %d attempts: %s", user_id, tries, exc)
                await self.uow.write(lambda tx, _: self._done(tx, user_id, queued))
            else:
                self.counts.retried += 1
                delay_ms = min(3_600_000, 60_000 * 2 ** (tries - 1))
                log.info("digest for %s not sent (%s); again in %d ms", user_id, exc, delay_ms)
                await self.uow.write(
                    lambda tx, outbox: email_q.retry_later(
                        tx, user_id, tries, outbox.now_ms + delay_ms
                    )
                )
            return False
        self.counts.sent["digest"] += 1
        await self.uow.write(lambda tx, _: self._done(tx, user_id, queued))
        return True

    @staticmethod
    def _done(tx: Tx, user_id: str, queued: list[str]) -> None:
        email_q.drop_queued(tx, user_id, queued)
        email_q.release_sent(tx, user_id)
