"""Where a hub's frames go: one sink per connection, written to without awaiting.

Two kinds exist. ``DirectSink`` (direct.py) writes websocket frames straight into the
server's transport: the hub's loop over a thousand connections is then a thousand
``write()`` calls and nothing else. ``Outbox`` (outbox.py) is the supported fallback for
any other ASGI server: a bounded queue that the connection's writer task drains through
``send_bytes``. Both bound what one connection may hold, so a client that stops reading
costs at most ``PLENARY_CLIENT_BUFFER_KB`` plus the frame that crossed it.
"""

from __future__ import annotations

from functools import cached_property
from typing import Protocol

from websockets.frames import Frame, Opcode


class Broadcast:
    """One frame for many connections: its msgpack payload and, made once on first use,
    the websocket frame around it, so every connection is written the same bytes."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    @cached_property
    def wire(self) -> bytes:
        return ws_frame(self.payload)


def ws_frame(payload: bytes) -> bytes:
    """A server-to-client binary websocket frame: unmasked, unfragmented, uncompressed
    (Plenary runs without permessage-deflate, so the same bytes suit every client)."""
    return Frame(Opcode.BINARY, payload).serialize(mask=False, extensions=[])


class Sink(Protocol):
    """What the hub needs of a connection."""

    @property
    def overflowed(self) -> bool:
        """It fell behind by more than its buffer and is being dropped."""

    @property
    def closed(self) -> bool:
        """It is ending (or ended): nothing more is sent to it."""

    def push(self, frame: Broadcast) -> None:
        """Send a live frame, or hold it while the connection is catching up. Never
        blocks; past the buffer limit the connection is dropped instead (it resumes)."""

    def push_direct(self, payload: bytes) -> None:
        """Send a reply to this connection only (ack, error, pong, its own tallies)."""

    def release(self, first: list[bytes]) -> None:
        """End catch-up: send ``first`` (welcome and missed ops), then the held frames."""

    def close(self) -> None:
        """Send what is queued, then end the connection with "going away"."""

    def buffered(self) -> int:
        """Bytes held for this connection in user space (not the kernel's buffer)."""
