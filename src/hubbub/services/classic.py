"""The classic chat-server exercise: guest posts into the lobby, recent messages, posters."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.config import Settings
from hubbub.errors import Invalid
from hubbub.events import MessageCreated
from hubbub.models import LOBBY_ROOM_ID, Author, Message
from hubbub.services.fields import is_blank, is_lone_surrogate_in
from hubbub.services.ratelimits import RateLimits
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import messages as messages_q

__all__ = ["LIMIT_DEFAULT", "LIMIT_MAX", "ClassicService"]

LIMIT_DEFAULT = 100
LIMIT_MAX = 1000


@dataclass(frozen=True, slots=True)
class ClassicService:
    uow: UnitOfWork
    settings: Settings
    limits: RateLimits

    async def post(self, user: object, text: object, client: str) -> Message:
        """Validate and commit a guest message to the lobby; returns it once durable.

        Raises Invalid (field `user` or `text`) for a missing, wrong-typed, empty or too long
        value; RateLimited when `client` (its address) posts too often.
        """
        name = self._check_str("user", user, self.settings.classic_user_max, allow_blank=False)
        body = self._check_str("text", text, self.settings.classic_text_max, allow_blank=True)
        await self.limits.hit("classic_post", client)
        new = messages_q.NewMessage(
            LOBBY_ROOM_ID, body, Author(id=None, username=None, display_name=name, guest=True)
        )

        def fn(tx: Tx, outbox: Outbox) -> Message:
            message = messages_q.insert_message(tx, new, outbox.now_ms)
            outbox.add(MessageCreated(message))
            return message

        return await self.uow.write(fn)

    async def list_recent(self, limit: int = LIMIT_DEFAULT) -> list[tuple[int, str, str]]:
        """(timestamp ms, user, text) of the newest `limit` lobby messages, oldest first
        (ascending timestamp and seq). Deleted messages are left out."""
        if not 1 <= limit <= LIMIT_MAX:
            raise Invalid(f"limit must be an integer from 1 to {LIMIT_MAX}", field="limit")
        return await self.uow.read(
            lambda tx: messages_q.list_latest_plain(tx, LOBBY_ROOM_ID, limit)
        )

    async def list_users(self) -> list[str]:
        """Every name that has posted in the lobby, once each, in order of first post."""
        return await self.uow.read(lambda tx: messages_q.list_posters(tx, LOBBY_ROOM_ID))

    @staticmethod
    def _check_str(field: str, value: object, max_len: int, *, allow_blank: bool) -> str:
        if value is None:
            raise Invalid(f"'{field}' is required", field=field)
        if not isinstance(value, str):
            raise Invalid(f"'{field}' must be a string", field=field)
        if "\x00" in value:
            raise Invalid(f"'{field}' must not contain NUL characters", field=field)
        if is_lone_surrogate_in(value):
            raise Invalid(f"'{field}' must be valid Unicode (no lone surrogates)", field=field)
        if not value or (not allow_blank and is_blank(value)):
            raise Invalid(f"'{field}' must not be empty", field=field)
        if len(value) > max_len:
            raise Invalid(f"'{field}' must be at most {max_len} characters", field=field)
        return value
