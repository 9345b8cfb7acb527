"""The web client's entry points: the page at / and /favicon.ico.

The client itself is plain HTML, CSS and JavaScript modules under web/static/app/, served by the
/static mount; this router adds the page with a strict Content-Security-Policy (no inline script
or style, no eval, nothing from another origin, no framing).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import anyio.to_thread
from fastapi import APIRouter
from starlette.responses import Response

__all__ = ["CSP", "router"]

router = APIRouter(include_in_schema=False)

APP = files("hubbub.web") / "static" / "app"

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


@cache
def _asset(name: str) -> bytes:
    """A packaged client file, read once (the package does not change while it runs)."""
    return (APP / name).read_bytes()


async def _read(name: str) -> bytes:
    return await anyio.to_thread.run_sync(_asset, name)


@router.api_route("/", methods=["GET", "HEAD"])
async def index() -> Response:
    """The single page of the web client."""
    return Response(
        await _read("index.html"), media_type="text/html; charset=utf-8", headers=PAGE_HEADERS
    )


@router.api_route("/favicon.ico", methods=["GET", "HEAD"])
async def favicon() -> Response:
    return Response(
        await _read("favicon.ico"),
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
