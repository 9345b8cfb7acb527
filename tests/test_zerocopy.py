"""Downloads from local storage go out with sendfile(2) (hubbub.zerocopy) over plain TCP, and
stay exact: whole files, ranges, several on one keep-alive connection, a client that
leaves half-way; under TLS they are streamed. A real server process on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.certificates import make_certificate
from tests.server_process import ServerProcess

SIZE = 24 * 1024 * 1024 + 12_345  # several sendfile slices, and not a round number


def sent_bytes(http: httpx.Client) -> dict[str, float]:
    text = http.get("/metrics").text
    found = re.findall(r'^hubbub_file_bytes_sent_total\{how="(\w+)"\} (\S+)$', text, re.M)
    return {how: float(value) for how, value in found}


@pytest.fixture
def data() -> bytes:
    return os.urandom(SIZE)


def signed_in(http: httpx.Client) -> dict[str, str]:
    r = http.post("/api/v1/accounts", json={"username": "alice", "password": "correct horse"})
    assert r.status_code == 201, r.text
    http.headers["Authorization"] = f"Bearer {r.json()['token']}"
    room = http.post("/api/v1/rooms", json={"name": "files", "visibility": "private"}).json()
    return dict(room)


def upload(http: httpx.Client, room: dict[str, str], data: bytes) -> dict[str, Any]:
    r = http.post(
        f"/api/v1/rooms/{room['id']}/uploads",
        params={"filename": "dump.bin"},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"HUBBUB_METRICS_PUBLIC": "true", "HUBBUB_FILES_URL": str(tmp_path / "files")}
    with ServerProcess(f"sqlite:///{tmp_path / 'hubbub.db'}", env=env) as running:
        yield running


def test_downloads_are_sent_by_the_kernel_and_exact(server: ServerProcess, data: bytes) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        room = signed_in(http)
        url = upload(http, room, data)["url"]
        before = sent_bytes(http)

        whole = http.get(url)
        assert whole.status_code == 200
        assert int(whole.headers["content-length"]) == SIZE
        assert hashlib.sha256(whole.content).digest() == hashlib.sha256(data).digest()
        assert whole.headers["content-security-policy"] == "sandbox; default-src 'none'"
        assert whole.headers["x-content-type-options"] == "nosniff"
        assert whole.headers["content-disposition"].startswith("attachment;")

        part = http.get(url, headers={"Range": "bytes=8388600-8388700"})
        assert part.status_code == 206
        assert part.content == data[8388600:8388701]
        assert part.headers["content-range"] == f"bytes 8388600-8388700/{SIZE}"
        tail = http.get(url, headers={"Range": "bytes=-10"})
        assert tail.content == data[-10:]

        # The same keep-alive connection goes on answering after those bodies.
        assert http.get("/api/v1/me").status_code == 200

        after = sent_bytes(http)
        assert after.get("sendfile", 0) - before.get("sendfile", 0) == SIZE + 101 + 10
        assert after.get("stream", 0) == before.get("stream", 0)


def test_a_client_leaving_half_way_harms_nothing(server: ServerProcess, data: bytes) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        room = signed_in(http)
        url = upload(http, room, data)["url"]
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", server.port)) as raw:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                raw.sendall(f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                assert raw.recv(4096).startswith(b"HTTP/1.1 200")
            # closed with most of the body unread
        time.sleep(0.2)
        again = http.get(url)
        assert hashlib.sha256(again.content).digest() == hashlib.sha256(data).digest()
        assert http.get("/api/v1/me").status_code == 200


def test_under_tls_downloads_are_streamed_and_exact(tmp_path: Path, data: bytes) -> None:
    cert, key = make_certificate(tmp_path)
    env = {
        "HUBBUB_METRICS_PUBLIC": "true",
        "HUBBUB_FILES_URL": str(tmp_path / "files"),
        "HUBBUB_TLS_CERT": str(cert),
        "HUBBUB_TLS_KEY": str(key),
    }
    with (
        ServerProcess(f"sqlite:///{tmp_path / 'hubbub.db'}", env=env) as server,
        httpx.Client(base_url=server.url, timeout=60, verify=server.verify) as http,
    ):
        room = signed_in(http)
        url = upload(http, room, data)["url"]
        whole = http.get(url)
        assert hashlib.sha256(whole.content).digest() == hashlib.sha256(data).digest()
        counts = sent_bytes(http)
        assert counts.get("stream") == SIZE
        assert counts.get("sendfile", 0) == 0
