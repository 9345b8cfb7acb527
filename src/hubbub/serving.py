"""Running hubbub on uvicorn: its options, and the HTTP limits the app never sees.

uvicorn's fast parser (httptools) has no limit on the size of a request head and no timeout
for reading a head or a body, and uvicorn accepts connections until the process runs out of
file descriptors. `LimitedHttpToolsProtocol` adds those limits to uvicorn's httptools protocol:

- the request line and headers over `max_header_bytes` (16 KiB): 431, or 414 when the URL is
  most of it; more than `max_headers` header fields (100): 431;
- a head not complete `header_timeout_seconds` (10 s) after its first byte: 408; a new
  connection that sends nothing for that long is closed;
- a body with no byte for `body_timeout_seconds` (10 s), or, once it has taken that long,
  slower than `body_min_bytes_per_second` (500) on average: 408;
- more than `max_connections` (10,000) open, HTTP and WebSocket: 503 with `Retry-After`, at
  once, without reading the request.

Every refusal closes the connection; one that answers first half-closes and drains what the
client still sends for up to LINGER_SECONDS (a "lingering close"), so the client reads the
answer rather than a reset.

Cost: no timer per request or per connection. One sweep per tick (a second, or a quarter of
the shortest timeout if less) visits the open HTTP connections and acts on those past a
deadline; the hot path only counts bytes and stamps the sweep's clock, so a timeout fires
between its value and its value plus two ticks. The same sweep replaces uvicorn's keep-alive
timer, which it arms and cancels for every request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import resource
import ssl
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from hubbub.clock import Clock, SystemClock, Timer
from hubbub.config import ConfigError, Settings

__all__ = [
    "ConnectionGuard",
    "LimitedHttpToolsProtocol",
    "Limits",
    "check_tls",
    "protocol_class",
    "raise_fd_limit",
    "run",
    "tune_gc",
    "uvicorn_options",
]

log = logging.getLogger(__name__)

# File descriptors kept for everything but client connections: the listening sockets, the
# database and Redis connections, log files, threads' descriptors.
FD_RESERVE = 128
# At most this many refused connections linger (are drained) at once; beyond it they are reset.
LINGERING_MAX = 256
LINGER_SECONDS = 2.0
# What a 503 refusal (too many connections) asks the client to wait.
RETRY_AFTER_SECONDS = 5
# uvicorn's default: an idle keep-alive connection is closed after this long.
KEEP_ALIVE_SECONDS = 5.0

# Where a connection is, for the sweep: waiting for a request, reading its head, reading its
# body, draining after a refusal, or handed over to the WebSocket protocol.
_IDLE, _HEAD, _BODY, _LINGER, _HANDED_OVER = range(5)


@dataclass(frozen=True, slots=True)
class Limits:
    """What LimitedHttpToolsProtocol enforces (Settings' names without the units)."""

    max_header_bytes: int = 16384
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    body_min_rate: int = 500
    max_connections: int = 10000
    keep_alive: float = KEEP_ALIVE_SECONDS

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            body_min_rate=settings.body_min_bytes_per_second,
            max_connections=settings.max_connections,
        )

    @property
    def tick(self) -> float:
        """How often the sweep runs: a second, or a quarter of the shortest timeout."""
        return min(1.0, self.header_timeout / 4, self.body_timeout / 4, self.keep_alive / 4)


