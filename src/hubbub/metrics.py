"""Prometheus instruments for one app, in a registry of its own (tests build many apps).

Every label has a bounded set of values: route templates (never raw paths or ids), HTTP
methods, status codes, the three transports. Hot paths touch pre-bound children only; state
that already lives somewhere (hub subscriptions, bus state) is read when scraped, not kept.

Wiring (app.py): `Metrics()` in create_app; in the lifespan `instrument_store`,
`instrument_bus` (before the hub gets the bus), `watch_hub`, then `start` ... `stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hubbub import __version__
from hubbub.bus import Bus, BusHandler
from hubbub.events import Ephemeral, Event
from hubbub.store.batching import BatchWriter
from hubbub.store.engine import Engine, TxFn

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from hubbub.realtime.hub import Hub
    from hubbub.services.authcache import AuthCache
    from hubbub.services.consumers import LogConsumer
    from hubbub.services.email import MailCounts
    from hubbub.store import Store

__all__ = ["TRANSPORTS", "Metrics", "PushMetrics", "TimedBus", "TimedEngine", "TransportMetrics"]

T = TypeVar("T")

TRANSPORTS = ("websocket", "sse", "longpoll")
# Seconds. Long-polls and SSE streams last up to a minute, hence the top buckets.
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
LOOP_LAG_INTERVAL = 0.25  # seconds between event-loop lag samples


class TransportMetrics:
    """The instruments of one real-time transport (web/stream.py uses these)."""

    def __init__(self, metrics: Metrics, transport: str) -> None:
        self.delivered = metrics.events_delivered.labels(transport)
        self.open = metrics.connections_open.labels(transport)
        self.slow_consumers = metrics.slow_consumers.labels(transport)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[None]:
        """Count one open connection for the duration of the block."""
        self.open.inc()
        try:
            yield
        finally:
            self.open.dec()


PUSH_FAILURES = ("gone", "failed", "refused", "gave_up")


class PushMetrics:
    """Web Push (services/pushsender.py reports here, as its PushObserver)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._sent = Counter(
            "hubbub_push_sent", "Web Pushes the push services accepted", registry=registry
        )
        failed = Counter(
            "hubbub_push_failed",
            "Web Pushes not delivered, by reason: gone (404/410: the subscription is deleted),"
            " failed (another answer), refused (the SSRF guard), gave_up (retried too long)",
            ["reason"],
            registry=registry,
        )
        self._failed = {reason: failed.labels(reason) for reason in PUSH_FAILURES}
        self._retried = Counter(
            "hubbub_push_retried",
            "Web Pushes put back for another try (429, 5xx, network errors)",
            registry=registry,
        )
        self._size = Gauge(
            "hubbub_push_queue_size", "Web Pushes queued (due or waiting)", registry=registry
        )
        self._lag = Gauge(
            "hubbub_push_queue_lag_seconds",
            "Age of the oldest queued Web Push's message (0: the queue is empty)",
            registry=registry,
        )

    def sent(self) -> None:
        self._sent.inc()

    def failed(self, reason: str) -> None:
        self._failed.get(reason, self._failed["failed"]).inc()

    def retried(self) -> None:
        self._retried.inc()

    def queue(self, size: int, oldest_age_s: float) -> None:
        self._size.set(size)
        self._lag.set(oldest_age_s)


