"""FastAPI dependencies: the services and the real-time layer of the running app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hubbub.links import FileLinks
from hubbub.realtime import Realtime
from hubbub.services import Services

__all__ = ["Links", "Rt", "Svc", "get_links", "get_realtime", "get_services"]


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_realtime(request: Request) -> Realtime:
    realtime: Realtime = request.app.state.realtime
    return realtime


Svc = Annotated[Services, Depends(get_services)]
Rt = Annotated[Realtime, Depends(get_realtime)]


async def get_links(request: Request) -> FileLinks:
    """What signs the links to files in answers."""
    links: FileLinks = request.app.state.links
    return links


Links = Annotated[FileLinks, Depends(get_links)]
