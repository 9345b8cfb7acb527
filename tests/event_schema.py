"""Zulip-style event checking: every frame a test sees is validated against the `Event`
schema the server publishes in /openapi.json (a `oneOf` discriminated by `type`).

`check_frame` raises AssertionError naming the frame and the first schema error. The API
suite checks every durable event its writes stored (tests/conftest.py's `app` fixture); the
real-time suite checks every frame its stream clients receive (tests/realtime/conftest.py).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from hubbub.app import create_app
from hubbub.config import Settings

__all__ = ["check_frame", "openapi_document"]

_BASE = "urn:hubbub:openapi"


@cache
def openapi_document() -> dict[str, Any]:
    """The document the server serves (it does not depend on the database or the data)."""
    document: dict[str, Any] = create_app(Settings(database_url="sqlite:///unused.db")).openapi()
    copy: dict[str, Any] = json.loads(json.dumps(document))  # a private, plain-JSON copy
    return copy


@cache
def _validator(ref: str) -> jsonschema.protocols.Validator:
    registry: Registry[Any] = Registry().with_resource(
        _BASE, Resource.from_contents(openapi_document(), default_specification=DRAFT202012)
    )
    return jsonschema.Draft202012Validator({"$ref": f"{_BASE}{ref}"}, registry=registry)


def check_frame(frame: dict[str, Any]) -> None:
    """Fail unless `frame` is a valid event stream frame of the published schema: valid
    against `Event` as a whole, and (for a readable error) against the variant its `type`
    picks through the discriminator."""
    event = openapi_document()["components"]["schemas"]["Event"]
    variant = event["discriminator"]["mapping"].get(frame.get("type"))
    assert variant is not None, f"no event type {frame.get('type')!r} in the schema: {frame}"
    for ref in (variant, "#/components/schemas/Event"):
        errors = sorted(_validator(ref).iter_errors(frame), key=lambda e: list(e.path))
        assert not errors, (
            f"{frame.get('type')} frame does not match {ref}: "
            f"{'/'.join(map(str, errors[0].path))} {errors[0].message}\n{frame}"
        )
