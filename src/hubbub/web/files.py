"""Files: uploads (/api/v1/rooms/{id}/uploads), downloads (/api/v1/files/{id}/{filename}) and
thumbnails (/api/v1/thumbnails/{id}), served so that nothing uploaded can run in the browser.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from hubbub import wire
from hubbub.services.files import Download, Link
from hubbub.web.auth import Me, OptionalSession
from hubbub.web.deps import Links, Svc
from hubbub.web.problems import error_response, http_error
from hubbub.web.responses import json_response
from hubbub.web.schemas import PROBLEMS, UploadOut
from hubbub.web.uploads import incoming

__all__ = [
    "DOWNLOAD_RESPONSES",
    "SANDBOX",
    "UPLOAD_BODY",
    "content_disposition",
    "gone_away",
    "router",
    "serve",
]

router = APIRouter(prefix="/api/v1", tags=["files"])

# Even a type served inline can do nothing: no scripts, no plugins, no requests, an opaque
# origin of its own.
SANDBOX = "sandbox; default-src 'none'"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file as the raw body (its name in `filename` or in a "
        "Content-Disposition header), or multipart/form-data with one `file` field.",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


@router.post(
    "/rooms/{room_id}/uploads",
    status_code=201,
    response_model=UploadOut,
    responses=PROBLEMS(401, 403, 404, 413, 422, 429),
    openapi_extra=UPLOAD_BODY,
)
async def upload_file(
    room_id: str,
    request: Request,
    me: Me,
    svc: Svc,
    links: Links,
    filename: Annotated[
        str | None, Query(max_length=255, description="the file's name (raw bodies)")
    ] = None,
) -> Response:
    """Upload a file to attach to a message in this room (members who may write). The body is
    streamed to storage; at most HUBBUB_MAX_UPLOAD_BYTES (413 `file_too_large`), within your
    HUBBUB_UPLOAD_QUOTA_BYTES (413 `quota_exceeded`); empty files and files without a name
    are 422. Its type is sniffed from the content. Unattached uploads go after 24 h."""
    try:
        body = await incoming(request, filename)
        upload = await svc.files.upload(me, room_id, body.filename, body.chunks, body.declared_size)
    except ClientDisconnect:
        return gone_away(request)
    return json_response(wire.upload(upload, links), 201)


def gone_away(request: Request) -> Response:
    """The answer (nobody reads it) when a client went away before sending the whole file:
    as for any other body, not an error of ours."""
    return http_error(request.url.path, 400, "The client went away before sending the whole body")


def content_disposition(kind: str, filename: str) -> str:
    """`kind; filename="<ASCII fallback>"; filename*=UTF-8''<the name>` (RFC 6266)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(start, end) of a single satisfiable `Range`; None to send everything; False when
    unsatisfiable (416)."""
    if header is None or size == 0:
        return None
    found = _RANGE.match(header.strip())
    if found is None:
        return None  # several ranges, or another unit: the whole file (allowed by RFC 9110)
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return False
    return start, end


def serve(
    request: Request, download: Download, svc: Svc, cache: str = "private, max-age=3600"
) -> Response:
    """The download's bytes (a range of them, 206, when asked) with the headers that keep
    them inert: nosniff, a sandboxing CSP, attachment unless inline-safe."""
    headers = {
        "ETag": download.etag,
        "Cache-Control": cache,
        "Content-Security-Policy": SANDBOX,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": content_disposition(
            "inline" if download.inline else "attachment", download.filename
        ),
        "Accept-Ranges": "bytes",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if download.redirect is not None:
        return Response(
            status_code=302,
            headers={"Location": download.redirect, "Cache-Control": "private, no-store"},
        )
    if request.headers.get("if-none-match") == download.etag:
        return Response(status_code=304, headers=headers)
    size = download.size
    wanted = _range(request.headers.get("range"), size)
    if_range = request.headers.get("if-range")
    if wanted and if_range is not None and if_range != download.etag:
        wanted = None
    if wanted is False:
        return error_response(
            request.url.path,
            416,
            "range_not_satisfiable",
            "Range not satisfiable",
            f"The file has {size} bytes",
            headers={"Content-Range": f"bytes */{size}"},
        )
    if isinstance(wanted, tuple):
        start, end = wanted
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        status = 206
    else:
        start, end, status = 0, size - 1, 200
    headers["Content-Length"] = str(end - start + 1)
    body = svc.files.read(download, start, end) if end >= start else _nothing()
    return StreamingResponse(body, status, headers, media_type=download.content_type)


async def _nothing() -> Any:
    return
    yield


DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The file",
    },
    206: {"description": "The requested range"},
    302: {"description": "S3 with HUBBUB_FILES_REDIRECT: the object, presigned for 5 minutes"},
    304: {"description": "Not modified (If-None-Match)"},
    **PROBLEMS(401, 403, 404, 416),
}


def _link(exp: str | None, sig: str | None) -> Link | None:
    """The signed link's parameters; half of them is a link that signs nothing (404)."""
    if exp is None and sig is None:
        return None
    return Link(exp or "", sig or "")


@router.get(
    "/files/{file_id}/{filename}",
    response_class=Response,
    responses=DOWNLOAD_RESPONSES,
)
async def download_file(
    file_id: str,
    filename: str,
    request: Request,
    session: OptionalSession,
    svc: Svc,
    exp: Annotated[str | None, Query(max_length=16, description="signed links: expiry")] = None,
    sig: Annotated[str | None, Query(max_length=128, description="signed links: signature")] = None,
) -> Response:
    """Download a file: with the signed `url` from the API (no header needed; 403
    `link_expired` once expired), or with the bearer token as anyone who may read its room.
    Inert types (raster images, audio, video, PDF) are shown inline, the rest downloaded;
    `Range` requests get 206."""
    viewer = None if session is None else session.user
    download = await svc.files.open(viewer, file_id, filename, _link(exp, sig))
    return serve(request, download, svc)


@router.get(
    "/thumbnails/{file_id}",
    response_class=Response,
    responses=DOWNLOAD_RESPONSES,
)
async def download_thumbnail(
    file_id: str,
    request: Request,
    session: OptionalSession,
    svc: Svc,
    exp: Annotated[str | None, Query(max_length=16)] = None,
    sig: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    """An image's thumbnail (WebP, at most 400 px a side): as downloads."""
    viewer = None if session is None else session.user
    download = await svc.files.open(viewer, file_id, None, _link(exp, sig), thumbnail=True)
    return serve(request, download, svc)
