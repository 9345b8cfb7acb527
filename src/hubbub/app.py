"""The composition root: the one place that picks backends and wires services to the web layer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from starlette.types import Receive, Scope, Send

from hubbub import __version__, outbound
from hubbub.blobs import FileStorage
from hubbub.blobs.local import LocalStorage
from hubbub.bus import Bus
from hubbub.bus.memory import MemoryBus
from hubbub.bus.redis import RedisBus
from hubbub.clock import Clock, SystemClock
from hubbub.config import ConfigError, Settings
from hubbub.errors import Unavailable
from hubbub.links import FileLinks
from hubbub.metrics import Metrics
from hubbub.outbound import open_client
from hubbub.realtime import Realtime
from hubbub.realtime.feeds import Feeds
from hubbub.realtime.frames import event_frame
from hubbub.realtime.hub import Hub
from hubbub.realtime.presence import PresenceQuery
from hubbub.services import Services
from hubbub.services.accounts import AccountService
from hubbub.services.activity import ActivityService
from hubbub.services.admin import AdminService
from hubbub.services.audit import AuditService
from hubbub.services.authcache import AuthCache
from hubbub.services.bots import BotService
from hubbub.services.classic import ClassicService
from hubbub.services.commands import CommandService
from hubbub.services.consumers import NODE, LogConsumer
from hubbub.services.email import EmailService
from hubbub.services.erasure import ErasureService
from hubbub.services.exports import ExportService, Wakeup
from hubbub.services.files import FileService
from hubbub.services.health import HealthService
from hubbub.services.invites import InviteService
from hubbub.services.mentions import NOBODY_ONLINE, Online
from hubbub.services.messages import MessageService
from hubbub.services.moderation import ModerationService
from hubbub.services.notifications import NotificationService
from hubbub.services.outgoing import OutgoingService
from hubbub.services.outgoing_sender import OutgoingSender
from hubbub.services.passwords import Passwords
from hubbub.services.pins import PinService
from hubbub.services.push import PushService
from hubbub.services.pushsender import PushSender
from hubbub.services.ratelimits import RateLimits, parse_overrides
from hubbub.services.retention import RetentionService
from hubbub.services.rooms import RoomService
from hubbub.services.search import SearchService
from hubbub.services.sessions import SessionService
from hubbub.services.slackimport import SlackImportService
from hubbub.services.threads import ThreadService
from hubbub.services.unit import UnitOfWork
from hubbub.services.webhooks import WebhookService
from hubbub.store import Engine, Store
from hubbub.store.postgres import PostgresEngine
from hubbub.store.sqlite import SQLiteEngine
from hubbub.web import (
    accounts,
    admin,
    avatars,
    bots,
    client,
    commands,
    conversations,
    docs_ui,
    email,
    exports,
    files,
    health,
    invites,
    messages,
    notifications,
    outgoing,
    push,
    rooms,
    search,
    stream,
    webhooks,
)
from hubbub.web.bodies import BodyLimitMiddleware
from hubbub.web.classic import ClassicRoutes
from hubbub.web.headers import ResponseHeaders
from hubbub.web.observability import Observability
from hubbub.web.openapi import install_openapi, operation_id
from hubbub.web.problems import install_error_handlers

__all__ = ["command_services", "create_app", "open_store"]

log = logging.getLogger(__name__)
EXPORT_POLL_SECONDS = 60.0
EMAIL_POLL_SECONDS = 30.0  # how often the node holding the email consumer looks for digests


async def open_engine(settings: Settings) -> Engine:
    path = settings.sqlite_path
    if path is not None:
        return await SQLiteEngine.open(
            path, synchronous=settings.sqlite_synchronous, batch_max=settings.write_batch_max
        )
    if settings.database_url.startswith(("postgresql://", "postgres://")):
        return await PostgresEngine.open(settings.database_url, batch_max=settings.write_batch_max)
    raise ConfigError(f"unsupported database_url: {settings.database_url}")


async def migrate_when_reachable(store: Store, wait_seconds: float) -> list[int]:
    """Apply migrations, waiting up to `wait_seconds` for the database to come up."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        try:
            return await store.migrate()
        except Unavailable:
            if asyncio.get_running_loop().time() >= deadline:
                raise
            log.warning("database unavailable; retrying")
            await asyncio.sleep(1)


async def open_store(settings: Settings, clock: Clock | None = None) -> Store:
    """Open the configured database (creating a SQLite file and its directory if needed)."""
    return Store(await open_engine(settings), clock or SystemClock())


