"""Redis pub/sub for several server processes serving one event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .base import Handler, ReconnectHandler

log = logging.getLogger("plenary.bus")

# Backoff after losing Redis: first retry fast (a restart takes ~1 s), then at most every
# 5 s so a long outage does not spin.
RECONNECT_FIRST_S = 0.2
RECONNECT_MAX_S = 5.0
# Messages that could not be published while Redis was away, resent when it is back.
# Other nodes also fill gaps from the log, so dropping the oldest beyond this loses nothing
# that is committed; it only delays it until the next op or reconnect.
OUTBOX_MAX = 10_000
# How long a health ping may take before Redis counts as unreachable.
PING_TIMEOUT_S = 1.0


class RedisBus:
    name = "redis"

    def __init__(self, url: str) -> None:
        self._url = url
        self._client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=None, health_check_interval=10
        )
        self._channels: set[str] = set()
        self._pubsub: aioredis.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._healthy = False
        self._outbox: deque[tuple[str, bytes]] = deque(maxlen=OUTBOX_MAX)
        self._on_message: Handler | None = None
        self._on_reconnect: ReconnectHandler | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()

    async def start(self, on_message: Handler, on_reconnect: ReconnectHandler) -> None:
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        with contextlib.suppress(RedisError, OSError):
            await self._connect()
        self._reader = asyncio.create_task(self._run(), name="plenary-redis-reader")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await _aclose(self._pubsub)
        await self._client.aclose()

    async def _connect(self) -> None:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        # A channel must be subscribed before the pubsub connection can be read.
        await pubsub.subscribe("plenary:node", *self._channels)
        self._pubsub = pubsub
        self._healthy = True

    async def _run(self) -> None:
        delay = RECONNECT_FIRST_S
        while True:
            try:
                if self._pubsub is None:
                    await self._connect()
                    log.info("redis bus connected")
                    await self._flush_outbox()
                    if self._on_reconnect is not None:
                        await self._on_reconnect()
                delay = RECONNECT_FIRST_S
                await self._read(self._pubsub)  # type: ignore[arg-type]
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._healthy:
                    log.warning("redis bus lost: %s", exc)
                self._healthy = False
                if self._pubsub is not None:
                    with contextlib.suppress(Exception):
                        await _aclose(self._pubsub)
                self._pubsub = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)

    async def _read(self, pubsub: aioredis.client.PubSub) -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message["type"] != "message":
                continue
            channel = message["channel"]
            if isinstance(channel, bytes):
                channel = channel.decode()
            if self._on_message is None:
                continue
            try:
                self._on_message(channel, message["data"])
            except Exception:
                # One reader serves every event of this process: a message its listener
                # cannot take (an op of a kind from a newer version, during a rolling
                # upgrade) costs that message, not the bus for all events.
                log.exception("a message on %s could not be handled; dropped", channel)

    async def _flush_outbox(self) -> None:
        # One flusher at a time: the reconnect path and the retry task both call this.
        async with self._flush_lock:
            while self._outbox:
                channel, payload = self._outbox[0]
                await self._send(channel, payload)
                self._outbox.popleft()

    async def _retry_outbox(self) -> None:
        """Resend what a failed publish left behind while the subscription still looks
        healthy: without it, that op would wait for the next outage or reconnect."""
        delay = RECONNECT_FIRST_S
        while self._outbox:
            await asyncio.sleep(delay)
            try:
                await self._flush_outbox()
            except (RedisError, OSError) as exc:
                log.warning("redis resend failed, will retry: %s", exc)
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def _send(self, channel: str, payload: bytes) -> None:
        """Publish, trying once more on failure. After Redis restarts, each pooled
        connection opened before fails on its first use (and is reopened by the client);
        without the second try, the first op published after an outage waited in the
        outbox, while the bus looked healthy, until the next outage."""
        try:
            await self._client.publish(channel, payload)
        except (RedisError, OSError):
            await self._client.publish(channel, payload)

    async def publish(self, channel: str, payload: bytes) -> None:
        if not self._healthy:
            self._outbox.append((channel, payload))  # the reconnect sends it
            return
        if self._outbox:  # behind earlier messages still waiting to go
            self._outbox.append((channel, payload))
            self._retry_soon()
            return
        try:
            await self._send(channel, payload)
        except (RedisError, OSError) as exc:
            log.warning("redis publish failed, kept for resend: %s", exc)
            self._outbox.append((channel, payload))
            self._retry_soon()

    def _retry_soon(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._retry_outbox(), name="plenary-redis-resend")

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(channel)

    def healthy(self) -> bool:
        return self._healthy

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(PING_TIMEOUT_S):
                return bool(await self._client.ping())
        except (RedisError, OSError, TimeoutError):
            return False


async def _aclose(pubsub: Any) -> None:
    """``PubSub.aclose``: untyped before redis-py 8.2 and typed since; through ``Any`` so
    that mypy is clean with either (a fresh clone installs the newest)."""
    await pubsub.aclose()
