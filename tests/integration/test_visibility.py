"""What changes visibility after the fact, on both backends: a hidden note's text never
reaches a screen that resumes from before the hide, and the facilitator who tightens
anonymity gets the ack of that write before being told to resync."""

from __future__ import annotations

from typing import Any

from .helpers import new_event, wait_frames


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(set(), *map(_strings, value.values()))
    if isinstance(value, list):
        return set().union(set(), *map(_strings, value))
    return set()


async def test_a_screen_connecting_from_0_after_a_hide_never_gets_the_text(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann = await ev.participant()
    secret = "ann's phone number is 0123"
    note = (await ann.add_note(secret))["seq"]
    await ann.add_note("a note that stays")
    hidden = (await fac.write({"kind": "note.hide", "note": note}))["seq"]
    assert hidden > note

    for screen in (await ev.participant("Bob"), await ev.observer(since=0)):
        await screen.wait_for_seq(hidden)
        received = set().union(*(_strings(f) for f in screen.frames))
        assert "a note that stays" in received
        assert secret not in received, "the window replayed note.added as it was"
        assert screen.snapshot is not None
    # Facilitators see hidden notes: their catch-up may still come from the window.
    again = await ev.facilitator(since=0)
    await again.wait_for_seq(hidden)
    assert secret in set().union(*(_strings(f) for f in again.frames))


async def test_the_facilitator_who_hides_names_gets_the_ack_before_the_resync(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    await ev.participant("Ann")
    await fac.wait_for_seq(await ev.seq())
    # Sent raw (Client.write would wait for the ack): the close must follow the ack.
    await fac.send(
        {"t": "write", "id": "tighten", "op": {"kind": "event.update", "anonymity": "nobody"}}
    )
    await fac.wait_closed()
    kinds = [(f["t"], f.get("id")) for f in fac.frames]
    assert ("ack", "tighten") in kinds, kinds
    assert kinds.index(("ack", "tighten")) < kinds.index(("resync", None)), kinds
    assert kinds[-1] == ("resync", None), "nothing after the resync"
    assert "privacy" in fac.frames[-1]["reason"]


async def test_the_room_does_not_see_the_dots_of_a_group_of_one(server):
    ev = await new_event(server)  # groups GP, Resident, Voluntary sector
    fac = await ev.facilitator()
    ann = await ev.participant("Ann", "GP")  # the only GP
    for i in range(3):
        await ev.join(f"Resident {i}", "Resident")
    vol = [await ev.participant(f"Volunteer {i}", "Voluntary sector") for i in range(4)]
    obs = await ev.observer()

    async def ok(client: Any, op: dict[str, Any]) -> int:
        reply = await client.write(op)
        assert reply["t"] == "ack", (op, reply)
        return int(reply["seq"])

    round_ = await ok(fac, {"kind": "activity.add", "type": "notes", "prompt": "Ideas?"})
    await ok(fac, {"kind": "activity.set_status", "activity": round_, "status": "open"})
    await ok(fac, {"kind": "activity.set_current", "activity": round_})
    note = (await vol[0].add_note("night buses"))["seq"]
    vote = await ok(
        fac,
        {"kind": "activity.add", "type": "vote", "prompt": "Which?", "vote": {"round": round_}},
    )
    await ok(fac, {"kind": "activity.set_status", "activity": vote, "status": "open"})
    await ok(ann, {"kind": "dot.add", "vote": vote, "item": note})
    await ok(vol[1], {"kind": "dot.add", "vote": vote, "item": note})

    def both_counted(f: dict[str, Any]) -> bool:
        return f["t"] == "tally" and sum(f["results"]["dots_by_group"].values()) == 2

    (room_tally,) = (await wait_frames(obs, both_counted))[-1:]
    (full_tally,) = (await wait_frames(fac, both_counted))[-1:]
    assert full_tally["results"]["dots_by_group"] == {"GP": 1, "Voluntary sector": 1}
    # GP (1 person) folds with the smallest other group, Resident (3), whose dots are 0.
    assert room_tally["results"]["dots_by_group"] == {"(other groups)": 1, "Voluntary sector": 1}
    assert room_tally["results"]["groups"] == ["(other groups)", "Voluntary sector"]
    assert "GP" not in _strings(room_tally)
    # A screen connecting now gets the same: the standing frames are folded too.
    late = await ev.observer()
    (welcome_tally,) = (await wait_frames(late, both_counted))[-1:]
    assert welcome_tally["results"] == room_tally["results"]
