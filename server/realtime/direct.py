"""Writing broadcast frames straight into uvicorn's transport, below the ASGI interface.

Why: ASGI gives each connection an awaitable ``send``; fanning a frame out through it
means an await (and on uvicorn a fresh websocket frame) per client, or a task per client.
Measured on this machine that is 3-5x slower than writing one pre-built frame to each
transport (docs/performance.md). So when the server is uvicorn with the websockets
Sans-I/O protocol (what ``plenary serve`` runs), the hub writes bytes to the transport
itself; anything else (another ASGI server, another uvicorn protocol, a test client)
falls back to ``Outbox`` and ``send_bytes``, which is slower and equally correct.

What is relied on, all checked by ``probe`` and by tests/integration/test_direct.py,
which fails loudly if a uvicorn or websockets release changes it:
- the ASGI ``send`` uvicorn passes in is a bound method of its protocol object;
- that object is ``WebSocketsSansIOProtocol`` with ``transport`` (an asyncio transport)
  and ``conn`` (a websockets ``ServerProtocol``, whose ``state`` says whether data frames
  may still be sent);
- uvicorn writes each of its own frames with one ``transport.write``, so frames written
  here never interleave with its pings, pongs or closes.
Only data frames go this way; closing still goes through ASGI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from websockets.protocol import State

from .sink import Broadcast, ws_frame

log = logging.getLogger("plenary.ws")

SCOPE_KEY = "plenary.direct"
_OPEN = State.OPEN
# A client that stops reading (a phone locked in a pocket) gets this long to take its
# goodbye before its socket is dropped.
GOODBYE_S = 2.0

_SansIO: type | None
try:  # uvicorn is a dependency, but the fallback must hold if this module moves.
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - exercised only by a future uvicorn
    _SansIO = None
else:
    _SansIO = WebSocketsSansIOProtocol


def probe(send: Callable[..., Awaitable[None]]) -> Any | None:
    """uvicorn's protocol object behind ``send`` when direct writes are possible, else
    None (and the connection uses the ASGI fallback)."""
    proto = getattr(send, "__self__", None)
    if _SansIO is None or not isinstance(proto, _SansIO):
        return None
    transport = getattr(proto, "transport", None)
    conn = getattr(proto, "conn", None)
    if not isinstance(transport, asyncio.WriteTransport) or not hasattr(conn, "state"):
        return None
    return proto


class CaptureTransport:
    """ASGI middleware, outermost: notes in the scope which uvicorn protocol object
    carries this websocket, and hands the real-time endpoint its connections directly.

    Outermost because Starlette's own middleware wraps ``send`` in closures that hide the
    protocol. Direct because each of Starlette's layers (exception handling, routing, the
    websocket session) stays suspended on the stack of every open connection for its
    whole life: about 5 KiB per connection, a quarter of what an idle one costs
    (bench/memory.py). Nothing in those layers does anything for a websocket that the
    endpoint does not do itself. Other websocket paths still go through Starlette."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        enabled: bool = True,
        path: str = "/ws",
        endpoint: Callable[[WebSocket], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.enabled = enabled
        self.path = path
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if self.enabled:
                scope[SCOPE_KEY] = probe(send)
            if self.endpoint is not None and scope["path"] == self.path:
                await self.endpoint(WebSocket(scope, receive, send))
                return
        await self.app(scope, receive, send)


def protocol_of(scope: MutableMapping[str, Any]) -> Any | None:
    return scope.get(SCOPE_KEY)


def shed_handshake(proto: Any) -> None:
    """Drop the upgrade request and response uvicorn keeps after the handshake (it reads
    them only until the connection is accepted): their headers are 2-3 KiB per connection,
    more with a browser's cookies and user agent, held for hours."""
    for name in ("request", "response"):
        if hasattr(proto, name):
            setattr(proto, name, None)


class DirectSink:
    """A connection's frames, written into its transport as they come.

    Bounded by the transport's buffer: once more than ``limit`` bytes wait there (the
    kernel's socket buffer is full too), the client is not keeping up. It is then sent
    nothing more and its handler is woken to say goodbye ("too slow", through ASGI) and
    to drop the socket if even that is not taken within ``GOODBYE_S``; the client resumes
    from its last seq. No task per connection: the handler is the one uvicorn runs."""

    __slots__ = ("_handler", "_held", "_limit", "_proto", "_transport", "ending")

    def __init__(self, proto: Any, limit_bytes: int, handler: asyncio.Task[Any]) -> None:
        self._proto = proto
        self._transport: asyncio.WriteTransport = proto.transport
        self._limit = limit_bytes
        self._handler = handler
        self._held: list[bytes] | None = []
        # Why the connection is ending, once it is: "lagged" or "closed" (by the hub).
        self.ending: str | None = None

    @property
    def overflowed(self) -> bool:
        return self.ending == "lagged"

    @property
    def closed(self) -> bool:
        return self.ending is not None

    def push(self, frame: Broadcast) -> None:
        if self._held is not None:
            if self.ending is None:
                self._held.append(frame.wire)
            return
        self._write(frame.wire)

    def push_direct(self, payload: bytes) -> None:
        self._write(ws_frame(payload))

    def release(self, first: list[bytes]) -> None:
        held = self._held or []
        self._held = None
        for payload in first:
            self._write(ws_frame(payload))
        for wire in held:
            self._write(wire)

    def _write(self, data: bytes) -> None:
        # The hub's fan-out runs this for every connection: keep it to a few lookups.
        if self.ending is not None:
            return
        transport = self._transport
        if transport.is_closing() or self._proto.conn.state is not _OPEN:
            # Gone or closing: its handler is told by the server and detaches.
            return
        # Checked before writing: a frame bigger than the limit (a snapshot, a long draft)
        # still reaches a client that keeps up.
        if transport.get_write_buffer_size() > self._limit:
            self._end("lagged")
            return
        transport.write(data)

    def close(self) -> None:
        self._end("closed")

    def _end(self, reason: str) -> None:
        if self.ending is None:
            self.ending = reason
            # The handler ending the connection itself needs no wake-up.
            if asyncio.current_task() is not self._handler:
                self._handler.cancel()

    def buffered(self) -> int:
        return self._transport.get_write_buffer_size()

    def stop_reading(self) -> None:
        """Read nothing more from the peer; what is written still goes out, then the
        socket closes (a flood is not parsed while its close handshake runs)."""
        with contextlib.suppress(Exception):
            self._transport.close()

    def abort(self) -> None:
        """Drop the socket and whatever is buffered for it."""
        with contextlib.suppress(Exception):
            self._transport.abort()
