"""Faults: Redis down and back, PostgreSQL down and back. Each test owns its servers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.backends import Databases, ThrowawayPostgres, ThrowawayRedis
from tests.cluster.test_cluster import API, Poller, node, send, sign_up, wait_until
from tests.server_process import ServerProcess


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def own_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def db_url(own_postgres: ThrowawayPostgres) -> str:
    return Databases(own_postgres.url).fresh()


def readyz(server: ServerProcess) -> tuple[int, dict[str, object]]:
    r = httpx.get(f"{server.url}/readyz", timeout=10)
    return r.status_code, r.json()


def test_redis_carries_events_between_nodes(
    db_url: str, own_redis: ThrowawayRedis, tmp_path: Path
) -> None:
    slow_poll = {"HUBBUB_EVENT_POLL_SECONDS": "30"}  # only Redis can deliver in time
    a = node(db_url, own_redis.url, tmp_path, "a", **slow_poll).start()
    b = node(db_url, own_redis.url, tmp_path, "b", **slow_poll).start()
    try:
        alice, bob = sign_up(a, "alice"), sign_up(b, "bob")
        head = httpx.get(f"{b.url}{API}/events", headers=bob).json()["next"]
        poller = Poller(b, bob, head)
        started = time.monotonic()
        assert send(a, alice, "general", "via redis").status_code == 201
        wait_until(lambda: poller.created(), 5, "delivery through Redis")
        assert time.monotonic() - started < 5
        poller.stop()
    finally:
        a.kill()
        b.kill()


def test_redis_down_sends_work_and_subscribers_still_receive(
    db_url: str, own_redis: ThrowawayRedis, tmp_path: Path
) -> None:
    a = node(db_url, own_redis.url, tmp_path, "a").start()
    b = node(db_url, own_redis.url, tmp_path, "b").start()
    try:
        alice, bob = sign_up(a, "alice"), sign_up(b, "bob")
        wait_until(lambda: readyz(a)[1]["status"] == "ready", 10, "ready")
        head = httpx.get(f"{b.url}{API}/events", headers=bob).json()["next"]
        poller = Poller(b, bob, head)
        own_redis.stop()
        for i in range(5):
            assert send(a, alice, "general", f"during outage {i}").status_code == 201
        wait_until(lambda: len(poller.created()) == 5, 10, "delivery while Redis is down")
        wait_until(lambda: readyz(a)[1]["status"] == "degraded", 10, "degraded readiness")
        status, body = readyz(a)
        assert status == 200
        assert body["checks"] == {"database": "ok", "bus": "degraded"}
        own_redis.start()
        wait_until(lambda: readyz(a)[1]["status"] == "ready", 15, "ready again")
        wait_until(lambda: readyz(b)[1]["status"] == "ready", 15, "ready again")
        assert send(a, alice, "general", "after").status_code == 201
        wait_until(lambda: len(poller.created()) == 6, 10, "delivery after Redis is back")
        texts = [e["data"]["text"] for e in poller.created()]
        assert texts == [f"during outage {i}" for i in range(5)] + ["after"]
        poller.stop()
    finally:
        a.kill()
        b.kill()


def test_postgres_down_answers_503_with_retry_after_then_recovers(
    db_url: str, own_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    server = ServerProcess(db_url, log_path=tmp_path / "node.log").start()
    try:
        alice = sign_up(server, "alice")
        assert send(server, alice, "general", "before").status_code == 201
        own_postgres.stop()
        try:
            attempts: tuple[Callable[[], httpx.Response], ...] = (
                lambda: httpx.get(f"{server.url}{API}/me", headers=alice, timeout=20),
                lambda: send(server, alice, "general", "during"),
                lambda: httpx.post(
                    f"{server.url}/message", json={"user": "u", "text": "t"}, timeout=20
                ),
                lambda: httpx.get(f"{server.url}/messages", timeout=20),
            )
            for attempt in attempts:
                started = time.monotonic()
                r = attempt()
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"]
                assert time.monotonic() - started < 12, "an outage must not hang requests"
            status, body = readyz(server)
            assert status == 503
            assert str(body["checks"]["database"]).startswith("unreachable")  # type: ignore[index]
        finally:
            own_postgres.start()
        wait_until(
            lambda: (
                httpx.get(f"{server.url}{API}/me", headers=alice, timeout=20).status_code == 200
            ),
            30,
            "recovery",
        )
        assert send(server, alice, "general", "after").status_code == 201
        texts = [
            m["text"]
            for m in httpx.get(f"{server.url}{API}/rooms/general/messages", headers=alice).json()[
                "messages"
            ]
        ]
        assert texts == ["before", "after"], "nothing half-written during the outage"
        assert readyz(server)[0] == 200
    finally:
        server.kill()
