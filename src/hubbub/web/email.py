"""Missed-message email (#18): confirming an address and one-click unsubscribe.

The links in mails lead to small pages served here (not the web client), so they work on any
device without signing in; the token in the link is the permission. Opening a link (GET)
changes nothing, since mail scanners open links: the page has a button that POSTs. The
unsubscribe URL also takes the one-click POST that mail programs send (RFC 8058,
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`), whatever its body.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import Field
from starlette.responses import HTMLResponse, Response

from hubbub.errors import ConfirmationExpired, NotFound
from hubbub.web.deps import Svc
from hubbub.web.responses import no_content
from hubbub.web.schemas import PROBLEMS, _In

__all__ = ["links", "router"]

router = APIRouter(prefix="/api/v1", tags=["accounts"])
links = APIRouter(include_in_schema=False)

TOKEN_MAX = 128
Token = Annotated[str, Path(max_length=TOKEN_MAX)]

PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none';"
    " frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


class EmailConfirmationIn(_In):
    token: str = Field(min_length=1, max_length=TOKEN_MAX)


@router.post("/email-confirmations", status_code=204, responses=PROBLEMS(400, 410, 413, 415, 422))
async def confirm_email(body: EmailConfirmationIn, svc: Svc) -> Response:
    """Confirm an email address with the token of the link mailed to it (no sign-in needed:
    the token is the permission). Used, unknown or expired: 410 `confirmation_expired`."""
    await svc.email.confirm(body.token)
    return no_content()


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    text = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} - hubbub</title>"
        "<style>body{font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em}"
        "button{font-size:1em;padding:.5em 1em}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(text, status_code=status, headers=PAGE_HEADERS)


def _form(action: str, label: str) -> str:
    return (
        f'<form method=post action="{html.escape(action)}">'
        f"<button type=submit>{html.escape(label)}</button></form>"
    )


@links.get("/email/confirm/{token}")
async def confirm_page(token: Token) -> HTMLResponse:
    return _page(
        "Confirm your email address",
        "<p>hubbub will mail you the direct messages and mentions you have not read.</p>"
        + _form(f"/email/confirm/{token}", "Confirm my address"),
    )


@links.post("/email/confirm/{token}")
async def confirm_by_page(token: Token, svc: Svc) -> HTMLResponse:
    try:
        await svc.email.confirm(token)
    except ConfirmationExpired:
        return _page(
            "This link is used or expired",
            "<p>Set your address again in hubbub's settings for a new link.</p>",
            410,
        )
    return _page("Address confirmed", "<p>You can close this page.</p>")


@links.get("/email/unsubscribe/{token}")
async def unsubscribe_page(token: Token) -> HTMLResponse:
    return _page(
        "Stop email notifications?",
        "<p>hubbub will no longer mail you about messages you missed. You can turn them on"
        " again in its settings.</p>" + _form(f"/email/unsubscribe/{token}", "Unsubscribe"),
    )


@links.post("/email/unsubscribe/{token}")
async def unsubscribe(token: Token, svc: Svc) -> HTMLResponse:
    """One click (RFC 8058): the mail program POSTs `List-Unsubscribe=One-Click`."""
    try:
        await svc.email.unsubscribe(token)
    except NotFound:
        return _page("Unknown link", "<p>This link is not one of this server's.</p>", 404)
    return _page("Unsubscribed", "<p>Email notifications are off.</p>")
