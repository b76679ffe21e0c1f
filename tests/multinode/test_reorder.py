"""A hub delivers ops in seq order, once each, however they reach it: out of order and
twice on the bus, with a gap the bus never fills, or not at all while the bus was away.

In-process and fast: a node's Runtime (the receiving hub) and, over the same database,
another node's hub whose writes are published nowhere, so the test decides what the
receiving node's bus carries, in which order, and when.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgpack
import pytest
from plenary.config import Config
from plenary.db import store
from plenary.db.migrate import upgrade_async
from plenary.domain.commands import AddNote, Join
from plenary.domain.model import Actor, Role
from plenary.realtime.hub import GAP_WAIT_S, Accepted, Hub
from plenary.realtime.outbox import Outbox
from plenary.runtime import Runtime
from plenary.web.api import create_event_record

DELIVERY_TIMEOUT_S = 10.0


class RecordingBus:
    """The other node's bus: keeps what it is given to publish, delivers nothing."""

    name = "recording"

    def __init__(self) -> None:
        self.published: list[bytes] = []

    async def start(self, on_message: Any, on_reconnect: Any) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> None:
        self.published.append(payload)

    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...

    def healthy(self) -> bool:
        return True

    async def ping(self) -> bool:
        return True


@dataclass
class Nodes:
    runtime: Runtime  # the receiving node
    hub: Hub  # its hub for the event
    other: Hub  # the other node's hub for the same event
    other_bus: RecordingBus
    writer: Actor
    reads: list[tuple[int, int | None, float]] = field(default_factory=list)

    async def write_notes(self, count: int) -> list[bytes]:
        """Write on the other node; the encoded ops it would have published."""
        start = len(self.other_bus.published)
        for i in range(count):
            result = await self.other.write(self.writer, AddNote(f"note {i}"), None)
            assert isinstance(result, Accepted), result
        return self.other_bus.published[start:]

    def receive(self, payload: bytes) -> None:
        """What the node's bus hands over for one message."""
        self.runtime.hubs.on_message(self.hub.channel, payload)

    def outbox(self) -> Outbox:
        outbox = Outbox(10_000)
        self.runtime.hubs.attach(self.hub, outbox, Role.FACILITATOR, "f-test")
        outbox.release([])
        return outbox


def seq_of(payload: bytes) -> int:
    return int(msgpack.unpackb(payload, raw=False)["seq"])


async def delivered(outbox: Outbox, upto: int) -> list[int]:
    """Seqs of the ops sent to ``outbox``, in order, until ``upto`` has come."""
    seqs: list[int] = []

    async def take() -> None:
        while not seqs or seqs[-1] < upto:
            for frame in await outbox.next_batch():
                decoded = msgpack.unpackb(frame, raw=False)
                assert decoded["t"] == "ops", decoded
                seqs.extend(op["seq"] for op in decoded["ops"])

    try:
        await asyncio.wait_for(take(), DELIVERY_TIMEOUT_S)
    except TimeoutError:
        raise AssertionError(f"delivered {seqs}, never reached {upto}") from None
    return seqs


async def gap_fill_done(hub: Hub) -> None:
    """Wait until the hub holds no op back (its gap task has ended)."""

    async def poll() -> None:
        # The hub has no event for this; its state is polled.
        while True:
            if not hub._pending and hub._gap_task is None:
                return
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), DELIVERY_TIMEOUT_S)


