"""Outgoing webhooks (#19): deliveries per second to one endpoint on a local receiver, and what
a hook on a busy room costs the send path.

    .venv/bin/python bench/outgoing.py [--messages 2000] [--senders 8]

Starts a hubbub server process (SQLite in a temporary directory, rate limits off, outbound
calls to loopback allowed) and a receiver on 127.0.0.1 that answers 200 at once. Then:
1. sends N messages to a room with no hook (concurrent senders): sends/s;
2. makes an outgoing webhook on another room, sends N messages there: sends/s with the hook,
   and the time until the receiver has had all N: deliveries/s for that one endpoint (in order,
   one at a time, as the guarantee requires).
Prints one JSON object. Not a test; numbers depend on the machine (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procs import free_port
from servers import PYTHON, ROOT


class Receiver:
    def __init__(self) -> None:
        self.count = 0
        self.ids: list[str] = []
        self.done = asyncio.Event()
        self.want = 0
        self.port = 0

    async def start(self) -> None:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                    if line.lower().startswith(b"hubbub-event-id:"):
                        self.ids.append(line.split(b":", 1)[1].strip().decode())
                await reader.readexactly(length)
                self.count += 1
                if self.count >= self.want:
                    self.done.set()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the benchmark is over
        finally:
            writer.close()


async def send_all(http: httpx.AsyncClient, token: str, room: str, n: int, senders: int) -> float:
    """Send n messages with `senders` concurrent requests; return sends per second."""
    headers = {"Authorization": f"Bearer {token}"}
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            r = await http.post(
                f"/api/v1/rooms/{room}/messages", json={"text": f"m{i}"}, headers=headers
            )
            assert r.status_code == 201, r.text

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(senders)))
    return n / (time.perf_counter() - started)


async def main(opts: argparse.Namespace) -> dict[str, object]:
    receiver = Receiver()
    receiver.want = opts.messages
    await receiver.start()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "PYTHONPATH": str(ROOT / "src"),
            "HUBBUB_OUTBOUND_ALLOW_PRIVATE": "true",
        }
        cmd = [PYTHON, "-m", "hubbub", "serve", "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--log-level", "warning", "--database-url", f"sqlite:///{tmp}/bench.db"]
        cmd += ["--password-hashing", "fast", "--rate-limits", "off"]
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT)  # noqa: ASYNC220 (a moment, once)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False
            ) as http:
                for _ in range(200):
                    try:
                        if (await http.get("/messages?limit=1")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
                r = await http.post(
                    "/api/v1/accounts", json={"username": "bench", "password": "correct horse"}
                )
                token = r.json()["token"]
                auth = {"Authorization": f"Bearer {token}"}
                plain = await http.post(
                    "/api/v1/rooms", json={"name": "plain", "visibility": "public"}, headers=auth
                )
                hooked = await http.post(
                    "/api/v1/rooms", json={"name": "hooked", "visibility": "public"}, headers=auth
                )
                plain_id, hooked_id = plain.json()["id"], hooked.json()["id"]
                without = await send_all(http, token, plain_id, opts.messages, opts.senders)
                r = await http.post(
                    f"/api/v1/rooms/{hooked_id}/outgoing-webhooks",
                    json={
                        "url": f"http://127.0.0.1:{receiver.port}/",
                        "events": ["message.created"],
                    },
                    headers=auth,
                )
                assert r.status_code == 201, r.text
                started = time.perf_counter()
                with_hook = await send_all(http, token, hooked_id, opts.messages, opts.senders)
                await asyncio.wait_for(receiver.done.wait(), 600)
                took = time.perf_counter() - started
                positions = [int(i.rsplit("-", 1)[1]) for i in receiver.ids]
                return {
                    "messages": opts.messages,
                    "senders": opts.senders,
                    "sends_per_s_without_hook": round(without, 1),
                    "sends_per_s_with_hook": round(with_hook, 1),
                    "deliveries_per_s_one_endpoint": round(opts.messages / took, 1),
                    "delivered": receiver.count,
                    "in_order": positions == sorted(positions),
                }
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=8)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
