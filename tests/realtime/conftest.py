"""Real-time fixtures: a real `hubbub serve` process on a socket (httpx's in-process transport
buffers whole responses, so it cannot test an endless stream), signed-up accounts, and one
client per transport: WebSocket (`websockets`), Server-Sent Events and long-poll (httpx).

Every stream client offers the same calls, so a test can switch transports freely:
`await stream.next_event(within)` gives the next event (a dict), or None if none came in time,
and raises StreamEnded when the server ends the stream; `stream.cursor` is the last cursor
received (the `id` of the last durable event taken, or for long-poll `next` once a page is used
up). Opening a WebSocket or SSE stream returns once the server's `hello` frame says the
subscription is live, so no test sleeps to wait for it; every frame any client receives is
checked against the published Event schema (tests/event_schema.py).

The servers run with the database poll off (an hour): an event reaches a stream only because
the write that made it published it after committing.
"""

from __future__ import annotations

import itertools
import json
import math
import socket
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio
import httpx
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.event_schema import check_frame
from tests.server_process import ServerProcess

API = "/api/v1"
PASSWORD = "correct horse"

# Short timers so heartbeats, pings and presence expiry can be seen within a test.
FAST_ENV = {
    "HUBBUB_EVENT_POLL_SECONDS": "3600",
    "HUBBUB_SQLITE_SYNCHRONOUS": "NORMAL",
    "HUBBUB_PRESENCE_GRACE_SECONDS": "1",
    "HUBBUB_SSE_HEARTBEAT_SECONDS": "1",
    "HUBBUB_WS_PING_SECONDS": "1",
}

Transport = Literal["ws", "sse", "longpoll"]
TRANSPORTS: tuple[Transport, ...] = ("ws", "sse", "longpoll")

_names = itertools.count(1)


def unique_name(prefix: str) -> str:
    """A username no other test on the same server has used (2-32 of [A-Za-z0-9_.-])."""
    return f"{prefix[:20]}_{next(_names)}"


def position(cursor: str) -> int:
    """The position inside a cursor. Cursors are opaque to clients: tests peek only to check
    that they strictly increase."""
    return int(cursor.rpartition("-")[2])


def is_durable(event: dict[str, Any]) -> bool:
    return bool(event.get("id"))


# -- the server -----------------------------------------------------------------------------


def hubbub_server(directory: Path, database_url: str | None = None, **env: str) -> ServerProcess:
    """A server on `database_url` (default: a fresh SQLite file in `directory`), its log in
    `directory`, with FAST_ENV + `env`."""
    return ServerProcess(
        database_url or f"sqlite:///{directory / 'hubbub.db'}",
        env={**FAST_ENV, **env},
        log_path=directory / "server.log",
    )


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server per database engine for the session; tests keep apart by signing up their
    own accounts. The PostgreSQL one gets a database of its own."""
    database_url = None
    if request.param == "postgres":
        databases = request.getfixturevalue("pg_databases")
        database_url = databases.create_empty()
    with hubbub_server(tmp_path_factory.mktemp("hubbub"), database_url) as running:
        yield running


@pytest.fixture
async def chat(server: ServerProcess) -> AsyncIterator[Chat]:
    async with Chat.open(server.url) as c:
        yield c


# -- accounts -------------------------------------------------------------------------------


@dataclass
class Account:
    """A signed-up user; every request carries this user's bearer token."""

    username: str
    token: str
    id: str
    http: httpx.AsyncClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(API + path, headers=self.headers, **kw)

    async def post(self, path: str, json: Any = None) -> httpx.Response:
        return await self.http.post(API + path, json=json, headers=self.headers)

    async def put(self, path: str, json: Any = None) -> httpx.Response:
        return await self.http.put(API + path, json=json, headers=self.headers)

    async def patch(self, path: str, json: Any = None) -> httpx.Response:
        return await self.http.patch(API + path, json=json, headers=self.headers)

    async def delete(self, path: str) -> httpx.Response:
        return await self.http.delete(API + path, headers=self.headers)

    async def send(self, room_id: str, text: str) -> dict[str, Any]:
        """Post a message; fails the test unless it is created (201)."""
        r = await self.post(f"/rooms/{room_id}/messages", {"text": text})
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def create_room(self, name: str, visibility: str = "public") -> dict[str, Any]:
        r = await self.post("/rooms", {"name": name, "visibility": visibility})
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def expect(self, status: int, method: str, path: str, json: Any = None) -> None:
        """Make a request and fail the test unless it answers `status`."""
        r = await self.http.request(method, API + path, json=json, headers=self.headers)
        assert r.status_code == status, f"{method} {path} as {self.username}: {r.text}"


