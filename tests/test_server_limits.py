"""The HTTP server's limits (hubbub/serving.py), seen from raw sockets against `hubbub serve`:
head size and count, head and body timeouts, the connection cap, the WebSocket message size,
and whose X-Forwarded-For is believed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.server_process import ServerProcess

pytestmark = pytest.mark.anyio

TIMEOUT = 1.0  # the header and body timeouts of the `server` fixture
MAX_CONNECTIONS = 20
MAX_HEADER_BYTES = 16384  # the default
GET = b"GET /healthz HTTP/1.1\r\nHost: hubbub\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server with 1 s head and body timeouts and room for 20 connections."""
    directory = tmp_path_factory.mktemp("limits")
    env = {
        "HUBBUB_HEADER_TIMEOUT_SECONDS": str(TIMEOUT),
        "HUBBUB_BODY_TIMEOUT_SECONDS": str(TIMEOUT),
        "HUBBUB_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    }
    with ServerProcess(f"sqlite:///{directory / 'hubbub.db'}", env=env) as process:
        yield process


@dataclass(slots=True)
class Reply:
    data: bytes  # everything the server sent
    seconds: float  # from the first byte sent until the server closed

    @property
    def status(self) -> int:
        return int(self.data.split(b" ", 2)[1]) if self.data.startswith(b"HTTP/1.1 ") else 0

    @property
    def body(self) -> bytes:
        return self.data.partition(b"\r\n\r\n")[2]

    def header(self, name: bytes) -> bytes | None:
        for line in self.data.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name:
                return value.strip()
        return None


async def converse(
    port: int, parts: Sequence[bytes], *, pace: float = 0.0, within: float = 10.0
) -> Reply:
    """Send `parts` (`pace` seconds apart) while reading, until the server closes; fail if it
    has not closed `within` seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def send() -> None:
        try:
            for i, part in enumerate(parts):
                if i and pace:
                    await asyncio.sleep(pace)  # the slow client under test
                writer.write(part)
                await writer.drain()
        except ConnectionError:
            pass  # the server closed while we were still sending

    sender = asyncio.create_task(send())
    data = b""
    try:
        async with asyncio.timeout(within):
            while chunk := await reader.read(65536):
                data += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {within} s; got {data[:100]!r}")
    finally:
        seconds = loop.time() - started
        sender.cancel()
        writer.close()
    return Reply(data, seconds)


def head_of(size: int) -> bytes:
    """A GET /healthz head of exactly `size` bytes (padded by one header)."""
    start, end = GET + b"Connection: close\r\nX-Pad: ", b"\r\n\r\n"
    return start + b"p" * (size - len(start) - len(end)) + end


async def test_a_100_kb_header_is_431_and_closed(server: ServerProcess) -> None:
    reply = await converse(server.port, [GET + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n"])
    assert reply.status == 431
    assert reply.header(b"connection") == b"close"


async def test_a_head_of_exactly_the_limit_is_served_and_one_byte_more_is_431(
    server: ServerProcess,
) -> None:
    at_limit = head_of(MAX_HEADER_BYTES)
    over = head_of(MAX_HEADER_BYTES + 1)
    assert len(at_limit) == MAX_HEADER_BYTES
    assert (await converse(server.port, [at_limit])).status == 200
    assert (await converse(server.port, [over])).status == 431


async def test_pipelined_requests_together_over_the_limit_are_each_served(
    server: ServerProcess,
) -> None:
    # 600 small requests in one write, 21 KB: each head is small, however much arrives at once.
    requests = [GET + b"\r\n"] * 599 + [GET + b"Connection: close\r\n\r\n"]
    assert len(b"".join(requests)) > MAX_HEADER_BYTES
    reply = await converse(server.port, [b"".join(requests)])
    assert reply.data.count(b"HTTP/1.1 200 OK\r\n") == 600


async def test_5000_headers_are_431(server: ServerProcess) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
    assert (await converse(server.port, [GET + many + b"\r\n"])).status == 431


async def test_more_than_100_small_headers_are_431_and_100_are_served(
    server: ServerProcess,
) -> None:
    def with_headers(count: int) -> bytes:  # Host and Connection are two of them
        more = b"".join(b"X%d: v\r\n" % i for i in range(count - 2))
        return GET + b"Connection: close\r\n" + more + b"\r\n"

    ok = await converse(server.port, [with_headers(100)])
    assert ok.status == 200
    refused = await converse(server.port, [with_headers(101)])
    assert refused.status == 431
    assert refused.body == b"Too many header fields\n"


async def test_a_huge_url_is_414(server: ServerProcess) -> None:
    reply = await converse(server.port, [b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n"])
    assert reply.status == 414


async def test_a_head_sent_one_byte_per_300_ms_is_408_and_closed_after_the_timeout(
    server: ServerProcess,
) -> None:
    head = GET + b"X-Slow: " + b"s" * 100 + b"\r\n\r\n"  # 40 s at this pace
    reply = await converse(server.port, [head[i : i + 1] for i in range(len(head))], pace=0.3)
    assert reply.status == 408
    assert TIMEOUT * 0.9 <= reply.seconds <= TIMEOUT + 2.5


async def test_a_connection_that_sends_nothing_is_closed_after_the_timeout(
    server: ServerProcess,
) -> None:
    reply = await converse(server.port, [])
    assert reply.data == b""
    assert TIMEOUT * 0.9 <= reply.seconds <= TIMEOUT + 2.5


async def test_a_pipelined_head_that_stalls_is_408_after_the_answer_before_it(
    server: ServerProcess,
) -> None:
    reply = await converse(server.port, [GET + b"\r\nGET /healthz HTTP/1.1\r\nHost: h"])
    assert reply.status == 200
    assert reply.data.count(b"HTTP/1.1 ") == 2
    assert reply.body.endswith(b"The request head took too long\n")
    assert TIMEOUT * 0.9 <= reply.seconds <= TIMEOUT + 2.5


def post_message(length: int) -> bytes:
    return (
        b"POST /message HTTP/1.1\r\nHost: hubbub\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % length
    )


async def test_a_body_trickled_one_byte_per_300_ms_is_408_and_closed(
    server: ServerProcess,
) -> None:
    body = b'{"user": "slow", "text": "' + b"t" * 1000 + b'"}'
    reply = await converse(
        server.port,
        [post_message(len(body)), *(body[i : i + 1] for i in range(len(body)))],
        pace=0.3,
    )
    assert reply.status == 408
    assert reply.body == b"The request body arrived too slowly\n"
    assert TIMEOUT * 0.9 <= reply.seconds <= TIMEOUT + 3.0


async def test_a_body_that_stops_is_408_and_closed(server: ServerProcess) -> None:
    reply = await converse(server.port, [post_message(100) + b'{"user": '])
    assert reply.status == 408
    assert reply.body == b"The request body stalled\n"
    assert TIMEOUT * 0.9 <= reply.seconds <= TIMEOUT + 2.5


async def test_a_steady_slow_upload_above_the_minimum_rate_is_served(
    server: ServerProcess,
) -> None:
    body = json.dumps({"user": "patient", "text": "p" * 1900}).encode()
    pieces = [body[i : i + 100] for i in range(0, len(body), 100)]  # ~1 KB/s for ~2 s
    reply = await converse(server.port, [post_message(len(body)), *pieces], pace=0.1)
    assert reply.status == 200, reply.data[:300]
    assert reply.seconds >= 1.5  # it really was slower than the body timeout


async def test_normal_requests_are_served_after_the_refusals(server: ServerProcess) -> None:
    reply = await converse(server.port, [GET + b"Connection: close\r\n\r\n"])
    assert reply.status == 200
    assert reply.body == b'{"status":"ok"}'


# -- the WebSocket message size ---------------------------------------------------------------


def sign_up(server: ServerProcess, username: str) -> str:
    r = httpx.post(
        f"{server.url}/api/v1/accounts", json={"username": username, "password": "correct horse"}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def stream(server: ServerProcess, token: str) -> connect:
    uri = f"ws://127.0.0.1:{server.port}/api/v1/stream?access_token={token}"
    return connect(uri, compression=None, proxy=None, ping_interval=None, open_timeout=10)


async def hello(ws: ClientConnection) -> None:
    frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert frame["type"] == "hello"


async def test_a_websocket_message_over_16_kib_closes_with_1009(server: ServerProcess) -> None:
    async with stream(server, sign_up(server, "big_sender")) as ws:
        await hello(ws)
        await ws.send("x" * 16384)  # at the limit: taken (and ignored: not a typing frame)
        await asyncio.wait_for(await ws.ping(), 10)
        await ws.send("x" * 16385)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


# -- the connection cap -----------------------------------------------------------------------


async def test_beyond_max_connections_a_new_connection_gets_503_and_others_are_unaffected(
    server: ServerProcess,
) -> None:
    token = sign_up(server, "many_tabs")
    sockets: list[ClientConnection] = []
    try:
        for _ in range(MAX_CONNECTIONS - 1):  # WebSockets count as connections
            ws = await stream(server, token)
            await hello(ws)
            sockets.append(ws)
        # ... and so does an idle keep-alive HTTP connection: 20 in all.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(GET + b"\r\n")
        assert (await reader.readuntil(b'{"status":"ok"}')).startswith(b"HTTP/1.1 200 ")

        refused = await converse(server.port, [GET + b"\r\n"], within=5)
        assert refused.status == 503
        assert refused.header(b"retry-after") is not None
        assert refused.header(b"connection") == b"close"
        assert refused.seconds < 2

        # The open connections still work.
        writer.write(GET + b"\r\n")
        assert (await reader.readuntil(b'{"status":"ok"}')).startswith(b"HTTP/1.1 200 ")
        await asyncio.wait_for(await sockets[0].ping(), 10)
        # Once it closes (the server's end too: the reader sees EOF), its slot is free.
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        freed = await converse(server.port, [GET + b"Connection: close\r\n\r\n"])
        assert freed.status == 200
    finally:
        for ws in sockets:
            await ws.close()


# -- X-Forwarded-For ----------------------------------------------------------------------------


def sign_in_statuses(tmp_path: Path, trusted: str, forwarded_for: list[str]) -> list[int]:
    """A fresh server allowing 3 failed sign-ins per address per minute, trusting `trusted`;
    the statuses of wrong-password sign-ins, each claiming to come from `forwarded_for[i]`."""
    env = {
        "HUBBUB_RATE_LIMITS": "sign_in=3/minute;sign_in_account=1000/minute",
        "HUBBUB_TRUSTED_PROXIES": trusted,
    }
    with ServerProcess(f"sqlite:///{tmp_path / 'h.db'}", env=env) as server:
        return [
            httpx.post(
                f"{server.url}/api/v1/sessions",
                json={"username": "nobody", "password": "wrong password"},
                headers={"X-Forwarded-For": address},
            ).status_code
            for address in forwarded_for
        ]


ROTATING = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]


@pytest.mark.parametrize("trusted", ["", "10.0.0.0/8"], ids=["nobody", "another-network"])
def test_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_rate_limit(
    tmp_path: Path, trusted: str
) -> None:
    assert sign_in_statuses(tmp_path, trusted, ROTATING) == [401, 401, 401, 429]


def test_x_forwarded_for_from_a_trusted_proxy_is_the_client_address(tmp_path: Path) -> None:
    # Each forwarded address has its own allowance, and one that used it up is limited.
    addresses = [*ROTATING, "198.51.100.7", "198.51.100.7", "198.51.100.7", "198.51.100.7"]
    statuses = sign_in_statuses(tmp_path, "127.0.0.1", addresses)
    assert statuses == [401, 401, 401, 401, 401, 401, 401, 429]