@pytest.fixture
async def nodes(make_config: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Nodes]:
    config: Config = make_config()
    await upgrade_async(config.database_url)
    runtime = Runtime.build(config)
    await runtime.start()
    try:
        created = await create_event_record(runtime, "Reorder", ["GP"])
        assert isinstance(created, dict), created
        hub = await runtime.hubs.get(created["event"])
        assert hub is not None
        other_bus = RecordingBus()
        other = Hub(hub.event_id, runtime.db, other_bus, runtime.limits, 1000, 0.01)
        await other.catch_up()
        writer = Actor("p-writer", Role.PARTICIPANT)
        joined = await other.write(None, Join(writer.id, "Writer", "GP", "1"), None, by=writer.id)
        assert isinstance(joined, Accepted), joined
        # Bring the receiving hub up to date before the test starts feeding it.
        for payload in other_bus.published:
            runtime.hubs.on_message(hub.channel, payload)
        await gap_fill_done(hub)
        assert hub.seq == other.seq == 2
        found = Nodes(runtime, hub, other, other_bus, writer)

        # Every read of the log from here on, with the loop time it happened.
        original = store.read_ops

        async def read_ops(conn: Any, event_id: str, after: int, upto: int | None = None) -> Any:
            found.reads.append((after, upto, asyncio.get_running_loop().time()))
            return await original(conn, event_id, after, upto)

        monkeypatch.setattr(store, "read_ops", read_ops)
        yield found
        other.close()
    finally:
        await runtime.stop()


async def test_out_of_order_and_repeated_on_the_bus(nodes: Nodes) -> None:
    """Through the node's real bus (in-process, or Redis on the pg backend): 5, 3, 4, 6,
    then 3 and 5 again, then 7; every connection gets 3..7 once each, in order."""
    first, second = nodes.outbox(), nodes.outbox()
    p3, p4, p5, p6, p7 = await nodes.write_notes(5)
    assert [seq_of(p) for p in (p3, p4, p5, p6, p7)] == [3, 4, 5, 6, 7]
    bus = nodes.runtime.bus
    # The bus keeps one publisher's order, so 7 comes last: once it is delivered, the
    # repeats before it have been handled.
    for payload in (p5, p3, p4, p6, p3, p5, p7):
        await bus.publish(nodes.hub.channel, payload)
    assert await delivered(first, 7) == [3, 4, 5, 6, 7]
    assert await delivered(second, 7) == [3, 4, 5, 6, 7]
    assert nodes.hub.seq == 7
    assert len(first) == len(second) == 0


async def test_gap_is_read_from_the_log_after_the_gap_wait(nodes: Nodes) -> None:
    outbox = nodes.outbox()
    p3, _p4, p5 = await nodes.write_notes(3)
    nodes.receive(p3)
    nodes.receive(p5)  # 4 never comes on the bus
    held_at = asyncio.get_running_loop().time()
    assert nodes.hub.seq == 3
    assert await delivered(outbox, 5) == [3, 4, 5]
    # Exactly the gap was read, and only after waiting for the bus to fill it.
    assert [(after, upto) for after, upto, _ in nodes.reads] == [(3, 4)]
    waited = nodes.reads[0][2] - held_at
    assert waited >= GAP_WAIT_S * 0.9, f"read the log after {waited:.3f}s"
    await gap_fill_done(nodes.hub)


async def test_predecessor_within_the_gap_wait_spares_the_log(nodes: Nodes) -> None:
    outbox = nodes.outbox()
    p3, p4, p5 = await nodes.write_notes(3)
    nodes.receive(p5)
    nodes.receive(p4)
    assert nodes.hub.seq == 2  # both held for 3
    await asyncio.sleep(0)  # a loop turn later, well within the wait
    nodes.receive(p3)
    assert nodes.hub.seq == 5
    assert await delivered(outbox, 5) == [3, 4, 5]
    await gap_fill_done(nodes.hub)
    assert nodes.reads == []


async def test_duplicates_and_old_ops_are_dropped(nodes: Nodes) -> None:
    outbox = nodes.outbox()
    p3, p4 = await nodes.write_notes(2)
    nodes.receive(p3)
    nodes.receive(p3)  # twice in a row (the node's own echo, say)
    nodes.receive(p4)
    assert await delivered(outbox, 4) == [3, 4]
    # Late copies, from the bus and from the log, and an op from long before.
    nodes.receive(p3)
    nodes.receive(p4)
    nodes.receive(nodes.other_bus.published[0])
    await nodes.hub.catch_up()
    await gap_fill_done(nodes.hub)
    nodes.hub.flush()
    assert len(outbox) == 0
    assert nodes.hub.seq == 4


