"""Slack's incoming-webhook payloads, converted once into a hubbub message.

The tools that post to Slack (alert managers, CI, scripts) send a JSON object (or a form
field `payload` holding one) with `text` in Slack's mrkdwn, optional `username` and icon
overrides, legacy `attachments[]` and Block Kit `blocks[]`. This module turns one into what
hubbub stores: Markdown text in the documented subset, the sender name override, and the
attachments as structured cards. Pure functions: no I/O, nothing here trusts the payload.

https://api.slack.com/reference/surfaces/formatting, .../messaging/attaching-content,
.../block-kit/blocks describe the formats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hubbub.models import Card, CardField

__all__ = [
    "CARDS_MAX",
    "Converted",
    "NoText",
    "PayloadInvalid",
    "convert_payload",
    "mrkdwn_to_markdown",
]

CARDS_MAX = 20  # attachments kept per message; Slack itself allows 100
FIELDS_MAX = 20
SHORT_MAX = 256  # a title, footer, name or colour
TEXT_MAX = 4000  # an attachment's text or pretext


class PayloadInvalid(ValueError):
    """Not a payload Slack would take (Slack answers 400 invalid_payload)."""


class NoText(ValueError):
    """Nothing to post: no text, attachments or blocks (Slack answers 400 no_text)."""


@dataclass(frozen=True, slots=True)
class Converted:
    text: str  # Markdown; may be "" when cards carry the content
    sender_name: str | None = None
    cards: tuple[Card, ...] = field(default_factory=tuple)
    thread_ts: str | None = None  # a hubbub message id: reply in its thread


# -- mrkdwn -> Markdown -------------------------------------------------------------------------

_FENCE = re.compile(r"```(.*?)```", re.S)
_CODE = re.compile(r"`[^`\n]+`")
_ANGLE = re.compile(r"<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_SAFE_URL = re.compile(r"^(https?://|mailto:)", re.I)


def _unescape(text: str) -> str:
    """Slack escapes exactly these three in text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _link_label(label: str) -> str:
    return label.replace("[", "(").replace("]", ")")


def _angle(match: re.Match[str]) -> str:
    """Slack's <...> forms: links, special mentions, user/channel references."""
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("!"):
        special = target[1:].split("^")[0]
        if special == "here":
            return "@here"
        if special in ("channel", "everyone"):
            return "@room"
        return label or f"@{special}"
    if target.startswith(("@", "#")):  # <@U123|name>, <#C123|general>: Slack ids mean nothing here
        return f"{target[0]}{label}" if label else target
    url = _unescape(target)
    if not _SAFE_URL.match(url):
        return _unescape(label or target)
    if label:
        return f"[{_link_label(_unescape(label))}]({url.replace(')', '%29')})"
    return f"<{url}>"


def _inline(text: str) -> str:
    """Convert the inline forms of a stretch of text holding no code."""
    text = _ANGLE.sub(_angle, text)
    text = _BOLD.sub(r"**\1**", text)
    text = _ITALIC.sub(r"*\1*", text)
    text = _STRIKE.sub(r"~~\1~~", text)
    return _unescape(text)


def mrkdwn_to_markdown(text: str) -> str:
    """Slack mrkdwn as hubbub's Markdown subset: *bold* -> **bold**, _italic_ -> *italic*,
    ~strike~ -> ~~strike~~, <url|label> -> [label](url) (http, https and mailto only),
    <!here> -> @here, <!channel>/<!everyone> -> @room; code spans and blocks unchanged."""
    out: list[str] = []
    pos = 0
    for fence in _FENCE.finditer(text):
        out.append(_convert_spans(text[pos : fence.start()]))
        body = _unescape(fence.group(1))
        out.append("```" + ("" if body.startswith("\n") else "\n") + body.strip("\n") + "\n```")
        pos = fence.end()
    out.append(_convert_spans(text[pos:]))
    return "".join(out)


def _convert_spans(text: str) -> str:
    out: list[str] = []
    pos = 0
    for code in _CODE.finditer(text):
        out.append(_inline(text[pos : code.start()]))
        out.append(_unescape(code.group(0)))
        pos = code.end()
    out.append(_inline(text[pos:]))
    return "".join(out)


# -- payloads ------------------------------------------------------------------------------------


