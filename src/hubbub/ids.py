"""Opaque, URL-safe, roughly time-ordered identifiers."""

from __future__ import annotations

import base64
import secrets

__all__ = ["new_id"]

# Base32's digits, re-lettered so that the characters' ASCII order is their value order
# (standard base32 puts 2-7, which sort before a-z, after z): the same 32 characters.
_SORTABLE = str.maketrans("abcdefghijklmnopqrstuvwxyz234567", "234567abcdefghijklmnopqrstuvwxyz")


def new_id(prefix: str, now_ms: int) -> str:
    """Return `prefix_` + 24 base32 chars: 48 bits of `now_ms` (the caller's clock), then 72
    random bits, so ids made later sort later (to the millisecond) and never collide."""
    raw = (now_ms % (1 << 48)).to_bytes(6, "big") + secrets.token_bytes(9)
    return f"{prefix}_{base64.b32encode(raw).decode('ascii').lower().translate(_SORTABLE)}"
