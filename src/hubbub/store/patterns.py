"""LIKE patterns that match text literally, the same way on SQLite and PostgreSQL."""

from __future__ import annotations

__all__ = ["ESCAPE", "prefix_pattern"]

# Append after `LIKE :param`: the escape character prefix_pattern uses.
ESCAPE = "ESCAPE '\\'"


def prefix_pattern(prefix: str) -> str:
    """A LIKE pattern for "starts with `prefix`" (folded to lower case), with the pattern
    characters % and _ (and the escape itself) matched literally."""
    escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
