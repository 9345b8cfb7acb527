"""Request-body rules shared by every route: a size limit (413) and JSON parsing (400/415)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubbub.web.problems import http_error, is_json_content_type

__all__ = ["BadBody", "BodyLimitMiddleware", "read_json"]


class BadBody(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class BodyLimitMiddleware:
    """Answer 413 for a body over `limit` bytes, before any route reads it.

    A declared Content-Length over the limit is refused at once. A body without one (chunked)
    is read up to the limit here and replayed to the route, so routes never see an oversize body.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
                break
        if length is not None:
            if not length.isdigit():
                await http_error(scope["path"], 400, "Invalid Content-Length")(scope, receive, send)
                return
            if int(length) > self.limit:
                await self._too_large(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = http_error(
            scope["path"],
            413,
            f"The request body must be at most {self.limit} bytes",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


async def read_json(request: Request) -> Any:
    """Parse the request body as JSON. Raise BadBody(415) or BadBody(400)."""
    if not is_json_content_type(request.headers.get("content-type")):
        raise BadBody(415, "Content-Type must be application/json")
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadBody(400, "The body is not valid JSON") from None
