"""Direct writes into uvicorn's transport, and the ASGI fallback.

The first test is the alarm ``server/realtime/direct.py`` promises: if a uvicorn or
websockets release changes what the fast path relies on, connections silently fall back
to the slower ASGI path, and this test fails saying so.
"""

from __future__ import annotations

import asyncio

import pytest
from plenary.realtime.direct import DirectSink, probe
from plenary.realtime.outbox import Outbox

from .helpers import assert_gapless, new_event, raw_hello, wait_until


async def _sinks_of(server, ev) -> list[object]:
    hub = await server.runtime.hubs.get(ev.id)
    assert hub is not None
    return list(hub.outboxes)


async def test_uvicorn_connections_take_the_direct_path(server):
    ev = await new_event(server)
    watcher = await ev.observer()
    sinks = await _sinks_of(server, ev)
    assert sinks, "the observer is attached"
    assert all(isinstance(s, DirectSink) for s in sinks), (
        "connections under `plenary serve`'s uvicorn options no longer write directly to "
        "the transport: uvicorn's or websockets' internals changed under "
        "server/realtime/direct.py (see its docstring), and every broadcast now takes the "
        f"slower ASGI fallback. Sinks: {[type(s).__name__ for s in sinks]}"
    )
    writer = await ev.participant("Writer")
    ack = await writer.add_note("direct")
    await watcher.wait_for_seq(ack["seq"])
    assert_gapless(watcher, 1, ack["seq"])


async def test_the_asgi_fallback_delivers_the_same(start):
    server = await start(PLENARY_DIRECT_WRITES="false")
    ev = await new_event(server)
    watcher = await ev.observer()
    writer = await ev.participant("Writer")
    assert all(isinstance(s, Outbox) for s in await _sinks_of(server, ev))
    acks = [await writer.add_note(f"n{i}") for i in range(5)]
    await watcher.wait_for_seq(acks[-1]["seq"])
    assert_gapless(watcher, 1, acks[-1]["seq"])


def test_probe_takes_only_uvicorns_protocol() -> None:
    async def plain_send(message: object) -> None:
        return None

    class Other:
        transport = None
        conn = None

        async def send(self, message: object) -> None:
            return None

    assert probe(plain_send) is None
    assert probe(Other().send) is None


async def test_a_client_that_never_reads_again_is_dropped_with_its_buffer(start):
    """The direct path's goodbye goes through ASGI and waits for the socket; a client that
    does not read even that is dropped after GOODBYE_S, which frees what was buffered."""
    server = await start(
        PLENARY_CLIENT_BUFFER_KB="16",
        PLENARY_NOTE_MAX_CHARS="4000",
        # One writer fills the buffers flat out: past a person's fair share of writes.
        PLENARY_WRITE_RATE="1000000",
        PLENARY_WRITE_BURST="1000000",
    )
    ev = await new_event(server)
    writer = await ev.participant("Writer")
    hub = await server.runtime.hubs.get(ev.id)
    assert hub is not None
    before = set(hub.outboxes)
    token = await server.observer_token(ev.code)
    _ws, _ = await raw_hello(server, token, rcvbuf=4096, max_queue=1)
    (slow,) = set(hub.outboxes) - before
    assert isinstance(slow, DirectSink)
    transport = slow._transport
    written = 0
    while not slow.overflowed:
        assert written < 4000, "the non-reading client never overflowed"
        await writer.add_note(f"{written} " + "x" * 3990)
        written += 1
    await wait_until(transport.is_closing, timeout=10, what="the lagging socket to be dropped")
    # Aborted, not closed gracefully: nothing stays buffered for it.
    await asyncio.sleep(0.1)
    assert transport.get_write_buffer_size() == 0
    assert slow not in hub.outboxes


@pytest.mark.parametrize("path", ["true", "false"])
async def test_hub_ends_connections_on_both_paths(start, path):
    """A participant put on the writing team is sent resync and closed by the hub; the
    direct path says goodbye through ASGI, the fallback through its writer."""
    server = await start(PLENARY_DIRECT_WRITES=path)
    ev = await new_event(server)
    joined = await ev.join("Member")
    member = await server.client(joined["token"])
    facilitator = await ev.facilitator()
    ack = await facilitator.write(
        {"kind": "writer.set", "participant": joined["participant"], "writer": True}
    )
    assert ack["t"] == "ack", ack
    await member.wait_closed()
    assert member.ws is not None and member.ws.close_code == 1001
    assert member.frames[-1]["t"] == "resync"
