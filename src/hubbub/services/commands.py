"""Slash commands, Slack-compatible (docs/integrations.md): server admins register
`/name` with a URL; a message whose text is `/name args` is not posted: hubbub POSTs Slack's
form fields to the URL (signed like outgoing webhooks) and shows the answer to the caller only
(an ephemeral `command.reply` on their streams) or posts it in the room (`in_channel`, as the
caller). The `response_url` takes up to RESPONSES_MAX more answers within RESPONSE_MINUTES.

What counts as a command: text starting at its very first character with `/` and a name of
a-z, 0-9, `_` and `-` followed by whitespace or the end (`/usr/bin is full` is not one: the
name is followed by `/`). An unregistered name gets a help line listing the commands, shown
only to the caller. `//` at the start escapes: `//shrug` posts the message `/shrug`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
import orjson

from hubbub import outbound
from hubbub.config import Settings
from hubbub.errors import AdminsOnly, CommandNotFound, CommandTaken, Invalid, NotFound, Unavailable
from hubbub.events import CommandReply, Ephemeral
from hubbub.models import SlashCommand, User
from hubbub.services.access import require_voice, visible_room
from hubbub.services.audit import record
from hubbub.services.messages import MessageService
from hubbub.services.outgoing import check_url, sign
from hubbub.services.ratelimits import RateLimits
from hubbub.services.sessions import token_hash
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import commands as commands_q
from hubbub.store.users import find_user_by_id

__all__ = [
    "COMMAND_DESCRIPTION_MAX",
    "COMMAND_NAME_PATTERN",
    "RESPONSES_MAX",
    "RESPONSE_MINUTES",
    "CommandService",
    "Invocation",
    "NewCommand",
    "Ran",
    "parse",
]

COMMAND_NAME_PATTERN = r"^[a-z0-9_-]{1,32}$"
COMMAND_DESCRIPTION_MAX = 200
RESPONSES_MAX = 5
RESPONSE_MINUTES = 30
COMMAND_TIMEOUT_SECONDS = 3.0
ANSWER_MAX_BYTES = 64 * 1024
_NAME = re.compile(COMMAND_NAME_PATTERN)
_INVOCATION = re.compile(r"/([a-z0-9_-]{1,32})(?:\s+(.*))?", re.DOTALL)

ResponseType = Literal["ephemeral", "in_channel"]


@dataclass(frozen=True, slots=True)
class Invocation:
    name: str
    args: str


def parse(text: str) -> Invocation | str:
    """A command invocation, or the text to post (with a leading `//` made `/`)."""
    if text.startswith("//"):
        return text[1:]
    found = _INVOCATION.fullmatch(text)
    if found is None:
        return text
    return Invocation(found.group(1), (found.group(2) or "").strip())


@dataclass(frozen=True, slots=True)
class NewCommand:
    command: SlashCommand
    secret: str  # shown once


@dataclass(frozen=True, slots=True)
class Ran:
    """What running a command did: `known` False for an unregistered name (help was shown);
    `response_type` of the answer shown or posted (None: no answer, or it failed)."""

    command: str
    known: bool
    response_type: ResponseType | None


@dataclass(frozen=True, slots=True)
class CommandService:
    uow: UnitOfWork
    settings: Settings
    limits: RateLimits
    messages: MessageService
    client: httpx.AsyncClient | None = None  # None: no outbound HTTP (command-line tools)

    async def create(self, me: User, name: str, url: str, description: str) -> NewCommand:
        """Register `/name` (server admins). Raises AdminsOnly, Invalid, CommandTaken."""
        if not me.is_admin:
            raise AdminsOnly("Only server admins can add slash commands")
        if not _NAME.match(name):
            raise Invalid("name: 1-32 of a-z, 0-9, _ and -", field="name")
        check_url(url)
        if not 1 <= len(description.strip()) <= COMMAND_DESCRIPTION_MAX:
            raise Invalid(
                f"description: 1-{COMMAND_DESCRIPTION_MAX} characters", field="description"
            )
        secret = "whsec_" + secrets.token_urlsafe(32)

        def fn(tx: Tx, outbox: Outbox) -> NewCommand:
            command = SlashCommand(name, url, description, me.id, outbox.now_ms)
            if not commands_q.insert_command(tx, command, secret):
                raise CommandTaken(f"/{name} exists")
            record(tx, outbox, me, "command.create", f"/{name}", url)
            return NewCommand(command, secret)

        return await self.uow.write(fn)

    async def list(self) -> list[SlashCommand]:
        return await self.uow.read(commands_q.list_commands)

    async def delete(self, me: User, name: str) -> None:
        if not me.is_admin:
            raise AdminsOnly("Only server admins can remove slash commands")

        def fn(tx: Tx, outbox: Outbox) -> None:
            if not commands_q.delete_command(tx, name):
                raise CommandNotFound(f"No command /{name}")
            record(tx, outbox, me, "command.delete", f"/{name}")

        await self.uow.write(fn)

    async def run(self, me: User, room_id: str, invocation: Invocation) -> Ran:
        """Run a command in a room `me` may write in (raises as sending would: RoomNotFound,
        NotAMember, Muted, RateLimited). Waits for the answer up to 3 s."""
        await self.limits.hit("bot_messages" if me.bot else "messages", me.id)
        name = invocation.name
        secret = secrets.token_urlsafe(32)
        expires = self.uow.clock.now_ms() + RESPONSE_MINUTES * 60_000

        def fn(tx: Tx, outbox: Outbox) -> tuple[tuple[SlashCommand, str] | None, str, list[str]]:
            require_voice(tx, room_id, me.id)
            room = visible_room(tx, room_id, me.id)
            found = commands_q.find_command(tx, name)
            if found is None:
                return None, room.name, [c.name for c in commands_q.list_commands(tx)]
            commands_q.insert_response(tx, token_hash(secret), name, me.id, room_id, expires)
            return found, room.name, []

        found, room_name, names = await self.uow.write(fn)
        if found is None:
            listing = ", ".join(f"/{n}" for n in names) or "none yet"
            await self._show(
                me.id,
                room_id,
                f"/{name}",
                f"/{name} is not a command here. "
                f"Commands: {listing}. Start with // to send a message "
                "that begins with /.",
            )
            return Ran(f"/{name}", False, None)
        command, signing = found
        fields = {
            "command": f"/{name}",
            "text": invocation.args,
            "user_id": me.id,
            "user_name": me.username,
            "channel_id": room_id,
            "channel_name": room_name,
            "response_url": f"{self.settings.base_url}/command-responses/{secret}",
            "trigger_id": secrets.token_urlsafe(16),
        }
        body = urlencode(fields).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Hubbub-Signature": sign(signing, self.uow.clock.now_ms() // 1000, body),
        }
        error = None
        answer: Any = None
        if self.client is None:
            raise Unavailable("Slash commands need a running server")
        try:
            reply = await outbound.request(
                self.client,
                "POST",
                command.url,
                content=body,
                headers=headers,
                max_bytes=ANSWER_MAX_BYTES,
                timeout=COMMAND_TIMEOUT_SECONDS,
            )
        except outbound.OutboundRefused:
            error = "its address is not one hubbub may call"
        except outbound.TooLarge:
            error = "its answer was too long"
        except httpx.TimeoutException:
            error = "it did not answer within 3 seconds"
        except httpx.HTTPError:
            error = "it could not be reached"
        else:
            if not 200 <= reply.status < 300:
                error = f"it answered HTTP {reply.status}"
            elif reply.body.strip():
                answer = _answer_json(reply.body)
                if answer is None:
                    answer = {"text": reply.body.decode("utf-8", "replace")}
        if error is not None:
            await self._show(me.id, room_id, f"/{name}", f"/{name} failed: {error}.")
            return Ran(f"/{name}", True, None)
        if answer is None:
            return Ran(f"/{name}", True, None)
        shown = await self._deliver(me, room_id, f"/{name}", answer)
        return Ran(f"/{name}", True, shown)

    async def respond(self, secret: str, payload: Any) -> ResponseType | None:
        """A delayed answer through a response URL. Raises NotFound (unknown, expired or used
        RESPONSES_MAX times), Invalid (not an answer), and what sending raises."""
        if not isinstance(payload, dict) or not isinstance(payload.get("text", ""), str):
            raise Invalid("An answer is a JSON object with a text", field="text")
        now = self.uow.clock.now_ms()
        grant = await self.uow.write(
            lambda tx, outbox: commands_q.use_response(tx, token_hash(secret), now, RESPONSES_MAX)
        )
        if grant is None:
            raise NotFound("This response URL is unknown, expired or used up")
        user = await self.uow.read(lambda tx: _caller(tx, grant.user_id, grant.room_id))
        return await self._deliver(user, grant.room_id, f"/{grant.command}", payload)

    async def _deliver(
        self, me: User, room_id: str, command: str, answer: Any
    ) -> ResponseType | None:
        text = answer.get("text") if isinstance(answer, dict) else None
        if not isinstance(text, str) or not text.strip():
            return None
        text = text[: self.settings.message_text_max]
        if answer.get("response_type") == "in_channel":
            await self.messages.send(me, room_id, text)
            return "in_channel"
        await self._show(me.id, room_id, command, text)
        return "ephemeral"

    async def _show(self, user_id: str, room_id: str, command: str, text: str) -> None:
        """An answer for the caller's eyes only: live on their streams, never stored."""
        await self.uow.announce(
            Ephemeral(
                self.uow.clock.now_ms(),
                CommandReply(room_id, user_id, command, text),
                (),
                only_user=user_id,
            )
        )


def _answer_json(body: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _caller(tx: Tx, user_id: str, room_id: str) -> User:
    """Who ran the command, if they may still write in the room (else what sending raises)."""
    user = find_user_by_id(tx, user_id)
    if user is None:
        raise NotFound("The one who ran the command is gone")
    require_voice(tx, room_id, user.id)
    return user
