"""Outgoing webhooks (/api/v1/rooms/{id}/outgoing-webhooks) and bot event subscriptions
(/api/v1/bots/{username}/subscriptions): docs/integrations.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from hubbub import wire
from hubbub.models import Delivery, OutgoingHook, User
from hubbub.realtime.cursors import cursor
from hubbub.services.outgoing import (
    DELIVERIES_MAX,
    EVENT_TYPES,
    TRIGGER_WORD_MAX,
    TRIGGER_WORDS_MAX,
    URL_MAX,
    HookChange,
    NewHook,
)
from hubbub.web.auth import Me
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import PROBLEMS, UserOut, _In

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["integrations"])

HookId = Annotated[str, Path(max_length=64)]
BotName = Annotated[str, Path(max_length=64)]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Limit = Annotated[int, Query(ge=1, le=DELIVERIES_MAX)]


class OutgoingIn(_In):
    url: str = Field(
        min_length=1,
        max_length=URL_MAX,
        description="an http:// or https:// URL; hubbub POSTs each event there",
    )
    events: list[EventType] = Field(
        min_length=1, max_length=len(EVENT_TYPES), description="the event types to send"
    )
    trigger_words: list[
        Annotated[str, Field(min_length=1, max_length=TRIGGER_WORD_MAX, pattern=r"^\S+$")]
    ] = Field(
        default_factory=list,
        max_length=TRIGGER_WORDS_MAX,
        description="if any: only messages whose text starts with one of them",
    )


class SubscriptionIn(_In):
    url: str = Field(min_length=1, max_length=URL_MAX, description="an http(s) URL")
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))


TriggerWord = Annotated[str, Field(min_length=1, max_length=TRIGGER_WORD_MAX, pattern=r"^\S+$")]


class SubscriptionPatch(_In):
    """What to change; a field left out (or null) stays as it is."""

    enabled: bool | None = Field(
        default=None,
        description="false: turn it off (what is queued for it is dropped); true: turn it"
        " back on afresh (no failures; the events from now on, none from while it was off)",
    )
    url: str | None = Field(
        default=None, min_length=1, max_length=URL_MAX, description="an http(s) URL"
    )
    events: list[EventType] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES))

    def change(self, trigger_words: list[str] | None = None) -> HookChange:
        return HookChange(
            self.enabled,
            self.url,
            None if self.events is None else list(self.events),
            trigger_words,
        )


class OutgoingPatch(SubscriptionPatch):
    trigger_words: list[TriggerWord] | None = Field(
        default=None,
        max_length=TRIGGER_WORDS_MAX,
        description="if any: only messages whose text starts with one of them",
    )


class OutgoingOut(BaseModel):
    id: str
    kind: Literal["room", "bot"] = Field(description="a room's hook, or a bot's subscription")
    room_id: str | None
    bot: UserOut = Field(description="whose view of the rooms it gets; replies post as it")
    url: str
    events: list[str]
    trigger_words: list[str]
    created_at: str
    failures: int = Field(description="deliveries failed in a row")
    enabled: bool = Field(description="false once turned off (after failures, or by a person)")
    disabled_at: str | None = Field(description="when it was turned off (null while on)")
    disabled_reason: str | None = Field(
        description="why it was turned off: the failures, or who turned it off"
    )
    secret: str | None = Field(
        description="the signing secret (Hubbub-Signature): only in the answer that made it"
    )


class OutgoingListOut(BaseModel):
    hooks: list[OutgoingOut]


class DeliveryOut(BaseModel):
    id: str
    event_id: str = Field(description="the event's id (its cursor), as sent")
    attempt: int = Field(description="1 for the first try of this event")
    at: str
    status: int | None = Field(description="the answer's HTTP status; null when none came")
    latency_ms: int | None
    error: str | None
    outcome: Literal["delivered", "retry", "failed", "dropped"]


class DeliveriesOut(BaseModel):
    deliveries: list[DeliveryOut]


def _hook(hook: OutgoingHook, bot: User, secret: str | None) -> dict[str, Any]:
    return {
        "id": hook.id,
        "kind": hook.kind,
        "room_id": hook.room_id,
        "bot": wire.user(bot),
        "url": hook.url,
        "events": list(hook.events),
        "trigger_words": list(hook.trigger_words),
        "created_at": wire.rfc3339(hook.created_at),
        "failures": hook.failures,
        "enabled": hook.disabled_at is None,
        "disabled_at": None if hook.disabled_at is None else wire.rfc3339(hook.disabled_at),
        "disabled_reason": hook.disabled_reason,
        "secret": secret,
    }


def _made(made: NewHook) -> Response:
    return json_response(_hook(made.hook, made.bot, made.secret), 201)


def _deliveries(request: Request, found: list[Delivery]) -> Response:
    deployment = request.app.state.realtime.hub.deployment_id
    return json_response(
        {
            "deliveries": [
                {
                    "id": d.id,
                    "event_id": cursor(deployment, d.pos),
                    "attempt": d.attempt,
                    "at": wire.rfc3339(d.at),
                    "status": d.status,
                    "latency_ms": d.latency_ms,
                    "error": d.error,
                    "outcome": d.outcome,
                }
                for d in found
            ]
        }
    )


@router.post(
    "/rooms/{room_id}/outgoing-webhooks",
    status_code=201,
    response_model=OutgoingOut,
    responses=PROBLEMS(400, 401, 403, 404, 409, 413, 415, 422),
)
async def create_outgoing_webhook(room_id: str, body: OutgoingIn, me: Me, svc: Svc) -> Response:
    """An outgoing webhook for a room you own or administer: hubbub POSTs the chosen events
    to `url`, signed with `secret` (shown only here). Its bot joins the room; a 2xx answer
    `{"text": ...}` posts a reply as that bot."""
    made = await svc.outgoing.create_room_hook(
        me, room_id, body.url, list(body.events), list(body.trigger_words)
    )
    return _made(made)


@router.get(
    "/rooms/{room_id}/outgoing-webhooks",
    response_model=OutgoingListOut,
    responses=PROBLEMS(401, 403, 404),
)
async def list_outgoing_webhooks(room_id: str, me: Me, svc: Svc) -> Response:
    """The room's outgoing webhooks (owners and admins), oldest first; no secrets."""
    found = await svc.outgoing.list_room_hooks(me, room_id)
    return json_response({"hooks": [_hook(h, bot, None) for h, bot in found]})


