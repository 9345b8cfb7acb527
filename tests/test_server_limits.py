"""The HTTP server's settings (hubbub/serving.py), seen from clients of `hubbub serve`: the
WebSocket message size, and whose X-Forwarded-For is believed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.server_process import ServerProcess

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("limits")
    with ServerProcess(f"sqlite:///{directory / 'hubbub.db'}") as process:
        yield process


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


# -- X-Forwarded-For ----------------------------------------------------------------------------


def sign_in_statuses(tmp_path: Path, trusted: str, forwarded_for: list[str]) -> list[int]:
    """A fresh server allowing 3 sign-in attempts per address per minute, trusting `trusted`;
    the statuses of wrong-password sign-ins, each claiming to come from `forwarded_for[i]`."""
    env = {"HUBBUB_AUTH_ATTEMPTS_PER_MINUTE": "3", "HUBBUB_TRUSTED_PROXIES": trusted}
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
