"""Slash commands: /api/v1/commands (server admins register them; anyone signed in lists
them, for a composer's autocomplete) and the response URLs commands answer through later
(POST /command-responses/{secret}; the secret is the permission). docs/integrations.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from hubbub import wire
from hubbub.errors import Invalid
from hubbub.models import SlashCommand
from hubbub.services.commands import COMMAND_DESCRIPTION_MAX, COMMAND_NAME_PATTERN, Ran
from hubbub.services.outgoing import URL_MAX
from hubbub.web.auth import Me
from hubbub.web.bodies import BadBody, parse_json_body
from hubbub.web.deps import Svc
from hubbub.web.responses import json_response, no_content
from hubbub.web.schemas import PROBLEMS, _In

__all__ = ["CommandRunOut", "ran", "responses", "router"]

router = APIRouter(prefix="/api/v1", tags=["integrations"])
responses = APIRouter(include_in_schema=False)

CommandName = Annotated[str, Path(max_length=32)]
Secret = Annotated[str, Path(max_length=128)]


class CommandIn(_In):
    name: str = Field(
        pattern=COMMAND_NAME_PATTERN,
        examples=["weather"],
        description="without the slash: 1-32 of a-z, 0-9, _ and -",
    )
    url: str = Field(min_length=1, max_length=URL_MAX, description="an http(s) URL")
    description: str = Field(min_length=1, max_length=COMMAND_DESCRIPTION_MAX)


class CommandOut(BaseModel):
    name: str
    description: str
    url: str | None = Field(description="server admins only")
    created_at: str
    secret: str | None = Field(
        description="the signing secret (Hubbub-Signature): only in the answer that made it"
    )


class CommandsOut(BaseModel):
    commands: list[CommandOut]


class CommandRunOut(BaseModel):
    """The answer to sending `/name args` (202): the command ran instead of a message."""

    command: str = Field(description="/name")
    known: bool = Field(description="false: no such command (a help line was shown to you)")
    response_type: Literal["ephemeral", "in_channel"] | None = Field(
        description="ephemeral: its answer came to you only (command.reply); in_channel: it "
        "was posted as a message; null: no answer (or it failed: you were told)"
    )


def ran(result: Ran) -> Response:
    return json_response(
        {"command": result.command, "known": result.known, "response_type": result.response_type},
        202,
    )


def _command(c: SlashCommand, admin: bool, secret: str | None = None) -> dict[str, Any]:
    return {
        "name": c.name,
        "description": c.description,
        "url": c.url if admin else None,
        "created_at": wire.rfc3339(c.created_at),
        "secret": secret,
    }


@router.post(
    "/commands",
    status_code=201,
    response_model=CommandOut,
    responses=PROBLEMS(400, 401, 403, 409, 413, 415, 422),
)
async def create_command(body: CommandIn, me: Me, svc: Svc) -> Response:
    """Register `/name` (server admins): messages starting with it run it instead of being
    posted. `secret` signs what hubbub sends it; it is shown only here."""
    made = await svc.commands.create(me, body.name, body.url, body.description)
    return json_response(_command(made.command, True, made.secret), 201)


@router.get("/commands", response_model=CommandsOut, responses=PROBLEMS(401))
async def list_commands(me: Me, svc: Svc) -> Response:
    """The slash commands, by name (URLs for server admins only)."""
    found = await svc.commands.list()
    return json_response({"commands": [_command(c, me.is_admin) for c in found]})


@router.delete("/commands/{name}", status_code=204, responses=PROBLEMS(401, 403, 404))
async def delete_command(name: CommandName, me: Me, svc: Svc) -> Response:
    """Remove a command (server admins); its response URLs stop working."""
    await svc.commands.delete(me, name)
    return no_content()


@responses.post("/command-responses/{secret}")
async def respond_to_command(secret: Secret, request: Request, svc: Svc) -> Response:
    """A command's delayed answer, `{"response_type", "text"}`, up to 5 times in 30 minutes."""
    try:
        payload = parse_json_body(await request.body())
    except BadBody as bad:
        raise Invalid(bad.detail, field="body") from None
    shown = await svc.commands.respond(secret, payload)
    return json_response({"ok": True, "response_type": shown})