class _Refusal(Exception):
    """Raised inside a parser callback to stop parsing and answer `status`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ConnectionGuard:
    """The HTTP connections of one server and the one timer that enforces their timeouts.

    `now` is the sweep's clock (seconds, the Clock's monotonic time as of the last tick):
    connections stamp it instead of reading the time, and the timer runs only while there
    are connections to watch.
    """

    def __init__(self, limits: Limits, clock: Clock | None = None) -> None:
        self.limits = limits
        self.clock = clock or SystemClock()
        self.tick = limits.tick
        self.now = self.clock.monotonic()
        self.watched: set[LimitedHttpToolsProtocol] = set()
        self.lingering_refusals = 0
        self.refused: Counter[int] = Counter()
        self._timer: Timer | None = None

    def watch(self, protocol: LimitedHttpToolsProtocol) -> None:
        self.watched.add(protocol)
        if self._timer is None:
            self.now = self.clock.monotonic()
            self._timer = self.clock.call_later(self.tick, self.sweep)

    def unwatch(self, protocol: LimitedHttpToolsProtocol) -> None:
        self.watched.discard(protocol)

    def sweep(self) -> None:
        """Close or answer every watched connection past a deadline; log what was refused."""
        self.now = now = self.clock.monotonic()
        for protocol in list(self.watched):
            protocol.check_deadlines(now)
        if self.refused:
            counts = ", ".join(f"{status}: {n}" for status, n in sorted(self.refused.items()))
            log.warning("refused HTTP requests: %s", counts)
            self.refused.clear()
        self._timer = self.clock.call_later(self.tick, self.sweep) if self.watched else None


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits on heads, bodies, time and connections.

    Use `protocol_class(limits)`, which binds a ConnectionGuard (`guard`) to a subclass.
    """

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = self.guard.limits
        self._max_header_bytes = limits.max_header_bytes
        self._max_headers = limits.max_headers
        self._phase = _IDLE
        self._since = 0.0  # _IDLE: idle since; _HEAD: first byte; _BODY: head complete
        self._idle_limit = limits.header_timeout  # keep_alive once a request was answered
        self._head_bytes = 0
        self._body_bytes = 0
        self._body_read_at = 0.0
        self._lingering_refusal = False  # refused at connect, and counted while it drains
        self.url = b""

    # -- connections ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        guard = self.guard
        if len(self.connections) >= guard.limits.max_connections:
            self._refuse_connection(transport)
            return
        super().connection_made(transport)
        guard.watch(self)
        self._since = guard.now

    def _refuse_connection(self, transport: asyncio.Transport) -> None:
        """503 at once, without reading the request: the process has max_connections open."""
        guard = self.guard
        self.transport = transport
        guard.refused[503] += 1
        if guard.lingering_refusals >= LINGERING_MAX:
            transport.abort()
            return
        guard.lingering_refusals += 1
        self._lingering_refusal = True
        transport.write(
            self._answer(
                503,
                "Too many connections; try again later",
                b"retry-after: %d\r\n" % RETRY_AFTER_SECONDS,
            )
        )
        self._linger()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.unwatch(self)
        if self._lingering_refusal:
            self.guard.lingering_refusals -= 1
            return
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the transport (and counts in server_state.connections).
        self._phase = _HANDED_OVER
        self.guard.unwatch(self)
        super().handle_websocket_upgrade()

    # -- reading: the hot path --------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        phase = self._phase
        if phase == _BODY:
            self._body_bytes += len(data)
            self._body_read_at = self.guard.now
        elif phase <= _HEAD:  # _IDLE or _HEAD: these bytes begin or continue a head
            if len(data) > self._max_header_bytes - self._head_bytes:
                self._feed_past_limit(data)
                return
            self._head_bytes += len(data)
        else:  # draining after a refusal, or no longer ours
            return
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            refusal = exc.__context__
            if isinstance(refusal, _Refusal):
                self._refuse(refusal.status, refusal.reason)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self._refuse(400, "Invalid HTTP request received.")

    def _feed_past_limit(self, data: bytes) -> None:
        """The slow path of data_received: `data` would take the head past max_header_bytes.
        Parse only what fits. If the same head is still unfinished, refuse it; if it ended in
        there, go on with the rest (a body, or the next request, counted afresh).

        Byte counts are per read, not per parsed byte: bytes that follow a request's end in
        the same read are not counted for the next head, so a pipelined head can exceed the
        limit by at most one read before it is refused.
        """
        while True:
            room = self._max_header_bytes - self._head_bytes
            if len(data) <= room:
                self.data_received(data)
                return
            self._head_bytes += room
            self._feed(data[:room])
            data = data[room:]
            phase = self._phase
            if phase <= _HEAD and self._head_bytes:  # (on_message_complete resets it to 0)
                if len(self.url) > self._max_header_bytes // 2:
                    self._refuse(414, "The URL is too long")
                else:
                    self._refuse(431, "The request head is too large")
                return
            if phase == _BODY:
                self.data_received(data)
                return
            if phase > _BODY:  # refused, or handed over to the WebSocket protocol
                return

    def on_message_begin(self) -> None:
        self._phase = _HEAD
        self._since = self.guard.now
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        if len(self.headers) > self._max_headers:
            raise _Refusal(431, "Too many header fields")
        self._phase = _BODY
        self._since = self._body_read_at = self.guard.now
        self._body_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._phase = _IDLE
        self._since = self.guard.now
        self._head_bytes = 0
        self._idle_limit = self.guard.limits.keep_alive
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # uvicorn's, with its per-request keep-alive timer replaced by the sweep.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        elif self._phase == _IDLE:
            self._since = self.guard.now

    # -- deadlines: the sweep ---------------------------------------------------------------

    def check_deadlines(self, now: float) -> None:
        """Called by the sweep about once per tick."""
        if self.transport.is_closing():
            return
        limits = self.guard.limits
        slack = self.guard.tick  # stamps may be up to a tick old: never fire early
        phase = self._phase
        if phase == _IDLE:
            cycle = self.cycle
            busy = cycle is not None and not cycle.response_complete
            if not busy and now - self._since >= self._idle_limit + slack:
                self.transport.close()
        elif phase == _HEAD:
            if now - self._since >= limits.header_timeout + slack:
                self._refuse(408, "The request head took too long")
        elif phase == _BODY:
            cycle = self.cycle
            if self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue):
                # We are not reading (the app is behind, or owes a 100 Continue): not the
                # client's time. Start measuring again.
                self._since = self._body_read_at = now
                self._body_bytes = 0
            elif now - self._body_read_at >= limits.body_timeout + slack:
                self._refuse(408, "The request body stalled")
            elif (
                limits.body_min_rate
                and now - self._since >= limits.body_timeout + slack
                and self._body_bytes < limits.body_min_rate * (now - self._since)
            ):
                self._refuse(408, "The request body arrived too slowly")
        elif phase == _LINGER and now >= self._since:
            self.transport.close()

    # -- refusing ---------------------------------------------------------------------------

    def _refuse(self, status: int, reason: str) -> None:
        """Answer `status` if no other response is under way on this connection, and close."""
        self.guard.refused[status] += 1
        cycle = self.cycle
        if self._phase == _BODY:
            # self.cycle is this request's: answer unless its response has begun (or an
            # earlier pipelined response is still being written).
            can_answer = (cycle is None or not cycle.response_started) and not self.pipeline
        else:
            # self.cycle, if any, is an earlier request's: do not cut into its response.
            can_answer = cycle is None or cycle.response_complete
        if cycle is not None and not cycle.response_complete:
            # The app's receive() now says http.disconnect, and its send() writes nothing.
            cycle.disconnected = True
            cycle.message_event.set()
        if can_answer:
            self.transport.write(self._answer(status, reason))
            self._linger()
        else:
            self._phase = _LINGER
            self.transport.close()

    def _answer(self, status: int, reason: str, extra: bytes = b"") -> bytes:
        body = reason.encode("ascii") + b"\n"
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            extra,
            b"connection: close\r\n\r\n",
            body,
        ]
        return b"".join(head)

    def _linger(self) -> None:
        """Half-close after the answer and drain what the client still sends, for at most
        LINGER_SECONDS: closing with unread data would reset the connection, and the client
        could lose the answer."""
        self._phase = _LINGER
        self._since = self.guard.now + LINGER_SECONDS
        transport = self.transport
        if not transport.can_write_eof():
            transport.close()
            return
        if self.flow is not None:
            self.flow.resume_reading()
        transport.write_eof()
        self.guard.watch(self)


