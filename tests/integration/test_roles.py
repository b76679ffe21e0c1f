"""Who may write what; and a token only ever reaches its own event."""

from __future__ import annotations

import pytest
from plenary.domain.commands import CLIENT_COMMANDS

from .helpers import (
    assert_gapless,
    assert_log_matches_state,
    live_state,
    log_ops,
    new_event,
    pack,
    raw_connect,
    read_until_closed,
)


async def test_observer_cannot_write_anything(server):
    ev = await new_event(server)
    ann = await ev.participant()
    fac = await ev.facilitator()
    obs = await ev.observer()
    note = (await ann.add_note("a note"))["seq"]
    hidden = (await ann.add_note("a hidden note"))["seq"]
    assert (await fac.write({"kind": "note.hide", "note": hidden}))["t"] == "ack"
    before = await live_state(server.runtime, ev.id)
    log_before = await log_ops(server.runtime, ev.id)

    commands = [
        {"kind": "note.add", "text": "observers have opinions too"},
        {"kind": "note.add", "text": "colourful", "colour": "blue"},
        {"kind": "note.edit", "note": note, "text": "rewritten"},
        {"kind": "note.delete", "note": note},
        {"kind": "note.hide", "note": note},
        {"kind": "note.unhide", "note": hidden},
        {"kind": "note.edit", "note": 9999, "text": "no such note"},
        {"kind": "note.merge", "notes": [note, hidden], "text": "merged"},
        {"kind": "note.set_theme", "note": note, "theme": None},
        {"kind": "theme.add", "round": 1, "name": "Theirs"},
        {"kind": "theme.rename", "theme": 1, "name": "Theirs"},
        {"kind": "theme.delete", "theme": 1},
        {"kind": "event.update", "title": "Taken over"},
        {"kind": "activity.add", "type": "notes", "prompt": "Mine?"},
        {"kind": "activity.edit", "activity": 1, "prompt": "Mine?"},
        {"kind": "activity.move", "activity": 1, "position": 0},
        {"kind": "activity.set_status", "activity": 1, "status": "open"},
        {"kind": "activity.set_current", "activity": None},
        {"kind": "activity.set_timer", "activity": 1, "seconds": 60},
        {"kind": "dot.add", "vote": 1, "item": note},
        {"kind": "dot.remove", "vote": 1, "item": note},
        {"kind": "writer.set", "participant": "p_x", "writer": True},
        {"kind": "participant.remove", "participant": "p_x"},
        {"kind": "draft.save", "activity": 1, "base": 0, "text": "# Mine"},
        {"kind": "draft.publish", "activity": 1, "version": 1},
        {"kind": "draft.explain", "activity": 1, "version": 1, "section": "s1", "rationale": "x"},
        {
            "kind": "reaction.set",
            "activity": 1,
            "version": 1,
            "section": "s1",
            "reaction": "support",
        },
    ]
    # Every kind of write there is, tried at least once.
    assert {c["kind"] for c in commands} == set(CLIENT_COMMANDS)
    for i, command in enumerate(commands):
        reply = await obs.write(command, op_id=f"obs-{i}")
        assert reply["t"] == "error", (command, reply)
        assert reply["code"] == "forbidden", (command, reply)
        assert reply["id"] == f"obs-{i}"

    assert await log_ops(server.runtime, ev.id) == log_before
    assert await live_state(server.runtime, ev.id) == before
    # Nothing was delivered either: the next op seen is the next accepted write.
    marker = await ann.add_note("marker")
    assert marker["seq"] == before.seq + 1
    for c in (obs, fac, ann):
        await c.wait_for_seq(marker["seq"])
        assert_gapless(c, 1, marker["seq"])
    assert obs.ops[-1]["data"]["text"] == "marker"


