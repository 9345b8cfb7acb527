"""The mails hubbub sends (#18): the address confirmation and the missed-message digest, each
with a plain-text part and (the digest) an HTML part in which every piece of user text is
escaped. Pure functions of what they are given; no I/O."""

from __future__ import annotations

import datetime as dt
import html
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from hubbub.store.email import DigestItem

__all__ = ["DIGEST_ITEMS_MAX", "PREVIEW_MAX", "confirmation_mail", "digest_mail", "message_link"]

DIGEST_ITEMS_MAX = 50  # shown in one mail; the rest are counted ("and 3 more")
PREVIEW_MAX = 500  # characters of each message's text


def _headers(message: EmailMessage, sender: str, to: str, subject: str, now_ms: int) -> None:
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC))
    domain = sender.rpartition("@")[2].rstrip(">").strip() or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please


def _one_line(text: str) -> str:
    """Text for a header: control characters (a line break would end the header) as spaces."""
    return "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)


def confirmation_mail(
    *, sender: str, to: str, username: str, link: str, hours: int, now_ms: int
) -> EmailMessage:
    message = EmailMessage()
    _headers(message, sender, to, "Confirm your email address for hubbub", now_ms)
    message.set_content(
        f"Someone (hopefully you, {username}) asked hubbub to send missed messages to this"
        f" address.\n\nTo confirm it, open this link within {hours} hours:\n\n{link}\n\n"
        "If it was not you, ignore this mail: nothing will be sent to you.\n"
    )
    return message


def message_link(base_url: str, item: DigestItem) -> str:
    """The web client, at the message in its room."""
    return f"{base_url}/#/r/{item.room_id}/{item.seq}"


def _where(item: DigestItem) -> str:
    return "a direct message" if item.room_kind == "dm" else f"#{item.room_name}"


def _preview(text: str) -> str:
    text = text.strip()
    return text if len(text) <= PREVIEW_MAX else text[: PREVIEW_MAX - 1] + "…"


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def digest_mail(
    *,
    sender: str,
    to: str,
    username: str,
    items: list[DigestItem],
    base_url: str,
    unsubscribe_url: str,
    now_ms: int,
) -> EmailMessage:
    """One mail listing `items` (at least one), oldest first, each with a link to it; with
    List-Unsubscribe one-click (RFC 8058) to `unsubscribe_url`."""
    shown, rest = items[:DIGEST_ITEMS_MAX], len(items) - DIGEST_ITEMS_MAX
    count = len(items)
    authors = sorted({_one_line(i.author) for i in items})
    subject = f"{count} unread message{'s' if count != 1 else ''} from " + (
        ", ".join(authors[:3]) + (" and others" if len(authors) > 3 else "")
    )
    message = EmailMessage()
    _headers(message, sender, to, subject, now_ms)
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    lines = [f"Hi {username}, these messages for you on hubbub are still unread:", ""]
    for item in shown:
        lines += [
            f"{item.author} in {_where(item)}, {_when(item.created_at)}:",
            *("    " + line for line in _preview(item.text).splitlines() or [""]),
            f"    {message_link(base_url, item)}",
            "",
        ]
    if rest > 0:
        lines += [f"... and {rest} more: {base_url}/", ""]
    lines += [
        "-- ",
        "You get this because your email notifications are on.",
        f"Turn them off: {unsubscribe_url}",
    ]
    message.set_content("\n".join(lines) + "\n")

    e = html.escape
    parts = [
        '<!doctype html><html><body style="font-family: sans-serif">',
        f"<p>Hi {e(username)}, these messages for you on hubbub are still unread:</p>",
    ]
    for item in shown:
        text = "<br>".join(e(line) for line in _preview(item.text).splitlines())
        parts.append(
            f'<div style="margin: 1em 0"><b>{e(item.author)}</b> in {e(_where(item))},'
            f" {e(_when(item.created_at))}<br>"
            f'<div style="margin: .3em 0 .3em 1em">{text}</div>'
            f'<a href="{e(message_link(base_url, item))}">Open in hubbub</a></div>'
        )
    if rest > 0:
        parts.append(f'<p><a href="{e(base_url)}/">... and {rest} more</a></p>')
    parts.append(
        '<hr><p style="font-size: small">You get this because your email notifications are'
        f' on. <a href="{e(unsubscribe_url)}">Turn them off</a>.</p></body></html>'
    )
    message.add_alternative("".join(parts), subtype="html")
    return message
