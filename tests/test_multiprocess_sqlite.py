"""Two server processes writing one SQLite file still give a gapless per-room seq."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.server_process import ServerProcess


def test_two_processes_on_one_sqlite_file_keep_seq_gapless(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with ServerProcess(url) as a, ServerProcess(url) as b:
        token = httpx.post(
            f"{a.url}/api/v1/accounts", json={"username": "alice", "password": "fuzz-pass-1"}
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}

        def send(i: int) -> int:
            server = (a, b)[i % 2]
            r = httpx.post(
                f"{server.url}/api/v1/rooms/general/messages",
                json={"text": str(i)},
                headers=headers,
                timeout=30,
            )
            assert r.status_code == 201, r.text
            return int(r.json()["seq"])

        with ThreadPoolExecutor(16) as pool:
            seqs = list(pool.map(send, range(120)))
        assert sorted(seqs) == list(range(1, 121))
        page = httpx.get(
            f"{b.url}/api/v1/rooms/general/messages", params={"limit": 200}, headers=headers
        ).json()
        assert [m["seq"] for m in page["messages"]] == list(range(1, 121))
