"""A 200 MB upload streams: the server process's resident memory grows by less than 30 MB
while it takes the file, and the bytes arrive whole (the same SHA-256). A real server process
on 127.0.0.1 (slow)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.server_process import ServerProcess

SIZE = 200 * 1024 * 1024
BLOCK = 1024 * 1024
GROWTH_MAX = 30 * 1024 * 1024


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Sampler(threading.Thread):
    """The highest RSS of `pid`, sampled every 20 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = rss_bytes(pid)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, rss_bytes(self.pid))


def test_a_200_mb_upload_grows_the_server_by_less_than_30_mb(tmp_path: Path) -> None:
    env = {"HUBBUB_MAX_UPLOAD_BYTES": str(SIZE + 1), "HUBBUB_UPLOAD_QUOTA_BYTES": "0"}
    with ServerProcess(f"sqlite:///{tmp_path / 'hubbub.db'}", env=env) as server:
        assert server.proc is not None
        with httpx.Client(base_url=server.url, timeout=120) as http:
            r = http.post(
                "/api/v1/accounts", json={"username": "alice", "password": "correct horse"}
            )
            headers = {"Authorization": f"Bearer {r.json()['token']}"}
            room = http.post(
                "/api/v1/rooms", json={"name": "big", "visibility": "private"}, headers=headers
            ).json()
            path = f"/api/v1/rooms/{room['id']}/uploads"
            # A small one first, so that what loads once (Pillow, boto, ...) is loaded.
            warm = http.post(
                path, params={"filename": "warm"}, content=b"w" * 100_000, headers=headers
            )
            assert warm.status_code == 201, warm.text
            time.sleep(0.5)
            baseline = rss_bytes(server.proc.pid)
            sampler = Sampler(server.proc.pid)
            sampler.start()
            block = os.urandom(BLOCK)
            digest = hashlib.sha256()

            def body() -> Iterator[bytes]:
                for i in range(SIZE // BLOCK):
                    chunk = block[i % 7 :] + block[: i % 7]  # not all blocks alike
                    digest.update(chunk)
                    yield chunk

            try:
                r = http.post(path, params={"filename": "big.bin"}, content=body(), headers=headers)
            finally:
                sampler.done.set()
                sampler.join()
            assert r.status_code == 201, r.text
            assert r.json()["size"] == SIZE
            assert r.json()["sha256"] == digest.hexdigest()
            growth = sampler.peak - baseline
            assert growth < GROWTH_MAX, f"RSS grew by {growth / 2**20:.1f} MiB"
            with http.stream("GET", r.json()["url"]) as download:
                back = hashlib.sha256()
                for chunk in download.iter_bytes():
                    back.update(chunk)
            assert back.hexdigest() == digest.hexdigest()
