"""Cluster mode: several real server processes on one PostgreSQL and one Redis."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets.sync.client

from tests.backends import Databases
from tests.server_process import ServerProcess

API = "/api/v1"


def node(db_url: str, redis_url: str, tmp_path: Path, name: str, **env: str) -> ServerProcess:
    return ServerProcess(
        db_url,
        log_path=tmp_path / f"{name}.log",
        env={"HUBBUB_REDIS_URL": redis_url, "HUBBUB_EVENT_POLL_SECONDS": "0.5", **env},
    )


def sign_up(server: ServerProcess, username: str) -> dict[str, str]:
    r = httpx.post(
        f"{server.url}{API}/accounts",
        json={"username": username, "password": "fuzz-pass-1"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def send(
    server: ServerProcess, headers: dict[str, str], room: str, text: str, **extra: str
) -> httpx.Response:
    return httpx.post(
        f"{server.url}{API}/rooms/{room}/messages",
        json={"text": text},
        headers={**headers, **extra},
        timeout=15,
    )


class Poller:
    """A long-poll subscriber in a thread: keeps every durable event it receives."""

    def __init__(self, server: ServerProcess, headers: dict[str, str], since: str) -> None:
        self.server, self.headers, self.cursor = server, headers, since
        self.events: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                r = httpx.get(
                    f"{self.server.url}{API}/events",
                    headers=self.headers,
                    params={"since": self.cursor, "timeout": 1},
                    timeout=10,
                )
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if r.status_code != 200:
                time.sleep(0.1)
                continue
            body = r.json()
            self.events.extend(e for e in body["events"] if e.get("id"))
            self.cursor = body["next"]

    def created(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == "message.created"]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)


def wait_until(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def position(cursor: str) -> int:
    return int(cursor.rpartition("-")[2])


@pytest.fixture
def two_nodes(
    pg_databases: Databases, redis_url: str, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    db = pg_databases.fresh()
    a = node(db, redis_url, tmp_path, "a").start()
    b = node(db, redis_url, tmp_path, "b").start()
    try:
        yield a, b
    finally:
        for server in (a, b):
            server.kill()


def test_sends_on_two_nodes_reach_subscribers_on_both_once_in_order(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_nodes
    alice, bob, carol, dave = (
        sign_up(s, n) for s, n in ((a, "alice"), (b, "bob"), (a, "carol"), (b, "dave"))
    )
    head = httpx.get(f"{a.url}{API}/events", headers=carol).json()["next"]
    on_a, on_b = Poller(a, carol, head), Poller(b, dave, head)
    try:

        def burst(args: tuple[ServerProcess, dict[str, str], str]) -> list[int]:
            server, headers, who = args
            seqs = []
            for i in range(40):
                r = send(server, headers, "general", f"{who} {i}")
                assert r.status_code == 201, r.text
                seqs.append(r.json()["seq"])
            return seqs

        with ThreadPoolExecutor(4) as pool:
            results = list(
                pool.map(
                    burst,
                    [
                        (a, alice, "alice"),
                        (b, bob, "bob"),
                        (a, bob, "bob-a"),
                        (b, alice, "alice-b"),
                    ],
                )
            )
        assert sorted(s for r in results for s in r) == list(range(1, 161))
        for poller in (on_a, on_b):
            wait_until(lambda p=poller: len(p.created()) >= 160, 20, "160 messages")
        time.sleep(1)  # a duplicate would arrive by now
        for poller in (on_a, on_b):
            seqs = [e["data"]["seq"] for e in poller.created()]
            assert seqs == list(range(1, 161)), "each message once, in seq order"
            cursors = [position(e["id"]) for e in poller.events]
            assert cursors == sorted(set(cursors)), "cursors strictly increase"
        assert [e["id"] for e in on_a.events] == [e["id"] for e in on_b.events]
    finally:
        on_a.stop()
        on_b.stop()


def test_node_killed_mid_stream_its_client_resumes_on_another(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_nodes
    alice, carol = sign_up(a, "alice"), sign_up(a, "carol")
    token = carol["Authorization"].removeprefix("Bearer ")
    head = httpx.get(f"{a.url}{API}/events", headers=carol).json()["next"]
    received: list[dict[str, Any]] = []
    ws_a = a.url.replace("http", "ws")
    with websockets.sync.client.connect(
        f"{ws_a}{API}/stream?since={head}&access_token={token}"
    ) as ws:
        for i in range(10):
            assert send(b, alice, "general", f"before {i}").status_code == 201
        while len([e for e in received if e["type"] == "message.created"]) < 10:
            event = json.loads(ws.recv(timeout=10))
            if event.get("id"):
                received.append(event)
        a.kill()  # SIGKILL: no goodbye
    cursor = received[-1]["id"]
    for i in range(10):
        assert send(b, alice, "general", f"after {i}").status_code == 201
    ws_b = b.url.replace("http", "ws")
    with websockets.sync.client.connect(
        f"{ws_b}{API}/stream?since={cursor}&access_token={token}"
    ) as ws:
        while len([e for e in received if e["type"] == "message.created"]) < 20:
            event = json.loads(ws.recv(timeout=10))
            if event.get("id"):
                received.append(event)
    texts = [e["data"]["text"] for e in received if e["type"] == "message.created"]
    assert texts == [f"before {i}" for i in range(10)] + [f"after {i}" for i in range(10)]


def test_same_dm_opened_on_two_nodes_at_once_is_one_room(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_nodes
    alice, bob = sign_up(a, "alice"), sign_up(b, "bob")

    def open_dm(args: tuple[ServerProcess, dict[str, str], str]) -> tuple[int, str]:
        server, headers, other = args
        r = httpx.post(
            f"{server.url}{API}/dms", json={"username": other}, headers=headers, timeout=15
        )
        return r.status_code, r.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(open_dm, [(a, alice, "bob"), (b, bob, "alice")] * 4))
    assert len({room for _, room in answers}) == 1
    assert sorted(status for status, _ in answers).count(201) == 1


def test_idempotency_key_holds_across_nodes(two_nodes: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = two_nodes
    alice = sign_up(a, "alice")

    def attempt(server: ServerProcess) -> httpx.Response:
        return send(server, alice, "general", "exactly once", **{"Idempotency-Key": "k-1"})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(attempt, [a, b] * 4))
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["id"] for r in answers}) == 1
    assert sum(1 for r in answers if "idempotent-replayed" not in r.headers) == 1
    history = httpx.get(f"{b.url}{API}/rooms/general/messages", headers=alice).json()
    assert [m["text"] for m in history["messages"]] == ["exactly once"]


def test_a_cursor_from_one_node_resumes_exactly_on_another(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_nodes
    alice = sign_up(a, "alice")
    head = httpx.get(f"{a.url}{API}/events", headers=alice).json()["next"]
    for i in range(5):
        send(a, alice, "general", str(i))
    page = httpx.get(
        f"{a.url}{API}/events", headers=alice, params={"since": head, "timeout": 0}
    ).json()
    middle = [e for e in page["events"] if e["type"] == "message.created"][1]["id"]
    rest = httpx.get(
        f"{b.url}{API}/events", headers=alice, params={"since": middle, "timeout": 0}
    ).json()
    assert [e["data"]["text"] for e in rest["events"] if e["type"] == "message.created"] == [
        "2",
        "3",
        "4",
    ]


def test_typing_on_one_node_reaches_a_member_on_another(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_nodes
    alice, bob = sign_up(a, "alice"), sign_up(b, "bob")
    token = bob["Authorization"].removeprefix("Bearer ")
    with websockets.sync.client.connect(
        f"{b.url.replace('http', 'ws')}{API}/stream?access_token={token}"
    ) as ws:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert (
                httpx.post(f"{a.url}{API}/rooms/general/typing", headers=alice).status_code == 204
            )
            try:
                event = json.loads(ws.recv(timeout=0.5))
            except TimeoutError:
                continue
            if event["type"] == "typing":
                assert event["data"]["user"] == "alice"
                assert event["room_id"] == "general"
                return
        pytest.fail("typing never crossed from node A to node B")
