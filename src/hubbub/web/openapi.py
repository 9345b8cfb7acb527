"""The OpenAPI document: FastAPI's, plus the shared Problem schema the error responses use."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from hubbub.config import Settings
from hubbub.web.classic import ClassicPost
from hubbub.web.schemas import Problem

__all__ = ["install_openapi"]


def install_openapi(app: FastAPI, settings: Settings) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (Problem, ClassicPost):
                components[model.__name__] = model.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
            # Configurable limits: state the configured values.
            components["ClassicPost"]["properties"]["user"]["maxLength"] = settings.classic_user_max
            components["ClassicPost"]["properties"]["text"]["maxLength"] = settings.classic_text_max
            for name in ("MessageIn", "MessagePatch"):
                components[name]["properties"]["text"]["maxLength"] = settings.message_text_max
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
