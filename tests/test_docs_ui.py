"""/docs works with no internet: every asset it names is served from the package."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_docs_page_loads_its_assets_from_this_server(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert assets, "the page names no assets"
    for url in assets:
        assert url.startswith("/"), f"{url} is not served by this server"
        r = await client.get(url)
        assert r.status_code == 200, url
        assert len(r.content) > 100, url
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/rooms/{room_id}/messages" in spec.json()["paths"]
