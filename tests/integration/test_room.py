"""Running the room over websockets, on both backends: a facilitator builds the agenda,
opens a round, participants post into it, the facilitator merges and themes; every screen
follows live, and what each role may see and do holds."""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
from plenary.domain.model import ActivityStatus, Role
from plenary.domain.views import state_view

from .helpers import assert_log_matches_state, live_state, log_ops, new_event, wait_frames


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
    # Facilitators' view of names did not change, so their ops stay good to replay.
    facilitator_view = await ev.facilitator(since=0)
    await facilitator_view.wait_for_seq(changed)
    assert facilitator_view.snapshot is None
    joined = [op for op in facilitator_view.ops if op["kind"] == "participant.joined"]
    assert [op["data"]["name"] for op in joined] == ["Ann"]


async def test_a_vote_runs_end_to_end_and_its_limits_hold(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann_token = (await ev.join(name="Ann", group="GP"))["token"]
    ann_phone = await server.client(ann_token)
    ann_laptop = await server.client(ann_token)  # the same person on a second device
    bob = await ev.participant("Bob", "Resident")
    obs = await ev.observer()

    round_ = await _ok(fac, {"kind": "activity.add", "type": "notes", "prompt": "Ideas?"})
    await _ok(fac, {"kind": "activity.set_status", "activity": round_, "status": "open"})
    await _ok(fac, {"kind": "activity.set_current", "activity": round_})
    n1 = (await bob.add_note("night buses"))["seq"]
    n2 = (await bob.add_note("cycle lanes"))["seq"]
    vote = await _ok(
        fac,
        {
            "kind": "activity.add",
            "type": "vote",
            "prompt": "Which matter most?",
            "vote": {"round": round_, "budget": 3, "cap": 2, "results": "on_close"},
        },
    )
    await _refused(ann_phone, {"kind": "dot.add", "vote": vote, "item": n1}, "conflict")
    await _ok(fac, {"kind": "activity.set_status", "activity": vote, "status": "open"})
    await _refused(fac, {"kind": "dot.add", "vote": vote, "item": n1}, "forbidden")
    await _refused(obs, {"kind": "dot.add", "vote": vote, "item": n1}, "forbidden")

    # Ann spends from both devices at once: 8 attempts at a budget of 3, cap 2 per item.
    attempts = [
        device.write({"kind": "dot.add", "vote": vote, "item": item})
        for device in (ann_phone, ann_laptop)
        for item in (n1, n1, n2, n2)
    ]
    replies = await asyncio.gather(*attempts)
    accepted = [r for r in replies if r["t"] == "ack"]
    assert len(accepted) == 3, replies
    assert all(r["code"] == "conflict" for r in replies if r["t"] == "error")
    # A retry of an accepted dot, from either device (op ids belong to the person), is
    # the same dot, not a fourth one.
    first = next(r for r in replies if r["t"] == "ack")
    again = await ann_phone.write({"kind": "dot.add", "vote": vote, "item": n1}, op_id=first["id"])
    assert (again["t"], again["dup"], again["seq"]) == ("ack", True, first["seq"]), again
    await _ok(bob, {"kind": "dot.add", "vote": vote, "item": n2})

    state = await live_state(server.runtime, ev.id)
    ann_id = ann_phone.welcome["you"]
    assert state.spent[(vote, ann_id)] == 3
    assert all(count <= 2 for (v, who, _), count in state.dots.items() if who == ann_id)

    # Ann's devices both know what she has left; nobody received a dot.
    for device in (ann_phone, ann_laptop):
        (latest,) = (await wait_frames(device, lambda f: f["t"] == "mine" and f["remaining"] == 0))[
            -1:
        ]
        assert sum(d["count"] for d in latest["dots"]) == 3
    # Results are hidden until the vote closes: the facilitator sees tallies, the room not.
    (tally,) = (
        await wait_frames(
            fac, lambda f: f["t"] == "tally" and sum(i["total"] for i in f["results"]["items"]) == 4
        )
    )[-1:]
    assert {i["item"]: i["by_group"] for i in tally["results"]["items"]}[n2]["Resident"] == 1
    assert not [f for f in obs.frames if f["t"] == "tally"]

    await _ok(fac, {"kind": "activity.set_status", "activity": vote, "status": "closed"})
    await _refused(bob, {"kind": "dot.add", "vote": vote, "item": n1}, "conflict")
    await _refused(bob, {"kind": "dot.remove", "vote": vote, "item": n2}, "conflict")
    (closed,) = (await wait_frames(obs, lambda f: f["t"] == "tally"))[-1:]
    assert sum(i["total"] for i in closed["results"]["items"]) == 4

    final = await ev.seq()
    for c in (fac, ann_phone, ann_laptop, bob, obs):
        await c.wait_for_seq(final)
        assert not [op for op in c.ops if op["kind"].startswith("dot.")], "a dot was broadcast"
    log = await log_ops(server.runtime, ev.id)
    assert sum(op.kind == "dot.added" for op in log) == 4
    await assert_log_matches_state(server.runtime, ev.id)
    # Tallies were coalesced: far fewer than one per dot and status change.
    assert len([f for f in fac.frames if f["t"] == "tally"]) <= 6