def protocol_class(limits: Limits, clock: Clock | None = None) -> type[LimitedHttpToolsProtocol]:
    """A LimitedHttpToolsProtocol subclass with its own ConnectionGuard, for uvicorn's `http`."""
    guard = ConnectionGuard(limits, clock)
    return type("LimitedHttpToolsProtocol", (LimitedHttpToolsProtocol,), {"guard": guard})


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE toward `wanted` (never past the hard limit); return the
    soft limit in force afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted if soft == resource.RLIM_INFINITY else soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:  # pragma: no cover - a sandbox that forbids it
        log.warning("could not raise the open-file limit to %d: %s", target, exc)
        return soft
    return target


def fit_connections(limits: Limits) -> Limits:
    """`limits` with max_connections lowered, if it must be, to what the open-file limit
    allows once raised, so that the cap and not EMFILE is what new connections meet."""
    wanted = limits.max_connections + LINGERING_MAX + FD_RESERVE
    allowed = raise_fd_limit(wanted) - LINGERING_MAX - FD_RESERVE
    if allowed >= limits.max_connections:
        return limits
    fitted = max(1, allowed)
    log.warning(
        "max_connections lowered from %d to %d: the open-file limit (ulimit -n) is too low",
        limits.max_connections,
        fitted,
    )
    return dataclasses.replace(limits, max_connections=fitted)


