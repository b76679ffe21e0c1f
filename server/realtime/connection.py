"""One websocket connection, from upgrade to close.

Steps: check the origin before the upgrade → wait for ``hello`` → verify the token →
attach to the event's hub → send the catch-up (missed ops or a snapshot) → then serve
writes and pings. Frames reach the client through its sink: written straight into the
transport under uvicorn (``direct.py``; the handler is then this connection's only task),
or through an outbox and a writer task elsewhere. One bad frame costs one error frame;
nothing a client sends can end the handler except closing the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..auth import Grant
from ..config import Config
from ..domain.commands import command_from_wire
from ..domain.drafts import audience_of
from ..errors import CloseCode, Code, Rejection
from ..protocol.frames import (
    ack_frame,
    decode_client_frame,
    decode_hello,
    encode,
    error_frame,
    now_ms,
    pong_frame,
    resync_frame,
)
from ..runtime import Runtime
from ..throttle import Bucket, Rate, retry_after_ms
from ..web.origins import origin_allowed
from .direct import GOODBYE_S, DirectSink, protocol_of, shed_handshake
from .hub import Accepted, Hub
from .outbox import Outbox
from .sink import Sink

log = logging.getLogger("plenary.ws")

# A client has this long after the upgrade to say hello: a phone on slow wifi needs a
# few seconds, a connection that never speaks should not hold a socket for longer.
HELLO_TIMEOUT_S = 10.0
# Writes one connection may have waiting for their commit before it reads the next
# frame: enough for a phone's offline queue to share a commit, few enough that a client
# flooding writes is held back rather than queued.
MAX_WRITES_IN_FLIGHT = 32
# How long a lagging or departing connection gets to take its last frames; past that the
# socket is dropped.
LAGGED_GOODBYE_S = GOODBYE_S
# A connection closed for flooding is asked to stay away this long before reconnecting.
ABUSE_BACKOFF_MS = 10_000


async def serve(ws: WebSocket, rt: Runtime) -> None:
    client = ws.scope.get("client")
    address = str(client[0]) if client else "unknown"
    if not rt.guard.connections.acquire(address):
        # Accepted only to say why: a refused upgrade reads as "server down" to a client,
        # which would retry at once instead of backing off.
        await ws.accept()
        limit = rt.guard.connections.limit
        await ws.send_bytes(
            error_frame(
                Code.RATE_LIMITED,
                f"more than {limit} connections from one address",
                detail={"retry_after_ms": 30_000},
            )
        )
        await _close(ws, CloseCode.RATE_LIMITED, "too many connections")
        return
    try:
        await _serve(ws, rt)
    finally:
        rt.guard.connections.release(address)


async def _serve(ws: WebSocket, rt: Runtime) -> None:
    headers = dict(ws.scope["headers"])
    origin, host = headers.get(b"origin"), headers.get(b"host")
    if not origin_allowed(
        origin.decode("latin-1") if origin is not None else None,
        host.decode("latin-1") if host is not None else None,
        rt.config.allowed_origins,
    ):
        # Closing before accept makes the server refuse the upgrade with 403.
        await ws.close(code=CloseCode.POLICY)
        return
    await ws.accept()
    # Nothing reads the headers again, and a browser's (cookies, user agent) would be
    # held for the connection's life: about 1 KiB on each of thousands of connections.
    ws.scope["headers"] = []
    limit = rt.config.client_buffer_kb * 1024
    proto = protocol_of(ws.scope) if rt.config.direct_writes else None
    if proto is not None:
        shed_handshake(proto)
    handler = asyncio.current_task()
    sink: DirectSink | Outbox
    if proto is not None and handler is not None:
        sink = DirectSink(proto, limit, handler)
    else:
        sink = Outbox(limit)
    opened = None
    with contextlib.suppress(WebSocketDisconnect):
        opened = await _handshake(ws, rt, sink)
    if opened is None:
        return
    hub, grant = opened
    try:
        if isinstance(sink, DirectSink):
            await _run_direct(ws, rt, hub, grant, sink)
        else:
            await _run(ws, rt, hub, grant, sink)
    finally:
        rt.hubs.detach(hub, sink)
        sink.close()


async def _run_direct(ws: WebSocket, rt: Runtime, hub: Hub, grant: Grant, sink: DirectSink) -> None:
    """Serve the client's frames in this task; the hub writes to the transport itself.
    The sink wakes this task (by cancelling it) when the client lags or the hub ends the
    connection, and the goodbye is said here, through ASGI."""
    try:
        await _serve_frames(ws, rt, hub, grant, sink)
    except WebSocketDisconnect:
        return
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if sink.ending is None or task is None or task.uncancel() > 0:
            raise  # a real cancellation (the server stopping), not the sink's wake-up
    rt.hubs.detach(hub, sink)
    lagged = sink.ending == "lagged"
    try:
        async with asyncio.timeout(LAGGED_GOODBYE_S):
            if lagged:
                await ws.send_bytes(resync_frame("you fell behind; reconnect and resume"))
                await _close(ws, CloseCode.TOO_SLOW, "too slow")
            else:
                await _close(ws, CloseCode.GOING_AWAY, "closing")
    except Exception:
        # Not even the goodbye got through (a phone that left the building): drop the
        # socket and what is buffered for it.
        sink.abort()
    else:
        # Said, but maybe not read: a client that does not answer the close within the
        # same grace is dropped too, or its buffer would live as long as its TCP socket.
        asyncio.get_running_loop().call_later(LAGGED_GOODBYE_S, sink.abort)


async def _run(ws: WebSocket, rt: Runtime, hub: Hub, grant: Grant, outbox: Outbox) -> None:
    """Read and write concurrently until the peer goes, or until it lags too far.

    A client that stops reading blocks the writer inside a send with a full socket
    buffer, and its reader waits for frames that never come; neither notices the
    overflow. So the overflow is watched on its own, and ends both.
    """
    reader = asyncio.create_task(
        _serve_frames(ws, rt, hub, grant, outbox), name="plenary-ws-reader"
    )
    writer = asyncio.create_task(_drain(ws, outbox), name="plenary-ws-writer")
    lagged = asyncio.create_task(outbox.lagged.wait(), name="plenary-ws-lag")
    tasks = {reader, writer, lagged}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if lagged.done():
            rt.hubs.detach(hub, outbox)
            writer.cancel()
            # Say why, if the socket takes it; a phone that left the building will not.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(LAGGED_GOODBYE_S):
                    await ws.send_bytes(resync_frame("you fell behind; reconnect and resume"))
                    await _close(ws, CloseCode.TOO_SLOW, "too slow")
        elif reader.done():
            # The peer closed (or the reader failed): flush what is queued, briefly.
            outbox.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(LAGGED_GOODBYE_S):
                    await asyncio.wait({writer})
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and not isinstance(
                result, WebSocketDisconnect | asyncio.CancelledError
            ):
                log.error("connection to %s failed", hub.channel, exc_info=result)


async def _receive_bytes(ws: WebSocket) -> bytes | None:
    """The next binary frame; None for a text frame. Raises WebSocketDisconnect."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", CloseCode.NORMAL))
    data = message.get("bytes")
    return data if isinstance(data, bytes) else None


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            await ws.close(code=code, reason=reason[:120])


