"""Bot accounts with API keys: /api/v1/bots (docs/integrations.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from starlette.responses import Response

from hubbub import wire
from hubbub.models import BotAccount
from hubbub.services.accounts import DISPLAY_NAME_MAX
from hubbub.services.bots import NewKey
from hubbub.services.fields import USERNAME_PATTERN
from hubbub.web.auth import Me
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import PROBLEMS, UserOut, _In, _text

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["integrations"])

BotName = Annotated[str, Path(max_length=64)]


class BotIn(_In):
    username: str = Field(
        pattern=USERNAME_PATTERN,
        examples=["ci-bot"],
        description="2-32 of letters, digits, _ . - (unique among all accounts, ignoring case)",
    )
    display_name: str | None = _text(DISPLAY_NAME_MAX, optional=True)


class BotOut(BaseModel):
    bot: UserOut = Field(description="the bot's account (kind: bot)")
    owner_id: str | None = Field(description="who made it")


class BotKeyOut(BotOut):
    token: str = Field(
        description="its API key, for 'Authorization: Bearer': shown only here, never again"
    )


class BotsOut(BaseModel):
    bots: list[BotOut]


def _bot(row: BotAccount) -> dict[str, Any]:
    return {"bot": wire.user(row.bot), "owner_id": row.owner_id}


def _key(made: NewKey) -> dict[str, Any]:
    return {"bot": wire.user(made.bot), "owner_id": made.owner_id, "token": made.token}


@router.post(
    "/bots",
    status_code=201,
    response_model=BotKeyOut,
    responses=PROBLEMS(400, 401, 403, 409, 413, 415, 422, 429),
)
async def create_bot(body: BotIn, me: Me, svc: Svc) -> Response:
    """Make a bot account that you own, and its API key. It uses the v1 API and the streams
    as itself, starts in no room (add it as a member), never signs in with a password, and
    is marked `kind: "bot"` everywhere. At most 25 live bots each (409 `too_many_bots`)."""
    made = await svc.bots.create(me, body.username, body.display_name)
    return json_response(_key(made), 201)


@router.get("/bots", response_model=BotsOut, responses=PROBLEMS(401))
async def list_bots(me: Me, svc: Svc) -> Response:
    """Your bots, by username (a server admin sees everyone's). Keys are not shown again."""
    return json_response({"bots": [_bot(row) for row in await svc.bots.list(me)]})


@router.post(
    "/bots/{username}/tokens",
    status_code=201,
    response_model=BotKeyOut,
    responses=PROBLEMS(401, 404),
)
async def rotate_bot_key(username: BotName, me: Me, svc: Svc) -> Response:
    """A new API key for your bot: the old one stops working at once and its streams close."""
    return json_response(_key(await svc.bots.rotate(me, username)), 201)


@router.delete("/bots/{username}", status_code=204, responses=PROBLEMS(401, 404))
async def delete_bot(username: BotName, me: Me, svc: Svc) -> Response:
    """Delete your bot: its key stops working, its streams close, it leaves its rooms; its
    messages stay under its name (which is not given to anyone else)."""
    await svc.bots.delete(me, username)
    return no_content()
