"""Web Push (#18): /api/v1/push/vapid-public-key and /api/v1/push/subscriptions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from starlette.responses import Response

from hubbub import wire
from hubbub.models import PushSubscription
from hubbub.services.push import ENDPOINT_MAX, KEY_MAX, MAX_SUBSCRIPTIONS
from hubbub.web.auth import CurrentSession, Me
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import PROBLEMS, JsonInt, _In

__all__ = ["router"]

assert MAX_SUBSCRIPTIONS == 20, "create_push_subscription's doc says 20"

router = APIRouter(prefix="/api/v1/push", tags=["notifications"])

SubscriptionId = Annotated[str, Path(max_length=64)]


class VapidKeyOut(BaseModel):
    public_key: str = Field(
        description="the server's VAPID public key: an uncompressed P-256 point, base64url;"
        " pass it to pushManager.subscribe as applicationServerKey"
    )


class SubscriptionKeysIn(_In):
    p256dh: str = Field(
        min_length=1, max_length=KEY_MAX, description="the browser's P-256 public key, base64url"
    )
    auth: str = Field(
        min_length=1, max_length=KEY_MAX, description="the 16-byte authentication secret, base64url"
    )


class PushSubscriptionIn(_In):
    """The browser's PushSubscription, as `JSON.stringify(subscription)` gives it."""

    endpoint: str = Field(
        min_length=1,
        max_length=ENDPOINT_MAX,
        description="the push service's URL for this browser (https://)",
    )
    expirationTime: JsonInt | None = Field(
        default=None, description="when the browser says it expires (ignored)"
    )
    keys: SubscriptionKeysIn


class PushSubscriptionIdOut(BaseModel):
    id: str


class PushSubscriptionOut(BaseModel):
    id: str
    endpoint: str
    created_at: str
    current: bool = Field(description="made by the session asking")


class PushSubscriptionsOut(BaseModel):
    subscriptions: list[PushSubscriptionOut]


def _sub(sub: PushSubscription, session_id: str) -> dict[str, Any]:
    return {
        "id": sub.id,
        "endpoint": sub.endpoint,
        "created_at": wire.rfc3339(sub.created_at),
        "current": sub.session_id == session_id,
    }


@router.get("/vapid-public-key", response_model=VapidKeyOut, responses=PROBLEMS(401))
async def get_vapid_public_key(me: Me, svc: Svc) -> Response:
    """The key browsers subscribe with (the same on every node of a deployment)."""
    return json_response({"public_key": await svc.push.public_key()})


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=PushSubscriptionIdOut,
    responses=PROBLEMS(400, 401, 409, 413, 415, 422, 429),
)
async def create_push_subscription(
    body: PushSubscriptionIn, session: CurrentSession, svc: Svc
) -> Response:
    """Receive Web Pushes in this browser: post its PushSubscription. It belongs to this
    session and is deleted when the session ends. The same endpoint again replaces its keys
    (same id). At most 20 per account (409 too_many_push_subscriptions); an
    endpoint must be https:// and not a private, loopback or link-local address (422)."""
    sub = await svc.push.subscribe(session, body.endpoint, body.keys.p256dh, body.keys.auth)
    return json_response({"id": sub.id}, 201)


@router.get("/subscriptions", response_model=PushSubscriptionsOut, responses=PROBLEMS(401))
async def list_push_subscriptions(session: CurrentSession, svc: Svc) -> Response:
    """Your push subscriptions (every session's), oldest first; `current` marks this one's."""
    subs = await svc.push.list_subscriptions(session.user)
    return json_response({"subscriptions": [_sub(s, session.id) for s in subs]})


@router.delete("/subscriptions/{subscription_id}", status_code=204, responses=PROBLEMS(401, 404))
async def delete_push_subscription(subscription_id: SubscriptionId, me: Me, svc: Svc) -> Response:
    """Stop pushes to that browser (and drop those queued for it)."""
    await svc.push.delete(me, subscription_id)
    return no_content()
