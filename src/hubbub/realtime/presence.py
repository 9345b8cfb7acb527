"""Who is online: this node's hub, or every node's through the bus in cluster mode."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.bus import Bus
from hubbub.errors import Invalid
from hubbub.realtime.hub import Hub

__all__ = ["PRESENCE_QUERY_MAX", "PresenceQuery"]

PRESENCE_QUERY_MAX = 200


@dataclass(frozen=True, slots=True)
class PresenceQuery:
    hub: Hub
    bus: Bus

    async def online(self, user_ids: list[str]) -> list[str]:
        """Which of `user_ids` are connected now (to any node, in cluster mode)."""
        if len(user_ids) > PRESENCE_QUERY_MAX:
            raise Invalid(f"at most {PRESENCE_QUERY_MAX} users per query", field="user_id")
        cluster = await self.bus.online_among(user_ids)
        if cluster is not None:
            return [u for u in user_ids if u in cluster]
        return [u for u in user_ids if self.hub.is_online(u)]
