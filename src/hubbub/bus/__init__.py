"""The event bus: carries committed events and ephemeral events to every node's hub.

It is a doorbell, not the truth: a hub that misses a message reads the database.
"""

from hubbub.bus.base import Bus, BusHandler

__all__ = ["Bus", "BusHandler"]
