"""Real-time transports over one feed and one cursor: WebSocket, Server-Sent Events, long-poll.

They differ only in framing: each opens a Feed (hubbub.realtime) from a cursor and writes out
the frames it yields (serialised once, shared by all recipients). WebSocket and SSE streams
begin with a `hello` frame once the subscription is live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Header, Query, Request, WebSocket
from pydantic import StringConstraints
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect, WebSocketState

from hubbub import wire
from hubbub.config import Settings
from hubbub.errors import (
    CursorExpired,
    DomainError,
    TooManyStreams,
    Unauthenticated,
    Unavailable,
)
from hubbub.metrics import TransportMetrics
from hubbub.models import User
from hubbub.realtime import Realtime
from hubbub.realtime.feeds import Feed
from hubbub.realtime.frames import PING, RESET, SESSION_ENDED, SLOW_CONSUMER, TOO_MANY_STREAMS
from hubbub.realtime.presence import PRESENCE_QUERY_MAX
from hubbub.realtime.subscriptions import SessionEnded, SlowConsumer
from hubbub.services import Services
from hubbub.services.fields import NO_NUL_PATTERN
from hubbub.services.ratelimits import RateLimits
from hubbub.services.sessions import Session
from hubbub.web.auth import CurrentSession, Me, bearer_token
from hubbub.web.deps import Rt, Svc
from hubbub.web.event_schemas import EventsPage
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import PROBLEMS, PresenceOut, StreamTicketOut

__all__ = ["STREAM_PATH", "is_stream", "router", "serve_stream"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["real-time"])

SSE_RETRY_MS = 2000
# WebSocket close codes (4000-4999 are the application's).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_RESET = 4410
CLOSE_SLOW = 4008
CLOSE_TRY_LATER = 1013  # RFC 6455 "Try Again Later"
CLOSE_TOO_MANY = 4429

SinceQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="A cursor (an event's `id`): resume after that event. "
        "Omit to start at the present.",
    ),
]
TokenQuery = Annotated[
    str | None,
    Query(
        max_length=256,
        description="The bearer token, for clients that cannot set headers "
        "(browser WebSocket and EventSource)",
    ),
]


TicketQuery = Annotated[
    str | None,
    Query(
        max_length=128,
        description="A one-time ticket from POST /api/v1/stream-tickets (the way browsers "
        "should authenticate a stream: it keeps the long-lived token out of URLs and logs)",
    ),
]


async def _stream_session(
    svc: Services, authorization: str | None, access_token: str | None, ticket: str | None
) -> Session:
    """A stream's session: from a one-time ticket, the Authorization header, or (kept for
    compatibility, discouraged) an `access_token` in the URL."""
    if ticket:
        return await svc.sessions.redeem_ticket(ticket)
    token = bearer_token(authorization) or access_token
    return await svc.sessions.authenticate(token)


@router.post(
    "/stream-tickets",
    operation_id="createStreamTicket",
    status_code=201,
    response_model=StreamTicketOut,
    responses=PROBLEMS(401),
)
async def create_stream_ticket(session: CurrentSession, svc: Svc) -> Response:
    """A one-time ticket that opens one stream (WebSocket or SSE, `?ticket=`) as this session
    within 30 seconds. Browsers cannot set headers on a WebSocket or an EventSource: a ticket
    keeps the long-lived token out of the URL (and so out of proxies' and servers' logs)."""
    ticket, expires_at = await svc.sessions.issue_ticket(session)
    return json_response({"ticket": ticket, "expires_at": wire.rfc3339(expires_at)}, 201)


@router.get(
    "/events",
    operation_id="pollEvents",
    response_model=EventsPage,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "JSON long-poll page, or an SSE stream for Accept: text/event-stream",
        },
        **PROBLEMS(401, 410, 422),
    },
)
async def events(
    request: Request,
    svc: Svc,
    rt: Rt,
    since: SinceQuery = None,
    wait: Annotated[
        float, Query(alias="timeout", ge=0, le=60, description="Long-poll: seconds to wait")
    ] = 30,
    access_token: TokenQuery = None,
    ticket: TicketQuery = None,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> Response:
    """Long-poll (`Accept: application/json`): the events after `since` at once if any are
    pending, else when one arrives or `timeout` (seconds) ends (`events` empty, `next` unchanged).
    Without `since`: `{"events": [], "next": <now>}` at once. A cursor this server cannot
    resume answers 410 `cursor_expired`: fetch state again.

    Server-Sent Events (`Accept: text/event-stream`): a `hello` record, then every event with
    its cursor as `id:`; resume with `Last-Event-ID` (what EventSource sends) or `since`.
    """
    session = await _stream_session(svc, request.headers.get("authorization"), access_token, ticket)
    if "text/event-stream" in request.headers.get("accept", ""):
        # The stream's own refusals (a cursor to reset, too many streams, a session that
        # just ended) come as its last frame; EventSource cannot read an HTTP error's body.
        return StreamingResponse(
            _sse(request, rt, session, last_event_id or since),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    if since is None:
        cursor = await rt.feeds.head_cursor()
        return Response(
            b'{"events":[],"next":"%s"}' % cursor.encode(), media_type="application/json"
        )
    longpoll: TransportMetrics = request.app.state.metrics.transports["longpoll"]
    async with rt.feeds.open(session.user, session.id, since) as feed, longpoll.connection():
        try:
            frames = await feed.next(wait)
        except SessionEnded:
            raise Unauthenticated("The session was signed out") from None
        longpoll.delivered.inc(len(frames))
        durable = any(f.pos is not None for f in frames)
        next_cursor = feed.cursor if durable else since
    body = b'{"events":[' + b",".join(f.json for f in frames) + b'],"next":'
    return Response(body + orjson.dumps(next_cursor) + b"}", media_type="application/json")


async def _sse(
    request: Request, rt: Realtime, session: Session, since: str | None
) -> AsyncIterator[bytes]:
    settings: Settings = request.app.state.settings
    sse: TransportMetrics = request.app.state.metrics.transports["sse"]
    yield b"retry: %d\n\n" % SSE_RETRY_MS
    try:
        async with rt.feeds.open(session.user, session.id, since) as feed, sse.connection():
            yield feed.hello().sse
            while True:
                frames = await feed.next(settings.sse_heartbeat_seconds)
                if not frames:
                    if await request.is_disconnected():
                        return
                    yield b": keepalive\n\n"
                    continue
                sse.delivered.inc(len(frames))
                yield b"".join(frame.sse for frame in frames)
    except CursorExpired:
        yield RESET.sse
    except SlowConsumer:
        sse.slow_consumers.inc()
        yield SLOW_CONSUMER.sse
    except (SessionEnded, Unauthenticated):
        yield SESSION_ENDED.sse
    except TooManyStreams:
        yield TOO_MANY_STREAMS.sse
    except Unavailable:  # the database is down: end; EventSource reconnects with Last-Event-ID
        return


STREAM_PATH = "/api/v1/stream"


def is_stream(scope: Scope) -> bool:
    """Whether `scope` is a WebSocket stream connection (`GET /api/v1/stream`)."""
    return bool(scope["type"] == "websocket" and scope["path"] == STREAM_PATH)


async def serve_stream(scope: Scope, receive: Receive, send: Send) -> None:
    """The WebSocket stream for one connection (`scope["app"]` set)."""
    await stream(WebSocket(scope, receive, send), *_stream_params(scope))


def _stream_params(scope: Scope) -> tuple[str | None, str | None, str | None, str | None]:
    """(since, access_token, ticket, Authorization) of a stream request, read straight from
    the scope: not through Starlette's QueryParams and Headers, which the WebSocket object
    would cache for the connection's whole life, nor in the frame of a coroutine that lives
    as long."""
    since = token = ticket = authorization = None
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "since":
            since = value
        elif name == "access_token":
            token = value
        elif name == "ticket":
            ticket = value
    for header, raw in scope["headers"]:
        if header == b"authorization":
            authorization = raw.decode("latin-1")
            break
    if since is not None and len(since) > 64:
        since = "-"  # no cursor is that long: answered with a reset
    if token is not None and len(token) > 256:
        token = ""
    if ticket is not None and len(ticket) > 128:
        ticket = "-"
    return since, token, ticket, authorization


async def stream(
    websocket: WebSocket,
    since: str | None,
    access_token: str | None,
    ticket: str | None,
    authorization: str | None,
) -> None:
    """A `hello` frame, then one JSON event per text frame. The client may send
    {"type": "typing", "room_id"}."""
    svc: Services = websocket.app.state.services
    rt: Realtime = websocket.app.state.realtime
    settings: Settings = websocket.app.state.settings
    ws: TransportMetrics = websocket.app.state.metrics.transports["websocket"]
    await websocket.accept()
    try:
        session = await _stream_session(svc, authorization, access_token, ticket)
        del authorization, access_token, ticket  # the stream may last hours: keep no secrets
    except Unauthenticated as exc:
        await websocket.close(CLOSE_UNAUTHENTICATED, exc.detail[:120])
        return
    except Unavailable:
        await websocket.close(CLOSE_TRY_LATER, "database unavailable: reconnect shortly")
        return
    limits: RateLimits = websocket.app.state.rate_limits
    try:
        # Not `async with`: a context manager's generator frame would be held per connection.
        feed = await rt.feeds.subscribe(session.user, session.id, since)
        ws.open.inc()
        try:
            reader = asyncio.create_task(_read_client(websocket, svc, limits, session.user))
            # A client that leaves must not wait for the next event or ping to be noticed.
            reader.add_done_callback(lambda _: feed.sub.wake())
            try:
                await _send(websocket, feed.hello().text)
                await _write_frames(websocket, feed, reader, settings.ws_ping_seconds, ws)
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        finally:
            ws.open.dec()
            rt.feeds.close(feed)
    except CursorExpired:
        await _close(
            websocket, CLOSE_RESET, "cursor cannot be resumed: fetch state again", RESET.text
        )
    except SlowConsumer:
        ws.slow_consumers.inc()
        await _close(websocket, CLOSE_SLOW, "slow consumer: reconnect with your last cursor")
    except (SessionEnded, Unauthenticated):
        await _close(websocket, CLOSE_UNAUTHENTICATED, "the session was signed out")
    except TooManyStreams as exc:
        await _close(websocket, CLOSE_TOO_MANY, exc.detail[:120])
    except Unavailable:
        await _close(websocket, CLOSE_TRY_LATER, "database unavailable: reconnect shortly")
    except _Gone:
        return


class _Gone(Exception):
    """The client went away while we were sending to it."""


async def _send(websocket: WebSocket, text: str) -> None:
    try:
        await websocket.send({"type": "websocket.send", "bytes": None, "text": text})
    except (WebSocketDisconnect, OSError) as exc:  # uvicorn's ClientDisconnected is an OSError
        raise _Gone from exc
    except RuntimeError as exc:  # Starlette: sending after the connection was closed
        if websocket.application_state == WebSocketState.DISCONNECTED:
            raise _Gone from exc
        raise


async def _close(websocket: WebSocket, code: int, reason: str, last: str | None = None) -> None:
    """Send `last` (if any) and close with `code`; fine if the client has already gone."""
    with contextlib.suppress(_Gone):
        if last is not None:
            await _send(websocket, last)
        if websocket.application_state != WebSocketState.DISCONNECTED:
            try:
                await websocket.close(code, reason)
            except (WebSocketDisconnect, OSError, RuntimeError):
                return


async def _write_frames(
    websocket: WebSocket,
    feed: Feed,
    reader: asyncio.Task[None],
    ping_seconds: float,
    metrics: TransportMetrics,
) -> None:
    loop = asyncio.get_running_loop()
    # Jittered heartbeats, so reconnecting crowds do not ping in lockstep.
    next_ping = loop.time() + ping_seconds * random.uniform(0.85, 1.15)
    while not reader.done():
        frames = await feed.next(max(0.0, next_ping - loop.time()))
        for frame in frames:
            await _send(websocket, frame.text)
        if frames:
            metrics.delivered.inc(len(frames))
        if loop.time() >= next_ping:
            await _send(websocket, PING.text)
            next_ping = loop.time() + ping_seconds * random.uniform(0.85, 1.15)


async def _read_client(websocket: WebSocket, svc: Services, limits: RateLimits, me: User) -> None:
    """Typing notifications from the client; returns when it disconnects. Frames that are not
    a JSON typing notification (binary frames included) are ignored, and so are frames past
    the connection's `stream_frames` budget (a flood costs the server next to nothing)."""
    connection = f"{me.id}:{id(websocket)}"
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, OSError, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text")
        if raw is None or not await limits.allow("stream_frames", connection):
            continue
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(body, dict) and body.get("type") == "typing":
            room_id = body.get("room_id")
            if isinstance(room_id, str):
                with contextlib.suppress(DomainError):
                    await svc.activity.typing(me, room_id)


@router.get(
    "/presence",
    operation_id="getPresence",
    response_model=PresenceOut,
    responses=PROBLEMS(401, 422),
)
async def presence(
    me: Me,
    rt: Rt,
    user_id: Annotated[
        list[Annotated[str, StringConstraints(pattern=NO_NUL_PATTERN, max_length=64)]],
        Query(max_length=PRESENCE_QUERY_MAX, description="Repeat for each user (at most 200)"),
    ],
) -> Response:
    """Which of these users are online now (have a live connection to any node). Only users
    who share a room or DM with you can read as online; anyone else reads as offline. Live
    changes arrive as `presence` events on the stream."""
    return json_response({"online": await rt.presence.online(me, user_id)})


@router.post(
    "/rooms/{room_id}/typing",
    operation_id="sendTyping",
    status_code=204,
    responses=PROBLEMS(401, 403, 404),
)
async def typing(room_id: str, me: Me, svc: Svc) -> Response:
    """Tell the room's other members you are typing (for ~6 s)."""
    await svc.activity.typing(me, room_id)
    return no_content()
