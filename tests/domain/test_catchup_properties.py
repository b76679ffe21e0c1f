"""Property test: resuming from any seq through the hub's window equals a fresh snapshot,
and never shows an audience a note's text or a name it may not see now.

Random sessions of posts, edits (by authors and facilitators), deletes, hides, unhides,
merges and anonymity changes are decided and applied as ``Hub.write`` does, fed into a
real ``Hub`` (ingest only: no database, no bus), and for every audience and every
``since`` the catch-up frames are folded onto the audience's snapshot at ``since`` — a
stale copy — by a small reducer written after the client's (client/src/core/store.ts).

What counts as "may not see": the text of a note that is hidden (to all but
facilitators) or deleted (to everyone), a note's old wording once it was edited (to all
but facilitators, who keep the original: views.stale_below), and participants' names when
the anonymity setting hides them from the audience. Merged originals stay on every
screen, with their text, so a merge hides nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plenary.domain.commands import (
    AddNote,
    Command,
    CreateEvent,
    DeleteNote,
    EditNote,
    HideNote,
    Join,
    MergeNotes,
    UnhideNote,
    UpdateEvent,
)
from plenary.domain.fold import apply
from plenary.domain.model import SYSTEM_ACTOR, Actor, EventState, JsonDict, Op, Role
from plenary.domain.rules import Decision, Limits, decide
from plenary.domain.views import sees_hidden, sees_names, state_view
from plenary.realtime.hub import AUDIENCES, Hub

from . import AT, EVENT_ID

LIMITS = Limits()
FACILITATOR = Actor("f_1", Role.FACILITATOR)
PEOPLE = (Actor("p_1", Role.PARTICIPANT), Actor("p_2", Role.PARTICIPANT), FACILITATOR)
ANONYMITY = ("everyone", "facilitators", "nobody")
_KINDS = ["join", "add", "add", "add", "edit", "edit", "delete", "hide", "hide", "unhide"]
_KINDS += ["merge", "anonymity"]


def _name(pid: str) -> str:
    return f"name of {pid}"


def _session(data: st.DataObject) -> list[Op]:
    """An event, two participants joined, then random note writes (only accepted ones
    become ops: refusals are dropped, as the hub does)."""
    state = EventState(id=EVENT_ID)
    ops: list[Op] = []
    texts = iter(range(1, 10_000))

    def write(actor: Actor | None, command: Command, by: str = SYSTEM_ACTOR) -> None:
        nonlocal state
        decision = decide(state, actor, command, LIMITS)
        if not isinstance(decision, Decision):
            return
        op = Op(
            state.seq + 1, decision.kind, actor.id if actor else by, AT + state.seq, decision.data
        )
        state, _ = apply(state, op)
        ops.append(op)

    write(None, CreateEvent("Town hall", (), "ABC346"))
    start = data.draw(st.sampled_from(ANONYMITY), label="anonymity at start")
    write(FACILITATOR, UpdateEvent(anonymity=start))
    for step in range(data.draw(st.integers(1, 14), label="steps")):
        kind = data.draw(
            st.sampled_from(_KINDS),
            label=f"kind {step}",
        )
        actor = data.draw(st.sampled_from(PEOPLE), label=f"actor {step}")
        notes = sorted(state.notes)
        note = data.draw(st.sampled_from(notes), label=f"note {step}") if notes else 1
        # Unique texts, so that "this text was received" is exact.
        text = f"text-{next(texts)}"
        match kind:
            case "join":
                pid = data.draw(st.sampled_from(["p_1", "p_2"]), label=f"who {step}")
                write(None, Join(pid, _name(pid), None, None), by=pid)
            case "add":
                write(actor, AddNote(text))
            case "edit":
                write(actor, EditNote(note, text))
            case "delete":
                write(actor, DeleteNote(note))
            case "hide":
                write(FACILITATOR, HideNote(note))
            case "unhide":
                write(FACILITATOR, UnhideNote(note))
            case "merge":
                picked = data.draw(st.lists(st.sampled_from(notes or [1]), min_size=2, max_size=3))
                write(FACILITATOR, MergeNotes(tuple(picked), text))
            case _:
                level = data.draw(st.sampled_from(ANONYMITY), label=f"anonymity {step}")
                write(FACILITATOR, UpdateEvent(anonymity=level))
    return ops


# -- a client: the ops as a screen applies them (client/src/core/store.ts) ---------------


def _upsert(items: list[JsonDict], item: JsonDict, key: str) -> list[JsonDict]:
    return sorted([x for x in items if x[key] != item[key]] + [item], key=lambda x: x[key])


def _map_note(state: JsonDict, note_id: int, **changes: Any) -> None:
    state["notes"] = [{**n, **changes} if n["id"] == note_id else n for n in state["notes"]]


def _apply_view(state: JsonDict, op: JsonDict) -> None:
    d, seq = op["data"], op["seq"]
    match op["kind"]:
        case "event.created":
            state.update(title=d["title"], groups=list(d["groups"]), code=d["code"])
        case "participant.joined":
            p = {
                "id": d["participant"],
                "name": d["name"],
                "group": d["group"],
                "table": d["table"],
                "joined_seq": seq,
            }
            state["participants"] = _upsert(state["participants"], p, "id")
        case "event.updated":
            if "anonymity" in d:
                state["anonymity"] = d["anonymity"]
        case "note.added":
            author = next((p for p in state["participants"] if p["id"] == op["by"]), None)
            note = {
                "id": seq,
                "author": op["by"],
                "group": author["group"] if author else None,
                "table": author["table"] if author else None,
                "text": d["text"],
                "colour": d["colour"],
                "hidden": False,
                "created_seq": seq,
                "updated_seq": seq,
                "round": d.get("round"),
                "theme": None,
                "edited_by": None,
                "merged_into": None,
                "merged_from": [],
                "groups": [],
            }
            state["notes"] = _upsert(state["notes"], note, "id")
        case "note.edited":
            for n in state["notes"]:
                if n["id"] == d["note"]:
                    by = n["edited_by"] if op["by"] == n["author"] else op["by"]
                    _map_note(state, d["note"], text=d["text"], edited_by=by, updated_seq=seq)
        case "note.deleted":
            state["notes"] = [n for n in state["notes"] if n["id"] != d["note"]]
        case "note.hidden":
            _map_note(state, d["note"], hidden=True, updated_seq=seq)
        case "note.unhidden":
            if d.get("restored"):
                state["notes"] = _upsert(state["notes"], dict(d["restored"]), "id")
            else:
                _map_note(state, d["note"], hidden=False, updated_seq=seq)
        case "notes.merged":
            originals = [n for i in d["notes"] for n in state["notes"] if n["id"] == i]
            groups: set[str] = set()
            for n in originals:
                groups.update(n["groups"] or ([n["group"]] if n["group"] is not None else []))
            themes = {n["theme"] for n in originals}
            merged = {
                "id": seq,
                "author": op["by"],
                "group": None,
                "table": None,
                "text": d["text"],
                "colour": None,
                "hidden": False,
                "created_seq": seq,
                "updated_seq": seq,
                "round": originals[0]["round"] if originals else None,
                "theme": themes.pop() if len(themes) == 1 else None,
                "edited_by": None,
                "merged_into": None,
                "merged_from": [n["id"] for n in originals],
                "groups": sorted(groups),
            }
            for n in originals:
                _map_note(state, n["id"], merged_into=seq, updated_seq=seq)
            state["notes"] = _upsert(state["notes"], merged, "id")
        case other:
            raise AssertionError(f"the test's reducer does not know {other}")
    state["seq"] = seq


def _catch_up(stale: JsonDict, frames: list[bytes]) -> tuple[JsonDict, list[Any]]:
    state = msgpack.unpackb(msgpack.packb(stale), raw=False)  # a copy, as from the wire
    received = []
    for raw in frames:
        frame = msgpack.unpackb(raw, raw=False)
        received.append(frame)
        if frame["t"] == "snapshot":
            state = {**frame["state"], "seq": frame["seq"]}
            continue
        assert frame["t"] == "ops"
        for op in frame["ops"]:
            _apply_view(state, op)
        state["seq"] = frame["upto"]
    return state, received


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*map(_strings, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(_strings, value)) if value else set()
    return set()


def _forbidden(ops: list[Op], final: EventState, audience: Role) -> set[str]:
    """Texts and names ``audience`` may not be sent now."""
    every_text = {op.data["text"] for op in ops if "text" in op.data}
    shown = {n["text"] for n in state_view(final, audience)["notes"]}
    if sees_hidden(audience):
        # Facilitators keep a note's old wordings (the log's original); not a deleted note's.
        kept = {n.id for n in final.notes.values()}
        shown |= {
            op.data["text"]
            for op in ops
            if (op.kind == "note.added" and op.seq in kept)
            or (op.kind == "notes.merged" and op.seq in kept)
            or (op.kind == "note.edited" and op.data["note"] in kept)
        }
    names = set() if sees_names(final.anonymity, audience) else {_name(p) for p in ("p_1", "p_2")}
    return (every_text - shown) | names


def _check(ops: list[Op], window: int) -> None:
    states = [EventState(id=EVENT_ID)]
    for op in ops:
        states.append(apply(states[-1], op)[0])
    final = states[-1]

    async def run() -> None:
        hub = Hub(EVENT_ID, None, None, LIMITS, window, 0.01)  # type: ignore[arg-type]
        for op in ops:
            hub.ingest(op)
        assert hub.seq == final.seq
        for audience in AUDIENCES:
            fresh = state_view(final, audience)
            forbidden = _forbidden(ops, final, audience)
            for since in range(final.seq + 1):
                stale = state_view(states[since], audience)
                _, frames = hub.catchup_frames(since, final.seq, audience)
                got, received = _catch_up(stale, frames)
                assert got == fresh, (audience, since)
                leaked = _strings(received) & forbidden
                assert not leaked, (audience, since, leaked)
        hub.close()

    asyncio.run(run())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), window=st.sampled_from([4, 1000]))
def test_resume_from_any_seq_equals_a_fresh_snapshot_and_leaks_nothing(
    data: st.DataObject, window: int
) -> None:
    _check(_session(data), window)


def test_a_screen_resuming_from_0_after_a_hide_never_gets_the_text() -> None:
    """The issue's case, spelled out: before the fix, the window gave note.added with the
    text, then note.deleted."""
    state = EventState(id=EVENT_ID)
    ops: list[Op] = []
    for actor, command in (
        (None, CreateEvent("Town hall", (), "ABC346")),
        (FACILITATOR, AddNote("say it to my face")),
        (FACILITATOR, HideNote(2)),
    ):
        decision = decide(state, actor, command, LIMITS)
        assert isinstance(decision, Decision)
        op = Op(
            state.seq + 1, decision.kind, actor.id if actor else SYSTEM_ACTOR, AT, decision.data
        )
        state, _ = apply(state, op)
        ops.append(op)
    _check(ops, 1000)
