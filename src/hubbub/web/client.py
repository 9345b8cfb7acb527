"""The web client: the page at /, its files under /app/<build>/, and /favicon.ico.

The client is plain HTML, CSS and JavaScript modules in web/static/app/, shipped in the package.
They are served under a path that names their build (a hash of every file), so browsers may
cache them for good yet never mix files from two versions after an upgrade; the page itself is
always revalidated. The page carries a strict Content-Security-Policy: no inline script or
style, no eval, nothing from another origin, no framing.

Every file is compressed once per process when first asked for (gzip and Brotli), never per
request, and carries an ETag, so a revalidation of the page costs a 304. /sw.js, the service
worker, caches the page and this build's files so that the client opens offline; it is made
from sw.js with the build and its file list.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from urllib.parse import urlsplit

import anyio.to_thread
from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from hubbub.config import Settings

__all__ = ["CSP", "SecuredStatic", "page_csp", "router"]

router = APIRouter(include_in_schema=False)

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",  # blob: the favicon with its mention badge, drawn here (#18)
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def page_csp(settings: Settings) -> str:
    """The page's CSP for this deployment: CSP, and with HUBBUB_FILES_REDIRECT on S3 the
    store's origin for images, audio and video too (their links redirect there)."""
    if not (settings.files_redirect and settings.files_url.startswith("s3://")):
        return CSP
    if settings.s3_endpoint_url:
        parts = urlsplit(settings.s3_endpoint_url)
        origin = f"{parts.scheme}://{parts.netloc}"
    else:
        origin = "https://*.amazonaws.com"  # AWS itself: bucket.s3.<region>.amazonaws.com
    return (
        CSP.replace("img-src 'self'", f"img-src 'self' {origin}") + f"; media-src 'self' {origin}"
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
    ".png": "image/png",
    ".webmanifest": "application/manifest+json",
}
# Worth compressing (the icon is already small and binary).
COMPRESSIBLE = (".html", ".js", ".css", ".svg", ".webmanifest")
try:
    _brotli: object | None = importlib.import_module("brotli")  # a dependency
except ImportError:  # an install without it serves gzip alone
    _brotli = None


@dataclass(frozen=True, slots=True)
class Encoded:
    """One file as served: its bytes in each encoding it has, and its ETag."""

    raw: bytes
    etag: str
    variants: dict[str, bytes] = field(default_factory=dict)  # "br" / "gzip" -> bytes

    @classmethod
    def of(cls, name: str, raw: bytes) -> Encoded:
        etag = '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'
        variants: dict[str, bytes] = {}
        if name.endswith(COMPRESSIBLE) and len(raw) > 256:
            variants["gzip"] = gzip.compress(raw, compresslevel=9, mtime=0)
            if _brotli is not None:
                variants["br"] = _brotli.compress(raw)  # type: ignore[attr-defined]
        return cls(raw, etag, variants)

    def response(self, request: Request, media_type: str, headers: dict[str, str]) -> Response:
        """The best encoding the request accepts; 304 when its If-None-Match has our ETag
        (ETags name the content, so each encoding has its own: "…-br", "…-gzip")."""
        encoding = _choose(request.headers.get("accept-encoding", ""), self.variants)
        etag = self.etag if encoding is None else f'{self.etag[:-1]}-{encoding}"'
        out = {**headers, "ETag": etag}
        if self.variants:
            out["Vary"] = "Accept-Encoding"
        if etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=out)
        if encoding is None:
            return Response(self.raw, media_type=media_type, headers=out)
        out["Content-Encoding"] = encoding
        return Response(self.variants[encoding], media_type=media_type, headers=out)


def _choose(accept: str, variants: dict[str, bytes]) -> str | None:
    """Brotli, else gzip, as far as Accept-Encoding allows (q=0 refuses)."""
    allowed: set[str] = set()
    for part in accept.lower().split(","):
        token, _, params = part.strip().partition(";")
        q = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            if float(q) > 0:
                allowed.add(token.strip())
        except ValueError:
            continue
    for encoding in ("br", "gzip"):
        if encoding in variants and (encoding in allowed or "*" in allowed):
            return encoding
    return None


def _etags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


# Not cached by the service worker: itself and the page's template (the page is "/").
SHELL_SKIP = {"sw.js", "index.html"}
# index.html names its files by this prefix, so it also works opened from /static/app/.
SOURCE_PREFIX = b"/static/app/"


@dataclass(frozen=True, slots=True)
class Bundle:
    """Every client file (path relative to static/app -> bytes) and the build id they make."""

    files: dict[str, bytes]
    build: str
    encoded: dict[str, Encoded] = field(default_factory=dict)  # filled as files are asked for

    @property
    def page(self) -> bytes:
        return self.files["index.html"].replace(SOURCE_PREFIX, f"/app/{self.build}/".encode())

    def get(self, name: str) -> Encoded | None:
        """A file as served ("" the page, "sw.js" the worker), compressed on first use."""
        found = self.encoded.get(name)
        if found is None:
            if name == "":
                raw = self.page
            elif name == "sw.js":
                raw = self.worker
            elif name in self.files:
                raw = self.files[name]
            else:
                return None
            found = self.encoded[name] = Encoded.of(name or "index.html", raw)
        return found

    @property
    def worker(self) -> bytes:
        """sw.js with this build's id and the files of its app shell."""
        shell = [
            "/",
            *(f"/app/{self.build}/{n}" for n in sorted(self.files) if n not in SHELL_SKIP),
        ]
        return (
            self.files["sw.js"]
            .replace(b'"__BUILD__"', json.dumps(self.build).encode())
            .replace(b'["__SHELL__"]', json.dumps(shell).encode())
        )


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
async def index(request: Request) -> Response:
    """The single page of the web client."""
    bundle = await _load()
    page = await anyio.to_thread.run_sync(bundle.get, "")
    assert page is not None
    settings: Settings = request.app.state.settings
    headers = {**PAGE_HEADERS, "Content-Security-Policy": page_csp(settings)}
    return page.response(request, MEDIA_TYPES[".html"], headers)


@router.api_route("/sw.js", methods=["GET", "HEAD"])
async def service_worker(request: Request) -> Response:
    """The service worker, at the root so that its scope is the whole client; revalidated
    every time (a new build installs a new worker)."""
    bundle = await _load()
    worker = await anyio.to_thread.run_sync(bundle.get, "sw.js")
    assert worker is not None
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return worker.response(request, MEDIA_TYPES[".js"], headers)


@router.api_route("/app/{build}/{path:path}", methods=["GET", "HEAD"])
async def asset(request: Request, build: str, path: str) -> Response:
    """A client file. Only the packaged files exist here (no paths are resolved on disk). A
    page from an older build still gets today's files, just not cached."""
    bundle = await _load()
    if path in ("index.html", "") or path not in bundle.files:
        raise HTTPException(404)
    body = await anyio.to_thread.run_sync(bundle.get, path)
    assert body is not None
    media_type = MEDIA_TYPES["." + path.rsplit(".", 1)[-1]]
    headers = IMMUTABLE if build == bundle.build else {"Cache-Control": "no-cache"}
    return body.response(request, media_type, headers)


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
