"""Who is online: this node's hub, or every node's through the bus in cluster mode."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from hubbub.bus import Bus
from hubbub.errors import Invalid
from hubbub.models import User
from hubbub.realtime.hub import Hub
from hubbub.store import Store
from hubbub.store.rooms import list_sharing_a_room

__all__ = ["PRESENCE_QUERY_MAX", "PresenceQuery"]

PRESENCE_QUERY_MAX = 200


@dataclass(frozen=True, slots=True)
class PresenceQuery:
    store: Store
    hub: Hub
    bus: Bus

    async def online(self, me: User, user_ids: list[str]) -> list[str]:
        """Which of `user_ids` are connected now (to any node, in cluster mode), among those
        who share a room or a DM with `me`: everyone else reads as offline."""
        if len(user_ids) > PRESENCE_QUERY_MAX:
            raise Invalid(f"at most {PRESENCE_QUERY_MAX} users per query", field="user_id")
        asked = list(dict.fromkeys(user_ids))
        sharing = await self.store.read(
            functools.partial(list_sharing_a_room, user_id=me.id, others=asked)
        )
        user_ids = [u for u in user_ids if u in sharing]
        if not user_ids:
            return []
        cluster = await self.bus.online_among(user_ids)
        if cluster is not None:
            return [u for u in user_ids if u in cluster]
        return [u for u in user_ids if self.hub.is_online(u)]
