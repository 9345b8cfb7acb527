"""Health checks for load balancers and orchestrators: /healthz (alive), /readyz (can serve)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hubbub.web.deps import Svc
from hubbub.web.responses import json_response

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    summary="The node can serve: database reachable and migrated; bus connected or degraded",
    responses={503: {"description": "Not ready: database unreachable or not migrated"}},
)
async def readyz(svc: Svc) -> Response:
    """200 `ready` (or `degraded` while the event bus is down: requests still work and
    real-time delivery falls back to polling the database); 503 when the database cannot
    be reached or has migrations pending."""
    ready = await svc.health.readiness()
    body = {"status": ready.status, "checks": {"database": ready.database, "bus": ready.bus}}
    if ready.status == "unavailable":
        return json_response(body, 503, headers={"Retry-After": "2"})
    return json_response(body)
