"""Request-body rules shared by every route: a size limit (413), read once."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubbub.web.problems import http_error

__all__ = ["BadBody", "BodyLimitMiddleware", "declared_length", "read_body"]


class BadBody(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def declared_length(scope: Scope) -> int | None:
    """The Content-Length header as an int; None if absent. BadBody(400) if not a number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit():
                raise BadBody(400, "Invalid Content-Length")
            return int(value)
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body; BadBody(413) as soon as it is known to exceed `limit` bytes."""
    length = declared_length(scope)
    if length is not None and length > limit:
        raise BadBody(413, f"The request body must be at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadBody(400, "The client went away before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BadBody(413, f"The request body must be at most {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class BodyLimitMiddleware:
    """Answer 413 for a body over `limit` bytes, before any route reads it (and 422 for a NUL
    in the URL).

    A declared Content-Length over the limit is refused at once. A body without one (chunked)
    is read up to the limit here and replayed to the route, so routes never see an oversize body.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]):
            # No text we store may contain NUL, so no lookup may carry one either.
            response = http_error(scope["path"], 422, "NUL characters are not allowed in URLs")
            await response(scope, receive, send)
            return
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        try:
            length = declared_length(scope)
            if length is not None and length <= self.limit:
                await self.app(scope, receive, send)  # the server enforces Content-Length
                return
            body = await read_body(scope, receive, self.limit)
        except BadBody as bad:
            headers = {"Connection": "close"} if bad.status == 413 else None
            await http_error(scope["path"], bad.status, bad.detail, headers)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
