"""The classic chat-server exercise API at the server root, exactly as its text specifies.

GET /messages, POST /message and GET /users are the hot path of the exercise and tiny, so they
are served by this pure-ASGI layer in front of FastAPI: no dependency injection, no middleware
stack, orjson in and out. Everything else passes through to FastAPI. The same services, the
same error shaper (web.problems) and the same body reader (web.bodies) are used, and
web.openapi documents these routes.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from hubbub.errors import DomainError, Invalid
from hubbub.services import Services
from hubbub.services.classic import LIMIT_DEFAULT, LIMIT_MAX
from hubbub.web.bodies import BadBody, parse_json_body, read_body
from hubbub.web.problems import domain_error_response, http_error, is_json_content_type

__all__ = ["ROUTES", "ClassicRoutes"]

log = logging.getLogger(__name__)

# path -> the one method it accepts
ROUTES = {"/messages": "GET", "/message": "POST", "/users": "GET"}
OK = orjson.dumps({"ok": True})
_DIGITS = re.compile(r"[0-9]{1,6}")
_JSON = (b"content-type", b"application/json")


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _limit(query_string: bytes) -> int:
    limit = LIMIT_DEFAULT
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "limit":
            # ASCII digits only: isdigit() takes "²", which int() then refuses (a 500).
            if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= LIMIT_MAX:
                raise Invalid(f"limit must be an integer from 1 to {LIMIT_MAX}", field="limit")
            limit = int(value)
    return limit


class ClassicRoutes:
    """ASGI middleware: serve the classic routes, pass every other request to `app`."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in ROUTES:
            await self.app(scope, receive, send)
            return
        if scope["method"] != ROUTES[path]:
            await http_error(path, 405, "Method not allowed", headers={"Allow": ROUTES[path]})(
                scope, receive, send
            )
            return
        services: Services = scope["app"].state.services
        try:
            if path == "/message":
                await self._post(services, scope, receive)
                await _send_json(send, 200, OK)
            elif path == "/messages":
                rows = await services.classic.list_recent(_limit(scope["query_string"]))
                body = orjson.dumps(
                    {
                        "messages": [
                            {"timestamp": ts / 1000, "user": user, "text": text}
                            for ts, user, text in rows
                        ]
                    }
                )
                await _send_json(send, 200, body)
            else:
                await _send_json(
                    send, 200, orjson.dumps({"users": await services.classic.list_users()})
                )
        except DomainError as exc:
            await domain_error_response(path, exc)(scope, receive, send)
        except BadBody as bad:
            await http_error(path, bad.status, bad.detail)(scope, receive, send)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], path)
            await http_error(path, 500)(scope, receive, send)

    async def _post(self, services: Services, scope: Scope, receive: Receive) -> None:
        content_type = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
                break
        if not is_json_content_type(content_type):
            raise BadBody(415, "Content-Type must be application/json")
        raw = await read_body(scope, receive, self.max_body_bytes)
        body = parse_json_body(raw)
        if not isinstance(body, dict):
            raise Invalid("The body must be a JSON object with 'user' and 'text'")
        client = scope.get("client")
        address = client[0] if client else "unknown"
        await services.classic.post(body.get("user"), body.get("text"), address)
