"""Headers every HTTP answer carries, written in one pure-ASGI layer (cheap: a few header
bytes per response):

- `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`, unless the route set
  its own;
- the IETF `RateLimit-Policy` and `RateLimit` fields for every budget the request spent
  (services/ratelimits.py reports them), draft-ietf-httpapi-ratelimit-headers-10:
  `RateLimit-Policy: "messages";q=120;w=60` and `RateLimit: "messages";r=119;t=60`;
- CORS for browser clients on other origins, only for the origins in HUBBUB_CORS_ORIGINS
  (exact match; none by default), preflight included. Credentials are never allowed: the
  API authenticates with a bearer token, not cookies.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubbub.services.ratelimits import REPORT, QuotaReport

__all__ = ["CORS_ALLOWED_HEADERS", "ResponseHeaders"]

CORS_ALLOWED_HEADERS = (
    "Authorization, Content-Type, Content-Disposition, Idempotency-Key, Last-Event-ID, Range,"
    " X-Request-ID"
)
CORS_ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
CORS_EXPOSED_HEADERS = (
    "RateLimit, RateLimit-Policy, Retry-After, Idempotent-Replayed, X-Request-ID,"
    " Content-Range, Content-Disposition, ETag"
)
CORS_MAX_AGE = "600"

_NOSNIFF = (b"x-content-type-options", b"nosniff")
_REFERRER = (b"referrer-policy", b"no-referrer")


def _quota_headers(report: QuotaReport) -> list[tuple[bytes, bytes]]:
    if not report.quotas:
        return []
    latest: dict[str, tuple[int, int, int, int]] = {}
    for q in report.quotas:  # the last word on each budget
        latest[q.name] = (q.limit, q.window, q.remaining, q.reset)
    policy = ", ".join(f'"{name}";q={v[0]};w={v[1]}' for name, v in latest.items())
    state = ", ".join(f'"{name}";r={v[2]};t={v[3]}' for name, v in latest.items())
    return [(b"ratelimit-policy", policy.encode()), (b"ratelimit", state.encode())]


class ResponseHeaders:
    def __init__(self, app: ASGIApp, *, cors_origins: tuple[str, ...], rate_limits: bool) -> None:
        self.app = app
        self.cors_origins = frozenset(cors_origins)
        self.rate_limits = rate_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = None
        if self.cors_origins:
            for name, value in scope["headers"]:
                if name == b"origin":
                    candidate = value.decode("latin-1")
                    origin = candidate if candidate in self.cors_origins else None
                    break
            if origin is not None and scope["method"] == "OPTIONS":
                await self._preflight(origin, send)
                return
        report = QuotaReport() if self.rate_limits else None
        token = REPORT.set(report) if report is not None else None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                if b"x-content-type-options" not in names:
                    headers.append(_NOSNIFF)
                if b"referrer-policy" not in names:
                    headers.append(_REFERRER)
                if report is not None:
                    headers.extend(_quota_headers(report))
                if origin is not None:
                    headers.append((b"access-control-allow-origin", origin.encode()))
                    headers.append(
                        (b"access-control-expose-headers", CORS_EXPOSED_HEADERS.encode())
                    )
                    headers.append((b"vary", b"Origin"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if token is not None:
                REPORT.reset(token)

    @staticmethod
    async def _preflight(origin: str, send: Send) -> None:
        headers = [
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-allow-methods", CORS_ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", CORS_ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", CORS_MAX_AGE.encode()),
            (b"vary", b"Origin"),
            _NOSNIFF,
            _REFERRER,
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
