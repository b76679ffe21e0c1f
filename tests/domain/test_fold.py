"""``apply`` and ``fold``: how ops change state, and that replaying a log rebuilds it."""

from __future__ import annotations

import msgpack
import pytest
from immutables import Map
from plenary.domain.commands import AddNote, DeleteNote, EditNote, HideNote, UnhideNote
from plenary.domain.fold import (
    EventChanged,
    NoteChanged,
    NoteRemoved,
    ParticipantChanged,
    UnknownOp,
    apply,
    fold,
)
from plenary.domain.model import EventState, Note, Op, Participant

from . import (
    AT,
    EVENT_ID,
    FACILITATOR,
    OTHER_PARTICIPANT,
    PARTICIPANT,
    created,
    step,
    with_notes,
)


def _op(state: EventState, kind: str, by: str, **data: object) -> Op:
    return Op(seq=state.seq + 1, kind=kind, by=by, at=AT, data=dict(data))


def _long_log() -> tuple[EventState, list[Op]]:
    state, ops, ids = with_notes()
    for actor, cmd in (
        (PARTICIPANT, EditNote(ids["p1"], "edited once")),
        (PARTICIPANT, EditNote(ids["p1"], "edited twice")),
        (FACILITATOR, UnhideNote(ids["hidden"])),
        (OTHER_PARTICIPANT, DeleteNote(ids["p2"])),
        (FACILITATOR, HideNote(ids["f1"])),
        (OTHER_PARTICIPANT, AddNote("second thoughts", "green")),
    ):
        state, op = step(state, actor, cmd)
        ops.append(op)
    return state, ops


# -- sequence numbers --------------------------------------------------------------------------


def test_empty_fold_is_an_empty_event() -> None:
    assert fold(EVENT_ID, []) == EventState(id=EVENT_ID)
    assert EventState(id=EVENT_ID).seq == 0


def test_seq_increments_by_one_per_op() -> None:
    state, ops = _long_log()
    assert [op.seq for op in ops] == list(range(1, len(ops) + 1))
    assert state.seq == len(ops)


@pytest.mark.parametrize("offset", [0, 2, -1])
def test_out_of_order_op_is_refused(offset: int) -> None:
    state, _ = created()
    op = Op(state.seq + offset, "note.added", PARTICIPANT.id, AT, {"text": "x", "colour": None})
    with pytest.raises(ValueError, match=f"op {op.seq} applied to state at {state.seq}"):
        apply(state, op)


def test_unknown_kind_raises_unknown_op() -> None:
    state, _ = created()
    with pytest.raises(UnknownOp, match=r"dots\.placed"):
        apply(state, _op(state, "dots.placed", FACILITATOR.id))
    assert issubclass(UnknownOp, ValueError)


# -- each op kind -------------------------------------------------------------------------------


def test_event_created() -> None:
    state = EventState(id=EVENT_ID)
    op = _op(state, "event.created", "system", title="T", groups=["A", "B"], code="ABC346")
    new, effects = apply(state, op)
    assert (new.seq, new.title, new.groups, new.code) == (1, "T", ("A", "B"), "ABC346")
    assert len(effects) == 1
    assert isinstance(effects[0], EventChanged)
    assert effects[0].state.title == "T"
    assert effects[0].state.groups == ("A", "B")
    assert effects[0].state.code == "ABC346"


def test_participant_joined() -> None:
    state, _ = created()
    data = {"participant": "p_9", "name": None, "group": "Staff", "table": "T2"}
    op = _op(state, "participant.joined", "p_9", **data)
    new, effects = apply(state, op)
    expected = Participant("p_9", None, "Staff", "T2", joined_seq=op.seq)
    assert new.participants["p_9"] == expected
    assert effects == [ParticipantChanged(expected)]
    assert len(new.participants) == len(state.participants) + 1


def test_note_added_by_participant_takes_their_group_and_table() -> None:
    state, _ = created()
    op = _op(state, "note.added", PARTICIPANT.id, text="hi", colour="blue")
    new, effects = apply(state, op)
    note = Note(op.seq, PARTICIPANT.id, "Staff", "T1", "hi", "blue", False, op.seq, op.seq)
    assert new.notes[op.seq] == note
    assert effects == [NoteChanged(note)]


def test_note_added_by_facilitator_has_no_group() -> None:
    state, _ = created()
    new, _ = apply(state, _op(state, "note.added", FACILITATOR.id, text="hi", colour=None))
    note = new.notes[state.seq + 1]
    assert (note.author, note.group, note.table) == (FACILITATOR.id, None, None)


def test_note_id_is_the_seq_of_its_op() -> None:
    state, ops, ids = with_notes()
    for op in ops:
        if op.kind == "note.added":
            assert state.notes[op.seq].id == op.seq
            assert state.notes[op.seq].created_seq == op.seq
    assert set(ids.values()) <= set(state.notes)


def test_note_edited_keeps_author_created_seq_and_hidden() -> None:
    state, _, ids = with_notes()
    before = state.notes[ids["hidden"]]
    op = _op(state, "note.edited", PARTICIPANT.id, note=ids["hidden"], text="new")
    new, effects = apply(state, op)
    after = new.notes[ids["hidden"]]
    assert after.text == "new"
    assert after.updated_seq == op.seq
    assert (after.author, after.created_seq, after.hidden) == (
        before.author,
        before.created_seq,
        True,
    )
    assert effects == [NoteChanged(after)]


