"""Headers a careful operator expects on every answer (issue #11 item 14): nosniff and a
referrer policy everywhere, a strict CSP on /docs and on the client, /metrics not public by
default, and CORS only for the origins configured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from hubbub.app import create_app
from hubbub.config import ConfigError, Settings
from hubbub.errors import Unauthenticated
from hubbub.web.client import CSP
from tests.api.conftest import API, sign_up
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/messages"),
        ("POST", "/message"),
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/rooms/general"),
        ("GET", "/no/such/route"),
        ("GET", "/openapi.json"),
        ("GET", "/healthz"),
    ],
)
async def test_every_answer_says_nosniff_and_no_referrer(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    r = await client.request(method, path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


async def test_docs_are_served_under_a_strict_csp(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert "<script>" not in r.text, "no inline script: the CSP would block it"


def test_the_client_may_only_connect_to_its_own_origin() -> None:
    assert "connect-src 'self'" in CSP
    assert "ws:" not in CSP
    assert "wss:" not in CSP


async def app_client(
    settings: Settings, origin: str = "http://t"
) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(create_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=origin) as c:
            yield c


def base(tmp_path: Path, **changes: object) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'h.db'}",
        password_hashing="fast",
        rate_limits="off",
        **changes,  # type: ignore[arg-type]
    )


async def test_metrics_are_not_public_by_default(tmp_path: Path) -> None:
    async for c in app_client(base(tmp_path)):
        assert (await c.get("/metrics")).status_code == 404
    async for c in app_client(base(tmp_path, metrics_public=True)):
        assert (await c.get("/metrics")).status_code == 200


async def test_cors_answers_only_the_configured_origins(tmp_path: Path) -> None:
    settings = base(tmp_path, cors_origins="https://chat.example.com, https://other.example")
    async for c in app_client(settings):
        preflight = await c.options(
            f"{API}/rooms/general/messages",
            headers={
                "Origin": "https://chat.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://chat.example.com"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "idempotency-key"} <= {
            h.strip() for h in allowed.split(",")
        }
        assert "access-control-allow-credentials" not in preflight.headers
        real = await c.get("/messages", headers={"Origin": "https://chat.example.com"})
        assert real.headers["access-control-allow-origin"] == "https://chat.example.com"
        assert "ratelimit" in real.headers["access-control-expose-headers"].lower()
        evil = await c.options(
            f"{API}/rooms/general/messages",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in evil.headers
        plain = await c.get("/messages", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in plain.headers


async def test_no_origin_is_allowed_by_default(client: httpx.AsyncClient) -> None:
    r = await client.options(
        "/message",
        headers={"Origin": "https://chat.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize("origins", ["chat.example.com", "https://a.example/path", "*"])
def test_a_malformed_cors_origin_is_refused_at_start(tmp_path: Path, origins: str) -> None:
    with pytest.raises(ConfigError, match="cors_origins"):
        base(tmp_path, cors_origins=origins)


async def test_a_stream_ticket_expires_after_30_seconds_and_works_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    app = create_app(base(tmp_path), clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            alice = await sign_up(c, "alice")
            sessions = app.state.services.sessions
            fresh = (await alice.post("/stream-tickets")).json()["ticket"]
            stale = (await alice.post("/stream-tickets")).json()["ticket"]
            assert (await sessions.redeem_ticket(fresh)).user.username == "alice"
            with pytest.raises(Unauthenticated, match="unknown, used or expired"):
                await sessions.redeem_ticket(fresh)  # once only
            clock.advance(31)
            with pytest.raises(Unauthenticated, match="unknown, used or expired"):
                await sessions.redeem_ticket(stale)
