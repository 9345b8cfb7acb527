"""GET /api/v1/presence: who is online now."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
import websockets

from tests.server_process import ServerProcess

pytestmark = pytest.mark.anyio
API = "/api/v1"


async def test_presence_lists_connected_users_until_the_grace_ends(tmp_path: Path) -> None:
    env = {"HUBBUB_PRESENCE_GRACE_SECONDS": "0.5"}
    with ServerProcess(f"sqlite:///{tmp_path / 'h.db'}", env=env) as server:
        async with httpx.AsyncClient(base_url=server.url + API) as c:
            accounts = {}
            for name in ("alice", "bob"):
                r = await c.post("/accounts", json={"username": name, "password": "fuzz-pass-1"})
                accounts[name] = (r.json()["token"], r.json()["user"]["id"])
            headers = {"Authorization": f"Bearer {accounts['alice'][0]}"}
            ids = [accounts["alice"][1], accounts["bob"][1]]
            bob_id = accounts["bob"][1]

            async def online() -> list[str]:
                r = await c.get("/presence", params={"user_id": ids}, headers=headers)
                assert r.status_code == 200, r.text
                return list(r.json()["online"])

            async def becomes(expected: list[str]) -> None:
                with anyio.fail_after(20):  # generous: a loaded machine delays the server
                    while await online() != expected:  # noqa: ASYNC110 - server-side state
                        await anyio.sleep(0.02)

            assert await online() == []
            stream = server.url.replace("http", "ws") + f"{API}/stream?access_token="
            async with websockets.connect(stream + accounts["bob"][0]):
                await becomes([bob_id])
            await becomes([])  # the grace period (0.5 s) after bob's only connection closed
            too_many = await c.get("/presence", params={"user_id": ["x"] * 201}, headers=headers)
            assert too_many.status_code == 422
