"""The OpenAPI document: FastAPI's routes, plus the classic routes (served by web.classic) and
the shared schemas, with configurable limits written in as configured."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from hubbub.config import Settings
from hubbub.services.classic import LIMIT_DEFAULT, LIMIT_MAX
from hubbub.web.schemas import (
    PROBLEMS,
    ClassicError,
    ClassicMessages,
    ClassicOk,
    ClassicPost,
    ClassicUsers,
    Problem,
)

__all__ = ["install_openapi", "operation_id"]

_COMPONENTS = (Problem, ClassicPost, ClassicMessages, ClassicUsers, ClassicOk, ClassicError)


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


_ERRORS = {
    "400": "The body is not valid JSON",
    "413": "The body is too large",
    "415": "Content-Type is not application/json",
    "422": "Invalid input; `error` says why",
}


def _classic_paths() -> dict[str, Any]:
    def errors(*codes: str) -> dict[str, Any]:
        return {code: _json(ClassicError, _ERRORS[code]) for code in codes}

    return {
        "/messages": {
            "get": {
                "tags": ["classic"],
                "summary": "The most recent messages, oldest first",
                "operationId": "classicListMessages",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": LIMIT_MAX,
                            "default": LIMIT_DEFAULT,
                        },
                    }
                ],
                "responses": {
                    "200": _json(ClassicMessages, "Messages sorted by timestamp"),
                    **errors("422"),
                },
            }
        },
        "/message": {
            "post": {
                "tags": ["classic"],
                "summary": "Post a message",
                "description": "The server records a unix timestamp when it commits the message.",
                "operationId": "classicPostMessage",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(ClassicPost)}},
                },
                "responses": {
                    "200": _json(ClassicOk, "Stored"),
                    **errors("400", "413", "415", "422"),
                },
            }
        },
        "/users": {
            "get": {
                "tags": ["classic"],
                "summary": "Everyone who has posted, in order of first post",
                "operationId": "classicListUsers",
                "responses": {"200": _json(ClassicUsers, "Names, each once")},
            }
        },
    }


def operation_id(route: APIRoute) -> str:
    """A route's operationId: its function's name in camelCase (`send_message` ->
    `sendMessage`). Stable as long as the function keeps its name; generated clients name
    their methods after it."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _validation_errors_as_served(schema: dict[str, Any]) -> None:
    """FastAPI documents a 422 of its own shape (`HTTPValidationError`, application/json) on
    every route with parameters that declares no 422 itself; web.problems answers every
    validation error in the shape of its path instead. Document that shape, so generated
    clients parse a 422 into the model the server really sends."""
    fastapi_422 = {"$ref": "#/components/schemas/HTTPValidationError"}
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            content = responses.get("422", {}).get("content", {})
            if content.get("application/json", {}).get("schema") == fastapi_422:
                responses["422"] = (
                    PROBLEMS(422)[422]
                    if path.startswith("/api/")
                    else _json(ClassicError, _ERRORS["422"])
                )
    if "HTTPValidationError" not in json.dumps(schema["paths"]):
        components = schema.get("components", {}).get("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)


def install_openapi(app: FastAPI, settings: Settings) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema["paths"] = {**_classic_paths(), **schema["paths"]}
            _validation_errors_as_served(schema)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in _COMPONENTS:
                components[model.__name__] = model.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
                components.update(components[model.__name__].pop("$defs", {}))
            # Configurable limits: state the configured values.
            post = components["ClassicPost"]["properties"]
            post["user"]["maxLength"] = settings.classic_user_max
            post["text"]["maxLength"] = settings.classic_text_max
            for name in ("MessageIn", "MessagePatch"):
                components[name]["properties"]["text"]["maxLength"] = settings.message_text_max
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
