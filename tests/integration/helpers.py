"""Shared helpers for the integration tests: raw sockets, log/state inspection, scenarios."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack
import websockets
from plenary.db import store
from plenary.domain.fold import fold
from plenary.domain.model import EventState, Op
from plenary.realtime.hub import Hub
from plenary.runtime import Runtime
from websockets.asyncio.client import ClientConnection

from ..conftest import RunningServer
from ..support.wsclient import Client, check_server_frame

# Connections opened by the running test; conftest closes them before stopping servers.
OPEN_CLIENTS: list[Client] = []
OPEN_RAW: list[ClientConnection] = []


async def close_all() -> None:
    """Close every connection the test opened. Raw sockets are aborted: one that stopped
    reading would otherwise keep the server's writer blocked through its shutdown."""
    while OPEN_RAW:
        ws = OPEN_RAW.pop()
        ws.transport.abort()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.wait_closed(), 5)
    while OPEN_CLIENTS:
        client = OPEN_CLIENTS.pop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), 5)


def pack(frame: Any) -> bytes:
    data: bytes = msgpack.packb(frame)
    return data


def unpack(raw: bytes | str) -> dict[str, Any]:
    assert isinstance(raw, bytes), f"the server sent a text frame: {raw!r}"
    frame: dict[str, Any] = msgpack.unpackb(raw, raw=False)
    check_server_frame(frame)
    return frame


async def raw_connect(
    server: RunningServer,
    origin: str | None = None,
    rcvbuf: int | None = None,
    max_queue: int | None = 16,
) -> ClientConnection:
    """A bare websocket (no hello sent). ``rcvbuf`` shrinks the socket's receive buffer
    so that a client that stops reading is noticed quickly by the server."""
    sock = None
    if rcvbuf is not None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    headers = {"Origin": origin} if origin else None
    ws = await websockets.connect(
        server.ws_url,
        additional_headers=headers,
        max_size=None,
        max_queue=max_queue,
        compression=None,
        proxy=None,
        ping_interval=None,
        sock=sock,
    )
    OPEN_RAW.append(ws)
    return ws


async def raw_hello(
    server: RunningServer, token: str, since: int = 0, **connect: Any
) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await raw_connect(server, **connect)
    await ws.send(pack({"t": "hello", "token": token, "since": since}))
    welcome = unpack(await asyncio.wait_for(ws.recv(), 10))
    assert welcome["t"] == "welcome", welcome
    return ws, welcome


async def read_until_closed(
    ws: ClientConnection, timeout: float = 10
) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame the server sends until it closes; and the close code it sent."""
    frames: list[dict[str, Any]] = []

    async def read() -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                frames.append(unpack(raw))

    await asyncio.wait_for(read(), timeout)
    return frames, ws.close_code


async def recv_frame(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    return unpack(await asyncio.wait_for(ws.recv(), timeout))


async def wait_until(
    predicate: Callable[[], bool], timeout: float = 10, what: str = "condition"
) -> None:
    """Poll a server-side condition (hub state, outbox) until it holds."""

    async def poll() -> None:
        # Server-side state has no event to wait on; poll it briefly.
        while True:
            if predicate():
                return
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


async def wait_frames(
    client: Client,
    predicate: Callable[[dict[str, Any]], bool],
    count: int = 1,
    timeout: float = 10,
) -> list[dict[str, Any]]:
    """Wait until ``client`` has received ``count`` frames matching ``predicate``."""

    def matching() -> list[dict[str, Any]]:
        return [f for f in client.frames if predicate(f)]

    async def reached() -> None:
        async with client._changed:
            await client._changed.wait_for(
                lambda: len(matching()) >= count or client.close_code is not None
            )

    await asyncio.wait_for(reached(), timeout)
    found = matching()
    assert len(found) >= count, f"closed ({client.close_code}) with {found!r}"
    return found


def errors_since(client: Client, start: int) -> list[dict[str, Any]]:
    return client.errors[start:]


# -- the log and the state ---------------------------------------------------------------


def hub_of(runtime: Runtime, event_id: str) -> Hub:
    hub = runtime.hubs._hubs.get(event_id)
    assert hub is not None, f"no hub for {event_id}"
    return hub


async def live_state(runtime: Runtime, event_id: str) -> EventState:
    hub = await runtime.hubs.get(event_id)
    assert hub is not None
    return hub.state


async def log_ops(runtime: Runtime, event_id: str) -> list[Op]:
    async with runtime.db.read() as conn:
        return await store.read_ops(conn, event_id, 0)


async def log_count(runtime: Runtime, event_id: str) -> int:
    async with runtime.db.read() as conn:
        return await store.count_ops(conn, event_id)


async def projection(runtime: Runtime, event_id: str) -> dict[str, Any]:
    async with runtime.db.read() as conn:
        return await store.read_projection(conn, event_id)


async def assert_log_matches_state(runtime: Runtime, event_id: str) -> EventState:
    """state = fold(log), and the projection tables agree with it."""
    ops = await log_ops(runtime, event_id)
    assert [op.seq for op in ops] == list(range(1, len(ops) + 1)), "the log has gaps"
    folded = fold(event_id, ops)
    live = await live_state(runtime, event_id)
    assert folded.to_wire() == live.to_wire()
    assert folded == live
    assert await projection(runtime, event_id) == folded.projection()
    return folded


def assert_gapless(client: Client, first: int, last: int) -> None:
    seqs = client.seqs
    assert seqs == list(range(first, last + 1)), (
        f"expected seqs {first}..{last} once each, got {seqs}"
    )


# -- scenarios ---------------------------------------------------------------------------


@dataclass
class Event:
    """An event with its HTTP credentials."""

    server: RunningServer
    created: dict[str, Any]
    participants: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.created["event"])

    @property
    def code(self) -> str:
        return str(self.created["code"])

    @property
    def facilitator_token(self) -> str:
        return str(self.created["facilitator_token"])

    async def join(self, name: str = "Ann", group: str = "GP", table: str = "1") -> dict[str, Any]:
        joined = await self.server.join(self.code, name=name, group=group, table=table)
        self.participants.append(joined)
        return joined

    async def participant(self, name: str = "Ann", group: str = "GP") -> Client:
        joined = await self.join(name=name, group=group)
        return await self.server.client(joined["token"])

    async def facilitator(self, since: int = 0) -> Client:
        return await self.server.client(self.facilitator_token, since=since)

    async def observer(self, since: int = 0) -> Client:
        return await self.server.client(await self.server.observer_token(self.code), since=since)

    async def seq(self) -> int:
        return (await live_state(self.server.runtime, self.id)).seq


async def new_event(server: RunningServer, title: str = "Test event") -> Event:
    return Event(server, await server.create_event(title))