async def _handshake(ws: WebSocket, rt: Runtime, outbox: Sink) -> tuple[Hub, Grant] | None:
    try:
        async with asyncio.timeout(HELLO_TIMEOUT_S):
            data = await _receive_bytes(ws)
    except TimeoutError:
        await _close(ws, CloseCode.NO_HELLO, "no hello")
        return None
    frame = (
        decode_hello(data)
        if data is not None
        else (Code.BAD_FRAME, "frames are binary msgpack, not text")
    )
    if isinstance(frame, tuple):
        await ws.send_bytes(error_frame(Code.BAD_FRAME, frame[1]))
        await _close(ws, CloseCode.NO_HELLO, "expected hello")
        return None
    grant = rt.tokens.verify(frame["token"])
    if grant is None:
        await ws.send_bytes(error_frame(Code.UNAUTHORISED, "the access token is not valid"))
        await _close(ws, CloseCode.UNAUTHORISED, "bad token")
        return None
    penalty = rt.penalties.remaining((grant.event, grant.actor.id))
    if penalty > 0:
        await ws.send_bytes(_abusive_frame(retry_after_ms(penalty)))
        await _close(ws, CloseCode.RATE_LIMITED, "rate limited")
        if isinstance(outbox, DirectSink):
            outbox.stop_reading()
        return None
    try:
        hub = await rt.hubs.get(grant.event)
    except Exception:
        log.exception("loading event %s failed", grant.event)
        await ws.send_bytes(error_frame(Code.UNAVAILABLE, "the event cannot be loaded; retry"))
        await _close(ws, CloseCode.INTERNAL, "unavailable")
        return None
    if hub is None:
        await ws.send_bytes(error_frame(Code.NOT_FOUND, "this event no longer exists"))
        await _close(ws, CloseCode.EVENT_GONE, "no such event")
        return None
    if grant.actor.id in hub.state.removed:
        await ws.send_bytes(error_frame(Code.UNAUTHORISED, "you were removed from this event"))
        await _close(ws, CloseCode.UNAUTHORISED, "removed")
        return None
    audience = audience_of(hub.state, grant.actor)
    seq = rt.hubs.attach(hub, outbox, audience, grant.actor.id)
    resume, frames = hub.catchup_frames(frame["since"], seq, audience, grant.actor.id)
    frames += hub.standing_frames(audience, grant.actor.id)
    welcome = {
        "t": "welcome",
        "event": grant.event,
        "role": audience.value,
        "you": grant.actor.id,
        "seq": seq,
        "resume": resume,
        "heartbeat": rt.config.heartbeat_seconds,
        "max_frame": rt.config.max_frame_bytes,
        "server_time": now_ms(),
    }
    outbox.release([encode(welcome), *frames])
    return hub, grant


