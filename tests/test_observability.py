"""Observability: /metrics (route-template labels, counters that move), X-Request-ID, JSON
access logs, no secrets in logs, --metrics-port, and the docs' dashboard and alert rules."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import websockets.sync.client
import yaml
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from hubbub.app import create_app
from hubbub.config import ConfigError, Settings
from tests.api.conftest import sign_up
from tests.server_process import ServerProcess, free_port

pytestmark = pytest.mark.anyio

DOCS = Path(__file__).resolve().parent.parent / "docs"
API = "/api/v1"
JSON = {"content-type": "application/json"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_metrics(text: str) -> Samples:
    """Every sample of a /metrics page: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Samples:
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return parse_metrics(r.text)


def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'hubbub.db'}",
        password_hashing="fast",
        rate_limits="off",
        metrics_public=True,
    )


# -- /metrics ---------------------------------------------------------------------------------


async def test_metrics_label_requests_by_route_template_never_by_raw_ids(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice")
    room = await alice.create_room("ops")
    for text in ("one", "two"):
        await alice.send(room["id"], text)
    assert (await alice.get(f"/rooms/{room['id']}/messages")).status_code == 200
    assert (await alice.get("/rooms/r_doesnotexist/messages")).status_code == 404
    assert (await client.get(f"/no/such/{room['id']}")).status_code == 404
    assert (await client.post("/message", json={"user": "u", "text": "t"})).status_code == 200
    assert (await client.get("/messages?limit=5")).status_code == 200

    samples = await scrape(client)
    count = "hubbub_http_request_duration_seconds_count"
    messages = "/api/v1/rooms/{room_id}/messages"
    assert value(samples, count, route=messages, method="POST", status="201") == 2
    assert value(samples, count, route=messages, method="GET", status="200") == 1
    assert value(samples, count, route=messages, method="GET", status="404") == 1
    assert value(samples, count, route="/api/v1/accounts", method="POST", status="201") == 1
    assert value(samples, count, route="unmatched", method="GET", status="404") == 1
    assert value(samples, count, route="/message", method="POST", status="200") == 1
    assert value(samples, count, route="/messages", method="GET", status="200") == 1
    labels = {v for (_, pairs) in samples for (_, v) in pairs}
    for raw in (room["id"], alice.id, "r_doesnotexist", "/no/such", "alice", "limit"):
        assert not any(raw in label for label in labels), raw
    # The bucket of the two sends: finite durations, cumulative, ending in +Inf.
    assert value(samples, "hubbub_http_request_duration_seconds_bucket", route=messages,
                 method="POST", status="201", le="+Inf") == 2  # fmt: skip


async def test_messages_stored_counts_each_committed_message_once(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice")
    before = value(await scrape(client), "hubbub_messages_stored_total")
    await client.post("/message", json={"user": "u", "text": "classic"})
    assert (await client.post("/message", json={"user": "u"})).status_code == 422  # not stored
    key = {"Idempotency-Key": "k-1"}
    for _ in range(2):  # the retry replays the first answer and stores nothing
        r = await alice.post("/rooms/general/messages", {"text": "v1"}, headers=key)
        assert r.status_code == 201
    samples = await scrape(client)
    assert value(samples, "hubbub_messages_stored_total") - before == 2
    assert value(samples, "hubbub_db_commit_batch_size_count") >= 3
    assert value(samples, "hubbub_db_commit_batch_size_sum") >= 3
    assert value(samples, "hubbub_db_commit_duration_seconds_count") >= 3
    assert value(samples, "hubbub_db_query_duration_seconds_count", operation="write") >= 3
    assert value(samples, "hubbub_db_query_duration_seconds_count", operation="read") >= 1
    assert value(samples, "hubbub_bus_publish_duration_seconds_count", kind="events") >= 2
    assert value(samples, "hubbub_event_delivery_lag_seconds_count") >= 2
    assert value(samples, "hubbub_bus_connected") == 1


async def test_long_poll_counts_its_connection_and_the_events_it_delivers(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice")
    head = (await alice.get("/events")).json()["next"]
    # The first poll brings alice's own presence; after it, the next one waits.
    await alice.get("/events", params={"since": head, "timeout": 0.1})
    before = await scrape(client)
    page: dict[str, Any] = {}

    async def poll() -> None:
        r = await alice.get("/events", params={"since": head, "timeout": 10})
        page.update(r.json())

    async with anyio.create_task_group() as tg:
        tg.start_soon(poll)
        for _ in range(250):  # until the long-poll is waiting
            if value(await scrape(client), "hubbub_connections_open", transport="longpoll"):
                break
            await anyio.sleep(0.02)
        else:
            pytest.fail("the long-poll never showed as an open connection")
        await alice.send("general", "wake up")
    after = await scrape(client)
    delivered = "hubbub_events_delivered_total"
    assert page["events"]
    gained = value(after, delivered, transport="longpoll") - value(
        before, delivered, transport="longpoll"
    )
    assert gained == len(page["events"])
    assert value(after, delivered, transport="websocket") == 0
    assert value(after, "hubbub_connections_open", transport="longpoll") == 0
    assert value(after, "hubbub_hub_frames_queued_total") >= 1


async def test_metrics_include_process_collectors_and_loop_lag(tmp_path: Path) -> None:
    app = create_app(sqlite_settings(tmp_path))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hubbub.test") as c:
            await anyio.sleep(0.6)  # the loop-lag probe samples every 0.25 s
            samples = await scrape(c)
    names = {name for name, _ in samples}
    for name in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "python_info",
        "python_gc_collections_total",
        "hubbub_build_info",
    ):
        assert name in names, name
    assert value(samples, "hubbub_event_loop_lag_seconds_count") >= 1
    assert value(samples, "hubbub_http_requests_in_flight") == 1  # the scrape itself


async def bus_connected(settings: Settings, wait_for: float) -> float:
    """hubbub_bus_connected of an app on `settings`, once it reads `wait_for` (or after 5 s)."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hubbub.test") as c:
            for _ in range(100):
                state = value(await scrape(c), "hubbub_bus_connected")
                if state == wait_for:
                    break
                await anyio.sleep(0.05)
            return state


async def test_bus_connected_is_1_with_redis_up_and_0_when_unreachable(
    tmp_path: Path, redis_url: str
) -> None:
    settings = sqlite_settings(tmp_path)
    assert await bus_connected(settings.replace(redis_url=redis_url), wait_for=1) == 1
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    assert await bus_connected(settings.replace(redis_url=nowhere), wait_for=0) == 0


async def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    first, second = (create_app(sqlite_settings(tmp_path / n)) for n in ("a", "b"))
    assert first.state.metrics.registry is not second.state.metrics.registry


# -- X-Request-ID -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/messages", "/api/v1/rooms", "/no/such/route", "/metrics"])
async def test_a_valid_request_id_is_echoed(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path, headers={"X-Request-ID": "abc.DEF-123_x"})
    assert r.headers["x-request-id"] == "abc.DEF-123_x"


@pytest.mark.parametrize(
    "given", [None, b"", b"has space", b"semi;colon", b"x" * 129, "é".encode("latin-1")]
)
async def test_a_missing_or_invalid_request_id_is_replaced(
    client: httpx.AsyncClient, given: bytes | None
) -> None:
    headers: dict[bytes, bytes] = {} if given is None else {b"X-Request-ID": given}
    r = await client.post("/message", json={"user": "u", "text": "t"}, headers=headers)
    rid = r.headers["x-request-id"]
    assert rid.encode() != given
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    other = await client.post("/message", json={"user": "u", "text": "t"}, headers=headers)
    assert other.headers["x-request-id"] != rid


async def test_a_128_character_request_id_is_kept(client: httpx.AsyncClient) -> None:
    rid = "a" * 128
    assert (await client.get("/users", headers={"X-Request-ID": rid})).headers[
        "x-request-id"
    ] == rid


@pytest.fixture
async def failing_app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    app = create_app(sqlite_settings(tmp_path))

    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/boom", boom)
    async with LifespanManager(app) as manager:
        yield manager.app  # type: ignore[misc]


async def test_an_unhandled_error_answers_500_with_the_request_id(failing_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=failing_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hubbub.test") as c:
        r = await c.get("/boom", headers={"X-Request-ID": "req-500"})
        assert r.status_code == 500
        assert r.headers["x-request-id"] == "req-500"
        assert r.json()["code"] == "internal_error"
        samples = await scrape(c)
    count = "hubbub_http_request_duration_seconds_count"
    assert value(samples, count, route="/boom", method="GET", status="500") == 1


# -- settings ---------------------------------------------------------------------------------


def test_log_format_and_metrics_port_come_from_the_environment() -> None:
    env = {"HUBBUB_LOG_FORMAT": "JSON", "HUBBUB_METRICS_PORT": "9464"}
    settings = Settings.load({}, env)
    assert (settings.log_format, settings.metrics_port) == ("json", 9464)
    assert Settings.load({"metrics_port": 9465}, env).metrics_port == 9465
    assert Settings().log_format == "console"
    assert Settings().metrics_port is None


@pytest.mark.parametrize(
    "changes", [{"log_format": "xml"}, {"metrics_port": 0}, {"metrics_port": 8081}]
)
def test_bad_observability_settings_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Settings(**changes)


# -- real server: logs and the separate metrics port -----------------------------------------

PASSWORD = "Zebra-Quartz-7731-pass"
TEXTS = ("Marmalade-Nebula-4410", "Classic-Whisper-9931", "Edited-Lantern-2208")


def exercise(url: str) -> tuple[str, list[str]]:
    """Sign up, sign in, send, edit, post classic, stream (WS, SSE, long-poll) with the token
    in the query string. Returns the tokens and the request ids the client chose."""
    with httpx.Client(base_url=url, timeout=10) as c:
        r = c.post(f"{API}/accounts", json={"username": "sekrit", "password": PASSWORD})
        assert r.status_code == 201
        first_token = r.json()["token"]
        r = c.post(
            f"{API}/sessions",
            json={"username": "sekrit", "password": PASSWORD},
            headers={"X-Request-ID": "sign-in-1"},
        )
        assert r.status_code == 201
        token = r.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        with websockets.sync.client.connect(
            f"{url.replace('http', 'ws')}{API}/stream?access_token={token}"
        ) as ws:
            assert '"hello"' in ws.recv(timeout=10), "the stream is live once it says hello"
            r = c.post(f"{API}/rooms/general/messages", json={"text": TEXTS[0]}, headers=auth)
            assert r.status_code == 201
            deadline = time.monotonic() + 5
            while TEXTS[0] not in ws.recv(timeout=5):
                assert time.monotonic() < deadline
        message_id = r.json()["id"]
        r = c.patch(f"{API}/messages/{message_id}", json={"text": TEXTS[2]}, headers=auth)
        assert r.status_code == 200
        r = c.post("/message", json={"user": "guest", "text": TEXTS[1]}, headers=JSON)
        assert r.status_code == 200
        head = c.get(f"{API}/events", params={"access_token": token}).json()["next"]
        c.post(f"{API}/rooms/general/messages", json={"text": TEXTS[0]}, headers=auth)
        polled = c.get(f"{API}/events", params={"since": head, "timeout": 5, "access_token": token})
        assert TEXTS[0] in polled.text
        with c.stream(
            "GET",
            f"{API}/events",
            params={"since": head, "access_token": token},
            headers={"Accept": "text/event-stream"},
        ) as sse:
            for line in sse.iter_lines():
                if TEXTS[0] in line:
                    break
        assert c.get("/messages").status_code == 200
        return token, [first_token]


def read_log(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def json_records(lines: list[str]) -> list[dict[str, Any]]:
    """Every line parsed as JSON, except the one-line banner the CLI prints on stdout."""
    records = []
    for line in lines:
        if line.startswith("hubbub ") and " on http://" in line:
            continue
        records.append(json.loads(line))
    return records


def test_json_access_log_has_route_status_latency_and_request_id(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    env = {"HUBBUB_LOG_FORMAT": "json", "HUBBUB_LOG_LEVEL": "info"}
    with ServerProcess(f"sqlite:///{tmp_path / 'h.db'}", log_path=log, env=env) as server:
        exercise(server.url)
        r = httpx.get(f"{server.url}/messages", headers={"X-Request-ID": "trace.me-42"})
        assert r.headers["x-request-id"] == "trace.me-42"
    records = json_records(read_log(log))
    access = [r for r in records if r.get("logger") == "hubbub.access"]
    assert access
    for record in access:
        assert record["event"] == "request"
        assert set(record) >= {"method", "route", "status", "duration_ms", "request_id"}
        assert isinstance(record["status"], int)
        assert isinstance(record["duration_ms"], float)
        assert record["duration_ms"] >= 0
        assert record["level"] == "info"
        assert "timestamp" in record
    routes = {(r["method"], r["route"], r["status"]) for r in access}
    assert ("POST", "/api/v1/rooms/{room_id}/messages", 201) in routes
    assert ("PATCH", "/api/v1/messages/{message_id}", 200) in routes
    assert ("POST", "/message", 200) in routes
    assert ("GET", "/api/v1/events", 200) in routes
    ids = re.compile(r"\b[a-z]_[a-z0-9]{10,}")  # u_…, r_…, m_…: templates, never ids
    assert not any(ids.search(r["route"]) for r in access)
    by_id = {r["request_id"]: r for r in access}
    assert by_id["trace.me-42"]["route"] == "/messages"
    assert by_id["sign-in-1"]["route"] == "/api/v1/sessions"
    assert not any(r.get("logger") == "uvicorn.access" for r in records)  # replaced


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_logs_never_contain_passwords_tokens_or_message_text(
    tmp_path: Path, log_format: str
) -> None:
    log = tmp_path / "server.log"
    # DEBUG: the most a log can say (uvicorn echoes WebSocket URLs, websockets logs frames).
    env = {"HUBBUB_LOG_FORMAT": log_format, "HUBBUB_LOG_LEVEL": "debug"}
    with ServerProcess(f"sqlite:///{tmp_path / 'h.db'}", log_path=log, env=env) as server:
        token, other_tokens = exercise(server.url)
    text = log.read_text(encoding="utf-8")
    assert "/api/v1/sessions" in text  # the log did capture the run
    assert "[redacted]" in text  # the WebSocket URL and frames were logged, masked
    for secret in (PASSWORD, token, *other_tokens, *TEXTS):
        assert secret not in text, secret
    if log_format == "json":
        json_records(read_log(log))  # every line parses


def scrape_url(url: str) -> Samples:
    r = httpx.get(url, timeout=10)
    assert r.status_code == 200, r.text
    return parse_metrics(r.text)


def test_metrics_port_serves_metrics_apart_from_the_public_port(tmp_path: Path) -> None:
    metrics_port = free_port()
    with ServerProcess(
        f"sqlite:///{tmp_path / 'h.db'}", args=["--metrics-port", str(metrics_port)]
    ) as server:
        public = httpx.get(f"{server.url}/metrics")
        assert public.status_code == 404
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        with httpx.Client(base_url=server.url, timeout=10) as c:
            token = c.post(
                f"{API}/accounts", json={"username": "watcher", "password": PASSWORD}
            ).json()["token"]
            with websockets.sync.client.connect(
                f"{server.url.replace('http', 'ws')}{API}/stream?access_token={token}"
            ) as ws:
                assert '"hello"' in ws.recv(timeout=10), "the stream is live once it says hello"
                samples = scrape_url(metrics_url)
                assert value(samples, "hubbub_connections_open", transport="websocket") == 1
                assert value(samples, "hubbub_stream_users_connected") == 1
                c.post(
                    f"{API}/rooms/general/messages",
                    json={"text": "hello"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                while "message.created" not in ws.recv(timeout=5):
                    pass
        deadline = time.monotonic() + 5
        while True:  # the server notices the close a moment later
            samples = scrape_url(metrics_url)
            if value(samples, "hubbub_connections_open", transport="websocket") == 0:
                break
            assert time.monotonic() < deadline
    assert value(samples, "hubbub_events_delivered_total", transport="websocket") >= 1
    assert value(samples, "hubbub_messages_stored_total") == 1
    count = "hubbub_http_request_duration_seconds_count"
    assert value(samples, count, route="unmatched", method="GET", status="404") == 1
    assert value(samples, count, route="/metrics", method="GET", status="200") == 0
    assert value(samples, "process_cpu_seconds_total") > 0


# -- docs: the Grafana dashboard and the alert rules use exported names -----------------------

METRIC_NAME = re.compile(r"\b((?:hubbub|process|python)_[a-zA-Z0-9_]+)")


@pytest.fixture
async def exported(tmp_path: Path) -> set[str]:
    """Every sample name a busy enough /metrics page shows."""
    app = create_app(sqlite_settings(tmp_path))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hubbub.test") as c:
            alice = await sign_up(c, "alice")
            await alice.send("general", "hi")
            await c.post("/message", json={"user": "u", "text": "t"})
            await c.get("/no/such/route")
            return {name for name, _ in await scrape(c)}


def exprs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, child in node.items():
            if key == "expr" and isinstance(child, str):
                yield child
            else:
                yield from exprs_in(child)
    elif isinstance(node, list):
        for child in node:
            yield from exprs_in(child)


def names_in(exprs: list[str]) -> set[str]:
    return {name for expr in exprs for name in METRIC_NAME.findall(expr)}


async def test_grafana_dashboard_queries_only_exported_metrics(exported: set[str]) -> None:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs = list(exprs_in(dashboard))
    assert len(exprs) >= 10
    names = names_in(exprs)
    assert len(names) >= 10
    assert names <= exported, sorted(names - exported)


def alert_rules() -> dict[str, Any]:
    doc = (DOCS / "operations.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", doc, flags=re.DOTALL)
    rules = [b for b in blocks if "groups:" in b]
    assert len(rules) == 1
    parsed = yaml.safe_load(rules[0])
    assert isinstance(parsed, dict)
    return parsed


async def test_alert_rules_are_valid_and_query_only_exported_metrics(exported: set[str]) -> None:
    rules = [rule for group in alert_rules()["groups"] for rule in group["rules"]]
    assert len(rules) >= 6
    for rule in rules:
        assert set(rule) >= {"alert", "expr", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in ("page", "ticket")
    names = names_in([rule["expr"] for rule in rules])
    assert names <= exported, sorted(names - exported)