async def test_undecodable_message_is_a_gap_filled_from_the_log(nodes: Nodes) -> None:
    outbox = nodes.outbox()
    _p3, p4 = await nodes.write_notes(2)
    nodes.receive(b"\xc1 not msgpack")  # the copy of 3, mangled
    nodes.receive(p4)
    assert await delivered(outbox, 4) == [3, 4]
    assert [(after, upto) for after, upto, _ in nodes.reads] == [(2, 3)]


async def test_bus_reconnect_reads_what_it_missed(nodes: Nodes) -> None:
    """Nothing arrived while the bus was away; ``on_reconnect`` reads it from the log,
    and the other node's resend of the same ops afterwards changes nothing."""
    outbox = nodes.outbox()
    missed = await nodes.write_notes(4)
    assert nodes.hub.seq == 2
    await nodes.runtime.hubs.on_reconnect()
    assert await delivered(outbox, 6) == [3, 4, 5, 6]
    for payload in missed:
        nodes.receive(payload)
    nodes.hub.flush()
    assert len(outbox) == 0
    assert nodes.hub.seq == 6


async def test_an_op_the_hub_cannot_apply_does_not_deafen_the_node(nodes: Nodes) -> None:
    """An op this process cannot apply (a kind from a newer version, during a rolling
    upgrade) arrives on one event's channel; the node still hears the bus for its other
    events."""
    created = await create_event_record(nodes.runtime, "Another event", ["GP"])
    assert isinstance(created, dict), created
    event_id = created["event"]
    receiving = await nodes.runtime.hubs.get(event_id)
    assert receiving is not None
    outbox = Outbox(1000)
    nodes.runtime.hubs.attach(receiving, outbox, Role.FACILITATOR, "f-test")
    outbox.release([])
    writer_bus = RecordingBus()
    writer = Hub(event_id, nodes.runtime.db, writer_bus, nodes.runtime.limits, 1000, 0.01)
    await writer.catch_up()
    try:
        joined = await writer.write(None, Join("p-late", "Late", "GP", "1"), None, by="p-late")
        assert isinstance(joined, Accepted) and joined.seq == 2, joined
        future = {"seq": nodes.hub.seq + 1, "kind": "from.the.future", "by": "x", "at": 0}
        bus = nodes.runtime.bus
        await bus.publish(nodes.hub.channel, msgpack.packb({**future, "data": {}}))
        (payload,) = writer_bus.published
        await bus.publish(receiving.channel, payload)
        assert await delivered(outbox, 2) == [2]
    finally:
        writer.close()


async def test_a_lone_op_goes_out_at_once_and_a_burst_shares_a_tick(nodes: Nodes) -> None:
    """At most one frame per tick per event: the first op after a quiet spell is sent
    without waiting, the ops following it within the tick share one frame at its end."""
    tick = 0.5  # long, so that the machine's noise cannot blur the two cases
    nodes.hub._tick_s = tick
    outbox = nodes.outbox()
    p3, p4, p5 = await nodes.write_notes(3)
    loop = asyncio.get_running_loop()
    await asyncio.sleep(tick)  # a quiet spell: the set-up's ops went out a moment ago

    started = loop.time()
    nodes.receive(p3)
    first = await asyncio.wait_for(outbox.next_batch(), DELIVERY_TIMEOUT_S)
    lone_after = loop.time() - started
    nodes.receive(p4)
    nodes.receive(p5)
    second = await asyncio.wait_for(outbox.next_batch(), DELIVERY_TIMEOUT_S)
    burst_after = loop.time() - started

    def seqs(batch: list[bytes]) -> list[list[int]]:
        return [[op["seq"] for op in msgpack.unpackb(f, raw=False)["ops"]] for f in batch]

    assert seqs(first) == [[3]]
    assert seqs(second) == [[4, 5]]  # one frame for both
    assert lone_after < tick / 2, f"the lone op waited {lone_after:.3f}s"
    assert burst_after >= tick * 0.9, f"the burst went out after {burst_after:.3f}s"
