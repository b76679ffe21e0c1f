"""The embedded default: one process, no broker."""

from __future__ import annotations

import asyncio

from .base import Handler, ReconnectHandler


class MemoryBus:
    name = "memory"

    def __init__(self) -> None:
        self._channels: set[str] = set()
        self._on_message: Handler | None = None

    async def start(self, on_message: Handler, on_reconnect: ReconnectHandler) -> None:
        self._on_message = on_message

    async def stop(self) -> None:
        self._on_message = None

    async def publish(self, channel: str, payload: bytes) -> None:
        if self._on_message is not None and channel in self._channels:
            # Deliver on the next loop turn, as a broker would: never re-enter the publisher.
            asyncio.get_running_loop().call_soon(self._on_message, channel, payload)

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    def healthy(self) -> bool:
        return True

    async def ping(self) -> bool:
        return True
