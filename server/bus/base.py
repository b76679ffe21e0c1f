"""The bus interface. Delivery is at-most-once and unordered across publishers: the
receiving hub orders by seq and fetches any gap from the log, so the bus never has to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

Handler = Callable[[str, bytes], None]
"""Called with (channel, payload) for each message; must not block."""

ReconnectHandler = Callable[[], Awaitable[None]]


class Bus(Protocol):
    name: str

    async def start(self, on_message: Handler, on_reconnect: ReconnectHandler) -> None:
        """Begin delivering messages of subscribed channels to ``on_message``.

        ``on_reconnect`` runs after the bus was cut off and is back: messages may have been
        missed, so listeners should catch up from the log.
        """

    async def stop(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> None:
        """Send ``payload``; never raises for an unreachable broker (it retries later)."""

    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...

    def healthy(self) -> bool:
        """False while the broker is unreachable."""
        ...

    async def ping(self) -> bool: ...