async def test_participant_cannot_moderate_or_touch_others_notes(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann = await ev.participant("Ann")
    bob = await ev.participant("Bob")
    anns = (await ann.add_note("ann's note"))["seq"]
    bobs = (await bob.add_note("bob's note"))["seq"]
    facs = (await fac.add_note("facilitator's note"))["seq"]
    assert (await fac.write({"kind": "note.hide", "note": bobs}))["t"] == "ack"
    before = await live_state(server.runtime, ev.id)
    log_before = await log_ops(server.runtime, ev.id)

    refused = [
        {"kind": "note.hide", "note": anns},  # not even one's own
        {"kind": "note.hide", "note": facs},
        {"kind": "note.unhide", "note": bobs},
        {"kind": "note.edit", "note": bobs, "text": "bob was wrong"},
        {"kind": "note.delete", "note": bobs},
        {"kind": "note.edit", "note": facs, "text": "hijacked"},
        {"kind": "note.delete", "note": facs},
    ]
    for command in refused:
        reply = await ann.write(command)
        assert (reply["t"], reply["code"]) == ("error", "forbidden"), (command, reply)

    assert await log_ops(server.runtime, ev.id) == log_before
    assert await live_state(server.runtime, ev.id) == before
    # Her own note is hers to change.
    assert (await ann.write({"kind": "note.edit", "note": anns, "text": "v2"}))["t"] == "ack"
    assert (await ann.write({"kind": "note.delete", "note": anns}))["t"] == "ack"


async def test_facilitator_moderates_others_notes_but_does_not_delete_them(server):
    """Facilitators reword and hide other people's notes (the log keeps the original
    wording and who changed it); deleting stays the author's own right."""
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann = await ev.participant()
    note = (await ann.add_note("mine"))["seq"]
    reply = await fac.write({"kind": "note.delete", "note": note})
    assert (reply["t"], reply["code"]) == ("error", "forbidden"), reply
    edited = await fac.write({"kind": "note.edit", "note": note, "text": "the facilitator's words"})
    assert edited["t"] == "ack", edited
    assert (await fac.write({"kind": "note.hide", "note": note}))["t"] == "ack"
    state = await live_state(server.runtime, ev.id)
    assert state.notes[note].text == "the facilitator's words"
    assert state.notes[note].author == ann.welcome["you"]
    assert state.notes[note].edited_by == fac.welcome["you"]
    assert state.notes[note].hidden is True
    async with server.runtime.db.read() as conn:
        from plenary.db import store

        log = await store.read_ops(conn, ev.id, 0)
    assert [op.data["text"] for op in log if op.seq == note] == ["mine"]


@pytest.mark.parametrize("role", ["participant", "facilitator"])
async def test_a_token_for_one_event_cannot_reach_another(server, role):
    a = await new_event(server, "Event A")
    b = await new_event(server, "Event B")
    b_participant = await b.participant("Bea")
    b_observer = await b.observer()
    # Put notes in B whose ids A has no note for, then give A the same ids' neighbours.
    b_notes = [(await b_participant.add_note(f"B note {i}"))["seq"] for i in range(6)]
    b_before = await live_state(server.runtime, b.id)
    b_log = await log_ops(server.runtime, b.id)

    attacker = await (a.facilitator() if role == "facilitator" else a.participant("Al"))
    assert attacker.welcome is not None and attacker.welcome["event"] == a.id
    a_seq = await a.seq()
    foreign = [n for n in b_notes if n > a_seq]
    assert foreign, "B has note ids A does not"
    for note in foreign:
        for command in (
            {"kind": "note.edit", "note": note, "text": "from A"},
            {"kind": "note.delete", "note": note},
            {"kind": "note.hide", "note": note},
            {"kind": "note.unhide", "note": note},
        ):
            reply = await attacker.write(command)
            assert reply["t"] == "error", (command, reply)
            assert reply["code"] in {"not_found", "forbidden"}, reply

    # A's own writes land in A only, and B's clients see none of them.
    a_acks = [await attacker.add_note(f"A note {i}") for i in range(5)]
    assert all(ack["t"] == "ack" for ack in a_acks)
    marker = await b_participant.add_note("B marker")
    assert marker["seq"] == b_before.seq + 1
    for c in (b_participant, b_observer):
        await c.wait_for_seq(marker["seq"])
        assert_gapless(c, 1, marker["seq"])
        assert not any("A note" in str(op["data"]) for op in c.ops)
    b_log_after = await log_ops(server.runtime, b.id)
    assert b_log_after[:-1] == b_log
    assert [op.to_wire() for op in b_log_after] == b_observer.ops
    b_after = await live_state(server.runtime, b.id)
    for note in b_notes:
        assert b_after.notes[note] == b_before.notes[note]
    await attacker.wait_for_seq(a_acks[-1]["seq"])
    assert not any("B note" in str(op["data"]) for op in attacker.ops)
    await assert_log_matches_state(server.runtime, a.id)
    await assert_log_matches_state(server.runtime, b.id)


async def test_facilitator_key_opens_only_its_own_event(server):
    a = await new_event(server, "Event A")
    b = await new_event(server, "Event B")
    wrong = await server.http.post(
        "/api/facilitate", json={"event": b.id, "key": a.created["facilitator_key"]}
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorised"


async def test_a_removed_participant_is_signed_out_everywhere(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    joined = await ev.join(name="Mallory", group="GP")
    mallory_id, token = joined["participant"], joined["token"]
    phone = await server.client(token)
    laptop = await server.client(token)
    ann = await ev.participant()
    kept = (await phone.add_note("written before the removal"))["seq"]
    await _ok(fac, {"kind": "writer.set", "participant": mallory_id, "writer": True})
    for c in (phone, laptop):
        await c.wait_closed()
    phone = await server.client(token)

    # Only a facilitator may remove, and only someone who is there.
    refused = await ann.write({"kind": "participant.remove", "participant": mallory_id})
    assert refused["code"] == "forbidden"
    missing = await fac.write({"kind": "participant.remove", "participant": "p_nobody"})
    assert missing["code"] == "not_found"

    removed = await _ok(fac, {"kind": "participant.remove", "participant": mallory_id})
    await phone.wait_closed()
    told = [f for f in phone.frames if f["t"] == "error" and f["code"] == "unauthorised"]
    assert told and "removed" in told[-1]["message"]
    # The same token is refused at the handshake, with the code that says: do not retry.
    ws = await raw_connect(server)
    await ws.send(pack({"t": "hello", "token": token, "since": 0}))
    frames, code = await read_until_closed(ws)
    assert code == 4001
    assert [f["code"] for f in frames] == ["unauthorised"]
    # The room no longer lists them, nor does the writing team; their note stays.
    await fac.wait_for_seq(removed)
    room = await ev.observer(since=removed + 5)  # ahead of the server: a snapshot
    await room.wait_for_seq(removed)
    state = room.snapshot["state"]
    assert mallory_id not in {p["id"] for p in state["participants"]}
    assert state["writers"] == []
    assert kept in {n["id"] for n in state["notes"]}
    again_removed = await fac.write({"kind": "participant.remove", "participant": mallory_id})
    assert again_removed["code"] == "conflict"
    await assert_log_matches_state(server.runtime, ev.id)


async def _ok(client, op):
    reply = await client.write(op)
    assert reply["t"] == "ack", reply
    return reply["seq"]
