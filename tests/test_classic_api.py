"""The classic exercise API: every status code, ordering, unicode, limits, concurrency."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

pytestmark = pytest.mark.anyio


async def post(client: httpx.AsyncClient, body: object) -> httpx.Response:
    return await client.post(
        "/message", content=json.dumps(body), headers={"content-type": "application/json"}
    )


async def test_post_then_list_returns_message_with_server_timestamp(
    client: httpx.AsyncClient,
) -> None:
    r = await post(client, {"user": "superman", "text": "hello"})
    assert r.status_code == 200
    assert r.json() == {"ok": True}
    messages = (await client.get("/messages")).json()["messages"]
    assert len(messages) == 1
    assert messages[0]["user"] == "superman"
    assert messages[0]["text"] == "hello"
    assert isinstance(messages[0]["timestamp"], float)
    assert messages[0]["timestamp"] > 1_700_000_000


async def test_messages_are_ascending_and_newest_last(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await post(client, {"user": "u", "text": f"m{i}"})
    messages = (await client.get("/messages")).json()["messages"]
    assert [m["text"] for m in messages] == ["m0", "m1", "m2", "m3", "m4"]
    stamps = [m["timestamp"] for m in messages]
    assert stamps == sorted(stamps)


async def test_list_defaults_to_100_most_recent(client: httpx.AsyncClient) -> None:
    for i in range(105):
        await post(client, {"user": "u", "text": str(i)})
    messages = (await client.get("/messages")).json()["messages"]
    assert len(messages) == 100
    assert messages[0]["text"] == "5"
    assert messages[-1]["text"] == "104"


@pytest.mark.parametrize(
    ("limit", "expected"), [("1", ["2"]), ("2", ["1", "2"]), ("1000", ["0", "1", "2"])]
)
async def test_limit_selects_newest(
    client: httpx.AsyncClient, limit: str, expected: list[str]
) -> None:
    for i in range(3):
        await post(client, {"user": "u", "text": str(i)})
    r = await client.get("/messages", params={"limit": limit})
    assert r.status_code == 200
    assert [m["text"] for m in r.json()["messages"]] == expected


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "abc", "1.5", ""])
async def test_bad_limit_is_422_with_reason(client: httpx.AsyncClient, limit: str) -> None:
    r = await client.get("/messages", params={"limit": limit})
    assert r.status_code == 422
    body = r.json()
    assert body["ok"] is False
    assert "limit" in body["error"]


async def test_users_are_unique_in_order_of_first_post(client: httpx.AsyncClient) -> None:
    for user in ["superman", "batman", "superman", "wonderwoman", "batman"]:
        await post(client, {"user": user, "text": "hi"})
    assert (await client.get("/users")).json() == {"users": ["superman", "batman", "wonderwoman"]}


async def test_users_empty_before_any_post(client: httpx.AsyncClient) -> None:
    assert (await client.get("/users")).json() == {"users": []}
    assert (await client.get("/messages")).json() == {"messages": []}


@pytest.mark.parametrize(
    "text",
    [
        "héllo wörld",
        "🦸‍♂️🦇 emoji ZWJ",
        "你好\uff0c世界",
        "مرحبا بالعالم",
        "<b>not markup</b>&amp;",
        "line1\nline2\ttab",
    ],
)
async def test_unicode_round_trips_exactly(client: httpx.AsyncClient, text: str) -> None:
    assert (await post(client, {"user": "ünï👤", "text": text})).status_code == 200
    message = (await client.get("/messages")).json()["messages"][-1]
    assert message["text"] == text
    assert message["user"] == "ünï👤"


async def test_malformed_json_is_400_and_stores_nothing(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/message", content=b'{"user": "a", "text": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["ok"] is False
    assert r.json()["error"]
    assert (await client.get("/messages")).json() == {"messages": []}


async def test_invalid_utf8_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/message",
        content=b'{"user": "a", "text": "\xff"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ([], "object"),
        ("just a string", "object"),
        (42, "object"),
        (None, "object"),
        ({}, "'user' is required"),
        ({"user": "a"}, "'text' is required"),
        ({"text": "a"}, "'user' is required"),
        ({"user": "", "text": "a"}, "'user' must not be empty"),
        ({"user": "   ", "text": "a"}, "'user' must not be empty"),
        ({"user": "a", "text": ""}, "'text' must not be empty"),
        ({"user": 5, "text": "a"}, "'user' must be a string"),
        ({"user": "a", "text": ["x"]}, "'text' must be a string"),
        ({"user": "a", "text": True}, "'text' must be a string"),
        ({"user": "x" * 65, "text": "a"}, "'user' must be at most 64"),
        ({"user": "a", "text": "x" * 4001}, "'text' must be at most 4000"),
        ({"user": "a", "text": "nul \u0000 inside"}, "'text' must not contain NUL"),
        ({"user": "nul\u0000", "text": "a"}, "'user' must not contain NUL"),
    ],
)
async def test_invalid_body_is_422_with_reason_and_stores_nothing(
    client: httpx.AsyncClient, body: object, needle: str
) -> None:
    r = await post(client, body)
    assert r.status_code == 422
    assert r.json()["ok"] is False
    assert needle in r.json()["error"]
    assert (await client.get("/messages")).json() == {"messages": []}
    assert (await client.get("/users")).json() == {"users": []}


async def test_limits_are_inclusive(client: httpx.AsyncClient) -> None:
    r = await post(client, {"user": "x" * 64, "text": "y" * 4000})
    assert r.status_code == 200


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_wrong_content_type_is_415(client: httpx.AsyncClient, ctype: str) -> None:
    r = await client.post(
        "/message", content=b'{"user":"a","text":"b"}', headers={"content-type": ctype}
    )
    assert r.status_code == 415
    assert r.json()["ok"] is False
    assert (await client.get("/messages")).json() == {"messages": []}


async def test_json_content_type_with_charset_is_accepted(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/message",
        content=b'{"user":"a","text":"b"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200


async def test_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    big = {"user": "a", "text": "x" * 70_000}
    r = await post(client, big)
    assert r.status_code == 413
    assert r.json()["ok"] is False
    assert (await client.get("/messages")).json() == {"messages": []}


async def test_chunked_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"user": "a", "text": "'
        for _ in range(20):
            yield b"x" * 4096
        yield b'"}'

    r = await client.post(
        "/message", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


async def test_chunked_body_under_limit_is_accepted(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"user": "a", '
        yield b'"text": "chunked"}'

    r = await client.post(
        "/message", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 200
    assert (await client.get("/messages")).json()["messages"][0]["text"] == "chunked"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("GET", "/message", "POST"), ("DELETE", "/messages", "GET"), ("PUT", "/users", "GET")],
)
async def test_wrong_method_is_405_with_allow(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    r = await client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.json()["ok"] is False


async def test_unknown_route_is_404_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/nope")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["ok"] is False


async def test_200_concurrent_posts_are_all_stored(client: httpx.AsyncClient) -> None:
    async def send(i: int) -> None:
        r = await post(client, {"user": f"u{i % 7}", "text": f"msg {i}"})
        assert r.status_code == 200

    async with anyio.create_task_group() as tg:
        for i in range(200):
            tg.start_soon(send, i)
    messages = (await client.get("/messages", params={"limit": 1000})).json()["messages"]
    assert sorted(m["text"] for m in messages) == sorted(f"msg {i}" for i in range(200))
    stamps = [m["timestamp"] for m in messages]
    assert stamps == sorted(stamps)
    assert len((await client.get("/users")).json()["users"]) == 7


async def test_acknowledged_order_is_listing_order(client: httpx.AsyncClient) -> None:
    """A POST acknowledged before another starts is listed before it."""
    for i in range(20):
        await post(client, {"user": "u", "text": str(i)})
    texts = [m["text"] for m in (await client.get("/messages")).json()["messages"]]
    assert texts == [str(i) for i in range(20)]
