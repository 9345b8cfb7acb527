"""Health checks for load balancers and orchestrators: /healthz (alive), /readyz (can serve)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import Response

from hubbub.web.responses import json_response

__all__ = ["router"]

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT = 2.0


@router.get("/healthz", summary="The process is alive")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    summary="The node can serve: database reachable and migrated; bus connected or degraded",
    responses={503: {"description": "Not ready: database unreachable or not migrated"}},
)
async def readyz(request: Request) -> Response:
    """200 `ready` (or `degraded` while the event bus is down: requests still work and
    real-time delivery falls back to polling the database); 503 when the database cannot
    be reached or has migrations pending."""
    store = request.app.state.store
    services = request.app.state.services
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(store.engine.ping(), CHECK_TIMEOUT)
        pending = await asyncio.wait_for(store.pending_migrations(), CHECK_TIMEOUT)
        checks["database"] = "ok" if not pending else f"migrations pending: {pending}"
    except Exception as exc:  # any failure to answer means "not ready", with the reason
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["bus"] = services.events.bus.state
    if checks["database"] != "ok":
        body = {"status": "unavailable", "checks": checks}
        return json_response(body, 503, headers={"Retry-After": "2"})
    status = "ready" if checks["bus"] == "connected" else "degraded"
    return json_response({"status": status, "checks": checks})
