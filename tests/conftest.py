from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hubbub.app import create_app, open_store
from hubbub.config import Settings
from hubbub.realtime.frames import event_frame
from hubbub.store.events import list_after
from tests.backends import Databases, ThrowawayPostgres, ThrowawayRedis, ThrowawayS3
from tests.event_schema import check_frame
from tests.fakes import FakeClock

BACKENDS = ["sqlite", "postgres"]

# Markers, applied here by what a test needs, so `-m` can pick the fast inner loop
# (`make check`: not postgres, redis, cluster, browser, bench or slow).
_BY_DIRECTORY = {"cluster": ("cluster", "postgres", "redis"), "ui": ("browser", "slow")}
_BY_MODULE = {
    "test_bench_smoke": ("bench", "slow"),
    "test_openapi_schema": ("slow",),  # schemathesis over the whole API
    "test_cli_e2e": ("slow",),
    "test_generated_client": ("slow",),  # a server process and the client generator
    "test_multiprocess_sqlite": ("slow",),
    "test_workers": ("slow",),  # server processes with two workers each
    "test_server_limits": ("slow",),
    "test_backup": ("slow",),  # server processes under write load
    "test_tls": ("slow",),
    "test_image": ("image", "slow"),  # builds and runs the container image: make test-image
    "test_proxies": ("slow",),
    "test_upload_memory": (
        "slow",
    ),  # a server process taking a 200 MB upload  # nginx and Caddy in front of a server process
}
_BY_FIXTURE = {
    "pg_server": "postgres",
    "pg_databases": "postgres",
    "pg_url": "postgres",
    "redis_server": "redis",
    "redis_url": "redis",
    "s3_server": "s3",
    "server": "slow",  # tests/realtime: a real server process per engine
    "quiet_server": "slow",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        names: set[str] = set(_BY_DIRECTORY.get(path.parent.name, ()))
        names.update(_BY_MODULE.get(path.stem, ()))
        names.update(m for f, m in _BY_FIXTURE.items() if f in getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgres" in callspec.params.values():
            names.add("postgres")
        if path.parent.name == "realtime":
            names.add("slow")
        for name in sorted(names):
            item.add_marker(getattr(pytest.mark, name))


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for this session (throwaway unless given)."""
    given = os.environ.get("HUBBUB_TEST_DATABASE_URL")
    if given:
        yield given
        return
    server = ThrowawayPostgres()
    try:
        yield server.url
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def pg_databases(pg_server: str) -> Databases:
    return Databases(pg_server)


@pytest.fixture
def pg_url(pg_databases: Databases) -> str:
    """An empty, migrated PostgreSQL database for one test."""
    return pg_databases.fresh()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a Redis server for this session (throwaway unless given; it is flushed
    before each test that uses it)."""
    given = os.environ.get("HUBBUB_TEST_REDIS_URL")
    if given:
        yield given
        return
    server = ThrowawayRedis()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    client.close()
    return redis_server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The endpoint URL of a throwaway S3-compatible server (moto) for this session."""
    given = os.environ.get("HUBBUB_TEST_S3_ENDPOINT_URL")
    if given:
        yield given
        return
    server = ThrowawayS3()
    try:
        yield server.url
    finally:
        server.stop()


# The hub's database poll, in tests that are not about it: an hour, so that only the publish
# after each commit can deliver an event, and a write that forgot to publish fails its test.
POLL_OFF_SECONDS = 3600.0


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for one test on each database: a fresh SQLite file, or a fresh PostgreSQL
    database. Cheap password hashing; the poll off."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hubbub.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    return Settings(
        database_url=url,
        password_hashing="fast",
        rate_limits="off",
        event_poll_seconds=POLL_OFF_SECONDS,
        metrics_public=True,  # tests/test_observability.py scrapes the public port
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app, running. When the test is done, every event its writes stored is framed as
    a stream would frame it and checked against the published Event schema."""
    application = create_app(settings)
    async with LifespanManager(application) as manager:
        yield manager.app  # type: ignore[misc]
    await check_stored_events(settings)


async def check_stored_events(settings: Settings) -> None:
    store = await open_store(settings)
    try:
        deployment = await store.deployment_id()
        events = await store.read(functools.partial(list_after, after=0, limit=1_000_000))
    finally:
        await store.close()
    for event in events:
        check_frame(orjson.loads(event_frame(event, deployment).json))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hubbub.test") as c:
        yield c


@pytest.fixture
def clock() -> FakeClock:
    """Time that moves only when the test calls `clock.advance(seconds)`."""
    return FakeClock()
