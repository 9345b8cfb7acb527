"""Hardening across nodes (issue #11): signing out on one node closes the session's stream on
another within a second, and rate-limit budgets are shared through Redis by every node."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import websockets.sync.client
from websockets.exceptions import ConnectionClosed

from tests.backends import Databases
from tests.cluster.test_cluster import API, node, send, sign_up


def test_signing_out_on_one_node_closes_the_sessions_stream_on_another(
    pg_databases: Databases, redis_url: str, tmp_path: Path
) -> None:
    db = pg_databases.fresh()
    with node(db, redis_url, tmp_path, "a") as a, node(db, redis_url, tmp_path, "b") as b:
        alice = sign_up(a, "alice")
        token = alice["Authorization"].removeprefix("Bearer ")
        uri = f"{b.url.replace('http', 'ws')}{API}/stream?access_token={token}"
        with websockets.sync.client.connect(uri) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            started = time.monotonic()
            r = httpx.delete(f"{a.url}{API}/sessions/current", headers=alice, timeout=10)
            assert r.status_code == 204
            code = None
            try:
                while True:  # frames (the session.revoked event of no one else) until closed
                    ws.recv(timeout=5)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
            elapsed = time.monotonic() - started
    assert code == 4401
    assert elapsed < 1.5, f"the stream on the other node closed after {elapsed:.2f} s"


def test_rate_limit_budgets_are_shared_by_every_node(
    pg_databases: Databases, redis_url: str, tmp_path: Path
) -> None:
    db = pg_databases.fresh()
    limits = {"HUBBUB_RATE_LIMITS": "messages=4/minute"}
    with (
        node(db, redis_url, tmp_path, "a", **limits) as a,
        node(db, redis_url, tmp_path, "b", **limits) as b,
    ):
        alice = sign_up(a, "alice")
        statuses = [
            send(server, alice, "general", f"m{i}").status_code
            for i, server in enumerate((a, b, a, b))
        ]
        assert statuses == [201, 201, 201, 201]
        for server in (a, b):
            refused = send(server, alice, "general", "one too many")
            assert refused.status_code == 429, refused.text
            assert refused.json()["code"] == "rate_limited"
            assert '"messages";r=0' in refused.headers["ratelimit"]
        bob = sign_up(b, "bob")  # another account has its own budget, on either node
        assert send(a, bob, "general", "mine").status_code == 201