@pytest.mark.parametrize(("kind", "hidden"), [("note.hidden", True), ("note.unhidden", False)])
def test_hide_and_unhide(kind: str, hidden: bool) -> None:
    state, _, ids = with_notes()
    target = ids["p1"] if hidden else ids["hidden"]
    op = _op(state, kind, FACILITATOR.id, note=target)
    new, effects = apply(state, op)
    note = new.notes[target]
    assert note.hidden is hidden
    assert note.updated_seq == op.seq
    assert note.text == state.notes[target].text
    assert note.author == state.notes[target].author  # hiding does not make it the facilitator's
    assert effects == [NoteChanged(note)]


def test_note_deleted() -> None:
    state, _, ids = with_notes()
    op = _op(state, "note.deleted", PARTICIPANT.id, note=ids["hidden"])
    new, effects = apply(state, op)
    assert ids["hidden"] not in new.notes
    assert len(new.notes) == len(state.notes) - 1
    assert effects == [NoteRemoved(ids["hidden"])]


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("note.edited", {"text": "zombie"}),
        ("note.hidden", {}),
        ("note.unhidden", {}),
        ("note.deleted", {}),
    ],
)
def test_ops_on_a_deleted_note_raise_key_error(kind: str, data: dict[str, object]) -> None:
    """``decide`` refuses these (not_found); a log that has them anyway is corrupt."""
    state, _, ids = with_notes()
    state, _ = apply(state, _op(state, "note.deleted", PARTICIPANT.id, note=ids["p1"]))
    with pytest.raises(KeyError):
        apply(state, _op(state, kind, PARTICIPANT.id, note=ids["p1"], **data))


def test_apply_does_not_recheck_rules() -> None:
    """Hiding a hidden note is refused by ``decide``; ``apply`` only records what was decided."""
    state, _, ids = with_notes()
    new, _ = apply(state, _op(state, "note.hidden", FACILITATOR.id, note=ids["hidden"]))
    assert new.notes[ids["hidden"]].hidden
    assert new.notes[ids["hidden"]].updated_seq == new.seq


def test_apply_leaves_the_previous_state_untouched() -> None:
    state, _, ids = with_notes()
    before_wire = state.to_wire()
    new, _ = apply(state, _op(state, "note.deleted", PARTICIPANT.id, note=ids["p1"]))
    assert ids["p1"] in state.notes
    assert ids["p1"] not in new.notes
    assert state.to_wire() == before_wire


# -- fold ------------------------------------------------------------------------------------------


def test_fold_equals_applying_step_by_step() -> None:
    live, ops = _long_log()
    assert fold(EVENT_ID, ops) == live
    assert fold(EVENT_ID, ops).to_wire() == live.to_wire()


def test_fold_resumes_from_any_prefix() -> None:
    """Zulip's test: applying the rest of the log to a stale copy equals a fresh fold."""
    live, ops = _long_log()
    for cut in range(len(ops) + 1):
        stale = fold(EVENT_ID, ops[:cut])
        assert stale.seq == cut
        assert fold(EVENT_ID, ops[cut:], stale) == live


def test_fold_is_deterministic() -> None:
    _, ops = _long_log()
    first, second = fold(EVENT_ID, ops), fold(EVENT_ID, list(ops))
    assert first == second
    assert msgpack.packb(first.to_wire()) == msgpack.packb(second.to_wire())


def test_fold_of_a_log_with_a_gap_raises() -> None:
    _, ops = _long_log()
    with pytest.raises(ValueError, match="applied to state at"):
        fold(EVENT_ID, ops[:3] + ops[4:])


def test_fold_of_ops_read_back_from_the_wire() -> None:
    """The log as the database and the bus carry it: msgpack bytes, then ``Op.from_wire``."""
    live, ops = _long_log()
    decoded = [Op.from_wire(msgpack.unpackb(msgpack.packb(op.to_wire()))) for op in ops]
    assert decoded == ops
    assert fold(EVENT_ID, decoded) == live


def test_effects_describe_the_projection_rows() -> None:
    """Applying every effect to a dict 'database' gives the same rows as the final state."""
    _, ops = _long_log()
    state = EventState(id=EVENT_ID)
    participants: dict[str, Participant] = {}
    notes: dict[int, Note] = {}
    title = None
    for op in ops:
        state, effects = apply(state, op)
        for effect in effects:
            match effect:
                case EventChanged(state=s):
                    title = s.title
                case ParticipantChanged(participant=p):
                    participants[p.id] = p
                case NoteChanged(note=n):
                    notes[n.id] = n
                case NoteRemoved(note_id=i):
                    del notes[i]
    assert title == state.title
    assert Map(participants) == state.participants
    assert Map(notes) == state.notes


def test_to_wire_orders_participants_and_notes() -> None:
    live, _ = _long_log()
    wire = live.to_wire()
    assert [p["id"] for p in wire["participants"]] == sorted(live.participants)
    assert [n["id"] for n in wire["notes"]] == sorted(live.notes)
    assert wire["seq"] == live.seq
    assert wire["groups"] == ["Staff", "Guests"]
