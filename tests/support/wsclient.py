"""A small Plenary websocket client for tests: speaks the protocol, keeps what it got."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import msgpack
import websockets
from plenary.protocol.schema import first_error, server_validators
from websockets.asyncio.client import ClientConnection

_ids = itertools.count(1)


def check_server_frame(frame: dict[str, Any]) -> None:
    """Every frame the server sends must conform to schemas/protocol.json."""
    validator = server_validators().get(frame.get("t"))  # type: ignore[arg-type]
    assert validator is not None, f"unknown server frame type: {frame!r}"
    reason = first_error(validator, frame)
    assert reason is None, f"server frame breaks the schema: {reason}: {frame!r}"


class Client:
    """Connects, says hello, and records every op in arrival order.

    ``ops`` holds op dicts by seq order of arrival; ``seqs`` their sequence numbers, so
    tests can assert gapless, duplicate-free delivery.
    """

    def __init__(self, url: str, token: str, since: int = 0, origin: str | None = None) -> None:
        self.url = url
        self.token = token
        self.since = since
        self.origin = origin
        self.ws: ClientConnection | None = None
        self.welcome: dict[str, Any] | None = None
        self.snapshot: dict[str, Any] | None = None
        self.ops: list[dict[str, Any]] = []
        self.upto = 0  # the cursor: the last seq covered by an ops frame or the snapshot
        self.frames: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self.close_code: int | None = None

    @property
    def seqs(self) -> list[int]:
        return [op["seq"] for op in self.ops]

    @property
    def last_seq(self) -> int:
        """The seq to resume from: ops frames say how far they cover (``upto``), including
        seqs whose ops this client's audience does not see."""
        return max(self.upto, self.since)

    async def connect(self) -> Client:
        headers = {"Origin": self.origin} if self.origin else None
        self.ws = await websockets.connect(
            self.url, additional_headers=headers, max_size=None, compression=None
        )
        await self.send({"t": "hello", "token": self.token, "since": self.since})
        first = msgpack.unpackb(await self.ws.recv(), raw=False)
        check_server_frame(first)
        self.frames.append(first)
        if first["t"] != "welcome":
            raise ConnectionRefusedError(first)
        self.welcome = first
        self._reader = asyncio.create_task(self._read())
        return self

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(msgpack.packb(frame))

    async def send_raw(self, data: bytes | str) -> None:
        assert self.ws is not None
        await self.ws.send(data)

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                assert isinstance(raw, bytes), "the server sends binary frames only"
                frame = msgpack.unpackb(raw, raw=False)
                check_server_frame(frame)
                self.frames.append(frame)
                match frame["t"]:
                    case "ops":
                        self.ops.extend(frame["ops"])
                        self.upto = frame["upto"]
                    case "snapshot":
                        self.snapshot = frame
                        self.upto = frame["seq"]
                    case "ack" | "error":
                        if frame["t"] == "error":
                            self.errors.append(frame)
                        fut = self._replies.pop(frame.get("id") or "", None)
                        if fut is not None and not fut.done():
                            fut.set_result(frame)
                async with self._changed:
                    self._changed.notify_all()
        except websockets.ConnectionClosed as exc:
            self.close_code = exc.rcvd.code if exc.rcvd else None
        finally:
            async with self._changed:
                self._changed.notify_all()

    async def write(
        self, op: dict[str, Any], op_id: str | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        """Send a write and wait for its ack or error. The clients share the server's event
        loop and check every frame against the schema, so on a busy machine an ack can take
        far longer than the server alone would: hence a generous timeout."""
        op_id = op_id or f"c{next(_ids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[op_id] = fut
        await self.send({"t": "write", "id": op_id, "op": op})
        return await asyncio.wait_for(fut, timeout)

    async def add_note(self, text: str, op_id: str | None = None) -> dict[str, Any]:
        return await self.write({"kind": "note.add", "text": text}, op_id)

    async def wait_for_seq(self, seq: int, timeout: float = 10) -> None:
        async def reached() -> None:
            async with self._changed:
                await self._changed.wait_for(
                    lambda: self.last_seq >= seq or self.close_code is not None
                )

        await asyncio.wait_for(reached(), timeout)
        assert self.last_seq >= seq, f"closed ({self.close_code}) at seq {self.last_seq} < {seq}"

    async def wait_closed(self, timeout: float = 10) -> int | None:
        assert self._reader is not None
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_code

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
