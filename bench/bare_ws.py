"""A bare ASGI WebSocket broadcast server: the ceiling that bench/realtime.py compares hubbub to.

The same send -> receive path as hubbub's, without any chat logic (no accounts, no database, no
JSON envelope): a WebSocket client connects to any path (`?room=NAME` picks its room; default
`""`); `POST /send?room=NAME` broadcasts its body, as one text frame, to every client connected
to that room, then answers `{"ok":true}`. `GET /` answers `{"connections": N}`.

Serve it like hubbub is served (uvloop, httptools, websockets-sansio, no permessage-deflate):
    uvicorn --app-dir bench bare_ws:app --loop uvloop --http httptools --ws websockets-sansio \
        --ws-per-message-deflate false
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ROOMS: dict[str, set[Send]] = {}
OK = b'{"ok":true}'


def _room(scope: Scope) -> str:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return str(query.get("room", [""])[0])


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _websocket(scope: Scope, receive: Receive, send: Send) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    members = ROOMS.setdefault(_room(scope), set())
    members.add(send)  # before the 101 goes out: a client that sees it is subscribed
    try:
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass  # client frames are ignored
    finally:
        members.discard(send)


async def _broadcast(room: str, text: str) -> None:
    frame = {"type": "websocket.send", "text": text}
    for member in list(ROOMS.get(room, ())):
        try:
            await member(frame)
        except Exception:  # the client went away meanwhile
            ROOMS.get(room, set()).discard(member)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await _websocket(scope, receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["method"] == "POST" and scope["path"] == "/send":
        body = bytearray()
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        await _broadcast(_room(scope), body.decode())
        await _respond(send, 200, OK)
    elif scope["method"] == "GET":
        count = sum(len(members) for members in ROOMS.values())
        await _respond(send, 200, b'{"connections":%d}' % count)
    else:
        await _respond(send, 404, b'{"ok":false}')
