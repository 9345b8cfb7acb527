"""Field rules shared by services: each raises Invalid naming the field and the reason."""

from __future__ import annotations

import re
import unicodedata

from hubbub.errors import Invalid

__all__ = [
    "NOT_BLANK_PATTERN",
    "NO_NUL_PATTERN",
    "USERNAME_PATTERN",
    "check_name",
    "check_optional_text",
    "check_text",
    "check_username",
    "is_blank",
    "is_invisible",
    "is_lone_surrogate_in",
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


# A lone surrogate (JSON "\ud800") is not a character: it cannot be stored as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Bidirectional embeddings, overrides and isolates (and the marks): in a name they can make
# "gnp.exe" read as "exe.png" or run into the text after it.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Letters that render as nothing (Hangul fillers, braille blank) besides the categories below.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me", "Cs", "Co", "Cn"})


def is_lone_surrogate_in(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def is_invisible(value: str) -> bool:
    """True if no character of `value` would show: spaces, controls, format characters
    (zero-width space and joiners), combining marks alone, fillers."""
    return all(
        ch in _BLANK_LETTERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in value
    )


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
    if _SURROGATE.search(value):
        raise Invalid(f"{field} must be valid Unicode (a lone surrogate is not)", field=field)
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


def check_name(field: str, value: str, min_len: int, max_len: int) -> str:
    """A name people see (a display name, a room name): `check_text`, with at least one
    visible character and no bidirectional control characters."""
    check_text(field, value, min_len, max_len)
    if is_invisible(value):
        raise Invalid(f"{field} must have at least one visible character", field=field)
    if _BIDI.search(value):
        raise Invalid(f"{field} must not contain bidirectional control characters", field=field)
    return value


def check_username(value: str) -> str:
    if not USERNAME.match(value):
        raise Invalid(
            "username must be 2-32 characters of letters, digits, '_', '.' or '-'", field="username"
        )
    return value
