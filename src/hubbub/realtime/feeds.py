"""Feeds: one client connection's events, first those stored after its cursor, then live ones,
each durable event once, in position order. Every transport reads one (web/stream.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from hubbub.errors import CursorExpired, Unauthenticated
from hubbub.events import Event, SessionsRevoked
from hubbub.models import User
from hubbub.realtime.cursors import cursor, parse_cursor
from hubbub.realtime.frames import Frame, event_frame, hello_frame
from hubbub.realtime.hub import Hub
from hubbub.realtime.subscriptions import SessionEnded, Subscription
from hubbub.store import Store, Tx
from hubbub.store.events import bounds, head, list_for_user
from hubbub.store.rooms import list_room_ids_of
from hubbub.store.sessions import session_exists

__all__ = ["CATCH_UP_PAGE", "Feed", "Feeds"]

CATCH_UP_PAGE = 500


class Feed:
    """A subscription seen from a transport: first the stored events after the cursor, then
    live ones; each durable event once, in position order."""

    def __init__(self, feeds: Feeds, sub: Subscription, start: int) -> None:
        self._feeds = feeds
        self.sub = sub
        self.sub.last_pos = start
        self._caught_up = False

    @property
    def cursor(self) -> str:
        """The cursor of the last durable event delivered (or of the start)."""
        return cursor(self._feeds.hub.deployment_id, self.sub.last_pos)

    def hello(self) -> Frame:
        """The stream's first frame: live from here, after this cursor."""
        return hello_frame(self.cursor)

    async def next(self, max_wait: float) -> list[Frame]:
        """The next frames, waiting up to `max_wait` seconds; [] if none came.

        Raises SlowConsumer if the live buffer overflowed.
        """
        while not self._caught_up:
            frames = await self._catch_up_page()
            if frames:
                return frames
        frames = self.sub.take()
        if frames:
            return frames
        await self.sub.wait(max_wait)
        return self.sub.take()

    async def _catch_up_page(self) -> list[Frame]:
        after = self.sub.last_pos
        user_id = self.sub.user.id

        def read(tx: Tx) -> tuple[list[Event], int] | None:
            if after < bounds(tx)[0]:
                return None  # retention pruned events this feed has not delivered yet
            return list_for_user(tx, user_id=user_id, after=after, limit=CATCH_UP_PAGE)

        page = await self._feeds.store.read(read)
        if page is None:
            raise CursorExpired("The events after this cursor were pruned: fetch state again")
        events, upto = page
        hub = self._feeds.hub
        for event in events:
            body = event.body
            if isinstance(body, SessionsRevoked) and self.sub.session_id in body.session_ids:
                raise SessionEnded
        frames = [event_frame(e, hub.deployment_id, hub.links) for e in events]
        self.sub.last_pos = max(after, upto)
        # Caught up once the database has nothing the hub has not already dispatched: every
        # later event reaches the live buffer.
        self._caught_up = upto >= hub.pos
        return frames


@dataclass(frozen=True, slots=True)
class Feeds:
    store: Store
    hub: Hub
    max_buffer: int = 1000

    def start_position(self, since: str | None) -> int | None:
        """The position a cursor stands for; None for "from now". Raises CursorExpired."""
        if since is None:
            return None
        pos = parse_cursor(since, self.hub.deployment_id)
        if pos is None:
            raise CursorExpired("This cursor is not from this server: fetch state again")
        return pos

    @asynccontextmanager
    async def open(self, me: User, session_id: str, since: str | None) -> AsyncIterator[Feed]:
        """`subscribe` for the duration of the block."""
        feed = await self.subscribe(me, session_id, since)
        try:
            yield feed
        finally:
            self.close(feed)

    def close(self, feed: Feed) -> None:
        """End a feed `subscribe` made."""
        self.hub.unregister(feed.sub)

    async def subscribe(self, me: User, session_id: str, since: str | None) -> Feed:
        """Subscribe `me` (signed in with `session_id`) from `since` (None: from now); the
        caller must `close` the feed. (The WebSocket stream calls this rather than `open`: a
        generator frame per connection, for hours, is memory an idle connection need not hold.)

        Subscribes to live events first, then reads the head (and the user's rooms, if this
        is their first connection to the node) and checks the session in one snapshot, so
        nothing committed in between is missed and a session ended meanwhile cannot slip
        through. Raises CursorExpired for a cursor it cannot resume, TooManyStreams past the
        per-user cap, Unauthenticated if the session has ended.
        """
        start = self.start_position(since)
        sub = Subscription(me, session_id, self.max_buffer)
        needs_rooms = self.hub.register(sub)
        try:

            def load(tx: Tx) -> tuple[list[str] | None, tuple[int, int], bool]:
                rooms = list_room_ids_of(tx, me.id) if needs_rooms else None
                return rooms, bounds(tx), session_exists(tx, session_id)

            rooms, (floor, now), signed_in = await self.store.read(load)
            if not signed_in:
                raise Unauthenticated("The token is invalid or signed out")
            if start is not None and start > now:
                raise CursorExpired("This cursor is ahead of the server: fetch state again")
            if start is not None and start < floor:
                raise CursorExpired("This cursor is older than the kept events: fetch state again")
            if rooms is not None:
                self.hub.set_rooms(me, rooms, now)
            return Feed(self, sub, now if start is None else start)
        except BaseException:
            self.hub.unregister(sub)
            raise

    async def head_cursor(self) -> str:
        """The cursor of the newest committed event: where a stream "from now" starts."""
        return cursor(self.hub.deployment_id, await self.store.read(head))