@router.delete(
    "/rooms/{room_id}/outgoing-webhooks/{hook_id}",
    status_code=204,
    responses=PROBLEMS(401, 403, 404),
)
async def delete_outgoing_webhook(room_id: str, hook_id: HookId, me: Me, svc: Svc) -> Response:
    """Stop it at once: nothing queued for it is sent; its bot leaves the room."""
    await svc.outgoing.delete_room_hook(me, room_id, hook_id)
    return no_content()


@router.patch(
    "/rooms/{room_id}/outgoing-webhooks/{hook_id}",
    response_model=OutgoingOut,
    responses=PROBLEMS(400, 401, 403, 404, 413, 415, 422),
)
async def update_outgoing_webhook(
    room_id: str, hook_id: HookId, body: OutgoingPatch, me: Me, svc: Svc
) -> Response:
    """Turn it off or back on (`enabled`), or change its `url`, `events` or `trigger_words`
    (owners and admins, as for delete). Its secret and delivery log stay. Back on, it starts
    afresh: no failures, and the events from then on (none from while it was off)."""
    hook, bot = await svc.outgoing.update_room_hook(
        me, room_id, hook_id, body.change(body.trigger_words)
    )
    return json_response(_hook(hook, bot, None))


@router.get(
    "/rooms/{room_id}/outgoing-webhooks/{hook_id}/deliveries",
    response_model=DeliveriesOut,
    responses=PROBLEMS(401, 403, 404, 422),
)
async def list_outgoing_deliveries(
    room_id: str, hook_id: HookId, request: Request, me: Me, svc: Svc, limit: Limit = 50
) -> Response:
    """Its latest delivery attempts, newest first (the last 100 are kept)."""
    found = await svc.outgoing.room_deliveries(me, room_id, hook_id, limit)
    return _deliveries(request, found)


@router.post(
    "/bots/{username}/subscriptions",
    status_code=201,
    response_model=OutgoingOut,
    responses=PROBLEMS(400, 401, 404, 409, 413, 415, 422),
)
async def create_bot_subscription(
    username: BotName, body: SubscriptionIn, me: Me, svc: Svc
) -> Response:
    """Events of the rooms a bot of yours is in, POSTed to `url` and signed with `secret`
    (shown only here)."""
    made = await svc.outgoing.subscribe(me, username, body.url, list(body.events))
    return _made(made)


@router.get(
    "/bots/{username}/subscriptions",
    response_model=OutgoingListOut,
    responses=PROBLEMS(401, 404),
)
async def list_bot_subscriptions(username: BotName, me: Me, svc: Svc) -> Response:
    found = await svc.outgoing.subscriptions(me, username)
    return json_response({"hooks": [_hook(h, bot, None) for h, bot in found]})


@router.delete(
    "/bots/{username}/subscriptions/{hook_id}",
    status_code=204,
    responses=PROBLEMS(401, 404),
)
async def delete_bot_subscription(username: BotName, hook_id: HookId, me: Me, svc: Svc) -> Response:
    await svc.outgoing.unsubscribe(me, username, hook_id)
    return no_content()


@router.patch(
    "/bots/{username}/subscriptions/{hook_id}",
    response_model=OutgoingOut,
    responses=PROBLEMS(400, 401, 404, 413, 415, 422),
)
async def update_bot_subscription(
    username: BotName, hook_id: HookId, body: SubscriptionPatch, me: Me, svc: Svc
) -> Response:
    """Turn it off or back on (`enabled`), or change its `url` or `events`, as for the room's
    outgoing webhooks."""
    hook, bot = await svc.outgoing.update_subscription(me, username, hook_id, body.change())
    return json_response(_hook(hook, bot, None))


@router.get(
    "/bots/{username}/subscriptions/{hook_id}/deliveries",
    response_model=DeliveriesOut,
    responses=PROBLEMS(401, 404, 422),
)
async def list_subscription_deliveries(
    username: BotName, hook_id: HookId, request: Request, me: Me, svc: Svc, limit: Limit = 50
) -> Response:
    found = await svc.outgoing.subscription_deliveries(me, username, hook_id, limit)
    return _deliveries(request, found)
