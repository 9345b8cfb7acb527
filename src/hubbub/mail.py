"""Outbound mail (missed-message email, #18): where HUBBUB_SMTP_URL points, and sending one
message there with the standard library's smtplib in a worker thread, so the event loop never
waits on the network.

`smtp://user:pass@host:587` speaks STARTTLS (and refuses to go on without it);
`smtps://user:pass@host:465` is TLS from the first byte. `?starttls=false` on an smtp:// URL
sends in the clear: only for a relay on this machine (127.0.0.1, ::1, localhost), which is
what the tests run. Certificates are checked against the system's trust store.
"""

from __future__ import annotations

import asyncio
import ipaddress
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "MailError",
    "SmtpTarget",
    "check_address",
    "parse_mail_from",
    "parse_smtp_url",
    "probe",
    "send",
]

SMTP_TIMEOUT_SECONDS = 20.0
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class MailError(Exception):
    """Sending failed (the relay refused, timed out, or could not be reached)."""


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool  # smtps://
    starttls: bool  # smtp:// unless ?starttls=false

    def __repr__(self) -> str:  # never the password in a log line
        return f"SmtpTarget({self.host}:{self.port}, tls={self.implicit_tls or self.starttls})"


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_smtp_url(url: str) -> SmtpTarget:
    """HUBBUB_SMTP_URL as a target; ValueError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("must start with smtp:// (STARTTLS) or smtps:// (TLS)")
    if not parts.hostname:
        raise ValueError("names no host: smtp://user:password@host:587")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError:
        raise ValueError("has a port that is not a number 1..65535") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"unknown option {sorted(unknown)[0]!r} (known: starttls)")
    starttls = parts.scheme == "smtp"
    if "starttls" in query:
        value = query["starttls"][-1].lower()
        if value not in ("true", "false") or parts.scheme != "smtp":
            raise ValueError("starttls=false is the only option, on smtp:// only")
        starttls = value == "true"
    if not starttls and parts.scheme == "smtp" and not _is_loopback(parts.hostname):
        raise ValueError(
            "starttls=false sends mail (and the password) in the clear: only to a relay on"
            " this machine (127.0.0.1, ::1, localhost)"
        )
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        implicit_tls=parts.scheme == "smtps",
        starttls=starttls,
    )


def parse_mail_from(value: str) -> str:
    """HUBBUB_MAIL_FROM (`hubbub <chat@example.com>` or `chat@example.com`), checked;
    ValueError naming what is wrong."""
    if any(c in value for c in "\r\n\0"):
        raise ValueError("must be one line")
    _, address = parseaddr(value)
    if not address or check_address(address) is not None:
        raise ValueError("is not an address like 'hubbub <chat@example.com>'")
    return value.strip()


# Characters an address may hold: the dot-atom of RFC 5322 (no quoted local parts, no
# comments, no IP-literal domains), which is what people and relays use.
_ATOM = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")
_LABEL = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
ADDRESS_MAX = 254


def _is_label(label: str) -> bool:
    return 0 < len(label) <= 63 and set(label) <= _LABEL and "-" not in (label[0], label[-1])


def check_address(address: str) -> str | None:
    """None if `address` is a plain mailbox (local@domain.tld, ASCII), else why not."""
    if len(address) > ADDRESS_MAX:
        return f"is longer than {ADDRESS_MAX} characters"
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "needs one @ between a name and a domain, like you@example.com"
    if len(local) > 64:
        return "has a name (before the @) longer than 64 characters"
    if any(not atom or not set(atom) <= _ATOM for atom in local.split(".")):
        return "has characters (before the @) an address cannot hold"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_is_label(label) for label in labels):
        return "has a domain (after the @) that is not like example.com"
    return None


def _send_sync(target: SmtpTarget, message: EmailMessage | None, timeout: float) -> None:
    """Connect, greet, STARTTLS and sign in as configured; then send `message`, or with None
    say goodbye (a probe)."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if target.implicit_tls:
        client = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=timeout)
    with client:
        client.ehlo()
        if target.starttls:
            client.starttls(context=context)  # raises if the relay does not offer it
            client.ehlo()
        if target.username is not None:
            client.login(target.username, target.password or "")
        if message is not None:
            client.send_message(message)


async def send(target: SmtpTarget, message: EmailMessage) -> None:
    """Hand `message` to the relay (in a thread, each network step within
    SMTP_TIMEOUT_SECONDS); MailError if it is not accepted."""
    try:
        await asyncio.to_thread(_send_sync, target, message, SMTP_TIMEOUT_SECONDS)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc


async def probe(target: SmtpTarget, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Connect to the relay, STARTTLS and sign in as sending would, and send nothing;
    MailError with why it failed (`hubbub doctor`)."""
    try:
        await asyncio.to_thread(_send_sync, target, None, timeout)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
