"""Cursors: an event's position in the log, tagged with the deployment that wrote it."""

from __future__ import annotations

import re

__all__ = ["cursor", "parse_cursor"]

# ASCII digits only: str.isdigit() also accepts superscripts and fullwidth digits, which
# int() then rejects (a 500) or reads as another number.
_POSITION = re.compile(r"[0-9]{1,18}")


def cursor(deployment_id: str, pos: int) -> str:
    """An event's cursor: opaque to clients, valid on every transport and node."""
    return f"{deployment_id}-{pos}"


def parse_cursor(value: str, deployment_id: str) -> int | None:
    """The position in a cursor of this deployment, or None if it is not one."""
    dep, _, pos = value.partition("-")
    if dep != deployment_id or _POSITION.fullmatch(pos) is None:
        return None
    return int(pos)
