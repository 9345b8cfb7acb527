"""Sign-up and sign-in are limited per client address: 429 with Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hubbub.app import create_app
from hubbub.config import Settings
from tests.api.conftest import API, assert_problem
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
async def limited_app(tmp_path: Path, clock: FakeClock) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'h.db'}",
        password_hashing="fast",
        auth_attempts_per_minute=3,
    )
    async with LifespanManager(create_app(settings, clock=clock)) as manager:
        yield manager.app  # type: ignore[misc]


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 4000)), base_url="http://t"
    )


async def test_attempts_past_the_budget_get_429_with_retry_after(
    limited_app: FastAPI, clock: FakeClock
) -> None:
    async with client_from(limited_app, "10.0.0.1") as c:
        r = await c.post(f"{API}/accounts", json={"username": "alice", "password": "password1"})
        assert r.status_code == 201
        for password in ("wrong-one", "password1"):  # failed and successful attempts both count
            r = await c.post(f"{API}/sessions", json={"username": "alice", "password": password})
            assert r.status_code in (401, 201)
        r = await c.post(f"{API}/sessions", json={"username": "alice", "password": "password1"})
        assert_problem(r, 429, "rate_limited")
        assert 1 <= int(r.headers["retry-after"]) <= 20
        r = await c.post(f"{API}/accounts", json={"username": "bob", "password": "password1"})
        assert_problem(r, 429, "rate_limited")

        clock.advance_ms(20_000)  # a minute's budget of 3 refills one attempt every 20 s
        r = await c.post(f"{API}/sessions", json={"username": "alice", "password": "password1"})
        assert r.status_code == 201
        r = await c.post(f"{API}/sessions", json={"username": "alice", "password": "password1"})
        assert r.status_code == 429


async def test_the_budget_is_per_client_address(limited_app: FastAPI) -> None:
    async with (
        client_from(limited_app, "10.0.0.1") as first,
        client_from(limited_app, "10.0.0.2") as second,
    ):
        for i in range(3):
            r = await first.post(
                f"{API}/accounts", json={"username": f"user{i}", "password": "password1"}
            )
            assert r.status_code == 201
        assert (
            await first.post(f"{API}/accounts", json={"username": "user9", "password": "password1"})
        ).status_code == 429
        r = await second.post(
            f"{API}/accounts", json={"username": "other", "password": "password1"}
        )
        assert r.status_code == 201


async def test_other_endpoints_are_not_limited(limited_app: FastAPI) -> None:
    async with client_from(limited_app, "10.0.0.3") as c:
        token = (
            await c.post(f"{API}/accounts", json={"username": "alice", "password": "password1"})
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for i in range(10):
            r = await c.post(
                f"{API}/rooms/general/messages", json={"text": str(i)}, headers=headers
            )
            assert r.status_code == 201
