"""One message of a Slack export as what hubbub will store: pure functions, no I/O.

The text's Slack mrkdwn becomes hubbub's Markdown (services/slack.py), user mentions
`<@U123>` become `@username`, legacy attachments become cards, files the export does not hold
become links; notices that are not conversation (joins, leaves, topic changes...) are skipped
with a reason. https://api.slack.com/events/message lists the subtypes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hubbub.models import Card
from hubbub.services.fields import USERNAME
from hubbub.services.slack import NoText, PayloadInvalid, convert_payload
from hubbub.services.slackexport import ts_ms

__all__ = [
    "SKIPPED_SUBTYPES",
    "Planned",
    "SlackFile",
    "emoji_of",
    "plan_message",
    "username_base",
]

# Notices about the conversation rather than part of it: membership is imported from the
# conversation's member list instead, the rest has no place in a room's history.
SKIPPED_SUBTYPES = {
    "channel_join": "membership notice",
    "channel_leave": "membership notice",
    "group_join": "membership notice",
    "group_leave": "membership notice",
    "channel_topic": "topic or name change",
    "channel_purpose": "topic or name change",
    "channel_name": "topic or name change",
    "group_topic": "topic or name change",
    "group_purpose": "topic or name change",
    "group_name": "topic or name change",
    "channel_archive": "archive notice",
    "channel_unarchive": "archive notice",
    "group_archive": "archive notice",
    "group_unarchive": "archive notice",
    "pinned_item": "pin notice",
    "unpinned_item": "pin notice",
    "bot_add": "integration notice",
    "bot_remove": "integration notice",
    "message_changed": "edit record",
    "message_deleted": "deletion record",
    "tombstone": "deleted message",
}
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^<>]*))?>")
_SKIN_TONE = re.compile(r"::skin-tone-\d$")
# The names Slack gives the reactions people use most, as the characters hubbub's client
# shows; any other reaction is kept as its :name:.
_EMOJI = {
    "+1": "👍",
    "thumbsup": "👍",
    "-1": "👎",
    "thumbsdown": "👎",
    "heart": "❤️",
    "joy": "😂",
    "smile": "😄",
    "slightly_smiling_face": "🙂",
    "laughing": "😆",
    "grinning": "😀",
    "wink": "😉",
    "tada": "🎉",
    "eyes": "👀",
    "fire": "🔥",
    "pray": "🙏",
    "clap": "👏",
    "raised_hands": "🙌",
    "ok_hand": "👌",
    "wave": "👋",
    "100": "💯",
    "rocket": "🚀",
    "thinking_face": "🤔",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "sob": "😭",
    "cry": "😢",
    "sweat_smile": "😅",
    "star": "⭐",
    "muscle": "💪",
    "point_up": "☝️",
    "warning": "⚠️",
}
EMOJI_MAX = 32


@dataclass(frozen=True, slots=True)
class SlackFile:
    id: str
    name: str
    url: str  # where Slack kept it (https), "" if unknown


@dataclass(frozen=True, slots=True)
class Planned:
    """What one Slack message becomes. Authors and reactors are Slack ids; `author` is a bot
    id (B...) when `is_bot_author`."""

    key: str  # "<conversation id>/<ts>": the message's id in the import map
    at_ms: int
    author: str
    author_name: str  # Slack's name for an author not in users.json (a bot's `username`)
    is_bot_author: bool
    text: str
    sender_name: str | None
    cards: tuple[Card, ...]
    thread_key: str | None  # the root's key, for a reply in a thread
    also_to_room: bool
    edited_ms: int | None
    reactions: tuple[tuple[str, tuple[str, ...]], ...]  # (emoji, Slack user ids)
    files: tuple[SlackFile, ...]


def emoji_of(name: str) -> str:
    """A Slack reaction name ("+1", "tada::skin-tone-2") as what hubbub stores."""
    bare = _SKIN_TONE.sub("", name)
    return _EMOJI.get(bare) or f":{bare}:"[:EMOJI_MAX]


def username_base(name: str) -> str:
    """A valid hubbub username made from a Slack one (2-32 letters, digits, '_', '.', '-')."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]", "_", name.strip())[:32].strip("._-") or "user"
    cleaned = cleaned if len(cleaned) >= 2 else cleaned + "_"
    assert USERNAME.match(cleaned)
    return cleaned


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _files(raw: dict[str, Any]) -> tuple[SlackFile, ...]:
    found = []
    for f in _list(raw.get("files")):
        if not isinstance(f, dict) or not isinstance(f.get("id"), str):
            continue
        if f.get("mode") in ("tombstone", "hidden_by_limit"):
            continue
        name = next(
            (f[k] for k in ("name", "title") if isinstance(f.get(k), str) and f[k].strip()),
            f["id"],
        )
        url = next(
            (
                f[k]
                for k in ("url_private", "permalink", "url_private_download")
                if isinstance(f.get(k), str) and f[k].startswith("https://")
            ),
            "",
        )
        found.append(SlackFile(f["id"], name, url))
    return tuple(found)


