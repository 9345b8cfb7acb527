"""The outermost ASGI layer: request metrics, X-Request-ID, the access log, and GET /metrics.

Pure ASGI and cheap, because every request passes through it, the classic fast path
(web.classic) included: a few header bytes, two clock reads, one histogram observation and,
when INFO is enabled, one access-log record. Labels are route templates
(`/api/v1/rooms/{room_id}/messages`), never raw paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubbub.logs import ACCESS_LOG, REQUEST_ID
from hubbub.metrics import Metrics
from hubbub.web.classic import ROUTES as CLASSIC_ROUTES
from hubbub.web.problems import http_error

__all__ = ["METRICS_PATH", "UNMATCHED", "Observability", "request_id_of"]

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"  # the route label of requests no route matched (404s)
REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-ID if it is 1-128 of [A-Za-z0-9._-], else a new random one
    (unique, not secret: no system call for it)."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            if _VALID_REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return f"{random.getrandbits(128):032x}"


def _route_of(scope: Scope, root_path: str) -> str:
    """The matched route's template; a mount's prefix; the classic path; else UNMATCHED."""
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", UNMATCHED))
    path = scope["path"]
    if path in CLASSIC_ROUTES:
        return str(path)
    mounted = scope.get("root_path", "")
    if mounted != root_path:  # a Mount (e.g. /static) took it
        return f"{mounted}/{{path}}"
    return UNMATCHED


class Observability:
    """ASGI middleware around the whole app. Serves GET /metrics when `serve_metrics`."""

    def __init__(self, app: ASGIApp, metrics: Metrics, serve_metrics: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.serve_metrics = serve_metrics
        self._durations: dict[tuple[str, str, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope["headers"])
        header = (b"x-request-id", request_id.encode("ascii"))
        status = 0  # none sent yet
        token = REQUEST_ID.set(request_id)
        root_path = scope.get("root_path", "")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        is_metrics = self.serve_metrics and scope["path"] == METRICS_PATH
        self.metrics.requests_in_flight += 1
        try:
            if is_metrics:
                await self._serve_metrics(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:
            # Answer here, so the 500 carries the request id; the error handler outside
            # (Starlette's) still logs the exception, with the id still in context.
            if not status:
                with contextlib.suppress(Exception):
                    await http_error(scope["path"], 500)(scope, receive, send_with_id)
            raise
        else:
            REQUEST_ID.reset(token)
        finally:
            self.metrics.requests_in_flight -= 1
            elapsed = time.perf_counter() - started
            route = METRICS_PATH if is_metrics else _route_of(scope, root_path)
            status = status or 500  # ended without answering: uvicorn sends a 500
            self._observe(route, scope["method"], status, elapsed)
            if ACCESS_LOG.enabled:
                ACCESS_LOG.write(
                    method=scope["method"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 3),
                    request_id=request_id,
                )

    def _observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method if method in _METHODS else "other", status)
        child = self._durations.get(key)
        if child is None:
            child = self.metrics.http_duration.labels(key[0], key[1], str(status))
            self._durations[key] = child
        child.observe(seconds)

    async def _serve_metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await http_error(METRICS_PATH, 405, "Method not allowed", {"Allow": "GET"})(
                scope, receive, send
            )
            return
        accept = ""
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value.decode("latin-1")
        encoder, content_type = choose_encoder(accept)
        # Off the event loop: a large registry takes milliseconds to render.
        body = await asyncio.to_thread(encoder, self.metrics.registry)
        headers = [
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", b"%d" % len(body)),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        head = scope["method"] == "HEAD"
        await send({"type": "http.response.body", "body": b"" if head else body})
