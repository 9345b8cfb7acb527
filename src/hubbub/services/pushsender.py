"""Sending the queued Web Pushes (#18): a loop on every node, beside the `push` log consumer
that fills the queue (services/push.py).

Each pass claims the due rows nobody holds (store/push.py: one UPDATE ... RETURNING, so two
nodes never claim the same row), reads what each needs *now* (the message and its room and
author, the subscription, the user's read marker and preview choice), and for each row:

- drops it when the message was deleted (or erased), the subscription is gone, the user left
  the room or has already read the message: never a push for what they have read, and never
  a deleted text (the queue holds ids only: the redaction rule);
- when the user is connected (on any node) and the message is younger than
  HUBBUB_PUSH_DELAY, puts it back until then: the open app shows it; a push follows only if
  it is still unread by then;
- else sends it: the payload encrypted for the subscription (aes128gcm), signed with the
  VAPID key, through hubbub.outbound (timeouts, SSRF guard, no redirects).

Answers: 2xx sent (the row goes); 404/410 the subscription is gone at the push service, so
it is deleted here (with its other queued pushes); 429, 5xx and network errors are tried
again with exponential back-off (at least Retry-After), up to GIVE_UP_SECONDS after the
message; any other answer, or a destination the guard refuses, drops the push.

A push is sent at most once per (message, subscription) unless a node dies between the push
service's answer and deleting the row (then the claim lapses, after CLAIM_SECONDS, and the
row is sent again: at-least-once for that window only; RFC 8030's Topic makes the device show
one notification anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import httpx
import orjson

from hubbub.clock import Clock
from hubbub.outbound import OutboundRefused, TooLarge, request
from hubbub.services.consumers import NODE
from hubbub.services.mentions import Online
from hubbub.store import Store, Tx
from hubbub.store import push as push_q
from hubbub.store.push import Due, PushContext
from hubbub.webpush import VapidKey, encrypt, topic

__all__ = [
    "BATCH",
    "GIVE_UP_SECONDS",
    "PREVIEW_CHARS",
    "TTL_SECONDS",
    "PushObserver",
    "PushSender",
    "payload",
]

log = logging.getLogger(__name__)

BATCH = 100  # rows claimed per pass
CLAIM_SECONDS = 120.0  # a claimed row is this node's for this long (then another may take it)
CONCURRENCY = 20  # requests in flight per node
IDLE_SECONDS = 5.0  # with nothing due, look at the queue again after this long at most
RETRY_BASE_SECONDS = 1.0  # first back-off; doubles per attempt
RETRY_MAX_SECONDS = 600.0
GIVE_UP_SECONDS = 3600.0  # a push not delivered this long after its message is dropped
TTL_SECONDS = 86400  # how long the push service keeps a push for a device that is away
PREVIEW_CHARS = 200
THREAD_CRYPTO_AT = 20  # from this many pushes in a pass, encrypt and sign on a thread
ANSWER_MAX_BYTES = 16 * 1024

Outcome = Literal["sent", "gone", "retry", "failed", "refused"]


class PushObserver(Protocol):
    """Where the sender reports (metrics.py's PushMetrics)."""

    def sent(self) -> None: ...

    def failed(self, reason: str) -> None: ...

    def retried(self) -> None: ...

    def queue(self, size: int, oldest_age_s: float) -> None: ...


class _NoObserver:
    def sent(self) -> None:
        pass

    def failed(self, reason: str) -> None:
        pass

    def retried(self) -> None:
        pass

    def queue(self, size: int, oldest_age_s: float) -> None:
        pass


def payload(ctx: PushContext, message_id: str, reason: str) -> bytes:
    """The JSON a push carries (docs/push.md): the room, the author, the message's id and seq,
    why it notifies, where to open it, and a preview of the text unless the user turned
    previews off."""
    body: dict[str, object] = {
        "type": "message",
        "room_id": ctx.room_id,
        "room_name": ctx.author_name if ctx.room_kind == "dm" else ctx.room_name,
        "room_kind": ctx.room_kind,
        "author": ctx.author_name,
        "message_id": message_id,
        "seq": ctx.seq,
        "thread_root": ctx.thread_root,
        "reason": reason,
        "url": f"/#/r/{ctx.room_id}/{ctx.seq}",
    }
    if ctx.preview:
        text = ctx.text
        body["preview"] = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
    return orjson.dumps(body)


def retry_after(value: str | None, now_s: float) -> float:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date); 0 without one."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_MAX_SECONDS)
    with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, min(when.timestamp() - now_s, RETRY_MAX_SECONDS))
    return 0.0


