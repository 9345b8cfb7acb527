"""Log consumers: workers driven by the durable event log (Web Push, missed-message email,
outgoing webhooks).

A `LogConsumer` keeps its place in the log in the database (store/consumers.py), so a restart
resumes where it stopped, and holds a lease there, so that on a cluster exactly one node runs
it. It reads the events after its place a page at a time and hands each page to its handler.
The handler decides what the page means and returns what to write about it (a transaction
function, e.g. rows of a delivery queue) or None; the consumer runs that and moves its place
past the page *in the same transaction*. So whatever a handler enqueues is enqueued exactly
once, even across a crash, a restart or a lease changing hands; sending what was enqueued is
then the handler's own (separate, retrying) business and never holds the log back.

A handler must not do slow outbound work itself: it reads what it needs and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import Protocol

from hubbub.clock import Clock
from hubbub.events import Event
from hubbub.store import Store, Tx
from hubbub.store.consumers import LeaseLost, advance, claim, release
from hubbub.store.events import bounds, list_after

__all__ = ["NODE", "Handler", "LogConsumer", "Wakeups"]

log = logging.getLogger(__name__)

# This process, as the holder of consumer leases.
NODE = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

# What a handler returns: a transaction function to run with the consumer's advance, or None.
Handler = Callable[[list[Event]], Awaitable[Callable[[Tx], None] | None]]


class Wakeups(Protocol):
    """What a consumer needs of the hub: a wake-up when this node sees new events."""

    async def wait_beyond(self, pos: int) -> None: ...


class LogConsumer:
    def __init__(
        self,
        name: str,
        store: Store,
        clock: Clock,
        handle: Handler,
        *,
        wakeups: Wakeups | None = None,
        holder: str = NODE,
        page: int = 500,
        lease_seconds: float = 30.0,
        idle_seconds: float = 5.0,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.store = store
        self.clock = clock
        self.handle = handle
        self.wakeups = wakeups
        self.holder = holder
        self.page = page
        self.lease_ms = round(lease_seconds * 1000)
        self.idle_seconds = idle_seconds
        # Called once what a handler returned has committed (e.g. to wake a sender).
        self.on_commit = on_commit
        self.pos: int | None = None  # where it stands, once it has claimed the lease
        self.lag_ms = 0  # age of the newest event handled when it was handled (metrics)
        self.skipped = 0  # events pruned by retention before this consumer read them

    async def step(self) -> int | None:
        """Claim the lease and handle one page; return how many events it handled, or None
        when another node holds the lease. Raises what the handler raises (nothing moves)."""
        pos = await self.store.write(
            functools.partial(
                claim,
                name=self.name,
                holder=self.holder,
                now_ms=self.clock.now_ms(),
                lease_ms=self.lease_ms,
            )
        )
        if pos is None:
            self.pos = None
            return None
        floor, _ = await self.store.read(bounds)
        if pos < floor:  # retention pruned events this consumer never read: go on after them
            log.warning("consumer %s: events %d..%d were pruned unread", self.name, pos + 1, floor)
            self.skipped += floor - pos
            await self.store.write(
                functools.partial(advance, name=self.name, holder=self.holder, pos=floor)
            )
            pos = floor
        self.pos = pos
        events = await self.store.read(functools.partial(list_after, after=pos, limit=self.page))
        if not events:
            return 0
        also = await self.handle(events)
        last = events[-1]

        def commit(tx: Tx) -> None:
            if also is not None:
                also(tx)
            advance(tx, name=self.name, holder=self.holder, pos=last.pos)

        await self.store.write(commit)
        if also is not None and self.on_commit is not None:
            self.on_commit()
        self.pos = last.pos
        self.lag_ms = max(0, self.clock.now_ms() - last.ts)
        return len(events)

    async def run(self) -> None:
        """Step forever: straight on while there is a backlog, else wait for this node to see
        a new event (or `idle_seconds`, which also renews the lease). Gives the lease up when
        cancelled."""
        failures = 0
        try:
            while True:
                try:
                    handled = await self.step()
                    failures = 0
                except LeaseLost:
                    log.info("consumer %s: lease taken over by another node", self.name)
                    handled = None
                except Exception:
                    failures += 1
                    delay = min(60.0, 0.5 * 2**failures)
                    log.warning(
                        "consumer %s failed; again in %.1fs", self.name, delay, exc_info=True
                    )
                    await self.clock.sleep(delay)
                    continue
                if handled:
                    if handled < self.page:
                        await asyncio.sleep(0)  # let the senders run between pages
                    continue
                if handled is None:  # another node holds it: try again when its lease may lapse
                    await self.clock.sleep(self.lease_ms / 3000)
                    continue
                await self._idle()
        finally:
            if self.pos is not None:
                with contextlib.suppress(Exception):
                    await self.store.write(
                        functools.partial(release, name=self.name, holder=self.holder)
                    )

    async def _idle(self) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep(self.idle_seconds))
        waiters = {sleeper}
        if self.wakeups is not None and self.pos is not None:
            waiters.add(asyncio.ensure_future(self.wakeups.wait_beyond(self.pos)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
