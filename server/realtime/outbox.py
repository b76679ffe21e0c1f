"""A connection's bounded queue of frames to send.

The hub pushes the same bytes into every outbox without awaiting; one writer task per
connection drains it. A connection whose outbox fills is not waited for: it is told to
resync and closed, and its client resumes from its last seq on reconnect.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable


class Outbox:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._frames: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self._held: list[bytes] | None = []  # live frames kept back while catching up
        self.overflowed = False
        self.closed = False
        # Set on overflow so the connection can give up on a writer stuck in a send to a
        # client that stopped reading; the writer alone would wait for the socket.
        self.lagged = asyncio.Event()

    def push(self, frame: bytes) -> None:
        """Queue a live frame; never blocks. Sets ``overflowed`` when the client lags."""
        self._add(self._frames if self._held is None else self._held, frame)

    def push_direct(self, frame: bytes) -> None:
        """Queue a reply to this connection (ack, error, pong), ahead of nothing held.

        Bounded like live frames: a client that sends but never reads must not make the
        server queue its replies without limit."""
        self._add(self._frames, frame)

    def _add(self, queue: deque[bytes] | list[bytes], frame: bytes) -> None:
        if self.closed or self.overflowed:
            return
        if len(queue) >= self._limit:
            self._overflow()
            return
        queue.append(frame)
        if queue is self._frames:
            self._ready.set()

    def release(self, first: Iterable[bytes]) -> None:
        """End catch-up: send ``first`` (welcome and missed ops), then the live frames held."""
        held = self._held or []
        self._held = None
        self._frames.extend(first)
        self._frames.extend(held)
        self._ready.set()

    def _overflow(self) -> None:
        self.overflowed = True
        self._frames.clear()
        self._held = None
        self._ready.set()
        self.lagged.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def next_batch(self) -> list[bytes]:
        """Wait for frames; an empty list means stop. After ``close`` the frames already
        queued (a goodbye, say) still come out; after an overflow nothing does."""
        while not self._frames:
            if self.closed or self.overflowed:
                return []
            self._ready.clear()
            await self._ready.wait()
        if self.overflowed:
            return []
        batch = list(self._frames)
        self._frames.clear()
        return batch

    def __len__(self) -> int:
        return len(self._frames) + len(self._held or [])