def check_tls(settings: Settings) -> None:
    """Load HUBBUB_TLS_CERT and HUBBUB_TLS_KEY as the server will (nothing to do without
    them); ConfigError, in words, if they cannot be read or do not belong together."""
    if not settings.tls_cert:
        return
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except OSError as exc:  # ssl.SSLError is an OSError too
        reason = exc.strerror or str(exc)
        if isinstance(exc, ssl.SSLError):
            reason = f"{exc.reason or exc} (is the key the certificate's, both PEM?)"
        raise ConfigError(
            f"cannot use tls_cert {settings.tls_cert!r} with tls_key {settings.tls_key!r}: {reason}"
        ) from None


def uvicorn_options(
    settings: Settings, http: type[asyncio.Protocol] | None = None
) -> dict[str, Any]:
    """uvicorn.run's keyword arguments for `settings` (with `http` as the HTTP protocol)."""
    proxies = settings.trusted_proxy_list
    return {
        "host": settings.host,
        "port": settings.port,
        "http": http or protocol_class(Limits.of(settings)),
        "log_level": settings.log_level,
        "log_config": None,  # hubbub.logs renders uvicorn's records too
        "access_log": False,  # web.observability writes the access log (route and request id)
        "timeout_graceful_shutdown": settings.graceful_shutdown_seconds,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "ws_per_message_deflate": settings.ws_per_message_deflate,
        "ws_max_size": settings.ws_max_message_bytes,
        # X-Forwarded-For/-Proto only from the configured proxies; uvicorn's default would
        # believe any local process (127.0.0.1), so a client could pick its own address.
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": list(proxies),
        "server_header": False,
        # HTTPS and WSS without a proxy: uvicorn wraps the listening socket in TLS.
        "ssl_certfile": settings.tls_cert or None,
        "ssl_keyfile": settings.tls_key or None,
    }


def tune_gc() -> None:
    """Garbage collection was 15-25% of server CPU under fan-out (bench/realtime.py): keep the
    objects made at start-up (modules, the app) out of every collection, and collect the
    youngest generation less often. Call once the app is built, just before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def run(app: ASGIApp, settings: Settings) -> None:
    """Serve `app` with `settings` until Ctrl-C or SIGTERM."""
    limits = fit_connections(Limits.of(settings))
    tune_gc()
    uvicorn.run(app, **uvicorn_options(settings, protocol_class(limits)))
