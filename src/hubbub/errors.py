"""Domain errors. Each carries a stable machine `code`; HTTP status lives in web/problems.py."""

from __future__ import annotations

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "Invalid",
    "NotFound",
    "Unauthenticated",
    "Unavailable",
]


class DomainError(Exception):
    """Base of every error a client can cause or should see. `code` is part of the API."""

    code = "error"
    title = "Error"

    def __init__(self, detail: str = "", *, field: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.field = field


class Invalid(DomainError):
    code = "invalid"
    title = "Invalid input"


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Forbidden"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Authentication required"


class Unavailable(DomainError):
    """A backend (database) is unreachable; the request may be retried."""

    code = "unavailable"
    title = "Service unavailable"
