"""The OpenAPI document states the error shapes the server really sends (web.problems), so
generated clients parse every error into one model."""

from __future__ import annotations

from tests.event_schema import openapi_document

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_every_v1_error_response_is_documented_as_a_problem() -> None:
    document = openapi_document()
    errors = {
        (method.upper(), path, status): response.get("content")
        for path, operations in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if int(status) >= 400
    }
    assert errors
    assert {key: content for key, content in errors.items() if content != PROBLEM} == {}
    # FastAPI's own 422 body, which this server never sends, is gone with its models.
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ValidationError" not in document["components"]["schemas"]


PYDANTIC_ONLY_KEYS = {"ge", "gt", "le", "lt", "min_length", "max_length"}


def test_every_bound_is_stated_in_json_schema_words() -> None:
    """Bounds appear as minimum/maximum/minLength/maxLength, which clients and fuzzers read;
    pydantic's own spellings (`ge` on an optional field's branch) would hide them."""
    found: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if str(node.get("type")) in {"integer", "number", "string"}:
                found.extend(f"{where}.{k}" for k in PYDANTIC_ONLY_KEYS & node.keys())
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    document = openapi_document()
    walk(document, "")
    assert found == []
    retention = document["components"]["schemas"]["RoomPatch"]["properties"]["retention_days"]
    assert {"type": "integer", "minimum": 1, "maximum": 36500} in retention["anyOf"]
