"""Field rules shared by services: each raises Invalid naming the field and the reason."""

from __future__ import annotations

import re

from hubbub.errors import Invalid

__all__ = ["check_optional_text", "check_text", "check_username"]

USERNAME = re.compile(r"[A-Za-z0-9_.\-]{2,32}")


def check_text(
    field: str, value: str, min_len: int, max_len: int, *, allow_blank: bool = False
) -> str:
    """Return `value` if its length is in [min_len, max_len] and it is not only whitespace."""
    if len(value) < min_len:
        raise Invalid(f"{field} must be at least {min_len} characters", field=field)
    if len(value) > max_len:
        raise Invalid(f"{field} must be at most {max_len} characters", field=field)
    if value and not allow_blank and not value.strip():
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
    if not USERNAME.fullmatch(value):
        raise Invalid(
            "username must be 2-32 characters of letters, digits, '_', '.' or '-'", field="username"
        )
    return value
