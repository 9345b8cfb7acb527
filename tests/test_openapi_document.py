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
