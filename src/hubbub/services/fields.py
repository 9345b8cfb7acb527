"""Field rules shared by services: each raises Invalid naming the field and the reason."""

from __future__ import annotations

import re

from hubbub.errors import Invalid

__all__ = [
    "NOT_BLANK_PATTERN",
    "NO_NUL_PATTERN",
    "USERNAME_PATTERN",
    "check_optional_text",
    "check_text",
    "check_username",
    "is_blank",
]

USERNAME_PATTERN = r"^[A-Za-z0-9_.\-]{2,32}$"
USERNAME = re.compile(USERNAME_PATTERN)
# "Not only whitespace": contains a character outside this explicit whitespace class. Spelled
# out (not \s) so that Python, pydantic's regex engine and JSON Schema (ECMA-262) agree exactly.
_SPACE = r" \t\n\r\f\v\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_NOT_BLANK = re.compile(f"[^{_SPACE}]")
# Text fields: no NUL (PostgreSQL cannot store it; no chat text needs it) and, unless blank is
# allowed, at least one character that is not whitespace. JSON Schema patterns, anchored.
NO_NUL_PATTERN = r"^[^\x00]*$"
NOT_BLANK_PATTERN = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"


def is_blank(value: str) -> bool:
    """True if `value` has no character outside the whitespace class (also for "")."""
    return _NOT_BLANK.search(value) is None


def check_text(
    field: str,
    value: str,
    min_len: int,
    max_len: int,
    *,
    allow_blank: bool = False,
    allow_nul: bool = False,
) -> str:
    """Return `value` if its length is in [min_len, max_len] and it is not only whitespace."""
    if len(value) < min_len:
        raise Invalid(f"{field} must be at least {min_len} characters", field=field)
    if len(value) > max_len:
        raise Invalid(f"{field} must be at most {max_len} characters", field=field)
    if not allow_nul and "\x00" in value:
        raise Invalid(f"{field} must not contain NUL characters", field=field)
    if value and not allow_blank and is_blank(value):
        raise Invalid(f"{field} must not be only whitespace", field=field)
    return value


def check_optional_text(
    field: str, value: str | None, min_len: int, max_len: int, *, allow_blank: bool = False
) -> str | None:
    return (
        None
        if value is None
        else check_text(field, value, min_len, max_len, allow_blank=allow_blank)
    )


def check_username(value: str) -> str:
    if not USERNAME.match(value):
        raise Invalid(
            "username must be 2-32 characters of letters, digits, '_', '.' or '-'", field="username"
        )
    return value
