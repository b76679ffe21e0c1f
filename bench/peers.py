"""Peer servers that a benchmark runs beside Plenary on the same workloads, and their writers.

Two peers, each its own process on a loopback port, run until SIGTERM:

    python bench/peers.py raw --port P
    python bench/peers.py socketio --port P --redis redis://127.0.0.1:6379/0

``raw`` is the ceiling: a plain asyncio server on the websockets library's Sans-I/O
protocol that speaks the subset of Plenary's frames a fan-out needs (hello → welcome,
write → one ``ops`` frame to everyone + ack). Each note's frame is serialised once and the
same bytes are written to every transport: no application logic, no tasks, no queues.

``socketio`` is what a Python team would otherwise pick: python-socketio under uvicorn,
with its Redis manager (the way it scales out), emitting each note to a room and
answering with a socket.io ack.

The writers (``write_raw``, ``write_socketio``) post notes on a fixed open-loop schedule
and report, per acknowledged note, when it was sent and how long its ack took.
``write_raw`` also works against Plenary's own ``/ws``, which speaks the same frames.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, cast
from urllib.parse import urlsplit

import msgpack
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

# Plenary's limit on an incoming message; a note is far below it.
MAX_SIZE = 1 << 20
# A writer waits this long for the ack of its last write before counting the rest lost.
ACK_TIMEOUT_S = 30.0
# Opening the writer's socket and getting the welcome: seconds even on a busy machine.
CONNECT_TIMEOUT_S = 30.0
# A sticky note is a line or two; the fan-out benchmark uses 80 characters.
NOTE_CHARS = 80
# uvicorn's default listen backlog: 1,000 clients connecting at once must not be refused.
BACKLOG = 2048
# The one room every socket.io client joins: a whole event is one audience.
ROOM = "event"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


class PeerError(RuntimeError):
    """A writer could not connect or was not let in: it measured nothing."""


def _loopback_only(url: str) -> None:
    # These are load generators: pointed anywhere but this machine they would be a flood.
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"peers only talk to loopback addresses, not {host!r}")


# -- raw: the ceiling --------------------------------------------------------------------


class RawHub:
    """The raw peer's whole state: one counter and the sockets a note goes to."""

    def __init__(self) -> None:
        self.seq = 0
        self.joined = 0
        self.connections: set[RawConnection] = set()
        # Transports rather than connections, so a broadcast is one write per element.
        self.live: set[asyncio.Transport] = set()
        self.all_gone = asyncio.Event()

    def broadcast(self, payload: bytes) -> None:
        data = Frame(Opcode.BINARY, payload).serialize(mask=False, extensions=[])
        for transport in self.live:
            # A transport that is closing would only raise or buffer bytes nobody reads.
            if not transport.is_closing():
                transport.write(data)


