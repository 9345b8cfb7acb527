"""Opaque, URL-safe, roughly time-ordered identifiers."""

from __future__ import annotations

import base64
import secrets
import time

__all__ = ["new_id"]


def new_id(prefix: str) -> str:
    """Return `prefix_` + 20 base32 chars: 48 bits of milliseconds, then 72 random bits."""
    raw = (time.time_ns() // 1_000_000).to_bytes(6, "big") + secrets.token_bytes(9)
    return f"{prefix}_{base64.b32encode(raw).decode('ascii').lower()}"
