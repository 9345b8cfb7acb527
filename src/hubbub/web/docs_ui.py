"""Browsable API docs at /docs, served from files inside the package (no CDN), under a strict
Content-Security-Policy: the page shares its origin with the web client, whose token is in
the browser's storage, so no inline script may run there and no other site may frame it."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import HTMLResponse

__all__ = ["DOCS_CSP", "router"]

router = APIRouter(include_in_schema=False)

STATIC = "/static/swagger"
DOCS_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # Swagger UI sets style attributes as it renders (styles only; no script).
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>hubbub API</title>
<link rel="stylesheet" href="{STATIC}/swagger-ui.css">
<link rel="icon" href="{STATIC}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{STATIC}/swagger-ui-bundle.js"></script>
<script src="{STATIC}/hubbub-init.js"></script>
</body>
</html>
"""


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return HTMLResponse(
        PAGE,
        headers={
            "Content-Security-Policy": DOCS_CSP,
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-cache",
        },
    )
