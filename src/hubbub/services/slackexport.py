"""Reading a Slack workspace export (a ZIP file), as Slack documents it: `users.json`,
`channels.json` (public channels), `groups.json` (private channels), `dms.json` and `mpims.json`
(direct and group messages) when the export has them, and one folder per conversation of daily
files `YYYY-MM-DD.json`, each a JSON list of messages. Files are not in Slack's own exports;
tools that add them (slackdump, slack-advanced-exporter) put them at
`<folder>/attachments/<file id>-<name>` or `__uploads/<file id>/<name>`, and both are found.

Memory stays bounded by the largest single file: the lists of users and conversations are read
whole, messages one daily file at a time. Nothing here writes; nothing trusts the export (a
field of the wrong type is treated as absent).

https://slack.com/help/articles/220556107 describes the export.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

__all__ = [
    "ConversationKind",
    "ExportUnreadable",
    "SlackConversation",
    "SlackExport",
    "SlackUser",
    "ts_ms",
]

ConversationKind = Literal["public", "private", "dm", "mpim"]
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
_ATTACHMENT = re.compile(r"^(?:.*/)?attachments/(F[A-Z0-9]+)-(.+)$")
_UPLOAD = re.compile(r"^__uploads/(F[A-Z0-9]+)/(.+)$")
# The lists of users and conversations are read whole: refuse absurd ones.
LIST_FILE_MAX = 512 * 1024 * 1024
DAY_FILE_MAX = 256 * 1024 * 1024


class ExportUnreadable(ValueError):
    """Not a Slack export this can read (the message says why)."""


@dataclass(frozen=True, slots=True)
class SlackUser:
    id: str
    name: str  # Slack's username (`name`)
    display_name: str
    deleted: bool
    is_bot: bool


@dataclass(frozen=True, slots=True)
class SlackConversation:
    id: str
    name: str
    kind: ConversationKind
    folder: str  # the folder of its daily files: the name for channels, the id for DMs
    members: tuple[str, ...]
    creator: str | None
    created_ms: int
    topic: str


def ts_ms(ts: object) -> int | None:
    """A Slack timestamp ("1700000000.123456") in milliseconds, or None if it is not one."""
    if not isinstance(ts, str | int | float) or isinstance(ts, bool):
        return None
    seconds, _, fraction = str(ts).partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        return None
    return int(seconds) * 1000 + int((fraction + "000")[:3])


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


class SlackExport:
    """An open export. Use as a context manager (`with SlackExport.open(path) as export`)."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._zip = archive
        self._names = set(archive.namelist())
        self._files: dict[str, str] = {}
        self._days: dict[str, list[str]] = {}
        for name in self._names:
            folder, _, base = name.rpartition("/")
            if folder and "/" not in folder and _DAY.match(base):
                self._days.setdefault(folder, []).append(name)
            found = _UPLOAD.match(name) or _ATTACHMENT.match(name)
            if found and not name.endswith("/"):
                self._files.setdefault(found.group(1), name)

    @classmethod
    def open(cls, path: Path) -> SlackExport:
        """ExportUnreadable if `path` is not a ZIP file with a users.json and a channels.json."""
        try:
            archive = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ExportUnreadable(f"{path}: not a readable ZIP file ({exc})") from None
        export = cls(archive)
        for required in ("users.json", "channels.json"):
            if required not in export._names:
                archive.close()
                raise ExportUnreadable(f"{path}: no {required}: not a Slack export")
        return export

    def __enter__(self) -> SlackExport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def _json(self, name: str, limit: int) -> Any:
        info = self._zip.getinfo(name)
        if info.file_size > limit:
            raise ExportUnreadable(f"{name}: larger than {limit} bytes")
        try:
            return orjson.loads(self._zip.read(name))
        except (orjson.JSONDecodeError, zipfile.BadZipFile, OSError) as exc:
            raise ExportUnreadable(f"{name}: not readable JSON ({exc})") from None

    def _list(self, name: str) -> list[dict[str, Any]]:
        if name not in self._names:
            return []
        found = self._json(name, LIST_FILE_MAX)
        if not isinstance(found, list):
            raise ExportUnreadable(f"{name}: not a JSON list")
        return [
            item for item in found if isinstance(item, dict) and isinstance(item.get("id"), str)
        ]

    def users(self) -> list[SlackUser]:
        users = []
        for raw in self._list("users.json"):
            profile = raw.get("profile") if isinstance(raw.get("profile"), dict) else {}
            assert isinstance(profile, dict)
            name = _str(raw.get("name")) or raw["id"]
            display = (
                _str(profile.get("display_name"))
                or _str(profile.get("real_name"))
                or _str(raw.get("real_name"))
                or name
            )
            users.append(
                SlackUser(
                    id=raw["id"],
                    name=name,
                    display_name=display,
                    deleted=raw.get("deleted") is True,
                    is_bot=raw.get("is_bot") is True or raw.get("id") == "USLACKBOT",
                )
            )
        return users

    def conversations(self) -> list[SlackConversation]:
        """Public channels, private channels, DMs and group DMs, in that order."""
        found = []
        sources: tuple[tuple[str, ConversationKind], ...] = (
            ("channels.json", "public"),
            ("groups.json", "private"),
            ("dms.json", "dm"),
            ("mpims.json", "mpim"),
        )
        for file, kind in sources:
            for raw in self._list(file):
                members = raw.get("members")
                topic = raw.get("topic") if isinstance(raw.get("topic"), dict) else {}
                assert isinstance(topic, dict)
                name = _str(raw.get("name"))
                found.append(
                    SlackConversation(
                        id=raw["id"],
                        name=name or raw["id"],
                        kind=kind,
                        folder=raw["id"] if kind == "dm" or not name else name,
                        members=tuple(
                            m
                            for m in (members if isinstance(members, list) else [])
                            if isinstance(m, str)
                        ),
                        creator=_str(raw.get("creator")) or None,
                        created_ms=1000 * int(raw["created"])
                        if isinstance(raw.get("created"), int)
                        else 0,
                        topic=_str(topic.get("value")),
                    )
                )
        return found

    def days(self, conversation: SlackConversation) -> list[str]:
        """The conversation's daily files, oldest first."""
        return sorted(self._days.get(conversation.folder, ()))

    def read_day(self, name: str) -> list[dict[str, Any]]:
        """One daily file's messages, by timestamp (those without a valid `ts` are left out)."""
        found = self._json(name, DAY_FILE_MAX)
        if not isinstance(found, list):
            raise ExportUnreadable(f"{name}: not a JSON list")
        messages = [m for m in found if isinstance(m, dict) and ts_ms(m.get("ts")) is not None]
        messages.sort(key=lambda m: (ts_ms(m["ts"]), str(m["ts"])))
        return messages

    def file_entry(self, file_id: str) -> str | None:
        """The ZIP entry holding the bytes of Slack file `file_id`, if the export has them."""
        return self._files.get(file_id)

    def file_chunks(self, entry: str, size: int = 1 << 16) -> Generator[bytes]:
        """The bytes of a ZIP entry, a chunk at a time."""
        with self._zip.open(entry) as handle:
            while chunk := handle.read(size):
                yield chunk
