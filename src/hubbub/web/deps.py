"""FastAPI dependencies: the services of the running app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hubbub.services import Services

__all__ = ["Svc", "get_services"]


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(get_services)]
