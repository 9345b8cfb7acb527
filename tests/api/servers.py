"""Apps with settings of the test's own (a registration policy, rate limits, a fake clock),
running in-process, and the long-poll read of a user's events.

The `client` fixture runs the default settings; tests of HUBBUB_REGISTRATION,
HUBBUB_SESSION_IDLE_DAYS or time-bound links start their own app on the same database with
`running(...)`. Like the `app` fixture, it checks every event the app stored against the
published schema once the app has stopped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hubbub.app import create_app
from hubbub.clock import Clock
from hubbub.config import Settings
from hubbub.services import Services
from tests.api.conftest import Account
from tests.conftest import check_stored_events

__all__ = ["Node", "events_since", "head", "running"]


@dataclass
class Node:
    """One running app and a client for it (`address`: the client's IP, for rate limits)."""

    app: FastAPI
    client: httpx.AsyncClient

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services


@asynccontextmanager
async def running(
    settings: Settings, clock: Clock | None = None, *, address: str = "127.0.0.1"
) -> AsyncIterator[Node]:
    """The app of `settings` (and `clock`), started, with a client; stopped on exit."""
    app = create_app(settings, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=(address, 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://hubbub.test") as c:
            yield Node(app, c)
    await check_stored_events(settings)


async def head(account: Account) -> str:
    """The account's event cursor now: what happens next comes after it."""
    r = await account.get("/events")
    assert r.status_code == 200, r.text
    return str(r.json()["next"])


async def events_since(account: Account, since: str, kind: str | None = None) -> list[Any]:
    """The durable events the account is entitled to after `since` (a long-poll that answers
    at once), of type `kind` if given."""
    r = await account.get("/events", params={"since": since, "timeout": 0})
    assert r.status_code == 200, r.text
    return [e for e in r.json()["events"] if kind is None or e["type"] == kind]
