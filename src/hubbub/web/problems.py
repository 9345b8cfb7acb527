"""One place maps domain errors to HTTP and shapes every JSON error body.

Under /api/ errors are RFC 9457 problem details (application/problem+json). On the classic
routes they keep the exercise's shape: {"ok": false, "error": "<reason>", "code": "..."}.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from hubbub.errors import (
    ConfirmationExpired,
    Conflict,
    CursorExpired,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    ResetExpired,
    TooLarge,
    Unauthenticated,
    Unavailable,
)

__all__ = [
    "STATUS",
    "domain_error_response",
    "error_response",
    "http_error",
    "install_error_handlers",
    "is_json_content_type",
    "status_of",
]

log = logging.getLogger(__name__)

STATUS: dict[type[DomainError], int] = {
    CursorExpired: 410,
    ResetExpired: 410,
    ConfirmationExpired: 410,
    Invalid: 422,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Unauthenticated: 401,
    Unavailable: 503,
    RateLimited: 429,
    TooLarge: 413,
}


def is_json_content_type(value: str | None) -> bool:
    """True for application/json (any parameters) or any application/...+json."""
    if value is None:
        return False
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


_HTTP_CODES = {
    400: ("malformed_request", "Malformed request"),
    401: ("unauthenticated", "Authentication required"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("body_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("invalid", "Invalid input"),
    429: ("rate_limited", "Too many requests"),
    500: ("internal_error", "Internal server error"),
}


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(
    path: str,
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """The JSON error body for `path`: problem details under /api/, classic shape elsewhere."""
    if path.startswith("/api/"):
        body: dict[str, Any] = {
            "type": "about:blank",
            "status": status,
            "code": code,
            "title": title,
            "detail": detail,
            **(extra or {}),
        }
        media_type = "application/problem+json"
    else:
        body = {"ok": False, "error": detail, "code": code}
        media_type = "application/json"
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


def http_error(
    path: str, status: int, detail: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    code, title = _HTTP_CODES.get(status, ("error", "Error"))
    return error_response(path, status, code, title, detail or title, headers=headers)


def domain_error_response(path: str, exc: DomainError) -> Response:
    """The error response for a domain error: status from STATUS, plus the auth/retry headers."""
    status = status_of(exc)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers["Retry-After"] = "2"
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    extra = {"field": exc.field} if exc.field else None
    return error_response(
        path, status, exc.code, exc.title, exc.detail, headers=headers, extra=extra
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return domain_error_response(request.url.path, exc)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        content_type = request.headers.get("content-type")
        if (
            content_type is not None
            and not is_json_content_type(content_type)
            and any(e.get("loc", ("",))[0] == "body" for e in errors)
        ):
            return http_error(request.url.path, 415, "Content-Type must be application/json")
        if any(e.get("type") == "json_invalid" for e in errors):
            return http_error(request.url.path, 400, "The body is not valid JSON")
        fields = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                "message": str(e.get("msg", "")),
            }
            for e in errors
        ]
        detail = "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in fields)
        return error_response(
            request.url.path, 422, "invalid", "Invalid input", detail, extra={"errors": fields}
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route for {request.url.path}"
        return http_error(request.url.path, exc.status_code, detail, headers)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return http_error(request.url.path, 500)

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route on this path accepts (Starlette lists only one route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]