# -- stream clients -------------------------------------------------------------------------


class StreamEnded(Exception):
    """The server ended the stream: a WebSocket close (code, reason), the end of an SSE
    response, or a long-poll error status."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"stream ended: {code} {reason}")
        self.code = code
        self.reason = reason


class EventStream(Protocol):
    cursor: str | None

    async def next_event(self, within: float) -> dict[str, Any] | None: ...


class WsStream:
    """A WebSocket on /api/v1/stream. Pings ({"type": "ping"}) are counted, not returned."""

    def __init__(self, ws: ClientConnection, since: str | None) -> None:
        self.ws = ws
        self.cursor = since
        self.pings = 0
        self.hello: dict[str, Any] | None = None
        self._pushed_back: deque[dict[str, Any]] = deque()
        self._ended: StreamEnded | None = None

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def await_hello(self, within: float = 10.0) -> None:
        """Take the server's first frame if it is `hello`; otherwise (a reset, a close) leave
        it for the test to read."""
        try:
            first = await self.next_message(within)
        except StreamEnded as ended:
            self._ended = ended
            return
        assert first is not None, f"no first frame within {within} s"
        if first["type"] == "hello":
            self.hello = first
        else:
            self._pushed_back.append(first)

    async def next_message(self, within: float) -> dict[str, Any] | None:
        """The next text frame, pings included; None if none comes `within` seconds."""
        if self._pushed_back:
            return self._pushed_back.popleft()
        if self._ended is not None:
            raise self._ended
        with anyio.move_on_after(within):
            try:
                raw = await self.ws.recv()
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                raise StreamEnded(code, exc.rcvd.reason if exc.rcvd else "") from exc
            frame = dict(json.loads(raw))
            check_frame(frame)
            return frame
        return None

    async def next_event(self, within: float) -> dict[str, Any] | None:
        deadline = anyio.current_time() + within
        while True:
            message = await self.next_message(max(0.0, deadline - anyio.current_time()))
            if message is None:
                return None
            if message.get("type") == "ping":
                self.pings += 1
                continue
            if is_durable(message):
                self.cursor = message["id"]
            return message


@dataclass
class SseRecord:
    id: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)


class SseStream:
    """A text/event-stream response, parsed into records by a background task."""

    def __init__(
        self,
        response: httpx.Response,
        records: MemoryObjectReceiveStream[SseRecord],
        since: str | None,
    ) -> None:
        self.response = response
        self._records = records
        self.cursor = since
        self.retry: int | None = None
        self.heartbeats = 0
        self.hello: dict[str, Any] | None = None
        self._pushed_back: deque[SseRecord] = deque()
        self._ended: StreamEnded | None = None

    async def await_hello(self, within: float = 10.0) -> None:
        """Take records up to the first data record if that is `hello`; otherwise (a reset,
        the end) leave it for the test to read."""
        deadline = anyio.current_time() + within
        while True:
            try:
                record = await self.next_record(max(0.0, deadline - anyio.current_time()))
            except StreamEnded as ended:
                self._ended = ended
                return
            assert record is not None, f"no hello within {within} s"
            if record.retry is not None:
                self.retry = record.retry
            if record.data is None:
                continue
            frame = json.loads(record.data)
            if frame.get("type") == "hello" and record.id is None:
                check_frame(frame)
                self.hello = frame
            else:
                self._pushed_back.append(record)
            return

    @staticmethod
    async def pump(response: httpx.Response, out: MemoryObjectSendStream[SseRecord]) -> None:
        async with out:
            record = SseRecord()
            try:
                async for line in response.aiter_lines():
                    if line == "":
                        if record != SseRecord():
                            await out.send(record)
                        record = SseRecord()
                    elif line.startswith(":"):
                        record.comments.append(line[1:].strip())
                    else:
                        name, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if name == "id":
                            record.id = value
                        elif name == "data":
                            record.data = (
                                value if record.data is None else record.data + "\n" + value
                            )
                        elif name == "retry":
                            record.retry = int(value)
            except httpx.TransportError:
                return  # the server cut the stream: the reader sees its end

    async def next_record(self, within: float) -> SseRecord | None:
        """The next record (heartbeat comments and `retry:` included), or None if none comes
        `within` seconds."""
        if self._pushed_back:
            return self._pushed_back.popleft()
        if self._ended is not None:
            raise self._ended
        with anyio.move_on_after(within):
            try:
                return await self._records.receive()
            except anyio.EndOfStream:
                raise StreamEnded(None, "SSE response ended") from None
        return None

    async def next_event(self, within: float) -> dict[str, Any] | None:
        deadline = anyio.current_time() + within
        while True:
            record = await self.next_record(max(0.0, deadline - anyio.current_time()))
            if record is None:
                return None
            if record.retry is not None:
                self.retry = record.retry
            if record.comments and record.data is None:
                self.heartbeats += 1
            if record.data is None:
                continue
            event = dict(json.loads(record.data))
            check_frame(event)
            if record.id is not None:
                assert record.id == event.get("id"), "an SSE id: must be its event's cursor"
                self.cursor = record.id
            return event


class LongPollStream:
    """Long-poll presented as a stream: each poll waits at most `wait` seconds."""

    def __init__(self, chat: Chat, account: Account, since: str, wait: float) -> None:
        self._chat = chat
        self._account = account
        self.cursor: str | None = since
        self._wait = wait
        self._page: deque[dict[str, Any]] = deque()
        self._next = since
        self.polls = 0

    async def next_event(self, within: float) -> dict[str, Any] | None:
        deadline = anyio.current_time() + within
        while not self._page:
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return None
            assert self.cursor is not None
            r = await self._chat.poll(self._account, self.cursor, min(remaining, self._wait))
            self.polls += 1
            if r.status_code != 200:
                raise StreamEnded(r.status_code, r.text)
            body = r.json()
            for frame in body["events"]:
                check_frame(frame)
            self._page.extend(body["events"])
            self._next = body["next"]
            if not self._page:
                assert self._next == self.cursor, "an empty long-poll must leave `next` unchanged"
        event = self._page.popleft()
        if is_durable(event):
            self.cursor = event["id"]
        if not self._page:
            self.cursor = self._next
        return dict(event)


# -- the client of one server ---------------------------------------------------------------


class Chat:
    """HTTP access to one server: sign-ups, the classic API, and the three transports."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url
        self.ws_url = "ws" + url.removeprefix("http")
        self.http = http

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str) -> AsyncIterator[Chat]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(
            base_url=url, timeout=30, trust_env=False, limits=limits
        ) as http:
            yield cls(url, http)

    async def sign_up(self, prefix: str, *, in_lobby: bool = False) -> Account:
        """A new account. It leaves the lobby `general` unless `in_lobby`, so that the
        sign-ups and presence of other tests on the same server do not reach its streams."""
        username = unique_name(prefix)
        r = await self.http.post(
            f"{API}/accounts", json={"username": username, "password": PASSWORD}
        )
        assert r.status_code == 201, r.text
        body = r.json()
        account = Account(username, body["token"], body["user"]["id"], self.http)
        if not in_lobby:
            await account.expect(204, "POST", "/rooms/general/leave")
        return account

    async def classic_post(self, user: str, text: str) -> None:
        r = await self.http.post("/message", json={"user": user, "text": text})
        assert r.status_code == 200, r.text

    async def poll(
        self, account: Account, since: str | None, wait: float | None = None
    ) -> httpx.Response:
        """One long-poll request (Accept: application/json) that waits up to `wait` s."""
        params: dict[str, Any] = {}
        if since is not None:
            params["since"] = since
        if wait is not None:
            params["timeout"] = round(wait, 3)
        r = await self.http.get(
            f"{API}/events",
            params=params,
            headers={**account.headers, "Accept": "application/json"},
            timeout=(wait or 30) + 10,
        )
        if r.status_code == 200:
            for frame in r.json()["events"]:
                check_frame(frame)
        return r

    async def head(self, account: Account) -> str:
        """The present position: long-poll without `since` answers it at once."""
        r = await self.poll(account, None)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["events"] == []
        return str(body["next"])

    @asynccontextmanager
    async def ws(
        self,
        account: Account | None,
        since: str | None = None,
        *,
        token: str | None = None,
        token_in: Literal["query", "header"] = "query",
        rcvbuf: int | None = None,
    ) -> AsyncIterator[WsStream]:
        """A WebSocket stream as `account` (or with a raw `token`). `rcvbuf` shrinks the
        client's socket receive buffer, so an unread stream pushes back on the server soon."""
        secret = token if token is not None else (account.token if account else "")
        params = {"since": since} if since is not None else {}
        headers = {}
        if token_in == "query":
            params["access_token"] = secret
        else:
            headers["Authorization"] = f"Bearer {secret}"
        query = str(httpx.QueryParams(params))
        uri = f"{self.ws_url}{API}/stream" + (f"?{query}" if query else "")
        # Unbounded: a bounded client queue stops reading when full, and then cannot see the
        # server's reply to its own close (leaving with unread events would wait 2 s).
        options: dict[str, Any] = {"max_queue": None}
        if rcvbuf is not None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.connect(("127.0.0.1", int(self.url.rpartition(":")[2])))
            sock.setblocking(False)
            options.update(sock=sock, max_queue=1)
        async with connect(
            uri,
            additional_headers=headers,
            compression=None,
            proxy=None,
            ping_interval=None,
            open_timeout=10,
            close_timeout=2,
            **options,
        ) as ws:
            stream = WsStream(ws, since)
            await stream.await_hello()
            yield stream

    @asynccontextmanager
    async def sse(
        self,
        account: Account,
        since: str | None = None,
        *,
        last_event_id: str | None = None,
    ) -> AsyncIterator[SseStream]:
        """An SSE stream; resume with `last_event_id` (as EventSource does) or `since`."""
        headers = {**account.headers, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        params = {"since": since} if since is not None else {}
        timeout = httpx.Timeout(10, read=None)
        async with self.http.stream(
            "GET", f"{API}/events", params=params, headers=headers, timeout=timeout
        ) as response:
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            send, receive = anyio.create_memory_object_stream[SseRecord](math.inf)
            async with receive, anyio.create_task_group() as tg:
                tg.start_soon(SseStream.pump, response, send)
                try:
                    stream = SseStream(response, receive, last_event_id or since)
                    await stream.await_hello()
                    yield stream
                finally:
                    tg.cancel_scope.cancel()

    @asynccontextmanager
    async def longpoll(
        self, account: Account, since: str | None = None, *, wait: float = 1.0
    ) -> AsyncIterator[LongPollStream]:
        start = since if since is not None else await self.head(account)
        yield LongPollStream(self, account, start, wait)

    def stream(
        self, transport: Transport, account: Account, since: str | None
    ) -> AbstractAsyncContextManager[EventStream]:
        """A stream over `transport`: SSE resumes through Last-Event-ID, the others `since`."""
        if transport == "ws":
            return self.ws(account, since)
        if transport == "sse":
            return self.sse(account, last_event_id=since)
        return self.longpoll(account, since, wait=0.5)


async def next_durable(stream: EventStream, within: float = 5.0) -> dict[str, Any]:
    """The next durable event, skipping typing/presence; fails the test if none comes."""
    deadline = anyio.current_time() + within
    while True:
        event = await stream.next_event(max(0.0, deadline - anyio.current_time()))
        assert event is not None, f"no durable event within {within} s"
        if is_durable(event):
            return event


async def collect(
    stream: EventStream, silence: float, *, types: set[str] | None = None
) -> list[dict[str, Any]]:
    """Every event (of `types`, if given) that arrives until `silence` seconds pass quietly."""
    got: list[dict[str, Any]] = []
    while True:
        event = await stream.next_event(silence)
        if event is None:
            return got
        if types is None or event["type"] in types:
            got.append(event)


async def wait_for(
    stream: EventStream, match: Any, within: float = 5.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first event for which `match(event)` holds, and the events seen before it."""
    before: list[dict[str, Any]] = []
    deadline = anyio.current_time() + within
    while True:
        event = await stream.next_event(max(0.0, deadline - anyio.current_time()))
        assert event is not None, f"no matching event within {within} s; saw {before}"
        if match(event):
            return event, before
        before.append(event)


async def read_until_closed(
    stream: EventStream, within: float = 10.0
) -> tuple[list[dict[str, Any]], StreamEnded]:
    """Every event until the server ends the stream, and how it ended; fails the test if the
    stream goes quiet for `within` seconds without ending."""
    events: list[dict[str, Any]] = []
    while True:
        try:
            event = await stream.next_event(within)
        except StreamEnded as ended:
            return events, ended
        assert event is not None, f"the stream was neither closed nor active for {within} s"
        events.append(event)
