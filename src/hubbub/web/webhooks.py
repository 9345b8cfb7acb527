"""Incoming webhooks: managing them (/api/v1/rooms/{id}/webhooks, JSON) and the
Slack-compatible endpoint itself (POST /hooks/{secret}), which answers as Slack does:
200 `ok`, 400 `invalid_payload` / `no_text`, 403 `action_prohibited`, 404 `no_service`,
413, 429 with Retry-After; all text/plain."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from starlette.responses import PlainTextResponse, Response

from hubbub import wire
from hubbub.errors import Forbidden, Invalid, NotFound, RateLimited
from hubbub.models import User, Webhook
from hubbub.services.slack import NoText, PayloadInvalid
from hubbub.services.webhooks import HOOK_NAME_MAX
from hubbub.web.auth import Me
from hubbub.web.bodies import FORM, BadBody, header, parse_json_body
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import PROBLEMS, UserOut, _In

__all__ = ["hooks", "router"]

router = APIRouter(prefix="/api/v1", tags=["integrations"])
hooks = APIRouter(include_in_schema=False)

HookId = Annotated[str, Path(max_length=64)]
Secret = Annotated[str, Path(max_length=128)]


class WebhookIn(_In):
    name: str = Field(min_length=1, max_length=HOOK_NAME_MAX, description="shown as the sender")


class WebhookOut(BaseModel):
    id: str
    room_id: str
    name: str
    bot: UserOut = Field(description="the bot account it posts as")
    created_at: str
    url: str | None = Field(description="the secret URL: only in the answer that made it")


class WebhooksOut(BaseModel):
    webhooks: list[WebhookOut]


def _hook(hook: Webhook, bot: User, url: str | None) -> dict[str, Any]:
    return {
        "id": hook.id,
        "room_id": hook.room_id,
        "name": hook.name,
        "bot": wire.user(bot),
        "created_at": wire.rfc3339(hook.created_at),
        "url": url,
    }


@router.post(
    "/rooms/{room_id}/webhooks",
    status_code=201,
    response_model=WebhookOut,
    responses=PROBLEMS(400, 401, 403, 404, 413, 415, 422),
)
async def create_webhook(room_id: str, body: WebhookIn, me: Me, svc: Svc) -> Response:
    """A Slack-compatible incoming webhook for a room you own or administer: POST Slack's
    payloads to `url` (shown only here: keep it secret) and they appear in the room, sent by
    the webhook's bot account."""
    made = await svc.webhooks.create(me, room_id, body.name)
    return json_response(_hook(made.hook, made.bot, svc.webhooks.url(made.secret)), 201)


@router.get(
    "/rooms/{room_id}/webhooks", response_model=WebhooksOut, responses=PROBLEMS(401, 403, 404)
)
async def list_webhooks(room_id: str, me: Me, svc: Svc) -> Response:
    """The room's webhooks (owners and admins), oldest first; their URLs are not shown again."""
    found = await svc.webhooks.list(me, room_id)
    return json_response({"webhooks": [_hook(hook, bot, None) for hook, bot in found]})


@router.delete(
    "/rooms/{room_id}/webhooks/{hook_id}", status_code=204, responses=PROBLEMS(401, 403, 404)
)
async def delete_webhook(room_id: str, hook_id: HookId, me: Me, svc: Svc) -> Response:
    """Revoke the webhook at once (its URL answers 404 `no_service`); its bot leaves the room
    and its messages stay."""
    await svc.webhooks.delete(me, room_id, hook_id)
    return no_content()


def _slack(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(text, status_code=status, headers=headers)


def _payload(request: Request, raw: bytes) -> Any:
    """The payload: the JSON in a form field `payload` (Slack's form encoding), else the body
    as JSON, whatever the Content-Type says (`curl -d '{"text": …}'` sends JSON labelled as
    a form, and Slack takes it)."""
    content_type = header(request.scope, b"content-type") or ""
    if content_type.split(";", 1)[0].strip().lower() == FORM and raw.startswith(b"payload="):
        try:
            fields = parse_qs(raw.decode("utf-8"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise PayloadInvalid("a form body must be UTF-8 key=value pairs") from None
        values = fields.get("payload")
        if not values or len(values) != 1 or len(fields) != 1:
            raise PayloadInvalid("a form body must carry one `payload` field")
        raw = values[0].encode("utf-8")
    try:
        return parse_json_body(raw)
    except BadBody as bad:
        raise PayloadInvalid(bad.detail) from None


@hooks.post("/hooks/{secret}")
async def post_to_webhook(secret: Secret, request: Request, svc: Svc) -> Response:
    """Slack's incoming-webhook API: a JSON payload, or the form field `payload`."""
    try:
        payload = _payload(request, await request.body())
        await svc.webhooks.post(secret, payload)
    except (PayloadInvalid, Invalid):
        return _slack(400, "invalid_payload")
    except NoText:
        return _slack(400, "no_text")
    except RateLimited as exc:
        return _slack(429, "rate_limited", {"Retry-After": str(exc.retry_after)})
    except NotFound:  # an unknown or revoked hook, or its room is gone
        return _slack(404, "no_service")
    except Forbidden:  # the room took the bot out or muted it
        return _slack(403, "action_prohibited")
    return _slack(200, "ok")