def _str(value: Any, name: str, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PayloadInvalid(f"{name} must be a string")
    text = str(value).replace("\x00", "")
    return text[:limit]


def _card(raw: Any) -> Card:
    if not isinstance(raw, dict):
        raise PayloadInvalid("each attachment must be an object")
    fields_raw = raw.get("fields") or []
    if not isinstance(fields_raw, list):
        raise PayloadInvalid("attachments[].fields must be a list")
    fields = []
    for f in fields_raw[:FIELDS_MAX]:
        if not isinstance(f, dict):
            raise PayloadInvalid("attachments[].fields[] must be objects")
        fields.append(
            CardField(
                _str(f.get("title"), "title", SHORT_MAX),
                mrkdwn_to_markdown(_str(f.get("value"), "value", TEXT_MAX)),
                bool(f.get("short", False)),
            )
        )
    link = _str(raw.get("title_link"), "title_link", 2048)
    ts_raw = raw.get("ts")
    ts = None
    if isinstance(ts_raw, int | float | str) and not isinstance(ts_raw, bool):
        try:
            ts = int(float(ts_raw))
        except ValueError:
            ts = None
    return Card(
        fallback=_str(raw.get("fallback"), "fallback", TEXT_MAX),
        color=_str(raw.get("color"), "color", SHORT_MAX),
        pretext=mrkdwn_to_markdown(_str(raw.get("pretext"), "pretext", TEXT_MAX)),
        title=_unescape(_str(raw.get("title"), "title", SHORT_MAX)),
        title_link=link if _SAFE_URL.match(link) else "",
        text=mrkdwn_to_markdown(_str(raw.get("text"), "text", TEXT_MAX)),
        fields=tuple(fields),
        footer=_unescape(_str(raw.get("footer"), "footer", SHORT_MAX)),
        ts=ts,
    )


def _text_object(obj: Any) -> str:
    """A Block Kit text object ({type: mrkdwn|plain_text, text}) as Markdown."""
    if not isinstance(obj, dict):
        return ""
    text = _str(obj.get("text"), "text", TEXT_MAX)
    return mrkdwn_to_markdown(text) if obj.get("type") == "mrkdwn" else text


def _block(raw: Any) -> str:
    """One Block Kit block as Markdown; unknown blocks fall back to their text."""
    if not isinstance(raw, dict):
        raise PayloadInvalid("each block must be an object")
    kind = raw.get("type")
    if kind == "divider":
        return "⸻"
    if kind == "header":
        title = _text_object(raw.get("text"))
        return f"**{title}**" if title else ""
    if kind == "context":
        parts = [_text_object(e) for e in raw.get("elements") or [] if isinstance(e, dict)]
        return " · ".join(p for p in parts if p)
    lines = []
    if raw.get("text") is not None:
        lines.append(_text_object(raw.get("text")))
    for f in raw.get("fields") or []:
        lines.append(_text_object(f))
    return "\n".join(line for line in lines if line)


def convert_payload(payload: Any) -> Converted:
    """One incoming-webhook payload as a message: PayloadInvalid for a malformed one, NoText
    when it has nothing to show."""
    if not isinstance(payload, dict):
        raise PayloadInvalid("the payload must be a JSON object")
    text = mrkdwn_to_markdown(_str(payload.get("text"), "text", 40_000))
    blocks = payload.get("blocks")
    if blocks is not None:
        if not isinstance(blocks, list):
            raise PayloadInvalid("blocks must be a list")
        shown = [b for b in (_block(raw) for raw in blocks[:50]) if b]
        if shown:  # Slack shows the blocks; `text` is then only the notification's fallback
            text = "\n\n".join(shown)
    attachments = payload.get("attachments")
    cards: list[Card] = []
    if attachments is not None:
        if not isinstance(attachments, list):
            raise PayloadInvalid("attachments must be a list")
        cards = [_card(raw) for raw in attachments[:CARDS_MAX]]
    if not text.strip() and not any(_card_shows(c) for c in cards):
        raise NoText("The payload has no text, attachments or blocks")
    name = _str(payload.get("username"), "username", 64).strip() or None
    thread = payload.get("thread_ts")
    return Converted(
        text=text,
        sender_name=name,
        cards=tuple(cards),
        thread_ts=thread if isinstance(thread, str) and thread else None,
    )


def _card_shows(card: Card) -> bool:
    return any((card.pretext, card.title, card.text, card.fallback, card.fields))
