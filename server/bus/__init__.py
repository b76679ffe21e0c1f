"""Fan-out between server processes: one channel per event, bytes end to end."""

from __future__ import annotations

from .base import Bus, Handler
from .memory import MemoryBus


def create_bus(redis_url: str) -> Bus:
    """The in-process bus when no Redis is configured, Redis pub/sub otherwise."""
    if not redis_url:
        return MemoryBus()
    from .redis import RedisBus

    return RedisBus(redis_url)


def channel_for(event_id: str) -> str:
    return f"plenary:ev:{event_id}"


__all__ = ["Bus", "Handler", "MemoryBus", "channel_for", "create_bus"]
