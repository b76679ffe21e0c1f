"""Rules for notes in rounds, moderation, merging and themes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from plenary.domain.commands import (
    AddActivity,
    AddNote,
    AddTheme,
    Command,
    DeleteNote,
    DeleteTheme,
    EditNote,
    HideNote,
    Join,
    MergeNotes,
    RenameTheme,
    SetActivityStatus,
    SetCurrentActivity,
    SetNoteTheme,
    UnhideNote,
    VoteSpec,
)
from plenary.domain.fold import ThemeRemoved, apply, fold
from plenary.domain.model import Actor, EventState, Op, Role, Theme
from plenary.domain.rules import Decision, decide
from plenary.errors import Code, Rejection

from . import EVENT_ID, FACILITATOR, LIMITS, OTHER_PARTICIPANT, PARTICIPANT, created, step

THIRD = Actor("p_3", Role.PARTICIPANT)
OTHER_FACILITATOR = Actor("f_2", Role.FACILITATOR)


def _decide(state: EventState, actor: Actor, command: Command) -> Decision | Rejection:
    return decide(state, actor, command, LIMITS)


class Room:
    """A state built through the rules, with the ops and the ids of what was made."""

    def __init__(self) -> None:
        self.state, self.ops = created(("Staff", "Guests", "Board"))
        self.ids: dict[str, int] = {}
        self.do(None, Join(THIRD.id, "Third", "Board", None), by=THIRD.id)

    def do(
        self, actor: Actor | None, command: Command, name: str | None = None, by: str | None = None
    ) -> Op:
        self.state, op = step(self.state, actor, command, by=by)
        self.ops.append(op)
        if name is not None:
            self.ids[name] = op.seq
        return op


def _rounds() -> Room:
    """p_1 (Staff), p_2 (Guests), p_3 (Board); notes round ``a`` open and current with a
    note by each of them (``n1``, ``n2``, ``n3``) and one by f_1 (``nf``); notes round
    ``b`` in draft with a note ``b1`` by f_1; a draft vote ``v`` on ``a``."""
    r = Room()
    r.do(FACILITATOR, AddActivity("notes", "What is working?"), "a")
    r.do(FACILITATOR, AddActivity("notes", "What is not working?"), "b")
    r.do(FACILITATOR, AddActivity("vote", "Which matter most?", VoteSpec(r.ids["a"])), "v")
    r.do(FACILITATOR, SetActivityStatus(r.ids["a"], "open"))
    r.do(FACILITATOR, SetCurrentActivity(r.ids["a"]))
    r.do(PARTICIPANT, AddNote("more buses at night"), "n1")
    r.do(OTHER_PARTICIPANT, AddNote("safer cycle lanes"), "n2")
    r.do(THIRD, AddNote("cheaper parking"), "n3")
    r.do(FACILITATOR, AddNote("from the facilitator"), "nf")
    r.do(FACILITATOR, AddNote("a note for later", round=r.ids["b"]), "b1")
    return r


def _status(r: Room, activity: str, *path: str) -> None:
    for status in path:
        r.do(FACILITATOR, SetActivityStatus(r.ids[activity], status))


# -- AddNote in rounds ------------------------------------------------------------------------


def test_a_note_goes_to_the_current_round_by_default() -> None:
    r = _rounds()
    result = _decide(r.state, PARTICIPANT, AddNote("  night\tbuses ", "blue"))
    assert result == Decision(
        "note.added", {"text": "night\tbuses", "colour": "blue", "round": r.ids["a"]}
    )
    op = r.do(PARTICIPANT, AddNote("night buses"))
    note = r.state.notes[op.seq]
    assert (note.round, note.author, note.group, note.theme) == (r.ids["a"], "p_1", "Staff", None)


def test_a_note_can_name_its_round() -> None:
    r = _rounds()
    _status(r, "b", "open")
    result = _decide(r.state, OTHER_PARTICIPANT, AddNote("late idea", round=r.ids["b"]))
    assert result == Decision(
        "note.added", {"text": "late idea", "colour": None, "round": r.ids["b"]}
    )
    op = r.do(OTHER_PARTICIPANT, AddNote("late idea", round=r.ids["b"]))
    assert r.state.notes[op.seq].round == r.ids["b"]


@pytest.mark.parametrize("current", [None, "v"])
def test_with_rounds_on_the_agenda_but_none_current_notes_wait(current: str | None) -> None:
    r = _rounds()
    r.do(FACILITATOR, SetCurrentActivity(r.ids[current] if current else None))
    for actor in (PARTICIPANT, FACILITATOR):
        assert _decide(r.state, actor, AddNote("hello")) == Rejection(
            Code.CONFLICT, "no notes round is running; wait for the next one"
        )


def test_without_an_agenda_notes_go_on_the_open_board() -> None:
    state, _ = created()
    result = _decide(state, PARTICIPANT, AddNote("hello", "pink"))
    assert result == Decision("note.added", {"text": "hello", "colour": "pink"})
    assert isinstance(result, Decision)
    assert "round" not in result.data
    state, op = step(state, PARTICIPANT, AddNote("hello", "pink"))
    assert state.notes[op.seq].round is None


def test_a_round_on_the_agenda_closes_the_open_board() -> None:
    # One notes round in draft and none current: the board is closed to new notes.
    state, _ = created()
    state, _ = step(state, FACILITATOR, AddActivity("notes", "Later"))
    result = _decide(state, PARTICIPANT, AddNote("hello"))
    assert isinstance(result, Rejection)
    assert result.code is Code.CONFLICT


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ((), "the round is draft: notes cannot change"),
        (("open", "closed"), "the round is closed: notes cannot change"),
        (("open", "closed", "archived"), "activity {b} is archived; reopen it first"),
    ],
)
def test_participants_post_only_into_an_open_round(path: tuple[str, ...], message: str) -> None:
    r = _rounds()
    _status(r, "b", *path)
    result = _decide(r.state, PARTICIPANT, AddNote("idea", round=r.ids["b"]))
    assert result == Rejection(Code.CONFLICT, message.format(b=r.ids["b"]))


def test_participants_post_into_the_current_round_only_while_open() -> None:
    r = _rounds()
    _status(r, "a", "closed")
    assert _decide(r.state, PARTICIPANT, AddNote("idea")) == Rejection(
        Code.CONFLICT, "the round is closed: notes cannot change"
    )
    _status(r, "a", "open")
    assert isinstance(_decide(r.state, PARTICIPANT, AddNote("idea")), Decision)


@pytest.mark.parametrize("path", [(), ("open",), ("open", "closed")])
def test_facilitators_post_into_draft_open_and_closed_rounds(path: tuple[str, ...]) -> None:
    r = _rounds()
    _status(r, "b", *path)
    result = _decide(r.state, FACILITATOR, AddNote("idea", round=r.ids["b"]))
    assert result == Decision("note.added", {"text": "idea", "colour": None, "round": r.ids["b"]})


def test_facilitators_cannot_post_into_an_archived_round() -> None:
    r = _rounds()
    _status(r, "b", "open", "closed", "archived")
    result = _decide(r.state, FACILITATOR, AddNote("idea", round=r.ids["b"]))
    assert result == Rejection(Code.CONFLICT, f"activity {r.ids['b']} is archived; reopen it first")


def test_a_note_into_a_vote_or_unknown_activity_is_refused() -> None:
    r = _rounds()
    assert _decide(r.state, FACILITATOR, AddNote("x", round=r.ids["v"])) == Rejection(
        Code.INVALID, f"activity {r.ids['v']} is not a notes round"
    )
    assert _decide(r.state, FACILITATOR, AddNote("x", round=999)) == Rejection(
        Code.NOT_FOUND, "there is no activity 999"
    )


def test_a_participant_who_has_not_joined_cannot_post_into_a_round() -> None:
    r = _rounds()
    stranger = Actor("p_stranger", Role.PARTICIPANT)
    assert _decide(r.state, stranger, AddNote("x")) == Rejection(
        Code.FORBIDDEN, "you have not joined this event"
    )


# -- editing and deleting notes in rounds -----------------------------------------------------


@pytest.mark.parametrize(
    "command", [EditNote(0, "new words"), DeleteNote(0)], ids=["edit", "delete"]
)
def test_participants_change_their_own_notes_only_while_the_round_is_open(
    command: EditNote | DeleteNote,
) -> None:
    r = _rounds()
    command = replace(command, note=r.ids["n1"])
    assert isinstance(_decide(r.state, PARTICIPANT, command), Decision)
    _status(r, "a", "closed")
    assert _decide(r.state, PARTICIPANT, command) == Rejection(
        Code.CONFLICT, "the round is closed: notes cannot change"
    )
    _status(r, "a", "archived")
    assert _decide(r.state, PARTICIPANT, command) == Rejection(
        Code.CONFLICT, f"activity {r.ids['a']} is archived; reopen it first"
    )
    _status(r, "a", "open")
    assert isinstance(_decide(r.state, PARTICIPANT, command), Decision)


def test_participants_cannot_edit_others_notes_in_a_round() -> None:
    r = _rounds()
    assert _decide(r.state, PARTICIPANT, EditNote(r.ids["n2"], "mine now")) == Rejection(
        Code.FORBIDDEN, "you may only edit your own notes"
    )


@pytest.mark.parametrize("path", [(), ("closed",)])
def test_facilitators_reword_anyones_note_and_the_log_keeps_the_original(
    path: tuple[str, ...],
) -> None:
    r = _rounds()
    _status(r, "a", *path)
    edit = r.do(OTHER_FACILITATOR, EditNote(r.ids["n1"], " more buses,\nlater at night "))
    assert edit.data == {"note": r.ids["n1"], "text": "more buses,\nlater at night"}
    note = r.state.notes[r.ids["n1"]]
    assert note.text == "more buses,\nlater at night"
    assert (note.author, note.group, note.edited_by) == ("p_1", "Staff", "f_2")
    assert note.updated_seq == edit.seq
    # the op that added the note still says what its author wrote
    added = next(op for op in r.ops if op.seq == r.ids["n1"])
    assert (added.kind, added.by, added.data["text"]) == (
        "note.added",
        "p_1",
        "more buses at night",
    )
    before = fold(EVENT_ID, r.ops[: r.ops.index(edit)])
    assert before.notes[r.ids["n1"]].text == "more buses at night"
    assert before.notes[r.ids["n1"]].edited_by is None


def test_facilitators_cannot_reword_notes_in_an_archived_round() -> None:
    r = _rounds()
    _status(r, "a", "closed", "archived")
    result = _decide(r.state, FACILITATOR, EditNote(r.ids["n1"], "reworded"))
    assert isinstance(result, Rejection)
    assert result.code is Code.CONFLICT


@pytest.mark.parametrize("path", [(), ("closed",)])
def test_delete_stays_own_only_even_for_facilitators(path: tuple[str, ...]) -> None:
    r = _rounds()
    _status(r, "a", *path)
    assert _decide(r.state, FACILITATOR, DeleteNote(r.ids["n1"])) == Rejection(
        Code.FORBIDDEN, "you may only delete your own notes"
    )
    assert _decide(r.state, OTHER_FACILITATOR, DeleteNote(r.ids["nf"])) == Rejection(
        Code.FORBIDDEN, "you may only delete your own notes"
    )
    assert _decide(r.state, FACILITATOR, DeleteNote(r.ids["nf"])) == Decision(
        "note.deleted", {"note": r.ids["nf"]}
    )


@pytest.mark.parametrize("actor", [PARTICIPANT, FACILITATOR])
@pytest.mark.parametrize("text", ["more buses at night", "  more buses at night\x00 "])
def test_an_edit_that_changes_nothing_conflicts(actor: Actor, text: str) -> None:
    r = _rounds()
    assert _decide(r.state, actor, EditNote(r.ids["n1"], text)) == Rejection(
        Code.CONFLICT, "the note already says that"
    )


# -- merging ----------------------------------------------------------------------------------


def test_merge_decision() -> None:
    r = _rounds()
    result = _decide(r.state, FACILITATOR, MergeNotes((r.ids["n1"], r.ids["n2"]), " transport "))
    assert result == Decision(
        "notes.merged", {"notes": [r.ids["n1"], r.ids["n2"]], "text": "transport"}
    )


def test_merge_after_apply() -> None:
    r = _rounds()
    n1, n2, n3 = r.ids["n1"], r.ids["n2"], r.ids["n3"]
    op = r.do(FACILITATOR, MergeNotes((n3, n1, n2), "getting around"))
    merged = r.state.notes[op.seq]
    assert merged.id == op.seq
    assert merged.merged_from == (n3, n1, n2)
    assert merged.groups == ("Board", "Guests", "Staff")
    assert (merged.text, merged.author, merged.round) == ("getting around", "f_1", r.ids["a"])
    assert merged.live
    assert merged.merged_into is None
    for original in (n1, n2, n3):
        note = r.state.notes[original]
        assert note.merged_into == op.seq
        assert not note.live
        assert note.updated_seq == op.seq
    # the originals keep their words and authors
    assert (r.state.notes[n1].text, r.state.notes[n1].author) == ("more buses at night", "p_1")


def test_merge_groups_skip_notes_without_a_group() -> None:
    r = _rounds()
    op = r.do(FACILITATOR, MergeNotes((r.ids["nf"], r.ids["n2"]), "merged"))
    assert r.state.notes[op.seq].groups == ("Guests",)


def test_merging_a_merged_note_keeps_all_the_groups() -> None:
    r = _rounds()
    first = r.do(FACILITATOR, MergeNotes((r.ids["n1"], r.ids["nf"]), "buses"))
    assert r.state.notes[first.seq].groups == ("Staff",)
    second = r.do(FACILITATOR, MergeNotes((r.ids["n3"], first.seq, r.ids["n2"]), "transport"))
    again = r.state.notes[second.seq]
    assert again.groups == ("Board", "Guests", "Staff")
    assert again.merged_from == (r.ids["n3"], first.seq, r.ids["n2"])
    assert r.state.notes[first.seq].merged_into == second.seq


def test_merge_repeats_are_dropped_in_order() -> None:
    r = _rounds()
    n1, n2 = r.ids["n1"], r.ids["n2"]
    result = _decide(r.state, FACILITATOR, MergeNotes((n2, n1, n2, n1), "both"))
    assert result == Decision("notes.merged", {"notes": [n2, n1], "text": "both"})


@pytest.mark.parametrize("which", [(), ("n1",), ("n1", "n1")])
def test_merge_needs_two_different_notes(which: tuple[str, ...]) -> None:
    r = _rounds()
    result = _decide(r.state, FACILITATOR, MergeNotes(tuple(r.ids[w] for w in which), "x"))
    assert result == Rejection(Code.INVALID, "merge 2-50 different notes")


def test_merge_at_most_fifty_notes() -> None:
    r = _rounds()
    notes = [r.do(FACILITATOR, AddNote(f"note {i}")).seq for i in range(51)]
    assert _decide(r.state, FACILITATOR, MergeNotes(tuple(notes), "all")) == Rejection(
        Code.INVALID, "merge 2-50 different notes"
    )
    op = r.do(FACILITATOR, MergeNotes(tuple(notes[:50]), "all"))
    assert len(r.state.notes[op.seq].merged_from) == 50


def test_merge_refuses_hidden_or_already_merged_notes() -> None:
    r = _rounds()
    n1, n2, n3 = r.ids["n1"], r.ids["n2"], r.ids["n3"]
    r.do(FACILITATOR, HideNote(n3))
    assert _decide(r.state, FACILITATOR, MergeNotes((n1, n3), "x")) == Rejection(
        Code.CONFLICT, f"note {n3} is hidden or already merged"
    )
    merged = r.do(FACILITATOR, MergeNotes((n1, n2), "x"))
    assert _decide(r.state, FACILITATOR, MergeNotes((merged.seq, n1), "y")) == Rejection(
        Code.CONFLICT, f"note {n1} is hidden or already merged"
    )


def test_merge_refuses_unknown_notes() -> None:
    r = _rounds()
    assert _decide(r.state, FACILITATOR, MergeNotes((r.ids["n1"], 999), "x")) == Rejection(
        Code.NOT_FOUND, "there is no note 999"
    )


def test_merge_refuses_mixed_rounds() -> None:
    r = _rounds()
    board = Op(r.state.seq + 1, "note.added", "f_1", 0, {"text": "on the board", "colour": None})
    r.state, _ = apply(r.state, board)  # an older note from before the agenda
    for other in (r.ids["b1"], board.seq):
        result = _decide(r.state, FACILITATOR, MergeNotes((r.ids["n1"], other), "x"))
        assert result == Rejection(Code.INVALID, "only notes of the same round can be merged")


def test_merge_checks_the_text() -> None:
    r = _rounds()
    assert _decide(r.state, FACILITATOR, MergeNotes((r.ids["n1"], r.ids["n2"]), " ")) == Rejection(
        Code.INVALID, "the note is empty"
    )


def test_merge_in_a_closed_round_is_allowed() -> None:
    r = _rounds()
    _status(r, "a", "closed")
    assert isinstance(
        _decide(r.state, FACILITATOR, MergeNotes((r.ids["n1"], r.ids["n2"]), "x")), Decision
    )


def test_merge_keeps_the_theme_all_originals_share() -> None:
    r = _rounds()
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Transport"), "t")
    r.do(FACILITATOR, SetNoteTheme(r.ids["n1"], r.ids["t"]))
    r.do(FACILITATOR, SetNoteTheme(r.ids["n2"], r.ids["t"]))
    shared = r.do(FACILITATOR, MergeNotes((r.ids["n1"], r.ids["n2"]), "x"))
    assert r.state.notes[shared.seq].theme == r.ids["t"]
    # one themed, one not: the merged note is unthemed
    mixed = r.do(FACILITATOR, MergeNotes((shared.seq, r.ids["n3"]), "y"))
    assert r.state.notes[mixed.seq].theme is None


def test_merge_with_different_themes_is_unthemed() -> None:
    r = _rounds()
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Transport"), "t")
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Parking"), "u")
    r.do(FACILITATOR, SetNoteTheme(r.ids["n1"], r.ids["t"]))
    r.do(FACILITATOR, SetNoteTheme(r.ids["n3"], r.ids["u"]))
    op = r.do(FACILITATOR, MergeNotes((r.ids["n1"], r.ids["n3"]), "x"))
    assert r.state.notes[op.seq].theme is None


def test_a_merged_original_can_no_longer_be_edited() -> None:
    r = _rounds()
    op = r.do(FACILITATOR, MergeNotes((r.ids["n1"], r.ids["n2"]), "x"))
    assert _decide(r.state, PARTICIPANT, EditNote(r.ids["n1"], "changed")) == Rejection(
        Code.CONFLICT, f"note {r.ids['n1']} was merged into {op.seq}"
    )


def test_a_merged_original_cannot_be_deleted_by_its_author() -> None:
    r = _rounds()
    op = r.do(FACILITATOR, MergeNotes((r.ids["n1"], r.ids["n2"]), "x"))
    assert _decide(r.state, PARTICIPANT, DeleteNote(r.ids["n1"])) == Rejection(
        Code.CONFLICT, f"note {r.ids['n1']} was merged into {op.seq}"
    )


def test_a_merged_note_cannot_be_deleted_only_hidden() -> None:
    """It stands for other people's notes: deleting it would leave them merged into
    nothing, off the wall for good. Hiding it can be undone."""
    r = _rounds()
    merged = r.do(FACILITATOR, MergeNotes((r.ids["n1"], r.ids["n2"]), "transport"))
    result = _decide(r.state, FACILITATOR, DeleteNote(merged.seq))
    assert result == Rejection(
        Code.CONFLICT, "a merged note stands for others' notes: hide it instead"
    )
    r.do(FACILITATOR, HideNote(merged.seq))
    assert all(r.state.notes[r.ids[n]].merged_into == merged.seq for n in ("n1", "n2"))


# -- themes -----------------------------------------------------------------------------------


def test_add_theme() -> None:
    r = _rounds()
    result = _decide(r.state, FACILITATOR, AddTheme(r.ids["a"], "  Getting\taround "))
    assert result == Decision("theme.added", {"round": r.ids["a"], "name": "Getting around"})
    op = r.do(FACILITATOR, AddTheme(r.ids["a"], "Getting around"))
    assert r.state.themes[op.seq] == Theme(op.seq, r.ids["a"], "Getting around", op.seq, op.seq)


@pytest.mark.parametrize("name", ["Transport", "transport", " TRANSPORT "])
def test_theme_names_differ_within_a_round(name: str) -> None:
    r = _rounds()
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Transport"), "t")
    assert _decide(r.state, FACILITATOR, AddTheme(r.ids["a"], name)) == Rejection(
        Code.CONFLICT, "this round already has a theme called Transport"
    )
    # the same name is free in another round
    assert isinstance(_decide(r.state, FACILITATOR, AddTheme(r.ids["b"], name)), Decision)


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "the theme name is empty"), ("n" * 81, "the theme name is longer than 80 characters")],
)
def test_theme_name_limits(name: str, message: str) -> None:
    r = _rounds()
    assert _decide(r.state, FACILITATOR, AddTheme(r.ids["a"], name)) == Rejection(
        Code.INVALID, message
    )
    assert isinstance(_decide(r.state, FACILITATOR, AddTheme(r.ids["a"], "n" * 80)), Decision)


def test_themes_belong_to_notes_rounds() -> None:
    r = _rounds()
    assert _decide(r.state, FACILITATOR, AddTheme(r.ids["v"], "x")) == Rejection(
        Code.INVALID, f"activity {r.ids['v']} is not a notes round"
    )
    assert _decide(r.state, FACILITATOR, AddTheme(999, "x")) == Rejection(
        Code.NOT_FOUND, "there is no activity 999"
    )


def test_rename_theme() -> None:
    r = _rounds()
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Transport"), "t")
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Parking"), "u")
    r.do(FACILITATOR, AddTheme(r.ids["b"], "Housing"), "h")
    t = r.ids["t"]
    assert _decide(r.state, FACILITATOR, RenameTheme(t, " parking ")) == Rejection(
        Code.CONFLICT, "this round already has a theme called Parking"
    )
    # a name used in another round is fine
    assert _decide(r.state, FACILITATOR, RenameTheme(t, "Housing")) == Decision(
        "theme.renamed", {"theme": t, "name": "Housing"}
    )
    op = r.do(FACILITATOR, RenameTheme(t, "Getting around"))
    theme = r.state.themes[t]
    assert (theme.name, theme.created_seq, theme.updated_seq) == ("Getting around", t, op.seq)
    # recasing its own name is not a clash with itself
    assert isinstance(_decide(r.state, FACILITATOR, RenameTheme(t, "Getting Around")), Decision)
    assert _decide(r.state, FACILITATOR, RenameTheme(999, "x")) == Rejection(
        Code.NOT_FOUND, "there is no theme 999"
    )


def test_delete_theme_unthemes_its_notes() -> None:
    r = _rounds()
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Transport"), "t")
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Parking"), "u")
    r.do(FACILITATOR, SetNoteTheme(r.ids["n1"], r.ids["t"]))
    r.do(FACILITATOR, SetNoteTheme(r.ids["n2"], r.ids["t"]))
    r.do(FACILITATOR, SetNoteTheme(r.ids["n3"], r.ids["u"]))
    assert _decide(r.state, FACILITATOR, DeleteTheme(r.ids["t"])) == Decision(
        "theme.deleted", {"theme": r.ids["t"]}
    )
    before = r.state
    op = Op(before.seq + 1, "theme.deleted", "f_1", 0, {"theme": r.ids["t"]})
    r.state, effects = apply(before, op)
    assert set(r.state.themes) == {r.ids["u"]}
    for n in ("n1", "n2"):
        assert r.state.notes[r.ids[n]].theme is None
        assert r.state.notes[r.ids[n]].updated_seq == op.seq
    assert r.state.notes[r.ids["n3"]] == before.notes[r.ids["n3"]]
    assert ThemeRemoved(r.ids["t"]) in effects
    assert _decide(r.state, FACILITATOR, DeleteTheme(r.ids["t"])) == Rejection(
        Code.NOT_FOUND, f"there is no theme {r.ids['t']}"
    )


def test_set_note_theme_and_take_it_out() -> None:
    r = _rounds()
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Transport"), "t")
    n1, t = r.ids["n1"], r.ids["t"]
    assert _decide(r.state, FACILITATOR, SetNoteTheme(n1, None)) == Rejection(
        Code.CONFLICT, "the note is already there"
    )
    assert _decide(r.state, FACILITATOR, SetNoteTheme(n1, t)) == Decision(
        "note.themed", {"note": n1, "theme": t}
    )
    op = r.do(FACILITATOR, SetNoteTheme(n1, t))
    assert r.state.notes[n1].theme == t
    assert r.state.notes[n1].updated_seq == op.seq
    assert _decide(r.state, FACILITATOR, SetNoteTheme(n1, t)) == Rejection(
        Code.CONFLICT, "the note is already there"
    )
    r.do(FACILITATOR, SetNoteTheme(n1, None))
    assert r.state.notes[n1].theme is None


def test_a_theme_of_another_round_is_refused() -> None:
    r = _rounds()
    r.do(FACILITATOR, AddTheme(r.ids["b"], "Later"), "t")
    assert _decide(r.state, FACILITATOR, SetNoteTheme(r.ids["n1"], r.ids["t"])) == Rejection(
        Code.INVALID, "the theme belongs to another round"
    )
    assert _decide(r.state, FACILITATOR, SetNoteTheme(r.ids["n1"], 999)) == Rejection(
        Code.NOT_FOUND, "there is no theme 999"
    )


def test_board_notes_have_no_themes() -> None:
    r = _rounds()
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Transport"), "t")
    board = Op(r.state.seq + 1, "note.added", "p_1", 0, {"text": "on the board", "colour": None})
    r.state, _ = apply(r.state, board)
    for theme in (r.ids["t"], None):
        assert _decide(r.state, FACILITATOR, SetNoteTheme(board.seq, theme)) == Rejection(
            Code.INVALID, "notes on the open board have no themes"
        )


def test_theming_works_in_a_closed_round_and_on_hidden_notes() -> None:
    r = _rounds()
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Transport"), "t")
    r.do(FACILITATOR, HideNote(r.ids["n2"]))
    _status(r, "a", "closed")
    assert isinstance(
        _decide(r.state, FACILITATOR, SetNoteTheme(r.ids["n1"], r.ids["t"])), Decision
    )
    assert isinstance(
        _decide(r.state, FACILITATOR, SetNoteTheme(r.ids["n2"], r.ids["t"])), Decision
    )
    assert isinstance(_decide(r.state, FACILITATOR, UnhideNote(r.ids["n2"])), Decision)


def test_the_room_replays_to_the_same_state() -> None:
    r = _rounds()
    r.do(FACILITATOR, AddTheme(r.ids["a"], "Transport"), "t")
    r.do(FACILITATOR, SetNoteTheme(r.ids["n1"], r.ids["t"]))
    r.do(FACILITATOR, MergeNotes((r.ids["n1"], r.ids["n2"]), "x"))
    r.do(FACILITATOR, DeleteTheme(r.ids["t"]))
    assert fold(EVENT_ID, r.ops) == r.state
