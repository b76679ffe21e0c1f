"""Reconnecting with ``since``: missed ops from the window, or a snapshot."""

from __future__ import annotations

import asyncio

import pytest
from plenary.domain.model import Role
from plenary.domain.views import state_view
from plenary.realtime.hub import Hubs

from .helpers import (
    assert_gapless,
    assert_log_matches_state,
    live_state,
    log_ops,
    new_event,
    wait_until,
)


async def event_with_notes(server, notes: int):
    ev = await new_event(server)
    ann = await ev.participant()
    for i in range(notes):
        await ann.add_note(f"note {i}")
    final = await ev.seq()
    await ann.wait_for_seq(final)
    return ev, ann, final


async def test_resume_from_since_gets_exactly_the_missed_ops(server):
    ev, ann, final = await event_with_notes(server, 10)
    assert final == 12
    token = ev.participants[0]["token"]
    for since in (0, 1, 2, 7, final - 1):
        c = await server.client(token, since=since)
        assert c.welcome is not None
        assert (c.welcome["seq"], c.welcome["resume"]) == (final, "ops")
        await c.wait_for_seq(final)
        assert_gapless(c, since + 1, final)
        assert c.ops == ann.ops[since:], "the resumed ops are the ops first delivered"
        assert c.snapshot is None
        await c.close()


async def test_resume_when_up_to_date_misses_nothing(server):
    ev, ann, final = await event_with_notes(server, 3)
    obs = await ev.observer(since=final)
    assert obs.welcome is not None
    assert (obs.welcome["seq"], obs.welcome["resume"]) == (final, "ops")
    ack = await ann.add_note("the next one")
    await obs.wait_for_seq(ack["seq"])
    assert obs.seqs == [final + 1]
    assert [f["t"] for f in obs.frames] == ["welcome", "ops"]


async def test_writes_made_while_disconnected_arrive_after_resume(server):
    ev = await new_event(server)
    ann = await ev.participant("Ann")
    bob = await ev.participant("Bob")
    await bob.add_note("before")
    k = await ev.seq()
    await bob.wait_for_seq(k)
    await bob.close()

    missed = [await ann.add_note(f"while bob was away {i}") for i in range(7)]
    n = missed[-1]["seq"]
    bob_again = await server.client(ev.participants[1]["token"], since=bob.last_seq)
    await bob_again.wait_for_seq(n)
    assert_gapless(bob_again, k + 1, n)
    assert [op["data"]["text"] for op in bob_again.ops] == [
        f"while bob was away {i}" for i in range(7)
    ]
    live = await ann.add_note("live again")
    await bob_again.wait_for_seq(live["seq"])
    assert_gapless(bob_again, k + 1, live["seq"])


async def test_far_behind_gets_a_snapshot_equal_to_the_live_state(start):
    server = await start(PLENARY_RESUME_WINDOW_OPS="5")
    ev, ann, final = await event_with_notes(server, 20)
    fac = await ev.facilitator()
    hidden = await fac.write({"kind": "note.hide", "note": 5})
    edited = await ann.write({"kind": "note.edit", "note": 6, "text": "edited"})
    deleted = await ann.write({"kind": "note.delete", "note": 7})
    final = deleted["seq"]
    assert [hidden["t"], edited["t"], deleted["t"]] == ["ack"] * 3

    obs = await ev.observer(since=1)
    assert obs.welcome is not None
    assert (obs.welcome["seq"], obs.welcome["resume"]) == (final, "snapshot")
    await obs.wait_for_seq(final)
    assert obs.snapshot is not None
    assert obs.snapshot["seq"] == final
    state = await live_state(server.runtime, ev.id)
    assert obs.snapshot["state"] == state_view(state, Role.OBSERVER)
    assert 5 not in {n["id"] for n in obs.snapshot["state"]["notes"]}, "a hidden note"
    folded = await assert_log_matches_state(server.runtime, ev.id)
    assert obs.snapshot["state"] == state_view(folded, Role.OBSERVER)
    fac_late = await ev.facilitator(since=1)
    await fac_late.wait_for_seq(final)
    assert fac_late.snapshot is not None
    assert fac_late.snapshot["state"] == folded.to_wire()
    assert obs.ops == []
    assert [f["t"] for f in obs.frames] == ["welcome", "snapshot"]
    # Live ops follow the snapshot.
    ack = await ann.add_note("after the snapshot")
    await obs.wait_for_seq(ack["seq"])
    assert obs.seqs == [final + 1]


