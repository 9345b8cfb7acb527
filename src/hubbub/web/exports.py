"""Data export: POST /api/v1/me/export asks for one; GET /api/v1/me/export answers its status
(202 while it is built) and then the zip."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response, StreamingResponse

from hubbub import wire
from hubbub.services.exports import Export
from hubbub.web.auth import Me
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response
from hubbub.web.schemas import PROBLEMS

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class ExportOut(BaseModel):
    status: Literal["pending", "building", "ready"]
    requested_at: str
    ready_at: str | None = Field(description="when it was built; null until then")
    expires_at: str | None = Field(description="when it is removed; null until built")
    size: int | None = Field(description="bytes of the zip; null until built")


def _status(export: Export) -> dict[str, object]:
    def at(ms: int | None) -> str | None:
        return None if ms is None else wire.rfc3339(ms)

    return {
        "status": export.status,
        "requested_at": wire.rfc3339(export.requested_at),
        "ready_at": at(export.ready_at),
        "expires_at": at(export.expires_at),
        "size": export.size,
    }


@router.post("/me/export", status_code=202, response_model=ExportOut, responses=PROBLEMS(401, 429))
async def request_export(me: Me, svc: Svc) -> Response:
    """Ask for an export of everything you wrote (it replaces any earlier one). It is built in
    the background: poll `GET /api/v1/me/export`."""
    return json_response(_status(await svc.exports.request(me)), 202)


@router.get(
    "/me/export",
    response_model=ExportOut,
    responses={
        **PROBLEMS(401, 404),
        200: {
            "description": "the zip, once ready (JSON status instead if you accept only JSON)",
            "content": {"application/zip": {}, "application/json": {}},
        },
        202: {"description": "not built yet", "model": ExportOut},
    },
)
async def get_export(me: Me, svc: Svc, request: Request) -> Response:
    """202 with the status while the export is being built; then 200 with the zip (or, with
    `Accept: application/json`, its status). 404 `export_not_found` if none was asked for,
    or it expired (7 days), or it was discarded because you deleted or edited a message."""
    export = await svc.exports.status(me)
    if export.status != "ready":
        return json_response(_status(export), 202)
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "application/zip" not in accept:
        return json_response(_status(export))
    name = f"hubbub-export-{me.username}-{wire.rfc3339(export.requested_at)[:10]}.zip"
    return StreamingResponse(
        svc.exports.download(me),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(export.size),
            "Cache-Control": "no-store",
        },
    )
