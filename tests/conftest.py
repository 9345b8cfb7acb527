from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hubbub.app import create_app
from hubbub.config import Settings
from tests.backends import Databases, ThrowawayPostgres, ThrowawayRedis

BACKENDS = ["sqlite", "postgres"]


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


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for one test on each database: a fresh SQLite file, or a fresh PostgreSQL
    database. Cheap password hashing."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hubbub.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    return Settings(database_url=url, password_hashing="fast", auth_attempts_per_minute=0)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application) as manager:
        yield manager.app  # type: ignore[misc]


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hubbub.test") as c:
        yield c
