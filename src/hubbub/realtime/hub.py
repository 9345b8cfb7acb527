"""The per-node hub: puts every committed event, in position order, into the subscriptions of
the users who receive it; and ephemeral events (typing, presence) into those of room members.

Ordering: the hub dispatches only position `pos + 1`. Positions are gapless and committed in
order (store/events.py), so a gap means an announcement is late or lost: the hub then reads
the missing range from the database. It also polls the database every `poll_interval`, so a
lost doorbell (a bus outage) delays delivery by at most that long and never loses an event.
Each event is serialised once, whatever the number of recipients.

Indexes are per *user*, not per connection: the rooms of a connected user are loaded once
(by their first connection) and kept current from their member.* events, so a connection costs
the same whether its user is in 3 rooms or 5,000, and a user's 20 connections share one room
set. A room event goes to the room's connected members, then to each one's subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from hubbub.bus.base import Bus
from hubbub.clock import Clock, Timer
from hubbub.errors import TooManyStreams
from hubbub.events import (
    Ephemeral,
    Event,
    MemberJoined,
    MemberLeft,
    Presence,
    SessionsRevoked,
)
from hubbub.links import FileLinks
from hubbub.models import User
from hubbub.realtime.frames import ephemeral_frame, event_frame
from hubbub.realtime.subscriptions import SessionEnded, Subscription
from hubbub.store import Store
from hubbub.store.events import head, list_after

__all__ = ["Hub"]

log = logging.getLogger(__name__)

FILL_PAGE = 1000


class Hub:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        deployment_id: str,
        bus: Bus,
        *,
        poll_interval: float = 1.0,
        presence_grace: float = 30.0,
        presence_room_max: int = 100,
        streams_per_user: int = 20,
        links: FileLinks | None = None,
    ) -> None:
        self.store = store
        self.links = links  # signs the links to attachments in frames
        self.clock = clock
        self.deployment_id = deployment_id
        self.bus = bus
        self.poll_interval = poll_interval
        self.presence_grace = presence_grace
        self.presence_room_max = presence_room_max
        self.streams_per_user = streams_per_user
        self.pos = 0
        self.by_user: dict[str, set[Subscription]] = {}
        # Connected users only: their rooms, and each room's connected members.
        self.user_rooms: dict[str, set[str]] = {}
        self.room_users: dict[str, set[str]] = {}
        # Users connected but whose rooms are not loaded yet: membership changes seen since
        # their first connection registered, as (pos, room, joined?).
        self._early: dict[str, list[tuple[int, str, bool]]] = {}
        self.delivered = 0  # frames put into subscriptions (for metrics)
        # Metrics: called with seconds from each event's commit to its dispatch here.
        self.lag_observer: Callable[[float], None] | None = None
        # Called with each event as it is dispatched, in position order, whether it came on
        # the bus or from the poll (the auth cache forgets what it makes stale).
        self.event_observers: list[Callable[[Event], None]] = []
        self._fill_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._offline_timers: dict[str, Timer] = {}
        self._online: set[str] = set()
        # Log consumers (services/consumers.py) waiting for this node to dispatch past a point.
        self._waiters: list[asyncio.Future[None]] = []

    async def start(self) -> None:
        self.pos = await self.store.read(head)
        self._spawn(self._poll_forever())

    async def close(self) -> None:
        for timer in self._offline_timers.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def wait_beyond(self, pos: int) -> None:
        """Return once this node has dispatched an event after position `pos`."""
        while self.pos <= pos:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    # -- subscriptions ---------------------------------------------------------------------

    def register(self, sub: Subscription) -> bool:
        """Start receiving the subscriber's own events at once. Returns True if the user's
        rooms must be loaded and given with `set_rooms` (their first connection), False if
        the hub already tracks them. Raises TooManyStreams past the per-user cap."""
        user_id = sub.user.id
        subs = self.by_user.setdefault(user_id, set())
        if len(subs) >= self.streams_per_user:
            if not subs:
                del self.by_user[user_id]
            raise TooManyStreams(
                f"At most {self.streams_per_user} open streams per user: close one first"
            )
        subs.add(sub)
        timer = self._offline_timers.pop(user_id, None)
        if timer is not None:
            timer.cancel()
        if user_id in self.user_rooms:
            return False
        self._early.setdefault(user_id, [])
        return True

    def set_rooms(self, user: User, rooms: Iterable[str], as_of: int) -> None:
        """The user's rooms as of position `as_of`; changes the hub saw after it apply on
        top. Ignored if the hub already tracks the user (another connection loaded them)."""
        early = self._early.pop(user.id, None)
        if early is None or user.id in self.user_rooms or user.id not in self.by_user:
            return
        current = set(rooms)
        for pos, room_id, joined in early:
            if pos > as_of:
                (current.add if joined else current.discard)(room_id)
        self.user_rooms[user.id] = current
        for room_id in current:
            self.room_users.setdefault(room_id, set()).add(user.id)
        if user.id not in self._online:  # the first connection: tell the user's rooms
            self._online.add(user.id)
            self._spawn(self._came_online(user, tuple(current)))

    def unregister(self, sub: Subscription) -> None:
        user_id = sub.user.id
        subs = self.by_user.get(user_id)
        if subs is None:
            return
        subs.discard(sub)
        if subs:
            return
        del self.by_user[user_id]
        self._early.pop(user_id, None)
        rooms = self.user_rooms.pop(user_id, set())
        for room_id in rooms:
            self._leave_room_index(user_id, room_id)
        self._offline_timers[user_id] = self.clock.call_later(
            self.presence_grace, functools.partial(self._went_offline, sub.user, tuple(rooms))
        )

    def streams_of(self, user_id: str) -> int:
        return len(self.by_user.get(user_id, ()))

    def is_online(self, user_id: str) -> bool:
        return user_id in self._online

    # -- presence --------------------------------------------------------------------------

    def _went_offline(self, user: User, rooms: tuple[str, ...]) -> None:
        self._offline_timers.pop(user.id, None)
        if user.id not in self.by_user:
            self._online.discard(user.id)
            self._spawn(self._gone_offline(user, rooms))

    async def _came_online(self, user: User, rooms: tuple[str, ...]) -> None:
        await self.bus.set_online(user.id, True)
        await self._announce_presence(user, True, rooms)

    async def _gone_offline(self, user: User, rooms: tuple[str, ...]) -> None:
        if user.id in self.by_user:  # came back meanwhile
            return
        if not await self.bus.set_online(user.id, False):  # not on another node either
            await self._announce_presence(user, False, rooms)

    async def _announce_presence(self, user: User, online: bool, rooms: tuple[str, ...]) -> None:
        await self.bus.publish_ephemeral(
            Ephemeral(
                self.clock.now_ms(),
                Presence(user.id, user.username, online),
                rooms,
                except_user=user.id,  # their own presence is no news to them
            )
        )

    # -- the bus calls these ---------------------------------------------------------------

    def on_events(self, events: list[Event]) -> None:
        gap = False
        for event in sorted(events, key=lambda e: e.pos):
            if event.pos == self.pos + 1:
                self._dispatch(event)
            elif event.pos > self.pos:
                gap = True
        if gap:
            self._spawn(self.catch_up())

    def on_ephemeral(self, event: Ephemeral) -> None:
        frame = ephemeral_frame(event)
        users: set[str] = set()
        if event.only_user is not None:
            users.add(event.only_user)
        for room_id in event.room_ids:
            members = self.room_users.get(room_id, set())
            # Presence is announced live only in rooms small enough for it to be cheap: in a
            # crowd (the lobby holds everyone) n people connecting would cost n² frames.
            # Clients ask GET /api/v1/presence about the people they show there.
            if isinstance(event.body, Presence) and len(members) > self.presence_room_max:
                continue
            users |= members
        users.discard(event.except_user or "")
        for user_id in users:
            for sub in self.by_user.get(user_id, ()):
                sub.offer(frame)
                self.delivered += 1

    def on_resync(self) -> None:
        self._spawn(self.catch_up())

    async def catch_up(self) -> None:
        """Dispatch every committed event after `pos`, read from the database."""
        async with self._fill_lock:
            while True:
                read = functools.partial(list_after, after=self.pos, limit=FILL_PAGE)
                events = await self.store.read(read)
                for event in events:
                    if event.pos == self.pos + 1:
                        self._dispatch(event)
                if len(events) < FILL_PAGE:
                    return

    # -- internals -------------------------------------------------------------------------

    def _dispatch(self, event: Event) -> None:
        self.pos = event.pos
        if self.lag_observer is not None:
            self.lag_observer(max(0, self.clock.now_ms() - event.ts) / 1000)
        for observer in self.event_observers:
            observer(event)
        body = event.body
        subject = event.subject
        if isinstance(body, MemberJoined) and subject is not None:
            self._note_membership(subject, event.pos, body.room.id, joined=True)
        frame = event_frame(event, self.deployment_id, self.links)
        if isinstance(body, SessionsRevoked):
            ended = set(body.session_ids)
            for sub in list(self.by_user.get(body.user_id, ())):
                if sub.session_id in ended:
                    sub.stop(SessionEnded())
        if isinstance(body, MemberLeft) and body.how != "left" and subject is not None:
            # Removed or banned: nothing more of the room reaches them, not even what is
            # already queued (the member.left itself is the last thing they get).
            for sub in self.by_user.get(subject, ()):
                sub.forget_room(body.room_id)
        if event.everyone:
            users: Iterable[str] = self.by_user.keys()
        elif event.private:
            users = (subject,) if subject is not None else ()
        else:
            members = self.room_users.get(event.room_id or "", set())
            users = members | {subject} if subject is not None else members
        for user_id in users:
            for sub in self.by_user.get(user_id, ()):
                sub.offer(frame)
                self.delivered += 1
        if isinstance(body, MemberLeft) and subject is not None:
            self._note_membership(subject, event.pos, body.room_id, joined=False)
        if self._waiters:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._waiters.clear()

    def _note_membership(self, user_id: str, pos: int, room_id: str, *, joined: bool) -> None:
        early = self._early.get(user_id)
        if early is not None:
            early.append((pos, room_id, joined))
        rooms = self.user_rooms.get(user_id)
        if rooms is None:
            return
        if joined:
            rooms.add(room_id)
            self.room_users.setdefault(room_id, set()).add(user_id)
        else:
            rooms.discard(room_id)
            self._leave_room_index(user_id, room_id)

    def _leave_room_index(self, user_id: str, room_id: str) -> None:
        members = self.room_users.get(room_id)
        if members is not None:
            members.discard(user_id)
            if not members:
                del self.room_users[room_id]

    async def _poll_forever(self) -> None:
        while True:
            await self.clock.sleep(self.poll_interval)
            try:
                await self.catch_up()
            except Exception:  # the database may be briefly unavailable: try again later
                log.warning("event poll failed", exc_info=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
