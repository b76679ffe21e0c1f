"""Writes and live delivery: every client sees every op once, in seq order."""

from __future__ import annotations

import asyncio

import pytest
from plenary.domain.fold import fold
from plenary.domain.model import Op

from .helpers import (
    assert_gapless,
    assert_log_matches_state,
    live_state,
    log_count,
    new_event,
)


async def test_every_client_gets_every_op_once_in_order(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann = await ev.participant("Ann", "GP")
    bob = await ev.participant("Bob", "Resident")
    cat = await ev.participant("Cat", "Voluntary sector")
    obs = await ev.observer()
    clients = [fac, ann, bob, cat, obs]
    ann_id, bob_id = ev.participants[0]["participant"], ev.participants[1]["participant"]

    acks = {}
    for round_ in range(3):
        for name, c in (("ann", ann), ("bob", bob), ("cat", cat)):
            ack = await c.add_note(f"{name} note {round_}")
            assert ack["t"] == "ack" and ack["dup"] is False
            acks[(name, round_)] = ack
    fac_ack = await fac.write({"kind": "note.add", "text": "from the front", "colour": "pink"})
    edit = await ann.write({"kind": "note.edit", "note": acks[("ann", 0)]["seq"], "text": "v2"})
    delete = await bob.write({"kind": "note.delete", "note": acks[("bob", 1)]["seq"]})
    hide = await fac.write({"kind": "note.hide", "note": acks[("cat", 2)]["seq"]})
    unhide = await fac.write({"kind": "note.unhide", "note": acks[("cat", 2)]["seq"]})
    hide2 = await fac.write({"kind": "note.hide", "note": acks[("ann", 1)]["seq"]})
    replies = [fac_ack, edit, delete, hide, unhide, hide2]
    assert [r["t"] for r in replies] == ["ack"] * len(replies), replies

    all_acks = [a["seq"] for a in acks.values()] + [r["seq"] for r in replies]
    assert all_acks == list(range(5, 5 + len(all_acks))), "acks carry consecutive seqs"

    final = await ev.seq()
    assert final == unhide["seq"] + 1 == hide2["seq"]
    for c in clients:
        await c.wait_for_seq(final)
        assert_gapless(c, 1, final)
        assert c.errors == []
    # Every participant and observer receives the same ops; facilitators see the hides
    # as such, the others see a hidden note go and come back.
    for c in (bob, cat, obs):
        assert c.ops == ann.ops, "every client of one audience receives the same ops"
    for theirs, ours in zip(ann.ops, fac.ops, strict=True):
        if ours["kind"] == "note.hidden":
            assert theirs == {**ours, "kind": "note.deleted"}
        elif ours["kind"] == "note.unhidden":
            assert theirs["data"]["restored"]["text"] == "cat note 2"
        else:
            assert theirs == ours

    by_seq = {op["seq"]: op for op in fac.ops}
    first = by_seq[acks[("ann", 0)]["seq"]]
    assert (first["kind"], first["by"], first["data"]) == (
        "note.added",
        ann_id,
        {"text": "ann note 0", "colour": None},
    )
    assert by_seq[fac_ack["seq"]]["data"] == {"text": "from the front", "colour": "pink"}
    assert by_seq[edit["seq"]]["kind"] == "note.edited"
    assert by_seq[delete["seq"]] | {"at": 0} == {
        "seq": delete["seq"],
        "kind": "note.deleted",
        "by": bob_id,
        "at": 0,
        "data": {"note": acks[("bob", 1)]["seq"]},
    }
    assert [by_seq[r["seq"]]["kind"] for r in (hide, unhide, hide2)] == [
        "note.hidden",
        "note.unhidden",
        "note.hidden",
    ]

    state = await live_state(server.runtime, ev.id)
    notes = state.notes
    assert notes[acks[("ann", 0)]["seq"]].text == "v2"
    assert notes[acks[("ann", 0)]["seq"]].updated_seq == edit["seq"]
    assert acks[("bob", 1)]["seq"] not in notes
    assert notes[acks[("cat", 2)]["seq"]].hidden is False
    assert notes[acks[("ann", 1)]["seq"]].hidden is True
    assert notes[acks[("ann", 1)]["seq"]].group == "GP"
    assert notes[acks[("bob", 0)]["seq"]].group == "Resident"
    assert len(notes) == 9 + 1 - 1
    # What a facilitator received folds to the live state.
    assert fold(ev.id, [Op.from_wire(op) for op in fac.ops]) == state
    await assert_log_matches_state(server.runtime, ev.id)


async def test_ack_carries_the_seq_of_the_op(server):
    ev = await new_event(server)
    ann = await ev.participant()
    for expected in (3, 4, 5):
        ack = await ann.add_note(f"note {expected}")
        assert ack == {"t": "ack", "id": ack["id"], "seq": expected, "dup": False}
        await ann.wait_for_seq(expected)
        assert ann.ops[-1]["seq"] == expected
        assert ann.ops[-1]["data"]["text"] == f"note {expected}"


@pytest.mark.parametrize("text", ["x" * 281, " " + "é" * 300 + " "])
async def test_note_too_long_is_invalid_and_records_nothing(server, text):
    ev = await new_event(server)
    ann = await ev.participant()
    obs = await ev.observer()
    before = await log_count(server.runtime, ev.id)
    reply = await ann.write({"kind": "note.add", "text": text}, op_id="too-long-1")
    assert reply["t"] == "error"
    assert reply["code"] == "invalid"
    assert reply["id"] == "too-long-1"
    assert "280" in reply["message"]
    assert await log_count(server.runtime, ev.id) == before
    assert await ev.seq() == before
    # Nothing was delivered: the next op anyone sees is the next accepted write.
    ack = await ann.add_note("short")
    assert ack["seq"] == before + 1
    await obs.wait_for_seq(ack["seq"])
    assert_gapless(obs, 1, ack["seq"])


async def test_note_at_the_limit_is_accepted_and_trimmed(server):
    ev = await new_event(server)
    ann = await ev.participant()
    ack = await ann.add_note("  " + "y" * 280 + "\n")
    assert ack["t"] == "ack"
    await ann.wait_for_seq(ack["seq"])
    assert ann.ops[-1]["data"]["text"] == "y" * 280


async def test_empty_note_and_too_long_edit_are_invalid(server):
    ev = await new_event(server)
    ann = await ev.participant()
    empty = await ann.write({"kind": "note.add", "text": "   \n\t"})
    assert (empty["t"], empty["code"]) == ("error", "invalid")
    ack = await ann.add_note("fine")
    long_edit = await ann.write({"kind": "note.edit", "note": ack["seq"], "text": "z" * 281})
    assert (long_edit["t"], long_edit["code"]) == ("error", "invalid")
    assert "280" in long_edit["message"]
    state = await live_state(server.runtime, ev.id)
    assert state.notes[ack["seq"]].text == "fine"
    assert state.seq == ack["seq"]


async def test_configured_note_limit_is_enforced_and_named(start):
    server = await start(PLENARY_NOTE_MAX_CHARS="12")
    ev = await new_event(server)
    ann = await ev.participant()
    assert (await ann.add_note("twelve chars"))["t"] == "ack"
    reply = await ann.add_note("thirteen char")
    assert (reply["t"], reply["code"]) == ("error", "invalid")
    assert "12" in reply["message"]
    assert "13" in reply["message"]


async def test_edit_and_delete_own_note(server):
    ev = await new_event(server)
    ann = await ev.participant()
    obs = await ev.observer()
    note = (await ann.add_note("first draft"))["seq"]
    edit = await ann.write({"kind": "note.edit", "note": note, "text": "  second draft  "})
    assert edit["t"] == "ack"
    state = await live_state(server.runtime, ev.id)
    assert state.notes[note].text == "second draft"
    assert (state.notes[note].created_seq, state.notes[note].updated_seq) == (note, edit["seq"])

    delete = await ann.write({"kind": "note.delete", "note": note})
    assert delete["t"] == "ack"
    assert note not in (await live_state(server.runtime, ev.id)).notes

    again = await ann.write({"kind": "note.delete", "note": note})
    assert (again["t"], again["code"]) == ("error", "not_found")
    gone = await ann.write({"kind": "note.edit", "note": note, "text": "ghost"})
    assert (gone["t"], gone["code"]) == ("error", "not_found")

    await obs.wait_for_seq(delete["seq"])
    assert_gapless(obs, 1, delete["seq"])
    assert [op["kind"] for op in obs.ops[-3:]] == ["note.added", "note.edited", "note.deleted"]
    await assert_log_matches_state(server.runtime, ev.id)


async def test_facilitator_hides_and_unhides(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann = await ev.participant()
    note = (await ann.add_note("contentious"))["seq"]

    assert (await fac.write({"kind": "note.hide", "note": note}))["t"] == "ack"
    assert (await live_state(server.runtime, ev.id)).notes[note].hidden is True
    twice = await fac.write({"kind": "note.hide", "note": note})
    assert (twice["t"], twice["code"]) == ("error", "conflict")

    unhide = await fac.write({"kind": "note.unhide", "note": note})
    assert unhide["t"] == "ack"
    assert (await live_state(server.runtime, ev.id)).notes[note].hidden is False
    twice = await fac.write({"kind": "note.unhide", "note": note})
    assert (twice["t"], twice["code"]) == ("error", "conflict")

    missing = await fac.write({"kind": "note.hide", "note": 9999})
    assert (missing["t"], missing["code"]) == ("error", "not_found")

    await ann.wait_for_seq(unhide["seq"])
    assert_gapless(ann, 1, unhide["seq"])
    # To a participant a hidden note is gone, and comes back whole.
    assert [op["kind"] for op in ann.ops[-2:]] == ["note.deleted", "note.unhidden"]
    assert ann.ops[-1]["data"]["restored"]["id"] == note
    await assert_log_matches_state(server.runtime, ev.id)


async def test_many_concurrent_writers(server):
    ev = await new_event(server)
    writers = [await ev.participant(f"P{i}", "GP") for i in range(10)]
    obs = await ev.observer()
    fac = await ev.facilitator()
    base = await ev.seq()
    assert base == 11

    async def burst(i: int) -> list[dict]:
        c = writers[i]
        # 200 writes queue behind one event's write lock; on a loaded CI machine the last
        # waits several seconds. This test is about order and gaps, not latency (bench/).
        notes = (c.write({"kind": "note.add", "text": f"w{i} n{j}"}, timeout=60) for j in range(20))
        return list(await asyncio.gather(*notes))

    results = await asyncio.gather(*(burst(i) for i in range(10)))
    acks = [a for r in results for a in r]
    assert all(a["t"] == "ack" and a["dup"] is False for a in acks), acks
    seqs = sorted(a["seq"] for a in acks)
    assert seqs == list(range(base + 1, base + 201)), "acks: gapless, no duplicates"

    final = base + 200
    assert await ev.seq() == final
    for c in [*writers, obs, fac]:
        await c.wait_for_seq(final, timeout=30)
        assert_gapless(c, 1, final)
        assert c.ops == obs.ops
    # Each writer's notes appear in the order that writer sent them.
    for i in range(10):
        mine = [
            op["data"]["text"] for op in obs.ops if op["data"].get("text", "").startswith(f"w{i} ")
        ]
        assert mine == [f"w{i} n{j}" for j in range(20)]
    state = await assert_log_matches_state(server.runtime, ev.id)
    assert len(state.notes) == 200


async def test_a_write_that_breaks_the_domain_fails_alone(server, monkeypatch, caplog):
    """A bug hit by one write answers that write `internal` (logged once) and nothing
    else: the writes it shares a commit with are recorded, a retry gets the same answer
    rather than queueing for ever, and the phone's later writes go through."""
    from plenary.domain import board

    real_add_note = board.add_note

    def add_note(state, actor, cmd, limits):
        if cmd.text == "poison":
            raise ZeroDivisionError("a bug in the domain")
        return real_add_note(state, actor, cmd, limits)

    monkeypatch.setattr(board, "add_note", add_note)
    ev = await new_event(server)
    ann = await ev.participant()
    bob = await ev.participant("Bob")
    loop = asyncio.get_running_loop()
    replies = {}
    # Sent together, so they share a transaction (group commit).
    for i, (client, text) in enumerate([(ann, "before"), (ann, "poison"), (bob, "beside")]):
        op_id = f"w{i}"
        replies[op_id] = loop.create_future()
        client._replies[op_id] = replies[op_id]
        await client.send({"t": "write", "id": op_id, "op": {"kind": "note.add", "text": text}})
    answers = {k: await asyncio.wait_for(f, 30) for k, f in replies.items()}
    assert answers["w0"]["t"] == "ack" and answers["w2"]["t"] == "ack", answers
    assert (answers["w1"]["t"], answers["w1"]["code"]) == ("error", "internal")
    again = await ann.add_note("poison", op_id="w1")
    assert again["code"] == "internal"
    later = await ann.add_note("after")
    assert later["t"] == "ack"
    failures = [r for r in caplog.records if "failed in the domain" in r.getMessage()]
    assert len(failures) == 2  # once per failed write, with its traceback
    state = await assert_log_matches_state(server.runtime, ev.id)
    assert sorted(n.text for n in state.notes.values()) == ["after", "before", "beside"]
