"""A connection's bounded queue of frames to send: the fallback sink.

Used when the ASGI server is not one whose transport ``direct.py`` knows. The hub pushes
the same bytes into every outbox without awaiting; one writer task per connection drains
it through ``send_bytes``. A connection whose queue passes its limit is not waited for: it
is told to resync and closed, and its client resumes from its last seq on reconnect.
"""

from __future__ import annotations

import asyncio
from collections import deque

from .sink import Broadcast


class Outbox:
    def __init__(self, limit_bytes: int) -> None:
        self._limit = limit_bytes
        self._frames: deque[bytes] = deque()
        self._bytes = 0
        self._ready = asyncio.Event()
        self._held: list[bytes] | None = []  # live frames kept back while catching up
        self._held_bytes = 0
        self.overflowed = False
        self.closed = False
        # Set on overflow so the connection can give up on a writer stuck in a send to a
        # client that stopped reading; the writer alone would wait for the socket.
        self.lagged = asyncio.Event()

    def push(self, frame: Broadcast) -> None:
        """Queue a live frame; never blocks. Sets ``overflowed`` when the client lags."""
        if self._held is None:
            self._add(frame.payload)
        elif not (self.closed or self.overflowed):
            if self._held_bytes > self._limit:
                self._overflow()
                return
            self._held.append(frame.payload)
            self._held_bytes += len(frame.payload)

    def push_direct(self, payload: bytes) -> None:
        """Queue a reply to this connection (ack, error, pong), ahead of nothing held.

        Bounded like live frames: a client that sends but never reads must not make the
        server queue its replies without limit."""
        self._add(payload)

    def _add(self, payload: bytes) -> None:
        if self.closed or self.overflowed:
            return
        # Checked before adding: one frame larger than the limit (a snapshot, a long
        # draft) still goes to a client that keeps up.
        if self._bytes > self._limit:
            self._overflow()
            return
        self._frames.append(payload)
        self._bytes += len(payload)
        self._ready.set()

    def release(self, first: list[bytes]) -> None:
        """End catch-up: send ``first`` (welcome and missed ops), then the live frames held."""
        held = self._held or []
        self._held = None
        self._held_bytes = 0
        for payload in (*first, *held):
            self._frames.append(payload)
            self._bytes += len(payload)
        self._ready.set()

    def _overflow(self) -> None:
        self.overflowed = True
        self._frames.clear()
        self._bytes = 0
        self._held = None
        self._held_bytes = 0
        self._ready.set()
        self.lagged.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    def buffered(self) -> int:
        return self._bytes + self._held_bytes

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
        self._bytes = 0
        return batch

    def __len__(self) -> int:
        return len(self._frames) + len(self._held or [])