class _Shares:
    """One connection's fair shares: its writes, pings and refused frames. Made on the
    connection's first frame, not at the handshake: most observers never send one, and
    10,000 idle connections should not each hold three buckets."""

    __slots__ = ("pings", "refused", "writes")

    def __init__(self, config: Config, now: float) -> None:
        self.writes = Bucket(Rate(config.write_rate, config.write_burst), now)
        self.pings = Bucket(Rate(config.ping_rate, max(1, int(10 * config.ping_rate))), now)
        burst = max(1, int(20 * config.refused_rate))
        self.refused = Bucket(Rate(config.refused_rate, burst), now)


def _write_wait(rt: Runtime, shares: _Shares, grant: Grant, now: float) -> float:
    """0.0 if this connection and its token may write now, else seconds to wait."""
    wait = shares.writes.take(now)
    if wait > 0:
        return wait
    return rt.token_writes.take((grant.event, grant.actor.id), now)


async def _serve_frames(ws: WebSocket, rt: Runtime, hub: Hub, grant: Grant, outbox: Sink) -> None:
    receive = ws.receive
    # A list: a deque's first block is 0.7 KiB, on every idle connection.
    in_flight: list[asyncio.Future[Accepted | Rejection]] = []
    shares: _Shares | None = None
    clock = asyncio.get_running_loop().time
    while True:
        # Not through _receive_bytes: an idle connection spends its life suspended here,
        # and every coroutine frame on that stack is memory held per connection.
        message = await receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", CloseCode.NORMAL))
        now = clock()
        if shares is None:
            shares = _Shares(rt.config, now)
        data = message.get("bytes")
        if not isinstance(data, bytes):
            if _refuse(shares, now):
                await _close_abusive(ws, rt, grant, outbox)
                return
            outbox.push_direct(error_frame(Code.BAD_FRAME, "frames are binary msgpack, not text"))
            continue
        frame = decode_client_frame(data)
        if isinstance(frame, tuple):
            if _refuse(shares, now):
                await _close_abusive(ws, rt, grant, outbox)
                return
            code, reason = frame
            outbox.push_direct(error_frame(code, reason, _guess_id(data)))
            continue
        match frame["t"]:
            case "ping":
                if shares.pings.take(now) == 0.0:
                    outbox.push_direct(pong_frame(frame.get("n")))
                elif _refuse(shares, now):
                    # A flood of pings is answered by nothing: answering 9,300 a second
                    # took honest clients' acks to 10 s.
                    await _close_abusive(ws, rt, grant, outbox)
                    return
            case "hello":
                if _refuse(shares, now):
                    await _close_abusive(ws, rt, grant, outbox)
                    return
                outbox.push_direct(error_frame(Code.BAD_FRAME, "hello was already received"))
            case "write" if (wait := _write_wait(rt, shares, grant, now)) > 0:
                if _refuse(shares, now):
                    await _close_abusive(ws, rt, grant, outbox)
                    return
                outbox.push_direct(
                    error_frame(
                        Code.RATE_LIMITED,
                        "too many writes at once: wait and send it again (the same id)",
                        frame["id"],
                        {"retry_after_ms": retry_after_ms(wait)},
                    )
                )
            case "write":
                # Not awaited one by one: a phone replaying its offline queue, or a
                # console importing an agenda, sends many writes at once, and they share
                # commits. Acks still go out in order (writes commit in order). Bounded,
                # so a client cannot queue writes faster than they are recorded.
                in_flight.append(_start_write(hub, grant, frame, outbox))
                if len(in_flight) >= MAX_WRITES_IN_FLIGHT:
                    await asyncio.wait([in_flight.pop(0)])
                while in_flight and in_flight[0].done():
                    in_flight.pop(0)


