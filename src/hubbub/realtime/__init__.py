"""Real-time delivery, between services and web: the per-node hub, subscriptions and their
frames, feeds (catch-up then live) and presence. Transports (web/stream.py) only frame what
a Feed yields; services only write, through their unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.realtime.feeds import Feeds
from hubbub.realtime.hub import Hub
from hubbub.realtime.presence import PresenceQuery

__all__ = ["Realtime"]


@dataclass(frozen=True, slots=True)
class Realtime:
    hub: Hub
    feeds: Feeds
    presence: PresenceQuery
