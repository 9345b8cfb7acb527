"""Bot accounts with API keys (docs/integrations.md): made by a person, who owns them, for
scripts and integrations that use the v1 API and streams as the bot.

A bot is a user of kind "bot" with no password (it never signs in) whose key is a session
token that does not expire from idleness (services/sessions.py). It starts in no room: a
member adds it, and it sees only the rooms it is in (services/access.py), never the public
directory. Its writes count against bot budgets (`bot_messages`), not people's. Deleting a
bot deactivates it: its key stops working at once, its streams close, it leaves every room;
its messages stay under its name, which stays reserved.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.errors import BotNotFound, NotAllowed, TooManyBots, UsernameTaken
from hubbub.ids import new_id
from hubbub.models import BotAccount, User
from hubbub.services.accounts import DISPLAY_NAME_MAX
from hubbub.services.audit import record
from hubbub.services.fields import check_name, check_username
from hubbub.services.ratelimits import RateLimits
from hubbub.services.rooms import remove_member
from hubbub.services.sessions import end_sessions, open_session
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.services.webhooks import NO_PASSWORD
from hubbub.store import Tx
from hubbub.store import bots as bots_q
from hubbub.store import outgoing as outgoing_q
from hubbub.store import rooms as rooms_q
from hubbub.store import users as users_q

__all__ = ["BOTS_PER_OWNER", "BotService", "NewKey", "owned_bot"]

BOTS_PER_OWNER = 25
KEY_AGENT = "bot API key"  # the key's session shows as this in the bot's session list


@dataclass(frozen=True, slots=True)
class NewKey:
    bot: User
    owner_id: str | None
    token: str  # shown once; stored only as its hash


@dataclass(frozen=True, slots=True)
class BotService:
    uow: UnitOfWork
    limits: RateLimits

    async def create(self, me: User, username: str, display_name: str | None) -> NewKey:
        """A bot owned by `me`, and its key. Raises NotAllowed for a bot (bots make no bots),
        UsernameTaken, TooManyBots past BOTS_PER_OWNER live bots, RateLimited (`bots`)."""
        if me.bot:
            raise NotAllowed("A bot can't make bots")
        check_username(username)
        display = (
            username
            if display_name is None
            else check_name("display_name", display_name, 1, DISPLAY_NAME_MAX)
        )
        await self.limits.hit("bots", me.id)

        def fn(tx: Tx, outbox: Outbox) -> NewKey:
            if bots_q.count_bots(tx, me.id) >= BOTS_PER_OWNER:
                raise TooManyBots(f"You have {BOTS_PER_OWNER} bots: delete one first")
            now = outbox.now_ms
            bot = User(new_id("u", now), username, display, now, bot=True)
            if not users_q.insert_user(tx, bot, NO_PASSWORD, owner_id=me.id):
                raise UsernameTaken(f"The username {username!r} is taken")
            session = open_session(tx, outbox, bot, KEY_AGENT)
            record(tx, outbox, me, "bot.create", username)
            return NewKey(bot, me.id, session.token)

        return await self.uow.write(fn)

    async def list(self, me: User) -> list[BotAccount]:
        """Your bots, by username; a server admin sees everyone's."""
        owner = None if me.is_admin else me.id
        return await self.uow.read(lambda tx: bots_q.list_bots(tx, owner))

    async def rotate(self, me: User, username: str) -> NewKey:
        """A new key for a bot of yours (or any, for a server admin): the old one stops
        working at once and the bot's streams close."""

        def fn(tx: Tx, outbox: Outbox) -> NewKey:
            found = owned_bot(tx, me, username)
            end_sessions(tx, outbox, found.bot.id)
            session = open_session(tx, outbox, found.bot, KEY_AGENT)
            record(tx, outbox, me, "bot.rotate", found.bot.username)
            return NewKey(found.bot, found.owner_id, session.token)

        return await self.uow.write(fn)

    async def delete(self, me: User, username: str) -> None:
        """Deactivate a bot of yours (or any, for a server admin): its key stops working, its
        streams close, it leaves its rooms; its messages stay."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            found = owned_bot(tx, me, username)
            bot = found.bot
            end_sessions(tx, outbox, bot.id)
            for room in rooms_q.list_rooms_of(tx, bot.id):
                if room.kind != "dm" and room.my_role is not None:
                    remove_member(tx, outbox, room.id, bot, room.my_role, "removed")
            for hook in outgoing_q.list_hooks(tx, bot_id=bot.id):
                outgoing_q.delete_hook(tx, hook.id)  # its event subscriptions end with it
            users_q.set_deactivated(tx, bot.id, outbox.now_ms)
            record(tx, outbox, me, "bot.delete", bot.username)

        await self.uow.write(fn)


def owned_bot(tx: Tx, me: User, username: str) -> BotAccount:
    """The live bot `username` if `me` owns it or is a server admin; else BotNotFound (a
    bot's existence is not secret, but whose it is and its key are)."""
    found = bots_q.find_bot(tx, username)
    if found is None or not (me.is_admin or found.owner_id == me.id):
        raise BotNotFound(f"No bot {username!r} of yours")
    return found
