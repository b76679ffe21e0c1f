"""state = fold(log): the live state, the log and the projection tables agree."""

from __future__ import annotations

import asyncio

from plenary.db import store
from plenary.domain.fold import fold
from plenary.domain.model import Op
from sqlalchemy import select

from .helpers import assert_gapless, assert_log_matches_state, live_state, log_ops, new_event


async def busy_scenario(server):
    """Joins, notes, edits, deletes, moderation, refusals, retries and a concurrent burst."""
    ev = await new_event(server)
    fac = await ev.facilitator()
    people = [
        await ev.participant(name, group)
        for name, group in (
            ("Ann", "GP"),
            ("Bob", "Resident"),
            ("Cat", "Voluntary sector"),
        )
    ]
    obs = await ev.observer()
    anonymous = await server.http.post(
        "/api/join", json={"code": ev.code, "name": None, "group": "GP", "table": None}
    )
    assert anonymous.status_code == 201
    ann, bob, cat = people
    notes = [
        (await c.add_note(f"{i}: idea", op_id=f"idea-{i}"))["seq"] for i, c in enumerate(people)
    ]
    assert (await ann.add_note("0: idea", op_id="idea-0"))["dup"] is True
    assert (await ann.write({"kind": "note.edit", "note": notes[0], "text": "better idea"}))[
        "t"
    ] == "ack"
    assert (await bob.write({"kind": "note.edit", "note": notes[0], "text": "nope"}))[
        "t"
    ] == "error"
    assert (await bob.write({"kind": "note.delete", "note": notes[1]}))["t"] == "ack"
    assert (await fac.write({"kind": "note.hide", "note": notes[2]}))["t"] == "ack"
    assert (await fac.write({"kind": "note.unhide", "note": notes[2]}))["t"] == "ack"
    assert (await fac.write({"kind": "note.hide", "note": notes[0]}))["t"] == "ack"
    assert (await cat.add_note("c" * 500))["t"] == "error"
    assert (await fac.add_note("from the stage", op_id="stage-1"))["t"] == "ack"
    await asyncio.gather(
        *(c.add_note(f"burst {j} by {i}") for i, c in enumerate(people) for j in range(10))
    )
    hidden = await ann.write({"kind": "note.edit", "note": notes[0], "text": "edited while hidden"})
    assert (hidden["t"], hidden["code"]) == ("error", "conflict")
    final = await ev.seq()
    for c in (fac, *people, obs):
        await c.wait_for_seq(final)
        assert_gapless(c, 1, final)
    return ev, fac, obs, final


async def test_state_is_the_fold_of_the_log(server):
    ev, fac, obs, final = await busy_scenario(server)
    folded = await assert_log_matches_state(server.runtime, ev.id)
    assert folded.seq == final
    assert len(folded.participants) == 4
    # What a facilitator was sent is exactly the log, and folds to the same state.
    log = await log_ops(server.runtime, ev.id)
    assert fac.ops == [op.to_wire() for op in log]
    assert fold(ev.id, [Op.from_wire(op) for op in fac.ops]) == folded
    # An observer was sent the same seqs, with hidden notes as deletions.
    assert [op["seq"] for op in obs.ops] == [op.seq for op in log]
    hides = [op.seq for op in log if op.kind == "note.hidden"]
    assert hides and all(obs.ops[seq - 1]["kind"] == "note.deleted" for seq in hides)


async def test_client_op_ids_are_recorded_with_their_ops(server):
    ev, _fac, _obs, _final = await busy_scenario(server)
    async with server.runtime.db.read() as conn:
        rows = (
            await conn.execute(
                select(store.ops.c.seq, store.ops.c.client_op_id, store.ops.c.kind).where(
                    store.ops.c.event_id == ev.id, store.ops.c.client_op_id.is_not(None)
                )
            )
        ).all()
    ids = [r.client_op_id for r in rows]
    assert len(ids) == len(set(ids)), "no client op id recorded twice by one writer"
    assert {"idea-0", "idea-1", "idea-2", "stage-1"} <= set(ids)
    # Server-made ops (creation, joins) carry no client op id.
    kinds = {r.kind for r in rows}
    assert "event.created" not in kinds and "participant.joined" not in kinds


async def test_a_restarted_server_rebuilds_the_same_state_from_the_log(servers):
    server = await servers.start()
    ev, _fac, _obs, final = await busy_scenario(server)
    before = await live_state(server.runtime, ev.id)
    await servers.stop(server)

    restarted = await servers.start()
    after = await assert_log_matches_state(restarted.runtime, ev.id)
    assert after == before
    assert after.seq == final


async def test_each_event_has_its_own_log(server):
    a = await new_event(server, "A")
    b = await new_event(server, "B")
    a_client = await a.participant()
    b_client = await b.participant()
    await asyncio.gather(
        *(a_client.add_note(f"a{i}") for i in range(15)),
        *(b_client.add_note(f"b{i}") for i in range(15)),
    )
    for ev, letter in ((a, "a"), (b, "b")):
        state = await assert_log_matches_state(server.runtime, ev.id)
        assert state.seq == 17
        assert {n.text[0] for n in state.notes.values()} == {letter}
