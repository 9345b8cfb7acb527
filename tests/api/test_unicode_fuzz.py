"""Every operation of the OpenAPI document, fed Unicode-heavy input where it takes text or a
number: lone surrogates (escaped in JSON, and as raw bytes in URLs), non-ASCII digits,
bidirectional controls, byte order marks, NUL, very long strings. Nothing may answer 5xx
(schemathesis fuzzes the whole API too, in tests/test_openapi_schema.py; its generators do
not produce lone surrogates, so these are spelled out here). On both engines."""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.api.conftest import Account

pytestmark = pytest.mark.anyio

NASTY: list[str] = [
    "\ud800",
    "a\udfffb",
    "\ud83d",  # half an emoji
    "²",
    "\uff11\uff12",  # fullwidth digits
    "٣",
    "¹⁰",
    "\u202egnp.exe",
    "\u2066x\u2069",
    "\ufeffbom",
    "\u200b",
    "\u3164",
    "😀" * 3,
    "Ω" * 5000,
    "0" * 40,
    "-1",
    "1e5",
    " 7 ",
    "%",
    "../..",
    "'\"\\",
    "\x00",
    "",
]


def url_part(value: str) -> str:
    """`value` (its first 2,000 characters: URLs have limits of their own) percent-encoded as
    UTF-8, lone surrogates included (as the bytes a careless client would send)."""
    return quote(value[:2000].encode("utf-8", "surrogatepass"), safe="")


def body_with(schema: dict[str, Any], components: dict[str, Any], value: Any) -> dict[str, Any]:
    """An object with every property of the request schema set to `value`."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        refs = [s for s in schema["anyOf"] if "$ref" in s]
        if refs:
            schema = components[refs[0]["$ref"].rsplit("/", 1)[-1]]
    return {name: value for name in schema.get("properties", {})}


async def test_no_operation_answers_5xx_to_unicode_heavy_input(
    client: httpx.AsyncClient, alice: Account
) -> None:
    document = (await client.get("/openapi.json")).json()
    components = document["components"]["schemas"]
    room = await alice.create_room("fuzz")
    message = await alice.send(room["id"], "fuzz me")
    rng = random.Random(20261205)
    failures: list[str] = []
    sent = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for value in NASTY:
                params: dict[str, str] = {}
                concrete = path
                for parameter in operation.get("parameters", []):
                    # Half the time the real id, so the text reaches deeper than the lookup.
                    real = {"room_id": room["id"], "message_id": message["id"]}.get(
                        parameter["name"]
                    )
                    use = real if real is not None and rng.random() < 0.5 else value
                    if parameter["in"] == "path":
                        concrete = concrete.replace(f"{{{parameter['name']}}}", url_part(use))
                    elif parameter["in"] == "query" and parameter["name"] != "timeout":
                        params[parameter["name"]] = use
                query = "&".join(f"{url_part(k)}={url_part(v)}" for k, v in params.items())
                if "timeout" in {p["name"] for p in operation.get("parameters", [])}:
                    query += ("&" if query else "") + "timeout=0"
                url = concrete + (f"?{query}" if query else "")
                headers = {**alice.headers, "Idempotency-Key": url_part(value)[:200] or "k"}
                content = None
                request_body = operation.get("requestBody")
                if request_body is not None and "application/json" in request_body["content"]:
                    schema = request_body["content"]["application/json"]["schema"]
                    # ensure_ascii: lone surrogates travel as \ud800 escapes, as JSON allows.
                    content = json.dumps(body_with(schema, components, value)).encode()
                    headers["Content-Type"] = "application/json"
                elif request_body is not None:  # a file: the text is its bytes (and its name)
                    content = value.encode("utf-8", "surrogatepass")
                    headers["Content-Type"] = "application/octet-stream"
                r = await client.request(method.upper(), url, content=content, headers=headers)
                sent += 1
                if r.status_code >= 500:
                    failures.append(f"{method.upper()} {url[:120]} -> {r.status_code} {r.text}")
    assert sent > 500
    assert failures == []


@pytest.mark.parametrize(
    "raw",
    [
        b"\xed\xa0\x80",  # a surrogate in bytes
        b"\xc0\xaf",  # an overlong encoding
        b"\xff\xfe\x00",
        b"\xf4\x90\x80\x80",  # past U+10FFFF
    ],
)
async def test_invalid_utf8_anywhere_in_a_body_is_400(alice: Account, raw: bytes) -> None:
    for path, body in (
        ("/api/v1/rooms", b'{"name": "' + raw + b'", "visibility": "public"}'),
        ("/api/v1/rooms/general/messages", b'{"text": "' + raw + b'"}'),
        ("/api/v1/sessions", b'{"username": "alice", "password": "' + raw + b'"}'),
        ("/message", b'{"user": "u", "text": "' + raw + b'"}'),
    ):
        r = await alice.client.post(
            path, content=body, headers={**alice.headers, "Content-Type": "application/json"}
        )
        assert r.status_code == 400, (path, r.text)
