"""Notification settings (#18): /api/v1/rooms/{room_id}/notifications, /api/v1/me/notifications."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from hubbub import wire
from hubbub.models import NotifyPrefs
from hubbub.services.notifications import TIME_MAX_LEN
from hubbub.web.auth import Me
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response
from hubbub.web.schemas import PROBLEMS, RoomOut, _In

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["notifications"])

Level = Literal["all", "mentions", "none"]


class RoomNotificationsIn(_In):
    level: Level | None = Field(
        description="what notifies you here: any message, mentions (and followed threads),"
        " or nothing; null: the default (`all` in a DM, else HUBBUB_NOTIFY_DEFAULT)"
    )
    muted_until: str | None = Field(
        default=None,
        max_length=TIME_MAX_LEN,
        description="RFC 3339, in the future: nothing here notifies you before then;"
        " absent or null: not muted",
    )


class NotifyPrefsIn(_In):
    do_not_disturb_until: str | None = Field(
        default=None,
        max_length=TIME_MAX_LEN,
        description="RFC 3339, in the future: nothing notifies you before then; absent or"
        " null: off",
    )
    email: Literal["off", "digest"] = Field(
        description="digest: mail me the DMs and mentions still unread after HUBBUB_EMAIL_DELAY"
        " (needs a confirmed address: PATCH /me {email}); off: no mail"
    )
    push_preview: bool = Field(description="whether a notification may show the message text")


class NotifyPrefsOut(BaseModel):
    do_not_disturb_until: str | None
    email: Literal["off", "digest"]
    push_preview: bool


def _prefs(p: NotifyPrefs) -> dict[str, Any]:
    return {
        "do_not_disturb_until": None if p.dnd_until is None else wire.rfc3339(p.dnd_until),
        "email": p.email,
        "push_preview": p.push_preview,
    }


@router.put(
    "/rooms/{room_id}/notifications",
    response_model=RoomOut,
    responses=PROBLEMS(400, 401, 403, 404, 413, 415, 422),
)
async def set_room_notifications(
    room_id: str, body: RoomNotificationsIn, me: Me, svc: Svc
) -> Response:
    """Set your notification level in a room and mute it until a time (both replaced);
    members only. Your other connections get `notifications.updated`."""
    room = await svc.notifications.set_room(me, room_id, body.level, body.muted_until)
    return json_response(wire.room(room))


@router.get("/me/notifications", response_model=NotifyPrefsOut, responses=PROBLEMS(401))
async def get_notification_prefs(me: Me, svc: Svc) -> Response:
    """Your notification preferences (the defaults until you change them)."""
    return json_response(_prefs(await svc.notifications.get_prefs(me)))


@router.put(
    "/me/notifications",
    response_model=NotifyPrefsOut,
    responses=PROBLEMS(400, 401, 413, 415, 422),
)
async def put_notification_prefs(body: NotifyPrefsIn, me: Me, svc: Svc) -> Response:
    """Replace your notification preferences."""
    prefs = await svc.notifications.put_prefs(
        me, body.do_not_disturb_until, body.email, body.push_preview
    )
    return json_response(_prefs(prefs))