@dataclass(frozen=True, slots=True)
class _Send:
    due: Due
    ctx: PushContext
    endpoint: str
    headers: dict[str, str]
    body: bytes


class PushSender:
    """The sending loop of one node (see the module's doc). `run` until cancelled."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        client: httpx.AsyncClient,
        vapid: Callable[[], Awaitable[VapidKey]],
        online: Online,
        *,
        delay_seconds: float,
        observer: PushObserver | None = None,
        holder: str = NODE,
    ) -> None:
        self.store = store
        self.clock = clock
        self.client = client
        self._vapid = vapid
        self.online = online
        self.delay_ms = round(delay_seconds * 1000)
        self.observer: PushObserver = observer or _NoObserver()
        self.holder = holder
        self.wakeup = asyncio.Event()

    def wake(self) -> None:
        self.wakeup.set()

    async def run(self) -> None:
        failures = 0
        while True:
            # Cleared before looking at the queue: a wake-up from here on is not lost.
            self.wakeup.clear()
            try:
                handled = await self.send_due()
                failures = 0
            except Exception:
                failures += 1
                delay = min(60.0, 0.5 * 2**failures)
                log.warning("push sender failed; again in %.1fs", delay, exc_info=True)
                await self.clock.sleep(delay)
                continue
            if handled >= BATCH:
                continue
            await self._idle()

    async def _idle(self) -> None:
        now = self.clock.now_ms()
        nxt = await self.store.read(push_q.next_look)
        size, oldest = await self.store.read(push_q.queue_size)
        self.observer.queue(size, 0.0 if oldest is None else max(0.0, (now - oldest) / 1000))
        wait = IDLE_SECONDS if nxt is None else min(IDLE_SECONDS, max(0.05, (nxt - now) / 1000))
        sleeper = asyncio.ensure_future(self.clock.sleep(wait))
        woken = asyncio.ensure_future(self.wakeup.wait())
        try:
            await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            woken.cancel()

    async def send_due(self) -> int:
        """One pass: claim what is due, decide, send, record. Returns how many rows it
        claimed."""
        now = self.clock.now_ms()
        first = await self.store.read(push_q.next_look)
        if first is None or first > now:  # nothing to claim: no write
            return 0
        claimed = await self.store.write(
            functools.partial(
                push_q.claim_due,
                holder=self.holder,
                now_ms=now,
                until_ms=now + round(CLAIM_SECONDS * 1000),
                limit=BATCH,
            )
        )
        if not claimed:
            return 0
        contexts = await self.store.read(
            lambda tx: [push_q.find_context(tx, d.message_id, d.subscription_id) for d in claimed]
        )
        young = {
            d.user_id
            for d, ctx in zip(claimed, contexts, strict=True)
            if ctx is not None and now < d.created_at + self.delay_ms
        }
        online = await self.online.online_among(sorted(young)) if young else set()
        drop: list[Due] = []
        later: list[tuple[Due, int]] = []
        ready: list[tuple[Due, PushContext]] = []
        for d, ctx in zip(claimed, contexts, strict=True):
            if ctx is None or ctx.is_read or not ctx.is_member:
                drop.append(d)
            elif d.user_id in online and now < d.created_at + self.delay_ms:
                later.append((d, d.created_at + self.delay_ms))
            else:
                ready.append((d, ctx))
        outcomes: list[tuple[_Send, Outcome, float]] = []
        broken: list[Due] = []
        if ready:
            sends, broken = await self._prepare(ready, now)
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(s: _Send) -> tuple[_Send, Outcome, float]:
                async with gate:
                    try:
                        outcome, wait = await self._deliver(s)
                    except Exception:  # not one push's bug holding the batch forever
                        log.exception("push to subscription %s failed", s.ctx.subscription.id)
                        outcome, wait = "failed", 0.0
                    return s, outcome, wait

            outcomes = list(await asyncio.gather(*(one(s) for s in sends)))
        done = [*drop, *broken]  # rows to delete
        retry: list[tuple[Due, int]] = []  # rows to try again, when
        gone: list[str] = []  # subscriptions the push service no longer knows
        counted: list[str] = ["failed"] * len(broken)
        give_up = round(GIVE_UP_SECONDS * 1000)
        for send, result, wait in outcomes:
            d = send.due
            outcome: str = result
            if outcome == "retry":
                backoff = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**d.attempts)
                when = now + round(max(backoff, wait) * 1000)
                if when <= d.created_at + give_up:
                    retry.append((d, when))
                    counted.append("retried")
                    continue
                outcome = "gave_up"
            if outcome == "gone":
                gone.append(d.subscription_id)
            else:
                done.append(d)
            counted.append(outcome)
        await self.store.write(functools.partial(self._record, done, later, retry, gone))
        for what in counted:
            if what == "sent":
                self.observer.sent()
            elif what == "retried":
                self.observer.retried()
            else:
                self.observer.failed(what)
        return len(claimed)

    def _record(
        self,
        done: list[Due],
        later: list[tuple[Due, int]],
        retry: list[tuple[Due, int]],
        gone: list[str],
        tx: Tx,
    ) -> None:
        for d in done:
            push_q.delete_queued(tx, d.message_id, d.subscription_id)
        for d, when in later:
            push_q.reschedule(tx, d, self.holder, when, attempted=False)
        for d, when in retry:
            push_q.reschedule(tx, d, self.holder, when, attempted=True)
        for sub_id in gone:
            push_q.delete_subscription(tx, sub_id)

    async def _prepare(
        self, ready: list[tuple[Due, PushContext]], now_ms: int
    ) -> tuple[list[_Send], list[Due]]:
        """Each push's request: encrypted body and signed headers (on a thread for a big
        batch: CPU work); and the rows that cannot be made into one (they are dropped, not
        left to fail the batch again and again)."""
        key = await self._vapid()

        def build() -> tuple[list[_Send], list[Due]]:
            out: list[_Send] = []
            broken: list[Due] = []
            for d, ctx in ready:
                sub = ctx.subscription
                urgent = d.reason in ("dm", "mention")
                headers = {
                    "Authorization": key.authorization(sub.endpoint, now_ms / 1000),
                    "Content-Encoding": "aes128gcm",
                    "Content-Type": "application/octet-stream",
                    "TTL": str(TTL_SECONDS),
                    "Urgency": "high" if urgent else "normal",
                    "Topic": topic(ctx.room_id),
                }
                try:
                    body = encrypt(sub.p256dh, sub.auth, payload(ctx, d.message_id, d.reason))
                except Exception:
                    log.exception("push for subscription %s cannot be encrypted", sub.id)
                    broken.append(d)
                    continue
                out.append(_Send(d, ctx, sub.endpoint, headers, body))
            return out, broken

        if len(ready) >= THREAD_CRYPTO_AT:
            return await asyncio.to_thread(build)
        return build()

    async def _deliver(self, s: _Send) -> tuple[Outcome, float]:
        """Send one push; the outcome, and for a retry the wait the answer asked for."""
        host = s.endpoint.split("/")[2]
        try:
            reply = await request(
                self.client,
                "POST",
                s.endpoint,
                max_bytes=ANSWER_MAX_BYTES,
                headers=s.headers,
                content=s.body,
            )
        except OutboundRefused as exc:
            log.warning("push to %s refused: %s", host, exc)
            return "refused", 0.0
        except TooLarge:
            return "failed", 0.0
        except httpx.HTTPError as exc:
            log.info("push to %s failed (%r); will retry", host, exc)
            return "retry", 0.0
        if 200 <= reply.status < 300:
            return "sent", 0.0
        if reply.status in (404, 410):
            return "gone", 0.0
        if reply.status == 429 or reply.status >= 500:
            wait = retry_after(reply.headers.get("retry-after"), self.clock.now_ms() / 1000)
            return "retry", wait
        log.warning("push service %s answered %d: %r", host, reply.status, reply.body[:200])
        return "failed", 0.0