def _reactions(raw: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    found = []
    for r in _list(raw.get("reactions")):
        if not isinstance(r, dict) or not isinstance(r.get("name"), str) or not r["name"]:
            continue
        users = tuple(u for u in _list(r.get("users")) if isinstance(u, str))
        if users:
            found.append((emoji_of(r["name"]), users))
    return tuple(found)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _convert(text: str, attachments: list[Any] | None) -> tuple[str, tuple[Card, ...]]:
    """Markdown and cards; malformed attachments are dropped rather than the message."""
    for payload in ({"text": text, "attachments": attachments}, {"text": text}):
        try:
            converted = convert_payload(payload)
        except PayloadInvalid:
            continue
        except NoText:
            break
        return converted.text, converted.cards
    return "", ()


def plan_message(
    raw: dict[str, Any], conversation_id: str, username: Callable[[str], str | None]
) -> Planned | str:
    """The message to store for `raw`, or the reason it is skipped. `username(slack id)`: the
    hubbub username a Slack user became (None if unknown), for mentions."""
    subtype = raw.get("subtype") if isinstance(raw.get("subtype"), str) else None
    if subtype in SKIPPED_SUBTYPES:
        return f"{SKIPPED_SUBTYPES[subtype]} ({subtype})"
    if raw.get("hidden") is True:
        return "hidden message"
    at = ts_ms(raw.get("ts"))
    assert at is not None  # SlackExport.read_day keeps only messages with a ts
    user = raw.get("user") if isinstance(raw.get("user"), str) else None
    bot = raw.get("bot_id") if isinstance(raw.get("bot_id"), str) else None
    if user is None and bot is None:
        return "no author"
    profile = raw.get("user_profile") if isinstance(raw.get("user_profile"), dict) else {}
    bot_profile = raw.get("bot_profile") if isinstance(raw.get("bot_profile"), dict) else {}
    assert isinstance(profile, dict)
    assert isinstance(bot_profile, dict)
    override = raw.get("username") if isinstance(raw.get("username"), str) else None
    author_name = (
        override
        or (bot_profile.get("name") if isinstance(bot_profile.get("name"), str) else None)
        or (profile.get("name") if isinstance(profile.get("name"), str) else None)
        or (user or bot or "")
    )

    def mention(match: re.Match[str]) -> str:
        name = username(match.group(1))
        return f"@{name}" if name else f"@{match.group(2) or match.group(1)}"

    text = _USER_MENTION.sub(mention, _text(raw.get("text")))
    attachments = raw.get("attachments") if isinstance(raw.get("attachments"), list) else None
    text, cards = _convert(text, attachments)
    files = _files(raw)
    if not text.strip() and not cards and not files:
        return "empty message"
    thread_ts = raw.get("thread_ts")
    thread_key = None
    if isinstance(thread_ts, str) and thread_ts != raw.get("ts") and ts_ms(thread_ts) is not None:
        thread_key = f"{conversation_id}/{thread_ts}"
    edited = raw.get("edited") if isinstance(raw.get("edited"), dict) else None
    edited_ms = None if edited is None else ts_ms(edited.get("ts"))
    return Planned(
        key=f"{conversation_id}/{raw['ts']}",
        at_ms=at,
        author=user or bot or "",
        author_name=author_name,
        is_bot_author=user is None,
        text=text,
        sender_name=override if subtype == "bot_message" and override else None,
        cards=cards,
        thread_key=thread_key,
        also_to_room=thread_key is not None and subtype == "thread_broadcast",
        edited_ms=edited_ms,
        reactions=_reactions(raw),
        files=files,
    )
