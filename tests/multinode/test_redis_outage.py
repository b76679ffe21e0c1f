"""Redis goes away and comes back: each node keeps serving its own clients, reports not
ready meanwhile, and afterwards every client has every acknowledged op, in order, once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from plenary.bus.redis import RedisBus

from ..support.wsclient import Client
from .conftest import Cluster, RedisServer, read_log, same_ops

pytestmark = [pytest.mark.pg, pytest.mark.timeout(300)]

# Time for a node to notice Redis has gone (a failed read or ping) and to reconnect after
# it is back (the bus backs off to at most 5 s between attempts).
NOTICE_TIMEOUT_S = 15.0
RECOVER_TIMEOUT_S = 30.0
DELIVERY_TIMEOUT_S = 30.0


def assert_gapless(client: Client, first: int, last: int) -> None:
    assert client.seqs == list(range(first, last + 1)), (
        f"expected seqs {first}..{last} once each, got {client.seqs}"
    )


async def write_notes(writer: Client, prefix: str, count: int) -> dict[int, str]:
    """Write ``count`` notes one after the other; the acked seq of each text."""
    acked: dict[int, str] = {}
    for i in range(count):
        text = f"{prefix} {i}"
        ack: dict[str, Any] = await writer.add_note(text)
        assert ack["t"] == "ack" and not ack["dup"], ack
        acked[ack["seq"]] = text
    return acked


@pytest.mark.multiprocess
async def test_redis_outage_and_recovery(private_redis: RedisServer, cluster: Cluster) -> None:
    a = cluster.start("A", redis_url=private_redis.url)
    b = cluster.start("B", redis_url=private_redis.url)
    ev = await a.create_event()
    code = ev["code"]
    writer_a = await a.participant(code, "Writer A")
    watcher_a = await a.observer(code)
    writer_b = await b.participant(code, "Writer B")
    watcher_b = await b.observer(code)
    on_a, on_b = [writer_a, watcher_a], [writer_b, watcher_b]
    acked = await write_notes(writer_a, "before", 3)
    before = max(acked)
    for c in [*on_a, *on_b]:
        await c.wait_for_seq(before, DELIVERY_TIMEOUT_S)

    private_redis.kill()
    for node in (a, b):
        await node.wait_status("/readyz", 503, NOTICE_TIMEOUT_S)
        assert (await node.get("/healthz")).status_code == 200

    # Writes on A during the outage are acknowledged and reach A's own clients live.
    outage_a = await write_notes(writer_a, "outage A", 10)
    assert sorted(outage_a) == list(range(before + 1, before + 11))
    for c in on_a:
        await c.wait_for_seq(max(outage_a), DELIVERY_TIMEOUT_S)
        assert_gapless(c, 1, max(outage_a))
    # Then on B: B's write reads A's ops from the log first, so B's clients get all of it.
    outage_b = await write_notes(writer_b, "outage B", 5)
    during = max(outage_b)
    for c in on_b:
        await c.wait_for_seq(during, DELIVERY_TIMEOUT_S)
        assert_gapless(c, 1, during)
    # A has heard nothing of B's writes: no bus, and it does not poll the log.
    assert writer_a.last_seq == watcher_a.last_seq == max(outage_a)
    for node in (a, b):
        assert (await node.get("/readyz")).status_code == 503

    private_redis.start()
    for node in (a, b):
        await node.wait_status("/readyz", 200, RECOVER_TIMEOUT_S)
    # A's clients get B's outage writes without anyone writing on A again: the bus
    # reconnect reads the log (and B resends what it could not publish).
    for c in on_a:
        await c.wait_for_seq(during, RECOVER_TIMEOUT_S)
        assert_gapless(c, 1, during)

    # The bus works again in both directions, live.
    after_b = await write_notes(writer_b, "after B", 3)
    after_a = await write_notes(writer_a, "after A", 3)
    final = max(after_a)
    assert final == during + 6
    clients = [*on_a, *on_b]
    for c in clients:
        await c.wait_for_seq(final, DELIVERY_TIMEOUT_S)
    for c in clients:
        assert_gapless(c, 1, final)
        assert c.ops == watcher_a.ops

    # Nothing acknowledged was lost: each acked note is in the log at its seq, and the log
    # is what every client saw.
    log = await read_log(cluster.database_url, ev["event"])
    assert same_ops(watcher_a.ops, log)
    texts = {op["seq"]: op["data"]["text"] for op in log if op["kind"] == "note.added"}
    assert texts == {**acked, **outage_a, **outage_b, **after_b, **after_a}
    for node in (a, b):
        node.assert_running()


@pytest.mark.multiprocess
async def test_first_write_after_redis_returns_reaches_the_other_node(
    private_redis: RedisServer, cluster: Cluster
) -> None:
    """B did not write during the outage, so the first thing it sends to Redis after the
    restart is a write's op, on a pooled connection that died with the old Redis."""
    a = cluster.start("A", redis_url=private_redis.url)
    b = cluster.start("B", redis_url=private_redis.url)
    ev = await a.create_event()
    code = ev["code"]
    writer_a = await a.participant(code, "Writer A")
    watcher_a = await a.observer(code)
    writer_b = await b.participant(code, "Writer B")
    watcher_b = await b.observer(code)
    first = max(await write_notes(writer_b, "before", 1))
    for c in (writer_a, watcher_a, writer_b, watcher_b):
        await c.wait_for_seq(first, DELIVERY_TIMEOUT_S)

    private_redis.kill()
    for node in (a, b):
        await node.wait_status("/readyz", 503, NOTICE_TIMEOUT_S)
    outage = max(await write_notes(writer_a, "outage A", 3))
    private_redis.start()
    # B has reconnected once its clients have A's outage writes (read from the log on
    # reconnect, or resent by A): only then is B's bus healthy again.
    for c in (writer_b, watcher_b):
        await c.wait_for_seq(outage, RECOVER_TIMEOUT_S)
    await a.wait_status("/readyz", 200, RECOVER_TIMEOUT_S)

    ack = await writer_b.add_note("first after the outage")
    assert ack["t"] == "ack", ack
    # Nobody writes on A, so A's clients can only get it from the bus.
    for c in (writer_a, watcher_a):
        await c.wait_for_seq(ack["seq"], DELIVERY_TIMEOUT_S)
        assert_gapless(c, 1, ack["seq"])


