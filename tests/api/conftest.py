"""Fixtures for the v1 API: signed-up accounts with their auth headers, and rooms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

API = "/api/v1"


@dataclass
class Account:
    """A signed-up user: `client` sends every request with this user's bearer token."""

    username: str
    token: str
    user: dict[str, Any]
    client: httpx.AsyncClient

    @property
    def id(self) -> str:
        return str(self.user["id"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(
            API + path, headers={**self.headers, **kw.pop("headers", {})}, **kw
        )

    async def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.client.post(
            API + path, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw
        )

    async def put(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.client.put(API + path, json=json, headers=self.headers, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.client.patch(API + path, json=json, headers=self.headers, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.delete(API + path, headers=self.headers, **kw)

    async def send(self, room_id: str, text: str, **body: Any) -> dict[str, Any]:
        """Send a message and return it; fails the test unless the answer is 201."""
        r = await self.post(f"/rooms/{room_id}/messages", {"text": text, **body})
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def create_room(
        self, name: str = "room", visibility: str = "public", **body: Any
    ) -> dict[str, Any]:
        r = await self.post("/rooms", {"name": name, "visibility": visibility, **body})
        assert r.status_code == 201, r.text
        return dict(r.json())


# The fields of a Room anyone may see (members see MEMBER_FIELDS too), in answers and events.
ROOM_FIELDS = {
    "id",
    "name",
    "topic",
    "visibility",
    "kind",
    "created_at",
    "member_count",
    "last_seq",
    "retention_days",
    "members_can_pin",
    "avatar_url",
}
# The fields of a User in every answer and event.
USER_FIELDS = {"id", "username", "display_name", "created_at", "is_admin", "kind", "avatar_url"}
# GET and PATCH /me add the signed-in user's own email address (#18), shown to them only.
NO_EMAIL = {"email": None, "email_confirmed": False}


def me_of(user: dict[str, Any]) -> dict[str, Any]:
    """A user as GET /me shows them, with no email address set."""
    return {**user, **NO_EMAIL}


async def sign_up(
    client: httpx.AsyncClient, username: str, password: str = "correct horse"
) -> Account:
    r = await client.post(f"{API}/accounts", json={"username": username, "password": password})
    assert r.status_code == 201, r.text
    body = r.json()
    return Account(username, body["token"], body["user"], client)


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "alice")


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "bob")


@pytest.fixture
async def carol(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "carol")


@pytest.fixture
async def dave(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "dave")


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = dict(r.json())
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["title"]
    assert body["detail"]
    return body
