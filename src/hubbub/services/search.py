"""Message search: a parsed query (hubbub.textsearch) run over the messages a user may see.

Who sees what: by default the rooms and DMs the user is a member of (their whole history,
from before they joined too); with `scope="all"` also the public rooms they are not in. Never
a private room or DM they are not in, so leaving or being removed ends it at once. Deleted
messages are not in the index, and an edit replaces what was indexed, in the same
transaction as the write (store/search.py), so a search after a write's 2xx sees it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Literal

import orjson

from hubbub.errors import Invalid, InvalidSearchQuery
from hubbub.models import Message, User
from hubbub.services.access import room_access
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import messages as messages_q
from hubbub.store import search as search_q
from hubbub.textsearch import Plan, QueryError, highlights, parse_query

__all__ = [
    "SEARCH_LIMIT_DEFAULT",
    "SEARCH_LIMIT_MAX",
    "Hit",
    "HitRoom",
    "Scope",
    "SearchPage",
    "SearchService",
]

SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX = 20, 100
CURSOR_MAX = 200
Scope = Literal["member", "all"]
_MINE = "d.room_id IN (SELECT room_id FROM members WHERE user_id = :me)"
_PUBLIC = "d.room_id IN (SELECT id FROM rooms WHERE visibility = 'public' AND kind = 'room')"
_MINE_IDS = "SELECT room_id FROM members WHERE user_id = :me"
_PUBLIC_IDS = "SELECT id FROM rooms WHERE visibility = 'public' AND kind = 'room'"


@dataclass(frozen=True, slots=True)
class HitRoom:
    id: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Hit:
    message: Message
    room: HitRoom
    highlights: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[Hit]
    next_cursor: str | None


def _cursor(message: Message) -> str:
    raw = orjson.dumps([message.created_at, message.id])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _parse_cursor(cursor: str) -> tuple[int, str]:
    try:
        if len(cursor) > CURSOR_MAX:
            raise ValueError(cursor)
        at, message_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(at, int) or isinstance(at, bool) or not isinstance(message_id, str):
            raise ValueError(cursor)
        if not message_id.isascii() or not message_id.isprintable() or len(message_id) > 64:
            raise ValueError(cursor)
        if not 0 <= at < 2**62:
            raise ValueError(cursor)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Invalid("cursor is not a cursor this server made", field="cursor") from None
    return at, message_id


def _in_list(name: str, values: tuple[str, ...] | list[str]) -> tuple[str, dict[str, object]]:
    params = {f"{name}{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(":" + k for k in params) + ")", dict(params)


def _ids(tx: Tx, sql: str, me: str) -> list[str]:
    return [str(r[0]) for r in tx.fetchall(sql, {"me": me})]


def _room_ids_named(tx: Tx, me: str, names: tuple[str, ...], everywhere: bool) -> list[str]:
    """Rooms the user may search whose name is one of `names` (case-folded), compared here
    so both engines fold the same way."""
    public = " OR (visibility = 'public' AND kind = 'room')" if everywhere else ""
    rows = tx.fetchall(
        "SELECT id, name FROM rooms WHERE id IN (SELECT room_id FROM members WHERE user_id = :me)"
        + public,
        {"me": me},
    )
    return [r[0] for r in rows if str(r[1]).casefold() in names]


@dataclass(frozen=True, slots=True)
class SearchService:
    uow: UnitOfWork

    async def search(
        self,
        me: User,
        query: str,
        room_id: str | None = None,
        scope: Scope = "member",
        limit: int = SEARCH_LIMIT_DEFAULT,
        cursor: str | None = None,
    ) -> SearchPage:
        """Messages matching `query` that `me` may see, newest first, at most `limit`, after
        `cursor` (a page's `next_cursor`: pages stay put while new messages arrive).

        Raises InvalidSearchQuery for a query that cannot run (422), Invalid for a bad
        limit or cursor, RoomNotFound for a `room_id` they may not see.
        """
        if not 1 <= limit <= SEARCH_LIMIT_MAX:
            raise Invalid(f"limit must be 1..{SEARCH_LIMIT_MAX}", field="limit")
        if me.bot:
            scope = "member"  # bots see only the rooms they were added to
        try:
            plan = parse_query(query)
        except QueryError as exc:
            raise InvalidSearchQuery(str(exc), field="q") from None
        if plan.is_empty:
            raise InvalidSearchQuery("Search for at least one word or filter", field="q")
        after = None if cursor is None else _parse_cursor(cursor)

        def fn(tx: Tx) -> SearchPage:
            found = self._run(tx, me, plan, room_id, scope, limit, after)
            rooms = self._rooms(tx, {m.room_id for m in found})
            hits = [Hit(m, rooms[m.room_id], highlights(m.text, plan)) for m in found]
            more = len(found) == limit
            return SearchPage(hits, _cursor(found[-1]) if more else None)

        return await self.uow.read(fn)

    @staticmethod
    def _run(
        tx: Tx,
        me: User,
        plan: Plan,
        room_id: str | None,
        scope: Scope,
        limit: int,
        after: tuple[int, str] | None,
    ) -> list[Message]:
        clauses: list[str] = []
        params: dict[str, object] = {"me": me.id}
        narrow: str | None = None  # one author: the index may walk their messages
        newest: int | None = None  # an upper bound on created_at (the index starts there)
        # Every room the clauses may let through (the index reads each room's matches).
        rooms: set[str]
        if room_id is not None:
            room_access(tx, room_id, me.id)  # RoomNotFound unless they may read it
            clauses.append("d.room_id = :room")
            params["room"] = room_id
            rooms = {room_id}
        elif scope == "all":
            clauses.append(f"({_MINE} OR {_PUBLIC})")
            rooms = set(_ids(tx, _MINE_IDS, me.id)) | set(_ids(tx, _PUBLIC_IDS, me.id))
        else:
            clauses.append(_MINE)
            rooms = set(_ids(tx, _MINE_IDS, me.id))
        if plan.in_rooms:
            ids = _room_ids_named(tx, me.id, plan.in_rooms, scope == "all")
            if not ids:
                return []
            sql, extra = _in_list("s_room", ids)
            clauses.append(f"d.room_id IN {sql}")
            params.update(extra)
            rooms &= set(ids)
        if plan.from_users:
            # Their ids first: one author is then an equality the index can walk in order.
            sql, extra = _in_list("s_name", plan.from_users)
            rows = tx.fetchall(f"SELECT id FROM users WHERE username_key IN {sql}", extra)
            if not rows:
                return []
            sql, extra = _in_list("s_user", sorted(str(r[0]) for r in rows))
            clauses.append(f"d.author_id IN {sql}")
            params.update(extra)
            narrow = "author" if len(rows) == 1 else narrow
        if plan.before_ms is not None:
            clauses.append("d.created_at < :s_before")
            params["s_before"] = plan.before_ms
            newest = plan.before_ms - 1
        if plan.after_ms is not None:
            clauses.append("d.created_at >= :s_after")
            params["s_after"] = plan.after_ms
        if after is not None:
            clauses.append(
                "(d.created_at < :c_at OR (d.created_at = :c_at AND d.message_id < :c_id))"
            )
            params.update(c_at=after[0], c_id=after[1])
            newest = after[0] if newest is None else min(newest, after[0])
        where = " AND ".join(clauses)
        found = search_q.list_matching(
            tx, plan, where, params, limit, rooms=sorted(rooms), newest=newest, narrow=narrow
        )
        if not found:
            return []
        sql, hit_ids = _in_list("s_hit", found)
        # Hits are live when found, in this same snapshot; deleted = FALSE is belt and braces.
        return messages_q.list_where(
            tx,
            f"m.id IN {sql} AND m.deleted = FALSE",
            hit_ids,
            "m.created_at DESC, m.id DESC",
            limit,
            me.id,
        )

    @staticmethod
    def _rooms(tx: Tx, ids: set[str]) -> dict[str, HitRoom]:
        if not ids:
            return {}
        sql, params = _in_list("r", sorted(ids))
        rows = tx.fetchall(f"SELECT id, name, kind FROM rooms WHERE id IN {sql}", params)
        return {r[0]: HitRoom(r[0], r[1], r[2]) for r in rows}

    async def backfill(self) -> int:
        """Index the next batch of messages older than the index (one short transaction);
        return how many were looked at: 0 once every message is indexed. Idempotent, and
        safe on several nodes at once."""

        def fn(tx: Tx, outbox: Outbox) -> int:
            return search_q.backfill_batch(tx)

        return await self.uow.write(fn)

    async def backfill_all(self) -> int:
        """Run `backfill` until it is done; return how many messages it looked at."""
        total = 0
        while done := await self.backfill():
            total += done
        return total
