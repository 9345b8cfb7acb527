"""The web client: the page at /, its files under /app/<build>/, and /favicon.ico.

The client is plain HTML, CSS and JavaScript modules in web/static/app/, shipped in the package.
They are served under a path that names their build (a hash of every file), so browsers may
cache them for good yet never mix files from two versions after an upgrade; the page itself is
always revalidated. The page carries a strict Content-Security-Policy: no inline script or
style, no eval, nothing from another origin, no framing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

import anyio.to_thread
from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

__all__ = ["CSP", "SecuredStatic", "router"]

router = APIRouter(include_in_schema=False)

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
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
IMMUTABLE = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
# index.html names its files by this prefix, so it also works opened from /static/app/.
SOURCE_PREFIX = b"/static/app/"


@dataclass(frozen=True, slots=True)
class Bundle:
    """Every client file (path relative to static/app -> bytes) and the build id they make."""

    files: dict[str, bytes]
    build: str

    @property
    def page(self) -> bytes:
        return self.files["index.html"].replace(SOURCE_PREFIX, f"/app/{self.build}/".encode())


def _walk(folder: Traversable, prefix: str = "") -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for entry in folder.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            found.update(_walk(entry, name + "/"))
        elif any(name.endswith(suffix) for suffix in MEDIA_TYPES):
            found[name] = entry.read_bytes()
    return found


@cache
def _bundle() -> Bundle:
    """Read once: the package does not change while the server runs."""
    found = _walk(files("hubbub.web") / "static" / "app")
    digest = hashlib.sha256()
    for name in sorted(found):
        digest.update(name.encode() + b"\0" + hashlib.sha256(found[name]).digest())
    return Bundle(found, digest.hexdigest()[:16])


async def _load() -> Bundle:
    return await anyio.to_thread.run_sync(_bundle)


@router.api_route("/", methods=["GET", "HEAD"])
async def index() -> Response:
    """The single page of the web client."""
    bundle = await _load()
    return Response(bundle.page, media_type=MEDIA_TYPES[".html"], headers=PAGE_HEADERS)


@router.api_route("/app/{build}/{path:path}", methods=["GET", "HEAD"])
async def asset(build: str, path: str) -> Response:
    """A client file. Only the packaged files exist here (no paths are resolved on disk). A
    page from an older build still gets today's files, just not cached."""
    bundle = await _load()
    body = bundle.files.get(path)
    if body is None or path == "index.html":
        raise HTTPException(404)
    media_type = MEDIA_TYPES["." + path.rsplit(".", 1)[-1]]
    headers = IMMUTABLE if build == bundle.build else {"Cache-Control": "no-cache"}
    return Response(body, media_type=media_type, headers=headers)


@router.api_route("/favicon.ico", methods=["GET", "HEAD"])
async def favicon() -> Response:
    bundle = await _load()
    return Response(
        bundle.files["favicon.ico"],
        media_type=MEDIA_TYPES[".ico"],
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


class SecuredStatic:
    """The packaged static files, each answered with the page's CSP and nosniff, so an HTML
    file opened from /static (e.g. /static/app/index.html) is as locked down as `/`."""

    def __init__(self) -> None:
        self._files = StaticFiles(packages=[("hubbub.web", "static")])
        self._headers = [
            (b"content-security-policy", CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self._headers]}
            await send(message)

        await self._files(scope, receive, send_with_headers)
