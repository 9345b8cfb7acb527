"""The per-node hub: puts every committed event, in position order, into the subscriptions of
the users who receive it; and ephemeral events (typing, presence) into those of room members.

Ordering: the hub dispatches only position `pos + 1`. Positions are gapless and committed in
order (store/events.py), so a gap means an announcement is late or lost: the hub then reads
the missing range from the database. It also polls the database every `poll_interval`, so a
lost doorbell (a bus outage) delays delivery by at most that long and never loses an event.
Each event is serialised once, whatever the number of recipients.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from hubbub.bus.base import Bus
from hubbub.clock import Clock, Timer
from hubbub.events import Ephemeral, Event, MemberJoined, MemberLeft, Presence
from hubbub.models import User
from hubbub.realtime.frames import Frame, ephemeral_frame, event_frame
from hubbub.store import Store
from hubbub.store.events import head, list_after

__all__ = ["Hub", "SlowConsumer", "Subscription"]

log = logging.getLogger(__name__)

FILL_PAGE = 1000


class SlowConsumer(Exception):
    """The subscription's buffer overflowed: its client must reconnect with its cursor."""


class Subscription:
    """One client connection's view of the stream: a bounded buffer of frames.

    Durable frames at or below `last_pos` (already delivered, or before the start) are dropped
    when taken, so catch-up from the database and live delivery never double an event.
    """

    def __init__(self, user: User, max_buffer: int) -> None:
        self.user = user
        self.rooms: set[str] = set()
        self.last_pos = 0
        self.max_buffer = max_buffer
        self.overflowed = False
        self._queue: deque[Frame] = deque()
        self._ready = asyncio.Event()
        # Membership changes seen before the room set was loaded: (pos, room, joined?).
        self._early_changes: list[tuple[int, str, bool]] | None = []

    def start_rooms(self, rooms: Iterable[str], as_of: int) -> set[str]:
        """Take `rooms` (membership as of position `as_of`) plus the changes noted since, as
        this subscription's rooms; from now on changes apply directly."""
        current = set(rooms)
        for pos, room_id, joined in self._early_changes or ():
            if pos > as_of:
                (current.add if joined else current.discard)(room_id)
        self._early_changes = None
        self.rooms = current
        return current

    def note_membership(self, pos: int, room_id: str, *, joined: bool) -> None:
        """The user joined or left `room_id` at position `pos`."""
        if self._early_changes is not None:
            self._early_changes.append((pos, room_id, joined))
        (self.rooms.add if joined else self.rooms.discard)(room_id)

    def offer(self, frame: Frame) -> None:
        if self.overflowed:
            return
        if len(self._queue) >= self.max_buffer:
            self.overflowed = True
            self._queue.clear()
        else:
            self._queue.append(frame)
        self._ready.set()

    def take(self) -> list[Frame]:
        """Every buffered frame not yet delivered, in order. Raises SlowConsumer."""
        if self.overflowed:
            raise SlowConsumer
        out = []
        while self._queue:
            frame = self._queue.popleft()
            if frame.pos is not None:
                if frame.pos <= self.last_pos:
                    continue
                self.last_pos = frame.pos
            out.append(frame)
        self._ready.clear()
        return out

    def wake(self) -> None:
        """Make a pending `wait` return now (e.g. the client went away)."""
        self._ready.set()

    async def wait(self, max_wait: float) -> None:
        """Until something is buffered (or overflow), or `max_wait` seconds pass."""
        if self._queue or self.overflowed:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max_wait):  # no Task per wait, unlike wait_for
                await self._ready.wait()


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
    ) -> None:
        self.store = store
        self.clock = clock
        self.deployment_id = deployment_id
        self.bus = bus
        self.poll_interval = poll_interval
        self.presence_grace = presence_grace
        self.presence_room_max = presence_room_max
        self.pos = 0
        self.by_room: dict[str, set[Subscription]] = {}
        self.by_user: dict[str, set[Subscription]] = {}
        self.delivered = 0  # frames put into subscriptions (for metrics)
        # Metrics: called with seconds from each event's commit to its dispatch here.
        self.lag_observer: Callable[[float], None] | None = None
        self._fill_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._offline_timers: dict[str, Timer] = {}
        self._online: set[str] = set()

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

    # -- subscriptions ---------------------------------------------------------------------

    def register(self, sub: Subscription) -> None:
        """Start receiving the subscriber's own events at once (rooms come with set_rooms)."""
        self.by_user.setdefault(sub.user.id, set()).add(sub)
        timer = self._offline_timers.pop(sub.user.id, None)
        if timer is not None:
            timer.cancel()

    def set_rooms(self, sub: Subscription, rooms: Iterable[str], as_of: int) -> None:
        """Give `sub` its rooms as of position `as_of`, plus changes the hub saw after that."""
        current = sub.start_rooms(rooms, as_of)
        for room_id in current:
            self.by_room.setdefault(room_id, set()).add(sub)
        if sub.user.id not in self._online:  # the first connection: tell the user's rooms
            self._online.add(sub.user.id)
            self._spawn(self._came_online(sub.user, tuple(current)))

    def unregister(self, sub: Subscription) -> None:
        for room_id in sub.rooms:
            members = self.by_room.get(room_id)
            if members is not None:
                members.discard(sub)
                if not members:
                    del self.by_room[room_id]
        subs = self.by_user.get(sub.user.id)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self.by_user[sub.user.id]
            self._offline_timers[sub.user.id] = self.clock.call_later(
                self.presence_grace,
                functools.partial(self._went_offline, sub.user, tuple(sub.rooms)),
            )

    def is_online(self, user_id: str) -> bool:
        return user_id in self._online

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
        targets: set[Subscription] = set()
        for room_id in event.room_ids:
            subs = self.by_room.get(room_id, set())
            # Presence is announced live only in rooms small enough for it to be cheap: in a
            # crowd (the lobby holds everyone) n people connecting would cost n² frames.
            # Clients ask GET /api/v1/presence about the people they show there.
            if isinstance(event.body, Presence) and len(subs) > self.presence_room_max:
                continue
            targets |= subs
        for sub in targets:
            if sub.user.id != event.except_user:
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
        frame = event_frame(event, self.deployment_id)
        subject_subs = self.by_user.get(event.subject, ()) if event.subject else ()
        if isinstance(event.body, MemberJoined):
            for sub in subject_subs:
                sub.note_membership(event.pos, event.room_id, joined=True)
                self.by_room.setdefault(event.room_id, set()).add(sub)
        if event.private:
            targets: Iterable[Subscription] = subject_subs
        elif subject_subs:
            targets = self.by_room.get(event.room_id, set()) | set(subject_subs)
        else:
            targets = self.by_room.get(event.room_id, ())
        for sub in targets:
            sub.offer(frame)
            self.delivered += 1
        if isinstance(event.body, MemberLeft):
            for sub in subject_subs:
                sub.note_membership(event.pos, event.room_id, joined=False)
                members = self.by_room.get(event.room_id)
                if members is not None:
                    members.discard(sub)
                    if not members:
                        del self.by_room[event.room_id]

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
