"""Fan-out: many connections, a connection that stops reading, several server processes."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import pytest
from plenary.realtime.direct import DirectSink
from plenary.realtime.hub import Hub
from plenary.realtime.outbox import Outbox
from plenary.realtime.sink import Sink
from websockets.asyncio.client import ClientConnection

from ..conftest import RunningServer
from ..support.wsclient import Client
from .helpers import (
    Event,
    assert_gapless,
    assert_log_matches_state,
    live_state,
    new_event,
    pack,
    raw_hello,
    read_until_closed,
    wait_until,
)

BIG = "x" * 3990
# PLENARY_CLIENT_BUFFER_KB for these tests: about four frames of one BIG note each.
LIMIT_KB = 16
# What a connection may hold: its limit plus the one frame that crossed it.
FRAME_MAX = 4400
# A client that stops reading is only noticed once the kernel's socket buffers and the
# transport's buffer are full: a few MB on loopback. This bounds how long we try.
MAX_NOTES_TO_FILL = 4000


async def test_many_clients_receive_everything(server):
    ev = await new_event(server)
    writers = [await ev.participant(f"W{i}") for i in range(5)]
    watchers = [await ev.observer() for _ in range(20)]
    base = await ev.seq()
    await asyncio.gather(
        *(w.add_note(f"{i}/{j}") for i, w in enumerate(writers) for j in range(20))
    )
    final = base + 100
    for c in [*writers, *watchers]:
        await c.wait_for_seq(final, timeout=30)
        assert_gapless(c, 1, final)
        assert c.ops == watchers[0].ops
    await assert_log_matches_state(server.runtime, ev.id)


@dataclass
class Lagging:
    """An event with a writer, a client that keeps up, and a raw client that never reads."""

    server: RunningServer
    ev: Event
    hub: Hub
    writer: Client
    fast: Client
    slow_ws: ClientConnection
    slow: Sink
    slow_token: str

    @property
    def bound(self) -> int:
        return self.server.config.client_buffer_kb * 1024 + FRAME_MAX


# Both ways frames reach a connection: straight into uvicorn's transport, and the ASGI
# fallback (outbox + writer task) that any server supports.
@pytest.fixture(params=["direct", "asgi"])
def path(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _slow_setup(start, path: str, limit_kb: int = LIMIT_KB) -> Lagging:
    server = await start(
        PLENARY_CLIENT_BUFFER_KB=str(limit_kb),
        PLENARY_NOTE_MAX_CHARS="4000",
        PLENARY_DIRECT_WRITES="true" if path == "direct" else "false",
        # One writer fills the buffers as fast as the server takes notes: far past a
        # person's fair share of writes, which is not what this test is about.
        PLENARY_WRITE_RATE="1000000",
        PLENARY_WRITE_BURST="1000000",
    )
    ev = await new_event(server)
    writer = await ev.participant("Writer")
    fast = await ev.observer()
    hub = await server.runtime.hubs.get(ev.id)
    assert hub is not None
    before = set(hub.outboxes)
    slow_token = await server.observer_token(ev.code)
    # Never reads: a tiny receive buffer and a one-message queue in the client library.
    slow_ws, _welcome = await raw_hello(server, slow_token, rcvbuf=4096, max_queue=1)
    (slow,) = set(hub.outboxes) - before
    assert isinstance(slow, DirectSink if path == "direct" else Outbox)
    return Lagging(server, ev, hub, writer, fast, slow_ws, slow, slow_token)


async def _write_until_overflowed(lag: Lagging) -> None:
    written = 0
    while not lag.slow.overflowed:
        assert written < MAX_NOTES_TO_FILL, "the non-reading client was never marked overflowed"
        ack = await lag.writer.add_note(f"{written} {BIG}")
        assert ack["t"] == "ack", ack
        written += 1
        for sink in lag.hub.outboxes:
            assert sink.buffered() <= lag.bound, "a connection held more than its buffer"


async def test_a_client_that_stops_reading_is_cut_loose(start, path):
    lag = await _slow_setup(start, path)
    server, ev, hub, slow = lag.server, lag.ev, lag.hub, lag.slow
    writer, fast = lag.writer, lag.fast
    await _write_until_overflowed(lag)
    held = slow.buffered()
    # The event goes on without waiting for it, and nothing more is kept for it.
    for i in range(20):
        ack = await writer.add_note(f"after {i} {BIG}")
        assert slow.buffered() <= held, "an overflowed connection was given more"
    final = ack["seq"]
    assert await ev.seq() == final
    for c in (fast, writer):
        await c.wait_for_seq(final, timeout=60)
        assert_gapless(c, 1, final)
        assert c.close_code is None
    assert all(o.buffered() <= lag.bound for o in hub.outboxes)

    # When it reads again it finds a gapless prefix of the ops, then its connection ends:
    # with resync and 4008, or (had the server already dropped it) abruptly.
    frames, code = await read_until_closed(lag.slow_ws, timeout=60)
    assert code in {4008, 1006}, code
    if code == 4008:
        assert frames[-1]["t"] == "resync"
    assert [f["t"] for f in frames if f["t"] not in {"ops", "resync"}] == []
    got = [op for f in frames if f["t"] == "ops" for op in f["ops"]]
    assert got, "it received the ops sent before it fell behind"
    k = got[-1]["seq"]
    assert [op["seq"] for op in got] == list(range(1, k + 1))
    assert k < final
    assert got == fast.ops[:k]
    await wait_until(lambda: slow not in hub.outboxes, what="the lagging outbox to be detached")

    # It resumes from what it has and misses nothing.
    back = await server.client(lag.slow_token, since=k)
    await back.wait_for_seq(final, timeout=60)
    assert back.welcome is not None and back.welcome["resume"] == "ops"
    assert_gapless(back, k + 1, final)
    await assert_log_matches_state(server.runtime, ev.id)


async def test_a_lagging_client_is_closed_without_waiting_for_it(start, path):
    """docs/architecture.md: "a connection that falls that far behind is sent resync and
    closed (4008) rather than waited for". A client that never reads again (a phone that
    left the building) must not keep its connection, writer task and buffers until the
    keepalive gives up."""
    lag = await _slow_setup(start, path)
    hub, writer, fast, slow = lag.hub, lag.writer, lag.fast, lag.slow
    await _write_until_overflowed(lag)
    await wait_until(
        lambda: slow not in hub.outboxes,
        timeout=5,
        what="the overflowed connection to be closed and detached",
    )
    ack = await writer.add_note("carry on")
    await fast.wait_for_seq(ack["seq"], timeout=30)
    assert_gapless(fast, 1, ack["seq"])


async def test_replies_to_a_client_that_stops_reading_are_bounded(start, path):
    """Acks, errors and pongs go through the same sink: a client that keeps sending but
    never reads must not make the server queue replies without bound."""
    lag = await _slow_setup(start, path, limit_kb=64)
    writer, fast, slow = lag.writer, lag.fast, lag.slow
    # Fill the pipe to the non-reading client until frames start queueing for it in user
    # space, staying well below the limit so that the live ops alone do not overflow it.
    written = 0
    while slow.buffered() < 2 * FRAME_MAX:
        assert not slow.overflowed
        assert written < MAX_NOTES_TO_FILL, "the pipe to the non-reading client never filled"
        ack = await writer.add_note(f"{written} {BIG}")
        assert ack["t"] == "ack", ack
        written += 1
    assert not slow.overflowed
    assert slow.buffered() < lag.bound

    # Now it only sends pings: each is answered, and nothing is reading the answers:
    # enough pongs to pass the limit several times over.
    pings = lag.bound // 8
    for n in range(pings):
        await lag.slow_ws.send(pack({"t": "ping", "n": n}))

    def settled() -> bool:
        return slow.overflowed or slow.closed or slow.buffered() > lag.bound

    # The server either refuses to queue more (overflow / close), or stops reading from
    # this client; it must never hold more than the limit.
    with contextlib.suppress(AssertionError):  # a timeout: it stopped reading, bounded too
        await wait_until(settled, timeout=5, what="the outbox to overflow")
    assert slow.buffered() <= lag.bound, (
        f"{slow.buffered()} bytes held for a client that does not read; "
        f"PLENARY_CLIENT_BUFFER_KB is {lag.server.config.client_buffer_kb}"
    )
    # The event is unaffected.
    ack = await writer.add_note("still going")
    await fast.wait_for_seq(ack["seq"], timeout=30)
    assert_gapless(fast, 1, ack["seq"])


# Postgres + Redis only: the in-process bus serves one server process by design.
@pytest.mark.parametrize("backend", ["pg"], indirect=True)
async def test_two_servers_in_one_process_deliver_the_same_sequence(backend, servers):
    """Two apps with their own hubs and bus connections (the two-process version is in
    tests/multinode)."""
    one = await servers.start()
    two = await servers.start()
    created = await one.create_event("Two nodes")
    ev_one = await new_event_from(one, created)
    ev_two = await new_event_from(two, created)

    clients_one = [await ev_one.participant(f"One{i}") for i in range(3)]
    clients_two = [await ev_two.participant(f"Two{i}") for i in range(3)]
    watchers = [await ev_one.observer(), await ev_two.observer()]
    acks = await asyncio.gather(
        *(
            c.add_note(f"{i}-{j}")
            for i, c in enumerate([*clients_one, *clients_two])
            for j in range(15)
        )
    )
    assert all(a["t"] == "ack" for a in acks)
    final = max(a["seq"] for a in acks)
    assert sorted(a["seq"] for a in acks) == list(range(final - 89, final + 1))
    everyone = [*clients_one, *clients_two, *watchers]
    for c in everyone:
        await c.wait_for_seq(final, timeout=30)
        assert_gapless(c, 1, final)
        assert c.ops == watchers[0].ops
    state_one = await live_state(one.runtime, created["event"])
    state_two = await live_state(two.runtime, created["event"])
    assert state_one == state_two
    await assert_log_matches_state(one.runtime, created["event"])
    await assert_log_matches_state(two.runtime, created["event"])

    # The same client op id through both processes at once is recorded once.
    same = ev_one.participants[1]["token"]
    on_one, on_two = await one.client(same), await two.client(same)
    replies = await asyncio.gather(
        on_one.add_note("once", op_id="both-nodes"), on_two.add_note("once", op_id="both-nodes")
    )
    assert replies[0]["seq"] == replies[1]["seq"]
    assert sorted(r["dup"] for r in replies) == [False, True]
    final = replies[0]["seq"]

    # A participant who joined on one process writes through the other.
    token = ev_one.participants[0]["token"]
    roaming = await two.client(token, since=final)
    ack = await roaming.add_note("via the other node")
    for c in everyone:
        await c.wait_for_seq(ack["seq"], timeout=30)
        assert_gapless(c, 1, ack["seq"])


async def new_event_from(server, created):
    return Event(server, created)
