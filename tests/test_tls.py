"""HTTPS and WSS without a proxy (HUBBUB_TLS_CERT / HUBBUB_TLS_KEY), against `hubbub serve`
with a certificate made for the test by the openssl command-line tool."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect

from tests.certificates import make_certificate
from tests.server_process import ServerProcess

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = make_certificate(directory)
    env = {"HUBBUB_TLS_CERT": str(cert), "HUBBUB_TLS_KEY": str(key)}
    with ServerProcess(f"sqlite:///{directory / 'hubbub.db'}", env=env) as server:
        yield server


def test_the_classic_api_is_served_over_https(tls_server: ServerProcess) -> None:
    assert tls_server.url.startswith("https://")
    with httpx.Client(base_url=tls_server.url, verify=tls_server.verify) as http:
        sent = http.post("/message", json={"user": "tls", "text": "over https"})
        assert sent.status_code == 200, sent.text
        messages = http.get("/messages").json()["messages"]
        assert messages[-1]["text"] == "over https"
        assert http.get("/healthz").json() == {"status": "ok"}


def test_plain_http_on_the_tls_port_gets_no_answer(tls_server: ServerProcess) -> None:
    # A client that speaks HTTP to a TLS port must not be served in the clear.
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{tls_server.port}/healthz", timeout=5)


def test_a_client_that_checks_certificates_refuses_an_unknown_one(
    tls_server: ServerProcess,
) -> None:
    # The default trust store does not know the test's certificate: the handshake really
    # presented it (nothing falls back to plain HTTP).
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{tls_server.url}/healthz", timeout=5, verify=ssl.create_default_context())


async def test_a_websocket_stream_opens_over_wss(tls_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=tls_server.url, verify=tls_server.verify) as http:
        signed_up = await http.post(
            "/api/v1/accounts", json={"username": "wss_user", "password": "correct horse"}
        )
        assert signed_up.status_code == 201, signed_up.text
        auth = {"Authorization": f"Bearer {signed_up.json()['token']}"}
        ticket = (await http.post("/api/v1/stream-tickets", headers=auth)).json()["ticket"]
        context = tls_server.verify
        assert isinstance(context, ssl.SSLContext)
        url = f"wss://127.0.0.1:{tls_server.port}/api/v1/stream?ticket={ticket}"
        async with connect(url, ssl=context, open_timeout=10) as ws:
            hello = json.loads(await ws.recv(decode=True))
            assert hello["type"] == "hello"
            sent = await http.post(
                "/api/v1/rooms/general/messages", json={"text": "via wss"}, headers=auth
            )
            assert sent.status_code == 201, sent.text
            with anyio.fail_after(10):
                while (event := json.loads(await ws.recv(decode=True)))["type"] != (
                    "message.created"
                ):
                    pass
            assert event["data"]["text"] == "via wss"


def test_a_key_that_is_not_the_certificates_stops_serve_with_a_message(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    cert, _ = make_certificate(tmp_path / "one")
    _, other_key = make_certificate(tmp_path / "two")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    env.update({"HUBBUB_TLS_CERT": str(cert), "HUBBUB_TLS_KEY": str(other_key)})
    done = subprocess.run(
        [sys.executable, "-m", "hubbub", "serve", "--database-url", f"sqlite:///{tmp_path}/h.db"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "is the key the certificate's" in " ".join(done.stderr.split())