def _refuse(shares: _Shares, now: float) -> bool:
    """Count a refused frame; True when the connection has had more than its share of
    them and must be closed (4029). Honest clients never get there: a refused frame is a
    bug or a flood, and a client that honours the retry hints stays far under the rate."""
    return shares.refused.take(now) > 0.0


async def _close_abusive(ws: WebSocket, rt: Runtime, grant: Grant, outbox: Sink) -> None:
    """Say why, close, and stop reading at once: a flooding client keeps sending while the
    close handshake runs, and every frame read is a frame parsed. Its token is refused at
    the handshake until the backoff is over, so reconnecting in a loop costs nothing."""
    rt.penalties.impose((grant.event, grant.actor.id), ABUSE_BACKOFF_MS / 1000)
    with contextlib.suppress(Exception):
        await ws.send_bytes(_abusive_frame(ABUSE_BACKOFF_MS))
    await _close(ws, CloseCode.RATE_LIMITED, "rate limited")
    if isinstance(outbox, DirectSink):
        outbox.stop_reading()


def _abusive_frame(retry_ms: int) -> bytes:
    return error_frame(
        Code.RATE_LIMITED,
        "too many refused frames: reconnect later",
        detail={"retry_after_ms": retry_ms},
    )


def _start_write(
    hub: Hub, grant: Grant, frame: dict[str, Any], outbox: Sink
) -> asyncio.Future[Accepted | Rejection]:
    op_id: str = frame["id"]
    # The write goes on whatever happens to this connection: a connection torn down
    # mid-write must not cut it in half (the log appended, the hub not told); the
    # client's retry then gets its ack.
    done = hub.submit(grant.actor, command_from_wire(frame["op"]), op_id)

    def reply(done: asyncio.Future[Accepted | Rejection]) -> None:
        if done.cancelled():
            return
        failed = done.exception()
        if failed is not None:
            # The database or bus failed mid-write: nothing was acknowledged, so the
            # client retries with the same id and the write is recorded at most once.
            log.error("write %s on %s failed", op_id, hub.channel, exc_info=failed)
            outbox.push_direct(
                error_frame(Code.UNAVAILABLE, "the write could not be recorded; retry", op_id)
            )
            return
        result = done.result()
        if isinstance(result, Rejection):
            outbox.push_direct(error_frame(result.code, result.message, op_id, result.detail))
        else:
            outbox.push_direct(ack_frame(op_id, result.seq, result.dup))

    done.add_done_callback(reply)
    return done


def _guess_id(data: bytes) -> str | None:
    """The client op id of a frame that failed validation, when it has a usable one."""
    import msgpack

    try:
        raw = msgpack.unpackb(data, raw=False)
    except Exception:
        return None
    op_id = raw.get("id") if isinstance(raw, dict) else None
    return op_id if isinstance(op_id, str) and 0 < len(op_id) <= 64 else None


async def _drain(ws: WebSocket, outbox: Outbox) -> None:
    """The connection's writer: sends queued frames until the outbox ends. An overflow is
    not its business (it may be stuck in a send when one happens); ``_run`` handles it."""
    try:
        while True:
            batch = await outbox.next_batch()
            if not batch:
                break
            for frame in batch:
                await ws.send_bytes(frame)
        if outbox.closed and not outbox.overflowed:
            await _close(ws, CloseCode.GOING_AWAY, "closing")
    except (WebSocketDisconnect, RuntimeError, OSError):
        # The peer is gone; the reader side notices and cleans up.
        pass