class RawConnection(asyncio.Protocol):
    """One client: the Sans-I/O protocol does the handshake, parsing, pings and closes;
    this class only routes its events and writes what it has to send."""

    def __init__(self, hub: RawHub) -> None:
        self.hub = hub
        self.ws = ServerProtocol(extensions=None, max_size=MAX_SIZE)
        self.transport: asyncio.Transport | None = None
        self.you: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.hub.connections.add(self)
        self.hub.all_gone.clear()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        if self.ws.state is not State.OPEN:
            # A close frame was received (or the peer broke the protocol): no data frame
            # may follow our close reply, so it leaves the broadcast set now.
            self._leave()
        for event in self.ws.events_received():
            if isinstance(event, Request):
                self.ws.send_response(self.ws.accept(event))
            elif isinstance(event, Frame) and event.opcode is Opcode.BINARY:
                self._on_frame(event.data)
        self._flush()

    def eof_received(self) -> bool | None:
        self.ws.receive_eof()
        self._leave()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._leave()
        self.hub.connections.discard(self)
        if not self.hub.connections:
            self.hub.all_gone.set()

    def shut_down(self) -> None:
        """The server is stopping: say so to a client that is open, then hang up."""
        self._leave()
        if self.ws.state is State.OPEN:
            self.ws.send_close(CloseCode.GOING_AWAY)
            self._flush()
        if self.transport is not None:
            self.transport.close()

    def _leave(self) -> None:
        if self.transport is not None:
            self.hub.live.discard(self.transport)

    def _flush(self) -> None:
        # Handshake responses, pongs, close replies and our own frames, in queue order.
        transport = self.transport
        if transport is None or transport.is_closing():
            # Gone while a long burst of its writes was being handled: asyncio would log a
            # warning for every write to a lost connection.
            self.ws.data_to_send()
            return
        for chunk in self.ws.data_to_send():
            if chunk:
                transport.write(chunk)
            else:
                # The protocol's end-of-stream: the close handshake is over or failed.
                transport.close()

    def _send(self, frame: dict[str, Any]) -> None:
        if self.ws.state is State.OPEN:
            self.ws.send_binary(msgpack.packb(frame))

    def _on_frame(self, raw: bytes | bytearray | memoryview) -> None:
        try:
            frame = msgpack.unpackb(raw)
        except Exception:
            return  # garbage is ignored like any frame the peer does not know
        if not isinstance(frame, dict):
            return
        kind = frame.get("t")
        if kind == "hello":
            self._hello()
        elif kind == "write" and self.you is not None:
            self._write(frame)

    def _hello(self) -> None:
        if self.you is None:
            self.hub.joined += 1
            self.you = f"p_{self.hub.joined}"
        self._send({"t": "welcome", "seq": self.hub.seq, "you": self.you})
        if self.transport is not None and self.ws.state is State.OPEN:
            self.hub.live.add(self.transport)

    def _write(self, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if not isinstance(op, dict) or op.get("kind") != "note.add":
            return
        text = op.get("text")
        if not isinstance(text, str):
            return
        hub = self.hub
        hub.seq += 1
        seq = hub.seq
        note = {
            "seq": seq,
            "kind": "note.added",
            "by": self.you,
            "at": time.time_ns() // 1_000_000,
            "data": {"text": text},
        }
        hub.broadcast(msgpack.packb({"t": "ops", "upto": seq, "ops": [note]}))
        self._send({"t": "ack", "id": frame.get("id"), "seq": seq})


async def serve_raw(port: int) -> None:
    """Run the raw peer on 127.0.0.1:``port`` until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    hub = RawHub()
    server = await loop.create_server(
        lambda: RawConnection(hub), "127.0.0.1", port, backlog=BACKLOG
    )
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    for connection in list(hub.connections):
        connection.shut_down()
    # A client that is slow to read still has bytes buffered: give it a moment, then go.
    if hub.connections:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hub.all_gone.wait(), 1.0)
    for connection in list(hub.connections):
        if connection.transport is not None:
            connection.transport.abort()
    await server.wait_closed()


# -- socketio: python-socketio with its Redis manager ------------------------------------


def serve_socketio(port: int, redis_url: str) -> None:
    """Run the python-socketio peer under uvicorn on 127.0.0.1:``port`` until SIGTERM."""
    # Imported here so the raw peer and the writers work without python-socketio.
    import socketio  # type: ignore[import-untyped]
    import uvicorn

    sio = socketio.AsyncServer(
        async_mode="asgi",
        # A channel of its own, so two runs (or a stale server) never hear each other.
        client_manager=socketio.AsyncRedisManager(
            redis_url, channel="plenary-bench-" + secrets.token_hex(6)
        ),
        cors_allowed_origins="*",
        ping_interval=25,
        max_http_buffer_size=1_000_000,
        # Plenary compresses nothing; websocket compression is uvicorn's, off below.
        http_compression=False,
    )
    # The process's own counter: one server process, and a counter in Redis would add a
    # round trip that the idiomatic app does not have.
    seq = 0

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await sio.enter_room(sid, ROOM)

    async def note(sid: str, data: Any) -> dict[str, int] | None:
        nonlocal seq
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            return None  # an empty ack: the writer counts it as refused
        seq += 1
        mine = seq
        await sio.emit("op", {"seq": mine, "kind": "note.added", "text": data["text"]}, room=ROOM)
        return {"seq": mine}

    sio.on("connect", connect)
    sio.on("note", note)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then restores the handlers it found
    # and raises the signal again: with the default ones the process would die by SIGTERM
    # (or print a KeyboardInterrupt) instead of exiting 0. This one also covers a signal
    # that comes before uvicorn has installed its own.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_quietly)
    uvicorn.run(
        socketio.ASGIApp(sio),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        backlog=BACKLOG,
    )


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _redis_reachable(redis_url: str) -> str | None:
    """None when Redis answers a PING, else why not: the socketio peer is useless without
    it, and its manager would only log retries."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None


# -- writers -----------------------------------------------------------------------------


@dataclass
class Written:
    sent_at: dict[int, int]  # seq → CLOCK_MONOTONIC ns when its write was sent
    ack_ms: list[float]  # per acknowledged write: send → ack, ms
    failed: int  # writes refused or never acknowledged


def stamped(i: int, chars: int = NOTE_CHARS) -> str:
    """A note's text carrying its send time, for receivers to measure latency from. Call
    it right before the send: the stamp is the moment the note leaves."""
    return f"~{time.monotonic_ns()}~bench note {i:06d} ".ljust(chars, "x")


class _Ledger:
    """What a writer sent and what came back, by write index."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.sent_ns: dict[int, int] = {}
        self.seq: dict[int, int] = {}
        self.ack_ns: dict[int, int] = {}
        self.refused: set[int] = set()
        self.settled = asyncio.Event()
        self._check()

    def acked(self, i: int, seq: int, at_ns: int) -> None:
        if i in self.sent_ns and i not in self.seq and i not in self.refused:
            self.seq[i] = seq
            self.ack_ns[i] = at_ns
            self._check()

    def refuse(self, i: int) -> None:
        if i in self.sent_ns and i not in self.seq:
            self.refused.add(i)
            self._check()

    def _check(self) -> None:
        if len(self.seq) + len(self.refused) >= self.count:
            self.settled.set()

    def written(self) -> Written:
        return Written(
            sent_at={seq: self.sent_ns[i] for i, seq in self.seq.items()},
            ack_ms=[(self.ack_ns[i] - self.sent_ns[i]) / 1e6 for i in self.seq],
            failed=self.count - len(self.seq),
        )


async def _connect(url: str) -> ClientConnection:
    _loopback_only(url)
    try:
        return await websockets.connect(
            url,
            compression=None,
            max_size=None,
            # The servers ping; the writer's own pings would only add frames to the run.
            ping_interval=None,
            close_timeout=1,
            # A proxy from the environment must not carry loopback traffic off the machine.
            proxy=None,
            open_timeout=CONNECT_TIMEOUT_S,
        )
    except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
        raise PeerError(f"writer: cannot connect to {url} ({type(exc).__name__}: {exc})") from exc


async def _post(
    ws: ClientConnection,
    ledger: _Ledger,
    reader: asyncio.Task[None],
    rate: float,
    send: Callable[[int], Awaitable[None]],
    ack_timeout: float,
) -> Written:
    """Send ``ledger.count`` writes on the schedule, then wait for their acks."""
    loop = asyncio.get_running_loop()
    settled = asyncio.create_task(ledger.settled.wait())
    start = loop.time()
    try:
        for i in range(ledger.count):
            if rate > 0:
                # A fixed schedule, not fixed gaps: a late send does not push the rest back.
                delay = start + i / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                # Flat out, but the reader still takes each ack as it comes: otherwise the
                # ack times would measure this loop, not the server.
                await asyncio.sleep(0)
            if reader.done():
                break  # the server hung up: what is unsent counts as failed
            await send(i)
        await asyncio.wait(
            {settled, reader}, timeout=ack_timeout, return_when=asyncio.FIRST_COMPLETED
        )
    except websockets.ConnectionClosed:
        pass
    finally:
        settled.cancel()
        reader.cancel()
        await asyncio.gather(settled, reader, return_exceptions=True)
        await ws.close()
    return ledger.written()


async def write_raw(
    url: str,
    make_text: Callable[[int], str],
    count: int,
    rate: float,
    token: str = "peer",
    since: int = 0,
    ack_timeout: float = ACK_TIMEOUT_S,
) -> Written:
    """Post ``count`` notes over Plenary's frames (the raw peer, or Plenary's own /ws) at
    ``rate`` per second (0: as fast as possible), open loop. ``make_text(i)`` is called
    right before note ``i`` is sent. Acks not in within ``ack_timeout`` seconds of the
    last send count as failed."""
    ws = await _connect(url)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await ws.send(msgpack.packb({"t": "hello", "token": token, "since": since}))
            while True:
                # Plenary may follow its welcome with a catch-up; nothing precedes it.
                first = msgpack.unpackb(await ws.recv())
                if isinstance(first, dict) and first.get("t") == "welcome":
                    break
                if isinstance(first, dict) and first.get("t") == "error":
                    raise PeerError(f"writer refused: {first!r}")
    except (TimeoutError, websockets.ConnectionClosed) as exc:
        await ws.close()
        raise PeerError(f"writer: no welcome ({type(exc).__name__}: {exc})") from exc
    except PeerError:
        await ws.close()
        raise
    ledger = _Ledger(count)

    async def read() -> None:
        # The writer's own copies of the ops are read (and dropped) too, or it would lag.
        async for raw in ws:
            now = time.monotonic_ns()
            frame = msgpack.unpackb(raw)
            kind = frame.get("t") if isinstance(frame, dict) else None
            if kind not in ("ack", "error"):
                continue
            i = _index(frame.get("id"))
            if i is None:
                continue
            if kind == "ack":
                ledger.acked(i, int(frame["seq"]), now)
            else:
                ledger.refuse(i)

    async def send(i: int) -> None:
        write = {"t": "write", "id": f"n{i}", "op": {"kind": "note.add", "text": make_text(i)}}
        data = msgpack.packb(write)
        ledger.sent_ns[i] = time.monotonic_ns()
        await ws.send(data)

    return await _post(ws, ledger, asyncio.create_task(read()), rate, send, ack_timeout)


def _index(op_id: object) -> int | None:
    if isinstance(op_id, str) and op_id.startswith("n") and op_id[1:].isdigit():
        return int(op_id[1:])
    return None


async def write_socketio(
    url: str,
    make_text: Callable[[int], str],
    count: int,
    rate: float,
    ack_timeout: float = ACK_TIMEOUT_S,
) -> Written:
    """Post ``count`` notes to the socketio peer as socket.io events with acks, over
    Engine.IO v4 on a plain websocket, at ``rate`` per second (0: as fast as possible),
    open loop, as ``write_raw`` does. ``url`` is
    ``ws://127.0.0.1:P/socket.io/?EIO=4&transport=websocket``."""
    ws = await _connect(url)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await socketio_join(ws)
    except (TimeoutError, websockets.ConnectionClosed) as exc:
        await ws.close()
        raise PeerError(f"writer: socket.io connect failed ({type(exc).__name__}: {exc})") from exc
    except PeerError:
        await ws.close()
        raise
    ledger = _Ledger(count)
    dumps = json.JSONEncoder(separators=(",", ":")).encode

    async def read() -> None:
        async for message in ws:
            now = time.monotonic_ns()
            if not isinstance(message, str):
                continue
            if message == "2":
                await ws.send("3")
            elif message.startswith("43"):
                i, args = _socketio_ack(message)
                seq = args[0].get("seq") if args and isinstance(args[0], dict) else None
                if i is None:
                    continue
                if isinstance(seq, int):
                    ledger.acked(i, seq, now)
                else:
                    ledger.refuse(i)
            elif message in ("1", "41"):
                return  # closed by the server
            # Anything else ("42[...]": our own notes coming back to the room) is dropped.

    async def send(i: int) -> None:
        data = f"42{i}" + dumps(["note", {"text": make_text(i)}])
        ledger.sent_ns[i] = time.monotonic_ns()
        await ws.send(data)

    return await _post(ws, ledger, asyncio.create_task(read()), rate, send, ack_timeout)