async def test_window_boundary(start):
    window = 5
    server = await start(PLENARY_RESUME_WINDOW_OPS=str(window))
    ev, _ann, final = await event_with_notes(server, 12)
    token = ev.participants[0]["token"]

    # The window holds final-4 .. final: since = final-5 still resumes from ops.
    inside = await server.client(token, since=final - window)
    assert inside.welcome is not None and inside.welcome["resume"] == "ops"
    await inside.wait_for_seq(final)
    assert_gapless(inside, final - window + 1, final)

    outside = await server.client(token, since=final - window - 1)
    assert outside.welcome is not None and outside.welcome["resume"] == "snapshot"
    await outside.wait_for_seq(final)
    assert outside.snapshot is not None and outside.snapshot["seq"] == final
    assert outside.ops == []


async def test_since_ahead_of_the_server_gets_a_snapshot(server):
    ev, _ann, final = await event_with_notes(server, 2)
    c = await ev.observer(since=final + 100)
    assert c.welcome is not None
    assert (c.welcome["seq"], c.welcome["resume"]) == (final, "snapshot")
    await c.wait_for_seq(final)
    assert c.snapshot is not None
    assert c.snapshot["state"] == (await live_state(server.runtime, ev.id)).to_wire()


async def test_reconnecting_repeatedly_during_a_stream_of_writes(server):
    """Every (re)connection picks up exactly where the previous one stopped, while ops
    keep arriving during each handshake."""
    ev = await new_event(server)
    writer = await ev.participant("Writer")
    reader_token = (await ev.join("Reader"))["token"]
    stop = asyncio.Event()

    async def write_forever() -> None:
        i = 0
        while not stop.is_set():
            await writer.add_note(f"stream {i}")
            i += 1

    writing = asyncio.create_task(write_forever())
    received: list[dict] = []
    last = 0
    try:
        for _ in range(8):
            c = await server.client(reader_token, since=last)
            await c.wait_for_seq(last + 5)
            await c.close()
            if c.snapshot is not None:  # not expected with the default window
                pytest.fail(f"unexpected snapshot at {c.snapshot['seq']}")
            received.extend(c.ops)
            last = c.last_seq
    finally:
        stop.set()
        await writing
    seqs = [op["seq"] for op in received]
    assert seqs == list(range(1, len(seqs) + 1)), "gapless across reconnections, no repeats"
    log = {op.seq: op.to_wire() for op in await log_ops(server.runtime, ev.id)}
    assert received == [log[s] for s in seqs]


async def test_resume_after_a_server_restart(servers):
    server = await servers.start()
    ev, ann, final = await event_with_notes(server, 6)
    token = ev.participants[0]["token"]
    before = await live_state(server.runtime, ev.id)
    first_ops = list(ann.ops)
    await ann.close()
    await servers.stop(server)

    restarted = await servers.start()
    c = await restarted.client(token, since=3)
    assert c.welcome is not None
    assert (c.welcome["seq"], c.welcome["resume"]) == (final, "ops")
    await c.wait_for_seq(final)
    assert_gapless(c, 4, final)
    assert c.ops == first_ops[3:]
    assert await live_state(restarted.runtime, ev.id) == before
    ack = await c.add_note("after the restart")
    assert ack["seq"] == final + 1
    await c.wait_for_seq(final + 1)
    await assert_log_matches_state(restarted.runtime, ev.id)


async def test_resume_after_the_idle_hub_was_evicted(server, monkeypatch):
    monkeypatch.setattr(Hubs, "IDLE_EVICT_S", 0.05)
    ev, ann, final = await event_with_notes(server, 4)
    token = ev.participants[0]["token"]
    await ann.close()
    await wait_until(lambda: ev.id not in server.runtime.hubs._hubs, what="eviction")

    c = await server.client(token, since=2)
    assert c.welcome is not None and c.welcome["resume"] == "ops"
    await c.wait_for_seq(final)
    assert_gapless(c, 3, final)
    other = await server.client(token)
    ack = await other.add_note("after eviction")
    for client in (c, other):
        await client.wait_for_seq(ack["seq"])
    assert_gapless(c, 3, ack["seq"])
    assert_gapless(other, 1, ack["seq"])
    await assert_log_matches_state(server.runtime, ev.id)
