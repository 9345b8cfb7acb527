"""Services: every rule and every write. They never import the web framework or a driver."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.services.classic import ClassicService

__all__ = ["ClassicService", "Services"]


@dataclass(frozen=True, slots=True)
class Services:
    classic: ClassicService
