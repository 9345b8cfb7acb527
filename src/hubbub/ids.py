"""Opaque, URL-safe, roughly time-ordered identifiers."""

from __future__ import annotations

import base64
import secrets

__all__ = ["new_id"]


def new_id(prefix: str, now_ms: int) -> str:
    """Return `prefix_` + 24 base32 chars: 48 bits of `now_ms` (the caller's clock), then 72
    random bits, so ids made later sort later (to the millisecond) and never collide.

    The alphabet is base32hex (0-9, a-v), whose characters are in ASCII order: with the
    standard base32 alphabet the digits 2-7 stand for the largest values but sort first."""
    raw = (now_ms % (1 << 48)).to_bytes(6, "big") + secrets.token_bytes(9)
    return f"{prefix}_{base64.b32hexencode(raw).decode('ascii').lower()}"
