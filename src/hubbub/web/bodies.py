"""Request-body rules shared by every route: a size limit (413), read once, and JSON that
means one thing: UTF-8 without a byte order mark (400), no duplicate keys (400), no lone
surrogates (422), and an `application/json` Content-Type whenever there is a body (415)."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubbub.web.problems import http_error, is_json_content_type

__all__ = [
    "FORM",
    "SLACK_PATHS",
    "STREAMED",
    "BadBody",
    "BodyLimitMiddleware",
    "declared_length",
    "header",
    "parse_json_body",
    "read_body",
]

# A lone surrogate can only come from a \uD800-\uDFFF escape (the text itself is strict
# UTF-8); only bodies with such an escape are walked to look for one.
_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


# Routes that read their own bodies as streams, with their own limit (uploads:
# HUBBUB_MAX_UPLOAD_BYTES, checked as the bytes arrive): not read or limited here.
STREAMED = re.compile(r"^/api/v1/(rooms/[^/]+/uploads|rooms/[^/]+/avatar|me/avatar)$")


class BadBody(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


FORM = "application/x-www-form-urlencoded"
# Incoming webhooks take what Slack takes (JSON, or a form field `payload`, whatever the
# Content-Type says) and answer in Slack's words: the route checks its own body.
SLACK_PATHS = "/hooks/"
# The pages behind the links in mails (web/email.py) take a form POST, and the one-click
# unsubscribe POST of RFC 8058 (`List-Unsubscribe=One-Click`, form-encoded or multipart):
# their bodies are read by nobody.
EMAIL_PATHS = "/email/"


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


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BadBody(400, f"The JSON object has the key {key!r} twice")
        found[key] = value
    return found


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def parse_json_body(raw: bytes) -> Any:
    """The JSON value of a body, or BadBody: 400 if it is not UTF-8 (a BOM, UTF-16, invalid
    bytes), not JSON, or has a duplicate key; 422 if a string holds a lone surrogate."""
    if raw.startswith(codecs.BOM_UTF8):
        raise BadBody(400, "The body must be UTF-8 without a byte order mark")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody(400, "The body is not valid UTF-8") from None
    try:
        value = json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError:
        raise BadBody(400, "The body is not valid JSON") from None
    except RecursionError:
        raise BadBody(400, "The body is nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text) and _has_surrogate(value):
        raise BadBody(422, "Text must be valid Unicode: a lone surrogate (\\ud800) is not")
    return value


class BodyLimitMiddleware:
    """Answer 413 for a body over `limit` bytes, before any route reads it; check that a JSON
    body means one thing (parse_json_body) and says it is JSON; 422 for a NUL in the URL.

    Bodies of POST, PUT and PATCH are read here (up to the limit) and replayed to the route,
    so routes never see an oversize or ambiguous body.
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
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS")
            or STREAMED.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(scope, receive, self.limit)
            if body:
                content_type = header(scope, b"content-type")
                if scope["path"].startswith((SLACK_PATHS, EMAIL_PATHS)):
                    pass  # the route parses and answers for its body itself (or ignores it)
                elif content_type is None or not is_json_content_type(content_type):
                    raise BadBody(415, "Content-Type must be application/json")
                else:
                    parse_json_body(body)
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
