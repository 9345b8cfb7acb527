"""The published reliability run (#21): `make bench ARGS="--scenario chaos"`.

Two hubbub nodes on one PostgreSQL and one Redis (throwaway servers started here, loopback
only). Senders post to the lobby at a steady rate, each message with its own Idempotency-Key,
retried (same key, the other node) until it is acknowledged, as a client behind a load
balancer would. Subscribers (200 by default) follow the lobby over WebSocket, Server-Sent Events
and long-poll, spread over both nodes; each keeps the cursor of the last event it handled and
resumes from it after any break, on its node or the other. Meanwhile the run:

1. kills a node with SIGKILL and starts it again;
2. restarts Redis;
3. restarts PostgreSQL;
4. puts a fifth of the subscribers to sleep (they stop reading; their connections stay open,
   as a laptop's do when its lid closes) and wakes them.

It then stops sending, lets every subscriber catch up, and reports: messages acknowledged,
deliveries expected and made, lost (an acknowledged message a subscriber never received: must
be 0), duplicated (one received twice on one cursor: must be 0), resets for valid cursors
(must be 0), failed send attempts (retried), and each fault's time to recover: from the fault
until every subscriber has received a message acknowledged after it (for the sleepers: from
their waking, so it includes reading their backlog).

    .venv/bin/python bench/chaos.py [--subscribers 200] [--rate 10] [--quick] [--out-dir DIR]

Exit status 1 if anything was lost or duplicated or a valid cursor was reset.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.backends import Databases, ThrowawayPostgres, ThrowawayRedis  # noqa: E402
from tests.server_process import ServerProcess  # noqa: E402

API = "/api/v1"
ROOM = "general"
TRANSPORTS = ("ws", "sse", "poll")


@dataclass
class Received:
    """What one subscriber got: each message id once, when it arrived."""

    at: dict[str, float] = field(default_factory=dict)
    duplicates: int = 0
    resets: int = 0
    breaks: int = 0  # connections that ended and were resumed


class Subscriber:
    def __init__(
        self, n: int, transport: str, nodes: list[ServerProcess], token: str, cursor: str
    ) -> None:
        self.n = n
        self.transport = transport
        self.nodes = nodes
        self.home = n % len(nodes)
        self.token = token
        self.cursor = cursor
        self.got = Received()
        self.awake = asyncio.Event()
        self.awake.set()
        self.stopping = False

    def handle(self, event: dict[str, Any]) -> None:
        if event.get("type") == "reset":
            self.got.resets += 1
            return
        cursor = event.get("id")
        if not cursor:
            return  # hello, presence, typing: no cursor
        self.cursor = cursor
        if event.get("type") != "message.created":
            return
        message_id = event["data"]["id"]
        if message_id in self.got.at:
            self.got.duplicates += 1
        else:
            self.got.at[message_id] = time.monotonic()

    async def run(self, http: httpx.AsyncClient) -> None:
        attempt = 0
        while not self.stopping:
            node = self.nodes[(self.home + attempt) % len(self.nodes)]
            try:
                if self.transport == "ws":
                    await self._ws(node)
                elif self.transport == "sse":
                    await self._sse(http, node)
                else:
                    await self._poll(http, node)
                attempt = 0
            except (OSError, httpx.HTTPError, websockets.WebSocketException, TimeoutError):
                attempt += 1  # the node is down or restarting: the next try goes elsewhere
                await asyncio.sleep(0.2)
            self.got.breaks += 1

    async def _ws(self, node: ServerProcess) -> None:
        url = f"ws://127.0.0.1:{node.port}{API}/stream?since={self.cursor}"
        headers = {"Authorization": f"Bearer {self.token}"}
        async with websockets.connect(url, additional_headers=headers, max_size=2**20) as ws:
            await self._read_ws(ws)

    async def _read_ws(self, ws: ClientConnection) -> None:
        while not self.stopping:
            await self.awake.wait()  # asleep: nothing is read, the socket stays open
            try:
                raw = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue
            self.handle(json.loads(raw))

    async def _sse(self, http: httpx.AsyncClient, node: ServerProcess) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        headers["Last-Event-ID"] = self.cursor
        url = f"{node.url}{API}/events"
        async with http.stream("GET", url, headers=headers, timeout=httpx.Timeout(5, read=30)) as r:
            if r.status_code != 200:
                raise httpx.HTTPError(f"SSE answered {r.status_code}")
            data: list[str] = []
            async for line in r.aiter_lines():
                await self.awake.wait()
                if self.stopping:
                    return
                if line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and data:
                    event = json.loads("\n".join(data))
                    data = []
                    self.handle(event)
                    if event.get("type") in ("reset", "slow_consumer"):
                        return

    async def _poll(self, http: httpx.AsyncClient, node: ServerProcess) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        while not self.stopping:
            await self.awake.wait()
            r = await http.get(
                f"{node.url}{API}/events",
                params={"since": self.cursor, "timeout": 5},
                headers=headers,
                timeout=15,
            )
            if r.status_code == 410:
                self.got.resets += 1
                raise httpx.HTTPError("cursor expired")
            if r.status_code != 200:
                raise httpx.HTTPError(f"long-poll answered {r.status_code}")
            body = r.json()
            for event in body["events"]:
                self.handle(event)
            self.cursor = body["next"]


@dataclass
class Sent:
    acked: dict[str, float] = field(default_factory=dict)  # message id -> when acknowledged
    attempts: int = 0
    failed_attempts: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # what failed attempts answered


async def sender(
    http: httpx.AsyncClient,
    nodes: list[ServerProcess],
    token: str,
    n: int,
    rate: float,
    stop: asyncio.Event,
    sent: Sent,
) -> None:
    """Posts every 1/rate seconds until `stop` is set; each message is retried with its one
    key, alternating nodes, until acknowledged."""
    headers = {"Authorization": f"Bearer {token}"}
    count = 0
    next_at = time.monotonic()
    while not stop.is_set():
        count += 1
        key = str(uuid.uuid4())
        body = {"text": f"sender {n} message {count}"}
        attempt = 0
        while True:
            node = nodes[(n + attempt) % len(nodes)]
            sent.attempts += 1
            try:
                r = await http.post(
                    f"{node.url}{API}/rooms/{ROOM}/messages",
                    json=body,
                    headers={**headers, "Idempotency-Key": key},
                    timeout=10,
                )
                if r.status_code == 201:
                    sent.acked.setdefault(r.json()["id"], time.monotonic())
                    break
                what = str(r.status_code)
            except httpx.HTTPError as exc:
                what = type(exc).__name__
            sent.failed_attempts += 1
            sent.statuses[what] = sent.statuses.get(what, 0) + 1
            attempt += 1
            await asyncio.sleep(min(2.0, 0.1 * 2 ** min(attempt, 5)))
        next_at += 1 / rate
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def sign_up(node: ServerProcess, name: str) -> str:
    r = httpx.post(
        f"{node.url}{API}/accounts",
        json={"username": name, "password": "chaos-pass-1"},
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["token"])


def head_cursor(node: ServerProcess, token: str) -> str:
    r = httpx.get(
        f"{node.url}{API}/events",
        params={"timeout": 0},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["next"])


@dataclass
class Fault:
    name: str
    at: float  # monotonic
    recovered_after: float | None = None  # seconds
    detail: str = ""


async def inject(faults: list[Fault], name: str, action: Any) -> None:
    fault = Fault(name, time.monotonic())
    faults.append(fault)
    print(f"  fault: {name}", flush=True)
    await asyncio.to_thread(action)


def recovery(fault: Fault, subscribers: list[Subscriber], sent: Sent) -> float | None:
    """Seconds from the fault until every subscriber had a message acknowledged after it."""
    after = {m for m, t in sent.acked.items() if t >= fault.at}
    if not after:
        return None
    latest = 0.0
    for s in subscribers:
        times = [t for m, t in s.got.at.items() if m in after]
        if not times:
            return None
        latest = max(latest, min(times))
    return latest - fault.at


async def chaos(opts: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    print("starting PostgreSQL, Redis and two hubbub nodes…", flush=True)
    pg = ThrowawayPostgres()
    redis = ThrowawayRedis()
    nodes: list[ServerProcess] = []
    try:
        db_url = Databases(pg.url).fresh()
        env = {"HUBBUB_REDIS_URL": redis.url, "HUBBUB_EVENT_POLL_SECONDS": "1"}
        for name in ("a", "b"):
            nodes.append(
                ServerProcess(db_url, log_path=workdir / f"node-{name}.log", env=env).start(60)
            )
        return await _run(opts, nodes, pg, redis)
    finally:
        for node in nodes:
            node.kill()
        redis.stop()
        pg.destroy()


async def _run(
    opts: argparse.Namespace,
    nodes: list[ServerProcess],
    pg: ThrowawayPostgres,
    redis: ThrowawayRedis,
) -> dict[str, Any]:
    n_sub, senders = opts.subscribers, 4
    print(f"signing up {senders} senders and {n_sub} subscribers…", flush=True)
    sender_tokens = [sign_up(nodes[i % 2], f"sender{i}") for i in range(senders)]
    tokens = [sign_up(nodes[i % 2], f"sub{i}") for i in range(n_sub)]
    start = head_cursor(nodes[0], tokens[0])
    subscribers = [
        Subscriber(i, TRANSPORTS[i % 3], nodes, token, start) for i, token in enumerate(tokens)
    ]
    limits = httpx.Limits(max_connections=n_sub + 50, max_keepalive_connections=n_sub + 50)
    sent = Sent()
    faults: list[Fault] = []
    phase = opts.phase
    async with httpx.AsyncClient(limits=limits) as http:
        readers = [asyncio.create_task(s.run(http)) for s in subscribers]
        await asyncio.sleep(2)  # every stream connected
        stop = asyncio.Event()
        senders_done = [
            asyncio.create_task(sender(http, nodes, token, i, opts.rate / senders, stop, sent))
            for i, token in enumerate(sender_tokens)
        ]
        victim = nodes[0]

        async def restart_node() -> None:
            await inject(faults, "node A killed (SIGKILL), restarted 3 s later", victim.kill)
            await asyncio.sleep(3)
            await asyncio.to_thread(victim.start, 60)

        async def restart_redis() -> None:
            await inject(faults, "Redis stopped, started again 3 s later", redis.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(redis.start)

        async def restart_pg() -> None:
            await inject(faults, "PostgreSQL stopped, started again 3 s later", pg.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(pg.start)

        sleepers = subscribers[::5]

        async def sleep_clients() -> None:
            for s in sleepers:
                s.awake.clear()
            print(f"  {len(sleepers)} subscribers asleep", flush=True)
            await asyncio.sleep(opts.nap)

            def wake() -> None:
                for s in sleepers:
                    s.awake.set()

            # Recovery from here: the sleepers read their backlog before any newer message.
            what = f"{len(sleepers)} subscribers woken after {opts.nap:g} s asleep"
            await inject(faults, what, wake)

        for act in (restart_node, restart_redis, restart_pg, sleep_clients):
            await asyncio.sleep(phase)
            await act()
        await asyncio.sleep(phase)
        stop.set()
        await asyncio.gather(*senders_done)
        sent_at_end = time.monotonic()
        print(f"  sending stopped: {len(sent.acked)} messages acknowledged; draining…", flush=True)
        acked = set(sent.acked)
        deadline = time.monotonic() + opts.drain
        while time.monotonic() < deadline:
            if all(acked <= s.got.at.keys() for s in subscribers):
                break
            await asyncio.sleep(0.2)
        drained_in = time.monotonic() - sent_at_end
        for s in subscribers:
            s.stopping = True
            s.awake.set()
        for task in readers:
            task.cancel()
        for task in readers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    for fault in faults:
        fault.recovered_after = recovery(fault, subscribers, sent)
    expected = len(acked) * len(subscribers)
    delivered = sum(len(acked & s.got.at.keys()) for s in subscribers)
    latencies = [s.got.at[m] - sent.acked[m] for s in subscribers for m in acked & s.got.at.keys()]
    by_transport = {
        t: {
            "subscribers": sum(1 for s in subscribers if s.transport == t),
            "lost": sum(len(acked - s.got.at.keys()) for s in subscribers if s.transport == t),
            "duplicated": sum(s.got.duplicates for s in subscribers if s.transport == t),
            "breaks": sum(s.got.breaks for s in subscribers if s.transport == t),
        }
        for t in TRANSPORTS
    }
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "subscribers": len(subscribers),
        "senders": senders,
        "rate_per_second": opts.rate,
        "acknowledged": len(acked),
        "send_attempts": sent.attempts,
        "failed_attempts": sent.failed_attempts,
        "failed_attempt_answers": sent.statuses,
        "expected_deliveries": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        "duplicated": sum(s.got.duplicates for s in subscribers),
        "resets": sum(s.got.resets for s in subscribers),
        "drained_in_seconds": round(drained_in, 2),
        "delivery_seconds_p50": round(statistics.median(latencies), 3) if latencies else None,
        "delivery_seconds_max": round(max(latencies), 3) if latencies else None,
        "by_transport": by_transport,
        "faults": [
            {
                "fault": f.name,
                "recovered_after_seconds": (
                    round(f.recovered_after, 2) if f.recovered_after is not None else None
                ),
            }
            for f in faults
        ],
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"chaos run {result['when']}: {result['subscribers']} subscribers "
        "(WebSocket, SSE, long-poll in thirds), "
        f"{result['senders']} senders at {result['rate_per_second']} messages/s, two nodes",
        "",
        "| figure | value | must be |",
        "| --- | --- | --- |",
        f"| messages acknowledged | {result['acknowledged']:,} | |",
        f"| send attempts (failed, retried) | {result['send_attempts']:,} "
        f"({result['failed_attempts']:,}: {result['failed_attempt_answers']}) | |",
        f"| deliveries expected / made | {result['expected_deliveries']:,} / "
        f"{result['delivered']:,} | equal |",
        f"| lost | {result['lost']:,} | 0 |",
        f"| duplicated | {result['duplicated']:,} | 0 |",
        f"| resets for valid cursors | {result['resets']:,} | 0 |",
        f"| delivery after acknowledgement, p50 / max | {result['delivery_seconds_p50']} s / "
        f"{result['delivery_seconds_max']} s | |",
        f"| all caught up after sending stopped | {result['drained_in_seconds']} s | |",
        "",
        "| fault | recovered after (every subscriber has a message sent after it) |",
        "| --- | --- |",
    ]
    for f in result["faults"]:
        after = f["recovered_after_seconds"]
        lines.append(f"| {f['fault']} | {'never' if after is None else f'{after} s'} |")
    lines += ["", "| transport | subscribers | lost | duplicated | reconnections |"]
    lines.append("| --- | --- | --- | --- | --- |")
    for t, v in result["by_transport"].items():
        lines.append(
            f"| {t} | {v['subscribers']} | {v['lost']} | {v['duplicated']} | {v['breaks']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second, in all")
    parser.add_argument("--phase", type=float, default=12.0, help="seconds between faults")
    parser.add_argument("--nap", type=float, default=15.0, help="seconds the sleepers sleep")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to catch up, at most")
    parser.add_argument("--quick", action="store_true", help="30 subscribers, shorter phases")
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).parent / "results")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.subscribers, opts.phase = 30, 8.0
    with tempfile.TemporaryDirectory(prefix="hubbub-chaos-") as tmp:
        result = asyncio.run(chaos(opts, Path(tmp)))
    print(report(result))
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = opts.out_dir / f"chaos-{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresult: {out}")
    bad = result["lost"] or result["duplicated"] or result["resets"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