async def _every(clock: Clock, seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run `job` every `seconds` until cancelled; a failure is logged, not fatal."""
    while True:
        await clock.sleep(seconds)
        try:
            await job()
        except Exception:
            log.exception("periodic job failed")


async def _after(first: Callable[[], Awaitable[None]], then: Callable[[], Awaitable[None]]) -> None:
    await first()
    await then()


async def _export_worker(services: Services) -> None:
    """Build data exports: at once when this node was asked for one, and every minute in case
    another node was (or one was abandoned)."""
    wakeup = services.exports.wakeup
    while True:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
        # arrives as the wait ends (gh-86296), and shutdown would then hang on this loop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EXPORT_POLL_SECONDS):
                await wakeup.event.wait()
        wakeup.event.clear()
        try:
            await services.exports.build_pending()
        except Exception:
            log.exception("building a data export failed")


async def _search_backfill(services: Services) -> None:
    """Index the messages older than the search index, a batch per short transaction,
    so other writes queue in between (migration 0012)."""
    try:
        await services.search.backfill_all()
    except Exception:
        log.exception("indexing old messages for search failed; it resumes at the next start")


def open_file_storage(settings: Settings) -> FileStorage:
    """Where files go: S3-compatible storage for an s3:// files_url, else a directory."""
    directory = settings.files_dir
    if directory is None:
        spool = settings.sqlite_path.parent / "spool" if settings.sqlite_path else None
        # Imported only for S3 (boto3 costs every other start ~0.1 s and ~15 MB).
        from hubbub.blobs.s3 import S3Storage

        return S3Storage(settings.files_url, settings.s3_endpoint_url or None, spool)
    return LocalStorage(directory)


async def open_links(store: Store, settings: Settings, clock: Clock) -> FileLinks:
    return FileLinks(await store.files_key(), clock, settings.file_link_seconds)


def open_bus(settings: Settings, clock: Clock) -> Bus:
    if settings.redis_url:
        return RedisBus(settings.redis_url, node_id=secrets.token_hex(6), clock=clock)
    return MemoryBus()


def rate_limit_overrides(settings: Settings) -> dict[str, str] | None:
    """The rate limits `settings` ask for (None: off); ConfigError for a bad HUBBUB_RATE_LIMITS."""
    try:
        return parse_overrides(settings.rate_limits)
    except ValueError as exc:
        raise ConfigError(f"HUBBUB_RATE_LIMITS: {exc}") from None


def open_rate_limit_storage(settings: Settings) -> Storage | None:
    """Where budgets are counted: Redis when the cluster has one (shared by every node), else
    this process's memory; None when rate limits are off."""
    if rate_limit_overrides(settings) is None:
        return None
    if settings.redis_url:
        return RedisStorage(
            "async+" + settings.redis_url,
            implementation="redispy",
            key_prefix="hubbub-limits",
            socket_timeout=0.5,
            socket_connect_timeout=2,
        )
    return MemoryStorage()


@dataclass(frozen=True, slots=True)
class HubPresence:
    """Who is connected, for @here: across the cluster when the bus knows, else this node."""

    hub: Hub
    bus: Bus

    async def online_among(self, user_ids: list[str]) -> set[str]:
        cluster = await self.bus.online_among(user_ids)
        if cluster is not None:
            return set(cluster)
        return {u for u in user_ids if self.hub.is_online(u)}


def build_services(
    store: Store,
    settings: Settings,
    bus: Bus,
    uow: UnitOfWork,
    limits: RateLimits,
    storage: FileStorage,
    links: FileLinks,
    online: Online = NOBODY_ONLINE,
    email_key: bytes = b"",
    node: str = NODE,
    outbound_client: httpx.AsyncClient | None = None,
    auth_cache: AuthCache | None = None,
) -> Services:
    """The services. `auth_cache`: the node's bearer-token cache, which `uow` and the hub
    must keep current (create_app wires all three); a private one when not given."""
    passwords = Passwords(settings.password_hashing)
    if auth_cache is None:  # (not `or`: an empty cache is falsy)
        auth_cache = AuthCache(uow.clock)
    notifications = NotificationService(uow, settings.notify_default)
    activity = ActivityService(uow, limits)
    files = FileService(uow, settings, limits, storage, links)
    messages = MessageService(uow, settings, limits, activity, online, reap=files.reap)
    notifications = NotificationService(uow, settings.notify_default)
    return Services(
        classic=ClassicService(uow, settings, limits),
        accounts=AccountService(uow, settings, passwords, limits),
        sessions=SessionService(uow, settings, passwords, limits, auth_cache),
        rooms=RoomService(uow, limits, settings.notify_default),
        messages=messages,
        activity=activity,
        health=HealthService(store, lambda: bus.state),
        invites=InviteService(uow, settings, limits),
        admin=AdminService(uow, settings),
        moderation=ModerationService(uow),
        audit=AuditService(uow),
        retention=RetentionService(uow, settings, reap=files.reap),
        erasure=ErasureService(uow, passwords, limits, reap=files.reap),
        exports=ExportService(uow, limits, Wakeup(), storage),
        threads=ThreadService(uow),
        pins=PinService(uow),
        webhooks=WebhookService(uow, settings, limits, messages),
        bots=BotService(uow, limits),
        search=SearchService(uow),
        files=files,
        notifications=notifications,
        email=EmailService(uow, settings, limits, notifications, email_key, holder=node),
        slack_import=SlackImportService(uow, settings, files),
        outgoing=OutgoingService(uow),
        commands=CommandService(uow, settings, limits, messages, outbound_client),
        push=PushService(uow, settings, limits, notifications),
    )


@asynccontextmanager
async def command_services(
    settings: Settings, clock: Clock | None = None
) -> AsyncIterator[Services]:
    """The services, for a command-line tool (`hubbub admin ...`): the database, migrated,
    and no live subscribers. Events the commands commit reach running servers through the log
    (their hubs read it every event_poll_seconds)."""
    the_clock = clock or SystemClock()
    store = await open_store(settings, the_clock)
    try:
        await migrate_when_reachable(store, settings.database_wait_seconds)
        bus = MemoryBus()
        uow = UnitOfWork(store, the_clock, bus)
        links = await open_links(store, settings, the_clock)
        storage = open_file_storage(settings)
        yield build_services(
            store,
            settings,
            bus,
            uow,
            RateLimits(None, None),
            storage,
            links,
            email_key=await store.email_key(),
        )
    finally:
        await store.close()


class HubbubApp(FastAPI):
    """The app, which answers the WebSocket stream itself, before its middleware stack and
    router: a connection lives for hours, and each layer it ran inside would hold a suspended
    frame for it all that time (about 2.5 KB per idle connection, measured with tracemalloc)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if stream.is_stream(scope):
            scope["app"] = self  # what Starlette sets: the handler reads app.state
            await stream.serve_stream(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    """Build the ASGI app. The database opens (and migrates) in the lifespan, not here."""
    the_clock = clock or SystemClock()
    metrics = Metrics()  # per app, so tests can build many
    # This app as the holder of consumer leases: per app, so that two apps in one process
    # (tests of a cluster) are two nodes.
    node = f"{NODE}:{secrets.token_hex(3)}"
    limits_overrides = rate_limit_overrides(settings)  # a bad setting fails here, at start

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await open_store(settings, the_clock)
        metrics.instrument_store(store)
        try:
            applied = await migrate_when_reachable(store, settings.database_wait_seconds)
            if applied:
                log.info("applied migrations %s", applied)
            bus = metrics.instrument_bus(open_bus(settings, the_clock))
            links = await open_links(store, settings, the_clock)
            app.state.links = links
            storage = open_file_storage(settings)
            hub = Hub(
                store,
                the_clock,
                await store.deployment_id(),
                bus,
                poll_interval=settings.event_poll_seconds,
                presence_grace=settings.presence_grace_seconds,
                presence_room_max=settings.presence_room_max,
                streams_per_user=settings.streams_per_user,
                links=links,
            )
            metrics.watch_hub(hub)
            # Bearer tokens: forgotten on this node as soon as a write here ends a session
            # or changes a user, and on the others when their hubs dispatch its event.
            auth_cache = AuthCache(the_clock)
            hub.event_observers.append(auth_cache.on_event)
            metrics.watch_auth_cache(auth_cache)
            await hub.start()
            await bus.start(hub)
            uow = UnitOfWork(store, the_clock, bus, committed=auth_cache.on_events)
            limits = RateLimits(open_rate_limit_storage(settings), limits_overrides)
            app.state.rate_limits = limits
            # Outgoing webhooks and slash commands call other servers through this client.
            outbound_client = outbound.open_client(
                allow_private=settings.outbound_allow_private,
                connect_timeout=min(5.0, settings.outgoing_timeout_seconds),
                read_timeout=settings.outgoing_timeout_seconds,
            )
            services = build_services(
                store,
                settings,
                bus,
                uow,
                limits,
                storage,
                links,
                HubPresence(hub, bus),
                email_key=await store.email_key(),
                node=node,
                outbound_client=outbound_client,
                auth_cache=auth_cache,
            )
            app.state.services = services
            app.state.realtime = Realtime(
                hub,
                Feeds(store, hub, max_buffer=settings.stream_buffer),
                PresenceQuery(store, hub, bus),
            )

            async def upkeep_once() -> None:
                await services.messages.purge_expired_keys()
                await services.sessions.purge_expired_tickets()
                await services.sessions.sweep_idle()
                await services.files.sweep_orphans()  # and reaps what a crash left queued
                if isinstance(storage, LocalStorage):
                    await storage.sweep_tmp()

            async def retention_once() -> None:
                await services.erasure.continue_erasures()  # any a crash interrupted
                await services.exports.purge_expired()
                swept = await services.retention.sweep()
                metrics.observe_retention(swept.messages, swept.events, the_clock.now_ms())

            deployment = await store.deployment_id()
            # Web Push: the consumer queues (one node at a time, by its lease); every node's
            # sender sends what is due, each row by the one node that claims it.
            push_client = open_client(allow_private=settings.outbound_allow_private)
            await services.push.vapid()  # made at the first start, shared through the database
            push_sender = PushSender(
                store,
                the_clock,
                push_client,
                services.push.vapid,
                HubPresence(hub, bus),
                delay_seconds=settings.push_delay,
                observer=metrics.push,
                holder=node,
            )
            app.state.push_sender = push_sender
            push_consumer = LogConsumer(
                "push",
                store,
                the_clock,
                services.push.handle,
                wakeups=hub,
                holder=node,
                on_commit=push_sender.wake,  # only after a page that queued pushes
            )
            sender = OutgoingSender(
                uow,
                settings,
                outbound_client,
                lambda event: event_frame(event, deployment, links).json,
                services.messages,
                services.rooms,
                holder=node,
            )
            app.state.outgoing_sender = sender
            # Outgoing webhooks (#19): match events to endpoints (queued exactly once), then
            # send them off the request path.
            matcher = LogConsumer(
                "outgoing",
                store,
                the_clock,
                services.outgoing.match,
                wakeups=hub,
                holder=node,
                on_commit=sender.wake,
            )
            tasks = [
                asyncio.create_task(push_consumer.run(), name="hubbub-push-consumer"),
                asyncio.create_task(push_sender.run(), name="hubbub-push-sender"),
                asyncio.create_task(
                    _after(services.outgoing.wait_for_hooks, matcher.run),
                    name="hubbub-outgoing-match",
                ),
                asyncio.create_task(sender.run(), name="hubbub-outgoing-send"),
                asyncio.create_task(_every(the_clock, 3600, upkeep_once), name="hubbub-upkeep"),
                asyncio.create_task(
                    _every(the_clock, settings.retention_sweep_seconds, retention_once),
                    name="hubbub-retention",
                ),
                asyncio.create_task(_export_worker(services), name="hubbub-exports"),
                asyncio.create_task(_search_backfill(services), name="hubbub-search-backfill"),
                # Deleted text leaves the database files within redact_flush_seconds.
                asyncio.create_task(
                    _every(the_clock, settings.redact_flush_seconds / 2, store.flush),
                    name="hubbub-flush",
                ),
            ]
            if settings.smtp is not None:  # missed-message email (#18)
                mailer = LogConsumer(
                    "email", store, the_clock, services.email.handle, wakeups=hub, holder=node
                )
                metrics.watch_email(services.email.counts, mailer)
                app.state.email_consumer = mailer
                tasks.append(asyncio.create_task(mailer.run(), name="hubbub-email-consumer"))
                tasks.append(
                    asyncio.create_task(
                        services.email.run_sender(
                            lambda: mailer.pos is not None,
                            min(EMAIL_POLL_SECONDS, settings.email_delay_seconds / 4),
                        ),
                        name="hubbub-email-sender",
                    )
                )
            try:
                await metrics.start(settings.host, settings.metrics_port)
                yield
            finally:
                await metrics.stop()
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await outbound_client.aclose()
                await push_client.aclose()
                await bus.close()
                await hub.close()
        finally:
            await store.close()

    app = HubbubApp(
        title="hubbub",
        version=__version__,
        description="A self-hostable chat server with an HTTP API.",
        lifespan=lifespan,
        docs_url=None,  # served by web.docs_ui from packaged assets, not a CDN
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    install_openapi(app, settings)
    app.mount("/static", client.SecuredStatic(), name="static")
    app.include_router(docs_ui.router)
    app.include_router(health.router)
    app.include_router(client.router)
    app.include_router(invites.links)
    app.include_router(webhooks.hooks)
    app.include_router(email.links)
    app.include_router(commands.responses)
    for router in (
        accounts.router,
        rooms.router,
        messages.router,
        stream.router,
        invites.router,
        admin.router,
        exports.router,
        conversations.router,
        webhooks.router,
        bots.router,
        search.router,
        files.router,
        avatars.router,
        notifications.router,
        email.router,
        outgoing.router,
        commands.router,
        push.router,
    ):
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    # Added after those, so outside them: the classic routes skip the rest of the stack.
    app.add_middleware(ClassicRoutes, max_body_bytes=settings.max_body_bytes)
    # Security, rate-limit and CORS headers on every HTTP answer, the classic ones included.
    app.add_middleware(
        ResponseHeaders,
        cors_origins=settings.cors_origin_list,
        rate_limits=limits_overrides is not None,
    )
    # Around everything, the classic routes included: metrics, request ids, the access log.
    app.add_middleware(Observability, metrics=metrics, serve_metrics=settings.metrics_public)
    return app