async def socketio_join(ws: ClientConnection) -> dict[str, Any]:
    """Engine.IO open, then Socket.IO connect to the default namespace; returns the
    Engine.IO handshake (its ``sid``, ``pingInterval``, …). Receivers use it too."""
    opened = await ws.recv()
    if not isinstance(opened, str) or not opened.startswith("0"):
        raise PeerError(f"expected an Engine.IO open packet, got {opened!r:.200}")
    handshake: dict[str, Any] = json.loads(opened[1:])
    await ws.send("40")
    while True:
        message = await ws.recv()
        if not isinstance(message, str):
            continue
        if message.startswith("40"):
            return handshake
        if message.startswith("44"):
            raise PeerError(f"socket.io connect refused: {message:.200}")
        if message == "2":
            await ws.send("3")


def _socketio_ack(message: str) -> tuple[int | None, list[Any]]:
    """``43<id>[args…]`` → (id, args); the id is the digits before the JSON array."""
    body = message[2:]
    end = body.find("[")
    if end <= 0 or not body[:end].isdigit():
        return None, []
    try:
        args = json.loads(body[end:])
    except ValueError:
        return int(body[:end]), []
    return int(body[:end]), args if isinstance(args, list) else []


# -- command line ------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    peers = parser.add_subparsers(dest="peer", required=True)
    raw = peers.add_parser("raw", help="pre-built frames written to every socket")
    raw.add_argument("--port", type=int, required=True)
    sio = peers.add_parser("socketio", help="python-socketio + AsyncRedisManager on uvicorn")
    sio.add_argument("--port", type=int, required=True)
    sio.add_argument("--redis", default=DEFAULT_REDIS, help=f"default: {DEFAULT_REDIS}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    # Stopped before it listens (a driver giving up early) is still a clean exit.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_quietly)
    args = parse_args(argv)
    if args.peer == "raw":
        try:
            asyncio.run(serve_raw(args.port))
        except OSError as exc:
            print(f"peers: raw: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
            return 2
        return 0
    try:
        _loopback_only(args.redis)
    except ValueError as exc:
        print(f"peers: socketio: {exc}", file=sys.stderr)
        return 2
    trouble = _redis_reachable(args.redis)
    if trouble is not None:
        print(f"peers: socketio: Redis at {args.redis}: {trouble}", file=sys.stderr)
        return 2
    serve_socketio(args.port, args.redis)
    return 0


if __name__ == "__main__":
    sys.exit(main())
