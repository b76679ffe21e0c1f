"""Running the room over websockets, on both backends: a facilitator builds the agenda,
opens a round, participants post into it, the facilitator merges and themes; every screen
follows live, and what each role may see and do holds."""

from __future__ import annotations

from typing import Any

import msgpack
from plenary.domain.model import ActivityStatus, Role
from plenary.domain.views import state_view

from .helpers import assert_log_matches_state, live_state, new_event, wait_frames


async def _ok(client: Any, op: dict[str, Any]) -> int:
    reply = await client.write(op)
    assert reply["t"] == "ack", (op, reply)
    return int(reply["seq"])


async def _refused(client: Any, op: dict[str, Any], code: str) -> None:
    reply = await client.write(op)
    assert (reply["t"], reply.get("code")) == ("error", code), (op, reply)


async def test_a_round_runs_end_to_end(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann = await ev.participant("Ann", "GP")
    bob = await ev.participant("Bob", "Resident")
    obs = await ev.observer()

    round_ = await _ok(fac, {"kind": "activity.add", "type": "notes", "prompt": "What works?"})
    later = await _ok(fac, {"kind": "activity.add", "type": "notes", "prompt": "What next?"})
    # A draft round takes no notes from participants, and with rounds on the agenda but
    # none current there is nowhere to post.
    await _refused(ann, {"kind": "note.add", "text": "too early", "round": round_}, "conflict")
    await _refused(ann, {"kind": "note.add", "text": "nowhere"}, "conflict")
    await _ok(fac, {"kind": "activity.move", "activity": later, "position": 0})
    await _ok(fac, {"kind": "activity.set_status", "activity": round_, "status": "open"})
    await _ok(fac, {"kind": "activity.set_current", "activity": round_})
    timer = await _ok(fac, {"kind": "activity.set_timer", "activity": round_, "seconds": 300})

    a1 = (await ann.add_note("night buses"))["seq"]
    b1 = (await bob.add_note("buses at night"))["seq"]
    b2 = (await bob.add_note("safer cycle lanes"))["seq"]
    merged = await _ok(fac, {"kind": "note.merge", "notes": [a1, b1], "text": "Night buses"})
    theme = await _ok(fac, {"kind": "theme.add", "round": round_, "name": "Transport"})
    await _ok(fac, {"kind": "note.set_theme", "note": merged, "theme": theme})
    await _ok(fac, {"kind": "theme.rename", "theme": theme, "name": "Getting around"})

    # Participants and observers may do none of the facilitator's work.
    for who in (ann, obs):
        await _refused(who, {"kind": "theme.add", "round": round_, "name": "Mine"}, "forbidden")
        await _refused(
            who,
            {"kind": "activity.set_status", "activity": round_, "status": "closed"},
            "forbidden",
        )
    await _refused(obs, {"kind": "note.add", "text": "an observer's note"}, "forbidden")

    await _ok(fac, {"kind": "activity.set_status", "activity": round_, "status": "closed"})
    # A closed round is read-only for participants.
    await _refused(ann, {"kind": "note.add", "text": "late", "round": round_}, "conflict")
    await _refused(bob, {"kind": "note.edit", "note": b2, "text": "changed"}, "conflict")
    await _refused(bob, {"kind": "note.delete", "note": b2}, "conflict")

    final = await ev.seq()
    for c in (fac, ann, bob, obs):
        await c.wait_for_seq(final)
    state = await live_state(server.runtime, ev.id)
    assert state.agenda == (later, round_)
    assert state.current == round_
    assert state.activities[round_].status is ActivityStatus.CLOSED
    ends_at = state.activities[round_].ends_at
    timer_op = next(op for op in fac.ops if op["seq"] == timer)
    assert ends_at == timer_op["at"] + 300_000, "the countdown is the server's, not a phone's"
    assert state.notes[merged].merged_from == (a1, b1)
    assert state.notes[merged].groups == ("GP", "Resident")
    assert state.notes[a1].merged_into == merged and not state.notes[a1].live
    assert state.notes[merged].theme == theme
    assert state.themes[theme].name == "Getting around"
    assert {n.round for n in state.notes.values()} == {round_}

    # Every screen got every op, the same for every participant and observer.
    assert ann.ops == bob.ops == obs.ops
    assert [op["seq"] for op in obs.ops] == list(range(1, final + 1))
    await assert_log_matches_state(server.runtime, ev.id)

    # A screen that arrives late catches up on the same ops from the window; one too far
    # behind for it gets the room as it is.
    late = await ev.observer(since=0)
    await late.wait_for_seq(final)
    assert late.ops == obs.ops
    assert (await ev.observer(since=final + 5)).welcome["resume"] == "snapshot"
    ahead = server.runtime.hubs._hubs[ev.id].catchup_frames(final + 5, final, Role.OBSERVER)
    assert ahead[0] == "snapshot"
    snapshot = msgpack.unpackb(ahead[1][0], raw=False)
    assert snapshot["state"] == state_view(state, Role.OBSERVER)


async def test_archived_activities_are_locked_until_reopened(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann = await ev.participant()
    round_ = await _ok(fac, {"kind": "activity.add", "type": "notes", "prompt": "Ideas?"})
    await _ok(fac, {"kind": "activity.set_status", "activity": round_, "status": "open"})
    note = (await ann.write({"kind": "note.add", "text": "an idea", "round": round_}))["seq"]
    await _ok(fac, {"kind": "activity.set_status", "activity": round_, "status": "closed"})
    await _ok(fac, {"kind": "activity.set_status", "activity": round_, "status": "archived"})
    await _refused(fac, {"kind": "note.hide", "note": note}, "conflict")
    await _refused(fac, {"kind": "theme.add", "round": round_, "name": "Late"}, "conflict")
    await _refused(
        fac, {"kind": "activity.set_status", "activity": round_, "status": "archived"}, "conflict"
    )
    await _ok(fac, {"kind": "activity.set_status", "activity": round_, "status": "open"})
    await _ok(ann, {"kind": "note.edit", "note": note, "text": "a better idea"})


async def test_stricter_anonymity_takes_names_off_the_screens_that_had_them(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    await ev.participant("Ann", "GP")
    obs = await ev.observer()
    await obs.wait_for_seq(await ev.seq())
    joined = [op for op in obs.ops if op["kind"] == "participant.joined"]
    assert [op["data"]["name"] for op in joined] == ["Ann"]

    changed = await _ok(fac, {"kind": "event.update", "anonymity": "facilitators"})
    (resync,) = await wait_frames(obs, lambda f: f["t"] == "resync")
    assert "privacy" in resync["reason"]
    await obs.wait_closed()
    # The facilitator still sees names and stays connected.
    await fac.wait_for_seq(changed)
    assert fac.close_code is None

    again = await ev.observer(since=obs.last_seq)
    await again.wait_for_seq(changed)
    assert again.snapshot is not None, "a snapshot, not a replay of ops that had names"
    names = {p["name"] for p in again.snapshot["state"]["participants"]}
    assert names == {None}
    facilitator_view = await ev.facilitator(since=0)
    await facilitator_view.wait_for_seq(changed)
    assert facilitator_view.snapshot is not None
    assert {p["name"] for p in facilitator_view.snapshot["state"]["participants"]} == {"Ann"}
