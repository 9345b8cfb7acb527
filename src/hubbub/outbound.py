"""Outbound HTTP (Web Push, outgoing webhooks, slash commands): one way to call other servers.

- Timeouts on connect and read; redirects never followed; answers read up to a cap.
- An SSRF guard: a request may reach only public addresses, unless the operator allows private
  ones (`HUBBUB_OUTBOUND_ALLOW_PRIVATE`). The check is made on the address actually connected
  to, after resolution, inside the connection pool: a name that resolves to a public address
  when a URL is checked and to 127.0.0.1 when it is fetched (DNS rebinding) is still refused,
  and so is every address a redirect would lead to (none is followed).
- No proxy from the environment (it would connect on our behalf, past the guard).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import typing
from dataclasses import dataclass

import certifi
import httpcore
import httpx

__all__ = [
    "OutboundRefused",
    "Reply",
    "TooLarge",
    "address_allowed",
    "open_client",
    "request",
]

DEFAULT_MAX_BYTES = 64 * 1024


class OutboundRefused(Exception):
    """The destination is not one hubbub may call (a private, loopback or link-local
    address with the guard on, or a name that does not resolve)."""


class TooLarge(Exception):
    """The answer was longer than the caller's cap."""


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Whether hubbub may connect to `address` (an IP address as text): public unicast
    addresses always; with `allow_private` any address but the unspecified and multicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_unspecified or ip.is_multicast:
        return False
    return allow_private or ip.is_global


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, keeps only the allowed addresses, and connects to one of them
    by address (so nothing resolves the name again behind the check)."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
            )
        except (OSError, TimeoutError) as exc:
            raise OutboundRefused(f"{host} does not resolve") from exc
        addresses = [str(info[4][0]) for info in infos]
        allowed = [a for a in addresses if address_allowed(a, allow_private=self.allow_private)]
        if not allowed:
            raise OutboundRefused(f"{host} resolves to an address hubbub may not call")
        last: Exception | None = None
        for address in dict.fromkeys(allowed):
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("unix sockets are not an outbound destination")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every outbound client of the process: loading the CA
    bundle takes ~45 ms, which every app start paid twice (httpx's default context, then
    ours)."""
    return ssl.create_default_context(cafile=certifi.where())


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, allow_private: bool, max_connections: int) -> None:
        super().__init__(verify=_tls_context(), trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_tls_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=_GuardedBackend(allow_private),
        )


def open_client(
    *,
    allow_private: bool,
    connect_timeout: float = 5.0,
    read_timeout: float = 10.0,
    max_connections: int = 50,
) -> httpx.AsyncClient:
    """An httpx client with the guard, the timeouts, no redirects and no environment proxy.
    Close it (`aclose`) when done."""
    return httpx.AsyncClient(
        transport=_GuardedTransport(allow_private, max_connections),
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "hubbub"},
    )


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes
    seconds: float  # from sending the request to the end of the (capped) answer


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    **kwargs: typing.Any,
) -> Reply:
    """Send one request and read at most `max_bytes` of the answer (TooLarge beyond). Raises
    OutboundRefused for a forbidden destination and httpx.HTTPError for network failures
    and timeouts."""
    async with client.stream(method, url, **kwargs) as response:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise TooLarge(f"answer longer than {max_bytes} bytes")
    seconds = response.elapsed.total_seconds()  # set once the answer is closed
    return Reply(response.status_code, response.headers, bytes(body), seconds)
