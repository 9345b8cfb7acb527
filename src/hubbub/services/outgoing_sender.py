"""Sending what the `outgoing` log consumer queued (services/outgoing.py) to the endpoints.

- In order per endpoint: only the oldest queued event of a hook is ever in flight, and the
  next one goes once it is delivered (or given up). Endpoints do not wait for each other: an
  endpoint that is slow or backing off holds back only itself.
- At least once: an event leaves the queue only after a 2xx answer is recorded; a crash or a
  restart before that sends it again, with the same `id` and `Hubbub-Event-Id`.
- A failure (no answer, a timeout, a non-2xx, a refused address) is retried after
  base * 2^attempt seconds (capped, with jitter) for up to the retry window; after
  `outgoing_disable_after` failures in a row, or past the window, the hook is turned off
  (`disabled_at`, `disabled_reason`), an audit entry is written, and the hook's bot tells
  the hook's owner in a direct message. Its owner turns it back on with a PATCH
  (services/outgoing.py); an attempt in flight when it was turned off counts for nothing.
- The payload is read from the event log at send time (a deleted message's events are
  redacted there), so no text is ever queued or logged.
- A 2xx answer whose JSON body has a "text" posts it in the event's room as the hook's bot,
  once per (hook, event), even when the event is delivered twice (a message idempotency key).
- On a cluster one node sends (a lease in log_consumers, like the consumers').
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import orjson

from hubbub import outbound
from hubbub.config import Settings
from hubbub.errors import DomainError
from hubbub.events import Event
from hubbub.ids import new_id
from hubbub.models import Delivery, OutgoingHook
from hubbub.services.audit import record
from hubbub.services.consumers import NODE
from hubbub.services.messages import MessageService
from hubbub.services.outgoing import sign
from hubbub.services.rooms import RoomService
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import events as events_q
from hubbub.store import outgoing as out_q
from hubbub.store import users as users_q
from hubbub.store.consumers import claim, release

__all__ = ["LEASE", "OutgoingSender"]

log = logging.getLogger(__name__)

LEASE = "outgoing-sender"
ANSWER_MAX_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class _Attempt:
    status: int | None
    seconds: float | None
    error: str | None
    reply_text: str | None


class OutgoingSender:
    def __init__(
        self,
        uow: UnitOfWork,
        settings: Settings,
        client: httpx.AsyncClient,
        frame: Callable[[Event], bytes],
        messages: MessageService,
        rooms: RoomService,
        *,
        holder: str = NODE,
        idle_seconds: float = 5.0,
        lease_seconds: float = 30.0,
        parallel: int = 50,
    ) -> None:
        self.uow = uow
        self.settings = settings
        self.client = client
        self.frame = frame
        self.messages = messages
        self.rooms = rooms
        self.holder = holder
        self.idle_seconds = idle_seconds
        self.lease_ms = round(lease_seconds * 1000)
        self.parallel = parallel
        self._wakeup = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._finished: set[str] = set()
        self._renew_at = 0  # ms: the lease is ours until at least then (renewed from then on)

    def wake(self) -> None:
        """Look at the queue now (something was queued, or a delivery finished)."""
        self._wakeup.set()

    async def run(self) -> None:
        """Send forever; cancelled, it stops what is in flight (sent again later) and gives
        the lease up."""
        try:
            while True:
                self._wakeup.clear()
                wait = self.idle_seconds
                try:
                    wait = await self._start_due()
                except Exception:
                    log.warning("outgoing webhooks: sending failed", exc_info=True)
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel
                # that comes as the wake-up does (gh-86296), and shutdown then waits forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, wait)):
                        await self._wakeup.wait()
        finally:
            for task in self._running.values():
                task.cancel()
            await asyncio.gather(*self._running.values(), return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.uow.store.write(
                    functools.partial(release, name=LEASE, holder=self.holder)
                )

    async def _claim(self) -> bool:
        """Hold the sending lease: renewed once a third of it has run (not on every round,
        which would cost a write per delivery)."""
        now = self.uow.clock.now_ms()
        if now < self._renew_at:
            return True
        pos = await self.uow.store.write(
            functools.partial(
                claim,
                name=LEASE,
                holder=self.holder,
                now_ms=self.uow.clock.now_ms(),
                lease_ms=self.lease_ms,
            )
        )
        self._renew_at = now + self.lease_ms // 3 if pos is not None else 0
        return pos is not None

    async def _start_due(self) -> float:
        """Start a delivery for each hook whose head is due and not in flight; return how
        long to wait before the next falls due (at most idle_seconds)."""
        self._finished.clear()
        heads = await self.uow.read(functools.partial(out_q.due_heads, limit=500))
        if not heads:
            return self.idle_seconds  # nothing to send: no lease needed (and no write)
        if not await self._claim():
            return self.lease_ms / 3000  # another node sends
        now = self.uow.clock.now_ms()
        wait = self.idle_seconds
        for head in heads:
            if head.hook_id in self._running or head.hook_id in self._finished:
                continue  # in flight, or done while we read (this head may be stale)
            if head.next_at > now:
                wait = min(wait, (head.next_at - now) / 1000)
                continue
            if len(self._running) >= self.parallel:
                break
            task = asyncio.create_task(self.deliver(head), name=f"outgoing-{head.hook_id}")
            self._running[head.hook_id] = task
            task.add_done_callback(functools.partial(self._done, head.hook_id))
        return wait

    def _done(self, hook_id: str, task: asyncio.Task[None]) -> None:
        self._running.pop(hook_id, None)
        self._finished.add(hook_id)
        if not task.cancelled() and task.exception() is not None:
            log.warning("outgoing webhook %s: delivery failed", hook_id, exc_info=task.exception())
        self.wake()

    async def deliver(self, head: out_q.Head) -> None:
        """Send the event at the head of a hook's queue once, and record what happened."""

        def look(tx: Tx) -> tuple[bool, tuple[OutgoingHook, str] | None, Event | None, bool]:
            found = out_q.find_hook(tx, head.hook_id)
            event = events_q.event_at(tx, head.pos)
            visible = (
                found is not None
                and event is not None
                and event.room_id is not None
                and out_q.is_member(tx, event.room_id, found[0].bot_id)
            )
            return out_q.is_queued(tx, head.hook_id, head.pos), found, event, visible

        queued, hook_and_secret, event, visible = await self.uow.read(look)
        if not queued or hook_and_secret is None:
            return  # delivered meanwhile (a stale head), or the hook is gone
        hook, secret = hook_and_secret
        if hook.disabled_at is not None:
            return
        if event is None or event.room_id is None:
            await self._finish(hook, head, _Attempt(None, None, "event no longer stored", None))
            return
        room_id = event.room_id
        if not visible:
            await self._finish(hook, head, _Attempt(None, None, "no longer in the room", None))
            return
        attempt = await self._send(hook, secret, event)
        posted_error = None
        if attempt.reply_text is not None and attempt.error is None:
            posted_error = await self._reply(hook, head, room_id, attempt.reply_text)
        if posted_error is not None:
            attempt = _Attempt(attempt.status, attempt.seconds, posted_error, None)
        await self._finish(hook, head, attempt)

    async def _send(self, hook: OutgoingHook, secret: str, event: Event) -> _Attempt:
        body = self.frame(event)
        t = self.uow.clock.now_ms() // 1000
        cursor = orjson.loads(body)["id"]
        headers = {
            "Content-Type": "application/json",
            "Hubbub-Signature": sign(secret, t, body),
            "Hubbub-Event-Id": cursor,
        }
        try:
            reply = await outbound.request(
                self.client,
                "POST",
                hook.url,
                content=body,
                headers=headers,
                max_bytes=ANSWER_MAX_BYTES,
                timeout=self.settings.outgoing_timeout_seconds,
            )
        except outbound.OutboundRefused as exc:
            return _Attempt(None, None, f"refused: {exc}", None)
        except outbound.TooLarge:
            return _Attempt(None, None, f"answer longer than {ANSWER_MAX_BYTES} bytes", None)
        except httpx.TimeoutException:
            return _Attempt(None, None, "timed out", None)
        except httpx.HTTPError as exc:
            return _Attempt(None, None, f"{type(exc).__name__}", None)
        if not 200 <= reply.status < 300:
            return _Attempt(reply.status, reply.seconds, f"HTTP {reply.status}", None)
        return _Attempt(reply.status, reply.seconds, None, _reply_text(reply.body))

    async def _reply(
        self, hook: OutgoingHook, head: out_q.Head, room_id: str, text: str
    ) -> str | None:
        """Post the answer's text as the hook's bot, once per (hook, event); an error as text
        for the delivery log, or None."""
        bot = await self.uow.read(lambda tx: users_q.find_user_by_id(tx, hook.bot_id))
        if bot is None:
            return "reply not posted: the bot is gone"
        text = text[: self.settings.message_text_max]
        try:
            await self.messages.send(
                bot, room_id, text, idempotency_key=f"outgoing:{hook.id}:{head.pos}"
            )
        except DomainError as exc:
            return f"reply not posted: {exc.code}"
        return None

    async def _finish(self, hook: OutgoingHook, head: out_q.Head, attempt: _Attempt) -> None:
        now = self.uow.clock.now_ms()
        delivered = attempt.status is not None and 200 <= attempt.status < 300
        gone = attempt.status is None and attempt.error in (
            "event no longer stored",
            "no longer in the room",
        )
        disabled: list[str] = []

        def fn(tx: Tx, outbox: Outbox) -> None:
            current = out_q.find_hook(tx, hook.id)
            if current is None:
                return  # deleted meanwhile: nothing more to record
            outcome: str
            if current[0].disabled_at is not None or not out_q.is_queued(tx, hook.id, head.pos):
                # Turned off (and maybe on again) while this was in flight: its queue was
                # dropped, so this attempt changes nothing; a failure must not count against
                # it (nor overwrite who turned it off, and why).
                outcome = "delivered" if delivered else "dropped"
            elif delivered:
                out_q.mark_delivered(tx, hook.id, head.pos)
                outcome = "delivered"
            elif gone:
                out_q.drop_head(tx, hook.id, head.pos)
                outcome = "dropped"
            else:
                delay = self._delay(head.attempts)
                failures = out_q.mark_failed(tx, hook.id, head.pos, now + round(delay * 1000))
                window_ms = self.settings.outgoing_retry_window_seconds * 1000
                if failures >= self.settings.outgoing_disable_after:
                    reason = f"{failures} failed deliveries in a row (last: {attempt.error})"
                elif now + delay * 1000 - head.first_at > window_ms:
                    reason = f"an event undelivered for the retry window (last: {attempt.error})"
                else:
                    reason = ""
                if reason:
                    out_q.disable_hook(tx, hook.id, now, reason)
                    bot = users_q.find_user_by_id(tx, hook.bot_id)
                    record(tx, outbox, bot, "outgoing_webhook.disable", hook.id, reason)
                    disabled.append(reason)
                    outcome = "failed"
                else:
                    outcome = "retry"
            out_q.log_delivery(
                tx,
                Delivery(
                    new_id("od", now),
                    hook.id,
                    head.pos,
                    head.attempts + 1,
                    now,
                    attempt.status,
                    None if attempt.seconds is None else round(attempt.seconds * 1000),
                    attempt.error,
                    outcome,  # type: ignore[arg-type]
                ),
            )

        await self.uow.write(fn)
        if disabled:
            await self._notify_owner(hook, disabled[0])

    def _delay(self, attempts: int) -> float:
        base = self.settings.outgoing_retry_base_seconds
        delay: float = min(
            self.settings.outgoing_retry_max_seconds, base * 2.0 ** min(attempts, 30)
        )
        return delay * (0.5 + random.random() / 2)

    async def _notify_owner(self, hook: OutgoingHook, reason: str) -> None:
        """The hook's bot tells the hook's owner, in a direct message, that it was turned off."""
        found = await self.uow.read(
            lambda tx: (
                users_q.find_user_by_id(tx, hook.bot_id),
                users_q.find_user_by_id(tx, hook.created_by),
            )
        )
        bot, owner = found
        if bot is None or owner is None:
            return
        where = (
            "in the room's settings (Outgoing webhooks)"
            if hook.kind == "room"
            else f"with PATCH /api/v1/bots/{bot.username}/subscriptions/{hook.id}"
        )
        text = (
            f"Outgoing webhook {hook.id} to {hook.url} was turned off: {reason}. "
            f"Turn it back on {where} once the endpoint works."
        )
        try:
            dm, _ = await self.rooms.open_dm(bot, owner.username)
            await self.messages.send(bot, dm.id, text[: self.settings.message_text_max])
        except DomainError:
            log.warning("outgoing webhook %s: could not tell its owner", hook.id, exc_info=True)


def _reply_text(body: bytes) -> str | None:
    """The "text" of a JSON object answer (Slack's outgoing-webhook reply), if any."""
    if not body.lstrip().startswith(b"{"):
        return None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    text = value.get("text") if isinstance(value, dict) else None
    return text if isinstance(text, str) and text.strip() else None
