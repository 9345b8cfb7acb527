"""Outbound HTTP (src/hubbub/outbound.py): the SSRF guard refuses private, loopback and
link-local destinations, by the address actually connected to; with private addresses
allowed, requests reach a local receiver, redirects are not followed, answers are capped and
slow answers time out.

Only loopback receivers are ever contacted; the private ranges are checked by the address
test alone, without connecting anywhere."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from hubbub.outbound import OutboundRefused, TooLarge, address_allowed, open_client, request

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "fd12:3456::1",
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "ff02::1",
    ],
)
def test_private_loopback_link_local_and_special_addresses_are_refused(address: str) -> None:
    assert not address_allowed(address, allow_private=False)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_allowed(address, allow_private=False)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "::1", "fe80::1"])
def test_allowing_private_addresses_allows_them(address: str) -> None:
    assert address_allowed(address, allow_private=True)


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "224.0.0.1"])
def test_unspecified_and_multicast_are_never_allowed(address: str) -> None:
    assert not address_allowed(address, allow_private=True)


class Receiver:
    """A tiny HTTP/1.1 server on loopback that records each request line and answers by path."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.servers: list[asyncio.Server] = []
        self.handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        v4 = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = v4.sockets[0].getsockname()[1]
        v6 = await asyncio.start_server(self._serve, "::1", self.port, family=socket.AF_INET6)
        self.servers = [v4, v6]

    async def stop(self) -> None:
        for task in self.handlers:
            task.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)
        for server in self.servers:
            server.close()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            await self._answer(reader, writer)
        finally:
            writer.close()
            self.handlers.discard(task)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0].decode()
        self.requests.append(line)
        path = line.split(" ")[1]
        if path == "/redirect":
            answer = (
                b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n"
            )
        elif path == "/big":
            body = b"x" * 100_000
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        elif path == "/slow":
            await asyncio.sleep(5)
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        else:
            answer = b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"ok": true}'
        writer.write(answer)
        await writer.drain()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    running = Receiver()
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
async def test_the_guard_refuses_loopback_by_address_and_by_name(
    receiver: Receiver, host: str
) -> None:
    async with open_client(allow_private=False) as client:
        with pytest.raises(OutboundRefused):
            await request(client, "POST", f"http://{host}:{receiver.port}/hook", json={})
    assert receiver.requests == [], "a refused request reached the receiver"


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    async with open_client(allow_private=False) as client:
        with pytest.raises(OutboundRefused):
            await request(client, "GET", "http://no-such-host.invalid/")


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
async def test_with_private_addresses_allowed_requests_arrive(
    receiver: Receiver, host: str
) -> None:
    async with open_client(allow_private=True) as client:
        reply = await request(client, "POST", f"http://{host}:{receiver.port}/hook", json={})
    assert reply.status == 200
    assert reply.body == b'{"ok": true}'
    assert receiver.requests == ["POST /hook HTTP/1.1"]


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    async with open_client(allow_private=True) as client:
        reply = await request(client, "GET", f"http://127.0.0.1:{receiver.port}/redirect")
    assert reply.status == 302
    assert receiver.requests == ["GET /redirect HTTP/1.1"]


async def test_answers_longer_than_the_cap_are_refused(receiver: Receiver) -> None:
    async with open_client(allow_private=True) as client:
        with pytest.raises(TooLarge):
            await request(client, "GET", f"http://127.0.0.1:{receiver.port}/big", max_bytes=1000)
        reply = await request(
            client, "GET", f"http://127.0.0.1:{receiver.port}/big", max_bytes=100_000
        )
    assert len(reply.body) == 100_000


async def test_a_slow_answer_times_out(receiver: Receiver) -> None:
    async with open_client(allow_private=True, read_timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            await request(client, "GET", f"http://127.0.0.1:{receiver.port}/slow")


async def test_no_proxy_from_the_environment_is_used(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy would connect on hubbub's behalf, past the guard; it must be ignored.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{receiver.port}")
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{receiver.port}")
    async with open_client(allow_private=False) as client:
        with pytest.raises(OutboundRefused):
            await request(client, "GET", "http://127.0.0.1:9/")
    assert receiver.requests == []