class Metrics:
    """The registry and every instrument of one app."""

    def __init__(self) -> None:
        # `*_created` samples double the series count and Prometheus does not use them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # CPU, memory, fds, start time
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        Gauge("hubbub_build_info", "hubbub's version", ["version"], registry=registry).labels(
            __version__
        ).set(1)

        self.http_duration = Histogram(
            "hubbub_http_request_duration_seconds",
            "HTTP requests by route template, method and status, from the first byte in to "
            "the last byte out (long-polls and SSE streams included: they last long)",
            ["route", "method", "status"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        # HTTP requests being served: a plain int (the middleware counts on the event loop,
        # no lock), exported at scrape time as hubbub_http_requests_in_flight.
        self.requests_in_flight = 0
        self.messages_stored = Counter(
            "hubbub_messages_stored",
            "Messages committed by this node (classic posts and v1 sends)",
            registry=registry,
        )
        self.events_delivered = Counter(
            "hubbub_events_delivered",
            "Events written to clients, by transport",
            ["transport"],
            registry=registry,
        )
        self.connections_open = Gauge(
            "hubbub_connections_open",
            "Open real-time connections (waiting long-polls included), by transport",
            ["transport"],
            registry=registry,
        )
        self.slow_consumers = Counter(
            "hubbub_slow_consumer_disconnects",
            "Real-time connections ended because the client fell too far behind",
            ["transport"],
            registry=registry,
        )
        self.commit_batch_size = Histogram(
            "hubbub_db_commit_batch_size",
            "Writes per group-commit transaction",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.commit_duration = Histogram(
            "hubbub_db_commit_duration_seconds",
            "Time to run and commit one group-commit batch (fsync included)",
            buckets=FAST_BUCKETS,
            registry=registry,
        )
        self.db_duration = Histogram(
            "hubbub_db_query_duration_seconds",
            "Database calls as callers wait for them (queueing included), by operation",
            ["operation"],
            buckets=FAST_BUCKETS,
            registry=registry,
        )
        self.bus_publish_duration = Histogram(
            "hubbub_bus_publish_duration_seconds",
            "Publishing to the event bus (local dispatch included), by kind",
            ["kind"],
            buckets=FAST_BUCKETS,
            registry=registry,
        )
        self.delivery_lag = Histogram(
            "hubbub_event_delivery_lag_seconds",
            "From an event's commit to its dispatch to this node's subscribers",
            buckets=FAST_BUCKETS,
            registry=registry,
        )
        self.loop_lag = Histogram(
            "hubbub_event_loop_lag_seconds",
            f"How late the event loop wakes a {LOOP_LAG_INTERVAL} s sleep",
            buckets=FAST_BUCKETS,
            registry=registry,
        )
        self.retention_erased = Counter(
            "hubbub_retention_erased",
            "Rows the retention sweep removed: messages past their room's window, events past "
            "HUBBUB_EVENT_RETENTION",
            ["kind"],
            registry=registry,
        )
        self.retention_last_run = Gauge(
            "hubbub_retention_last_run_timestamp_seconds",
            "When this node's retention sweep last finished",
            registry=registry,
        )
        self.push = PushMetrics(registry)
        self.transports = {name: TransportMetrics(self, name) for name in TRANSPORTS}
        self._state = _StateCollector(self)
        registry.register(self._state)
        self._lag_task: asyncio.Task[None] | None = None
        self._server: WSGIServer | None = None

    # -- wiring (app.py) -----------------------------------------------------------------------

    def instrument_store(self, store: Store) -> None:
        """Time the store's reads and writes, and observe its group commits."""
        writer = getattr(store.engine, "writer", None)
        if isinstance(writer, BatchWriter):
            writer.on_commit = self._observe_commit
        store.engine = TimedEngine(store.engine, self)

    def instrument_bus(self, bus: Bus) -> TimedBus:
        """The bus, timed; it also counts the messages this node stores (from the
        message.created events it publishes: no extra query)."""
        self._state.bus = bus
        return TimedBus(bus, self)

    def observe_retention(self, messages: int, events: int, now_ms: int) -> None:
        self.retention_erased.labels("messages").inc(messages)
        self.retention_erased.labels("events").inc(events)
        self.retention_last_run.set(now_ms / 1000)

    def watch_hub(self, hub: Hub) -> None:
        hub.lag_observer = self.delivery_lag.observe
        self._state.hub = hub

    def watch_auth_cache(self, cache: AuthCache) -> None:
        """Bearer-token cache hits and misses (#21)."""
        self._state.auth_cache = cache

    def watch_email(self, counts: MailCounts, consumer: LogConsumer) -> None:
        """Missed-message email (#18): mails sent, failed and retried, and queue lag."""
        self._state.mail = counts
        self._state.mail_consumer = consumer

    async def start(self, host: str, metrics_port: int | None) -> None:
        """Start the event-loop lag probe, and the /metrics listener on `metrics_port` if
        one is given (a thread of prometheus-client's; it only reads thread-safe values)."""
        self._lag_task = asyncio.create_task(self._watch_loop_lag(), name="hubbub-loop-lag")
        if metrics_port is not None:
            self._server, _ = start_http_server(metrics_port, addr=host, registry=self.registry)

    async def stop(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task
            self._lag_task = None
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server.shutdown)
            server.server_close()

    # -- internals -----------------------------------------------------------------------------

    def _observe_commit(self, size: int, seconds: float) -> None:
        # Called on the writer thread: prometheus-client values are thread-safe.
        self.commit_batch_size.observe(size)
        self.commit_duration.observe(seconds)

    async def _watch_loop_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(LOOP_LAG_INTERVAL)
            self.loop_lag.observe(max(0.0, loop.time() - started - LOOP_LAG_INTERVAL))


class _StateCollector(Collector):
    """State read at scrape time (possibly from the metrics thread: plain attribute reads
    and len() only, which are atomic)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.bus: Bus | None = None
        self.hub: Hub | None = None
        self.mail: MailCounts | None = None
        self.mail_consumer: LogConsumer | None = None
        self.auth_cache: AuthCache | None = None

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "hubbub_http_requests_in_flight",
            "HTTP requests being served",
            value=self.metrics.requests_in_flight,
        )
        yield from self._mail()
        cache = self.auth_cache
        if cache is not None:
            yield CounterMetricFamily(
                "hubbub_auth_cache_hits",
                "Bearer tokens this node authenticated from its cache (no database read)",
                value=cache.hits,
            )
            yield CounterMetricFamily(
                "hubbub_auth_cache_misses",
                "Bearer tokens this node had to look up in the database",
                value=cache.misses,
            )
            yield GaugeMetricFamily(
                "hubbub_auth_cache_entries",
                "Sessions in this node's bearer-token cache",
                value=len(cache),
            )
        bus, hub = self.bus, self.hub
        if bus is not None:
            yield GaugeMetricFamily(
                "hubbub_bus_connected",
                "1 while the event bus is connected, 0 while degraded (delivery falls back "
                "to polling the database)",
                value=1 if bus.state == "connected" else 0,
            )
        if hub is not None:
            yield GaugeMetricFamily(
                "hubbub_stream_users_connected",
                "Users with at least one real-time connection to this node",
                value=len(hub.by_user),
            )
            yield GaugeMetricFamily(
                "hubbub_stream_rooms_watched",
                "Rooms with at least one subscriber on this node",
                value=len(hub.room_users),
            )
            yield CounterMetricFamily(
                "hubbub_hub_frames_queued",
                "Frames the hub put into subscriber buffers",
                value=hub.delivered,
            )
            yield GaugeMetricFamily(
                "hubbub_hub_position",
                "Position of the last event this node dispatched",
                value=hub.pos,
            )

    def _mail(self) -> Iterable[Metric]:
        mail, consumer = self.mail, self.mail_consumer
        if mail is None or consumer is None:
            return
        sent = CounterMetricFamily(
            "hubbub_emails_sent", "Mails the relay took from this node, by kind", labels=["kind"]
        )
        failed = CounterMetricFamily(
            "hubbub_emails_failed",
            "Mails given up on (a confirmation the relay refused; a digest after its last"
            " attempt), by kind",
            labels=["kind"],
        )
        for kind, value in dict(mail.sent).items():
            sent.add_metric([kind], value)
        for kind, value in dict(mail.failed).items():
            failed.add_metric([kind], value)
        yield sent
        yield failed
        yield CounterMetricFamily(
            "hubbub_emails_retried",
            "Digest sends that failed and are to be tried again",
            value=mail.retried,
        )
        yield GaugeMetricFamily(
            "hubbub_email_consumer_lag_seconds",
            "Age of the newest event the email consumer had handled when it handled it",
            value=consumer.lag_ms / 1000,
        )
        oldest = mail.oldest_queued_ms
        yield GaugeMetricFamily(
            "hubbub_email_queue_oldest_timestamp_seconds",
            "When the oldest message waiting for a digest was sent (0: none waits)",
            value=0 if oldest is None else oldest / 1000,
        )


class TimedEngine:
    """An Engine that times every read and write. It implements the Engine interface and
    nothing more: callers that need a backend's extras keep the engine they opened."""

    def __init__(self, inner: Engine, metrics: Metrics) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self._read = metrics.db_duration.labels("read")
        self._write = metrics.db_duration.labels("write")

    async def write(self, fn: TxFn[T]) -> T:
        started = time.perf_counter()
        try:
            return await self.inner.write(fn)
        finally:
            self._write.observe(time.perf_counter() - started)

    async def read(self, fn: TxFn[T]) -> T:
        started = time.perf_counter()
        try:
            return await self.inner.read(fn)
        finally:
            self._read.observe(time.perf_counter() - started)

    async def ping(self) -> None:
        await self.inner.ping()

    async def flush(self) -> None:
        await self.inner.flush()

    async def close(self) -> None:
        await self.inner.close()


class TimedBus:
    """A Bus that times publishing and counts the messages stored by this node."""

    def __init__(self, inner: Bus, metrics: Metrics) -> None:
        self.inner = inner
        self._events = metrics.bus_publish_duration.labels("events")
        self._ephemeral = metrics.bus_publish_duration.labels("ephemeral")
        self._stored = metrics.messages_stored

    @property
    def state(self) -> str:
        return self.inner.state

    async def start(self, handler: BusHandler) -> None:
        await self.inner.start(handler)

    async def publish_events(self, events: list[Event]) -> None:
        stored = sum(1 for e in events if e.type == "message.created")
        if stored:
            self._stored.inc(stored)
        started = time.perf_counter()
        try:
            await self.inner.publish_events(events)
        finally:
            self._events.observe(time.perf_counter() - started)

    async def publish_ephemeral(self, event: Ephemeral) -> None:
        started = time.perf_counter()
        try:
            await self.inner.publish_ephemeral(event)
        finally:
            self._ephemeral.observe(time.perf_counter() - started)

    async def set_online(self, user_id: str, online: bool) -> bool:
        return await self.inner.set_online(user_id, online)

    async def online_among(self, user_ids: list[str]) -> set[str] | None:
        return await self.inner.online_among(user_ids)

    async def close(self) -> None:
        await self.inner.close()