@pytest.mark.multiprocess
async def test_writes_of_a_node_that_died_during_the_outage_reach_the_others(
    private_redis: RedisServer, cluster: Cluster
) -> None:
    """B acknowledges writes while Redis is away, then crashes with them unpublished: A
    can only learn of them from the log, when its bus reconnects."""
    a = cluster.start("A", redis_url=private_redis.url)
    b = cluster.start("B", redis_url=private_redis.url)
    ev = await a.create_event()
    code = ev["code"]
    watchers_a = [await a.observer(code), await a.participant(code, "Reader A")]
    writer_b = await b.participant(code, "Writer B")
    start = max(await write_notes(writer_b, "before", 1))
    for c in watchers_a:
        await c.wait_for_seq(start, DELIVERY_TIMEOUT_S)

    private_redis.kill()
    for node in (a, b):
        await node.wait_status("/readyz", 503, NOTICE_TIMEOUT_S)
    acked = await write_notes(writer_b, "outage B", 5)
    await writer_b.wait_for_seq(max(acked), DELIVERY_TIMEOUT_S)
    b.kill()
    private_redis.start()
    await a.wait_status("/readyz", 200, RECOVER_TIMEOUT_S)
    for c in watchers_a:
        await c.wait_for_seq(max(acked), RECOVER_TIMEOUT_S)
        assert_gapless(c, 1, max(acked))
    log = await read_log(cluster.database_url, ev["event"])
    assert same_ops(watchers_a[0].ops, log)
    assert {op["seq"]: op["data"]["text"] for op in log if op["seq"] in acked} == acked


async def test_bus_publishes_after_a_redis_restart(private_redis: RedisServer) -> None:
    """The bus itself, in this process: a message published once both buses are healthy
    again after a restart is delivered, not left waiting for the next outage."""
    received: list[bytes] = []
    reconnects: list[str] = []

    def on_message(channel: str, payload: bytes) -> None:
        received.append(payload)

    def on_reconnect_of(name: str) -> Any:
        async def on_reconnect() -> None:
            reconnects.append(name)

        return on_reconnect

    async def until(predicate: Any, what: str, timeout: float = RECOVER_TIMEOUT_S) -> None:
        async def poll() -> None:
            # The bus has no event for its health; poll it.
            while True:
                if predicate():
                    return
                await asyncio.sleep(0.02)

        try:
            await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None

    publisher, subscriber = RedisBus(private_redis.url), RedisBus(private_redis.url)
    await publisher.start(lambda _c, _p: None, on_reconnect_of("publisher"))
    await subscriber.start(on_message, on_reconnect_of("subscriber"))
    try:
        await subscriber.subscribe("plenary:ev:test")
        await publisher.publish("plenary:ev:test", b"before")
        await until(lambda: received == [b"before"], "the first message")

        private_redis.kill()
        await until(lambda: not publisher.healthy() and not subscriber.healthy(), "unhealthy")
        private_redis.start()
        await until(lambda: publisher.healthy() and subscriber.healthy(), "healthy again")
        await until(lambda: sorted(reconnects) == ["publisher", "subscriber"], "on_reconnect")

        # Nothing was sent since the restart: the publisher's pooled connection is the
        # one that died with the old Redis.
        await publisher.publish("plenary:ev:test", b"after")
        await until(lambda: b"after" in received, "the message published after the restart")
        assert received.count(b"after") == 1
    finally:
        await publisher.stop()
        await subscriber.stop()


async def test_a_failed_publish_is_resent_while_the_bus_stays_up(
    private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishing fails (both tries) while the subscription stays healthy: the message
    is resent on its own, and later ones queue behind it in order."""
    received: list[bytes] = []
    both = asyncio.Event()

    def on_message(_channel: str, payload: bytes) -> None:
        received.append(payload)
        if len(received) >= 2:
            both.set()

    async def nothing() -> None:
        return None

    publisher, subscriber = RedisBus(private_redis.url), RedisBus(private_redis.url)
    await publisher.start(lambda _c, _p: None, nothing)
    await subscriber.start(on_message, nothing)
    try:
        await subscriber.subscribe("plenary:ev:test")
        real_publish = publisher._client.publish
        failures = [0]

        async def flaky(channel: str, payload: bytes) -> int:
            if failures[0] < 3:
                failures[0] += 1
                raise ConnectionError("publish refused")
            return int(await real_publish(channel, payload))

        monkeypatch.setattr(publisher._client, "publish", flaky)
        await publisher.publish("plenary:ev:test", b"one")
        await publisher.publish("plenary:ev:test", b"two")
        assert publisher.healthy()

        await asyncio.wait_for(both.wait(), RECOVER_TIMEOUT_S)
        assert received == [b"one", b"two"]
    finally:
        await publisher.stop()
        await subscriber.stop()
