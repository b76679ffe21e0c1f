"""Rules for dot-voting: who may vote on what, and budgets and caps that hold exactly."""

from __future__ import annotations

from dataclasses import replace

import pytest
from plenary.domain import dots
from plenary.domain.commands import (
    AddActivity,
    AddDot,
    AddNote,
    AddTheme,
    Command,
    CreateEvent,
    DeleteTheme,
    HideNote,
    Join,
    MergeNotes,
    RemoveDot,
    SetActivityStatus,
    SetCurrentActivity,
    UnhideNote,
    UpdateEvent,
    VoteSpec,
)
from plenary.domain.fold import NO_GROUP, DotsChanged, apply, fold
from plenary.domain.model import Actor, EventState, Op, Role
from plenary.domain.rules import Decision, decide
from plenary.errors import Code, Rejection

from . import EVENT_ID, FACILITATOR, LIMITS, OTHER_PARTICIPANT, PARTICIPANT, room, step

P1, P2 = PARTICIPANT.id, OTHER_PARTICIPANT.id


def _decide(state: EventState, actor: Actor, command: Command) -> Decision | Rejection:
    return decide(state, actor, command, LIMITS)


def _do(state: EventState, actor: Actor, *commands: Command) -> EventState:
    for command in commands:
        state, _ = step(state, actor, command)
    return state


def _dot_maps(state: EventState) -> tuple[dict[object, int], ...]:
    return dict(state.dots), dict(state.spent), dict(state.tallies)


# -- who and what --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [AddDot, RemoveDot])
def test_only_joined_participants_vote(command: type[AddDot] | type[RemoveDot]) -> None:
    state, _, ids = room()
    stranger = Actor("p_stranger", Role.PARTICIPANT)
    assert _decide(state, stranger, command(ids["vote"], ids["p1"])) == Rejection(
        Code.FORBIDDEN, "you have not joined this event"
    )


@pytest.mark.parametrize(
    ("actor", "verb"),
    [(FACILITATOR, "a facilitator"), (Actor("o_1", Role.OBSERVER), "an observer")],
)
def test_facilitators_and_observers_do_not_vote(actor: Actor, verb: str) -> None:
    state, _, ids = room()
    assert _decide(state, actor, AddDot(ids["vote"], ids["p1"])) == Rejection(
        Code.FORBIDDEN, f"{verb} may not place dots"
    )
    assert _decide(state, actor, RemoveDot(ids["vote"], ids["p1"])) == Rejection(
        Code.FORBIDDEN, f"{verb} may not remove dots"
    )


@pytest.mark.parametrize("command", [AddDot, RemoveDot])
def test_the_vote_must_exist_and_be_a_vote(command: type[AddDot] | type[RemoveDot]) -> None:
    state, _, ids = room()
    assert _decide(state, PARTICIPANT, command(999, ids["p1"])) == Rejection(
        Code.NOT_FOUND, "there is no activity 999"
    )
    assert _decide(state, PARTICIPANT, command(ids["round"], ids["p1"])) == Rejection(
        Code.INVALID, f"activity {ids['round']} is not a vote"
    )


def test_a_draft_vote_refuses_dots() -> None:
    state, _, ids = room()
    state, op = step(state, FACILITATOR, AddActivity("vote", "Again?", VoteSpec(ids["round"])))
    assert _decide(state, PARTICIPANT, AddDot(op.seq, ids["p1"])) == Rejection(
        Code.CONFLICT, "the vote is draft: dots cannot change"
    )


@pytest.mark.parametrize(
    ("path", "status"), [(("closed",), "closed"), (("closed", "archived"), "archived")]
)
@pytest.mark.parametrize("command", [AddDot, RemoveDot])
def test_a_closed_or_archived_vote_refuses_dots_until_reopened(
    path: tuple[str, ...], status: str, command: type[AddDot] | type[RemoveDot]
) -> None:
    state, _, ids = room()
    state = _do(state, FACILITATOR, *(SetActivityStatus(ids["vote"], s) for s in path))
    # p_1 has a dot on p1 to remove, and room for more
    assert _decide(state, PARTICIPANT, command(ids["vote"], ids["p1"])) == Rejection(
        Code.CONFLICT, f"the vote is {status}: dots cannot change"
    )
    state = _do(state, FACILITATOR, SetActivityStatus(ids["vote"], "open"))
    assert _decide(state, PARTICIPANT, command(ids["vote"], ids["p1"])) == Decision(
        "dot.added" if command is AddDot else "dot.removed",
        {"vote": ids["vote"], "item": ids["p1"]},
    )


def test_closing_freezes_the_dots_and_reopening_keeps_them() -> None:
    state, _, ids = room()
    before = _dot_maps(state)
    state = _do(state, FACILITATOR, SetActivityStatus(ids["vote"], "closed"))
    assert _dot_maps(state) == before
    state = _do(state, FACILITATOR, SetActivityStatus(ids["vote"], "open"))
    assert _dot_maps(state) == before
    assert state.dots[(ids["vote"], P1, ids["p1"])] == 1


# -- items -------------------------------------------------------------------------------------


def test_live_notes_of_the_round_are_items() -> None:
    state, _, ids = room()
    for item in (ids["p1"], ids["p2"]):
        assert _decide(state, OTHER_PARTICIPANT, AddDot(ids["vote"], item)) == Decision(
            "dot.added", {"vote": ids["vote"], "item": item}
        )
    vote = state.activities[ids["vote"]]
    assert dots.items(state, vote) == [ids["p1"], ids["p2"]]


def _not_on_vote(state: EventState, vote: int, item: int) -> None:
    assert _decide(state, OTHER_PARTICIPANT, AddDot(vote, item)) == Rejection(
        Code.NOT_FOUND, f"item {item} is not on this vote"
    )


def test_unknown_items_and_themes_are_not_on_a_notes_vote() -> None:
    state, _, ids = room()
    for item in (999, ids["theme"], ids["round"], ids["vote"]):
        _not_on_vote(state, ids["vote"], item)


def test_a_hidden_note_is_not_on_the_vote_until_unhidden() -> None:
    state, _, ids = room()
    state = _do(state, FACILITATOR, HideNote(ids["p2"]))
    _not_on_vote(state, ids["vote"], ids["p2"])
    assert dots.items(state, state.activities[ids["vote"]]) == [ids["p1"]]
    state = _do(state, FACILITATOR, UnhideNote(ids["p2"]))
    assert isinstance(_decide(state, OTHER_PARTICIPANT, AddDot(ids["vote"], ids["p2"])), Decision)


def test_merged_originals_are_not_on_the_vote_but_the_merged_note_is() -> None:
    state, _, ids = room()
    state, op = step(state, FACILITATOR, MergeNotes((ids["p1"], ids["p2"]), "transport"))
    _not_on_vote(state, ids["vote"], ids["p1"])
    _not_on_vote(state, ids["vote"], ids["p2"])
    assert isinstance(_decide(state, OTHER_PARTICIPANT, AddDot(ids["vote"], op.seq)), Decision)
    assert dots.items(state, state.activities[ids["vote"]]) == [op.seq]
    # the dot already on an original stays, and can still be taken back
    assert state.dots[(ids["vote"], P1, ids["p1"])] == 1
    assert isinstance(_decide(state, PARTICIPANT, RemoveDot(ids["vote"], ids["p1"])), Decision)


def test_notes_of_another_round_are_not_on_the_vote() -> None:
    state, _, ids = room()
    state, other = step(state, FACILITATOR, AddActivity("notes", "Another round"))
    state = _do(state, FACILITATOR, SetActivityStatus(other.seq, "open"))
    state, note = step(state, OTHER_PARTICIPANT, AddNote("elsewhere", round=other.seq))
    _not_on_vote(state, ids["vote"], note.seq)


def test_themes_of_the_round_are_the_items_of_a_themes_vote() -> None:
    state, _, ids = room(target="themes")
    assert state.dots[(ids["vote"], P1, ids["theme"])] == 1
    assert _decide(state, OTHER_PARTICIPANT, AddDot(ids["vote"], ids["theme"])) == Decision(
        "dot.added", {"vote": ids["vote"], "item": ids["theme"]}
    )
    for item in (ids["p1"], ids["p2"], 999):
        _not_on_vote(state, ids["vote"], item)
    # a theme of another round is not on it either
    state, other = step(state, FACILITATOR, AddActivity("notes", "Another round"))
    state, theme = step(state, FACILITATOR, AddTheme(other.seq, "Elsewhere"))
    _not_on_vote(state, ids["vote"], theme.seq)
    assert dots.items(state, state.activities[ids["vote"]]) == [ids["theme"]]


def test_a_deleted_theme_takes_no_more_dots_but_its_dots_can_be_removed() -> None:
    state, _, ids = room(target="themes")
    state = _do(state, FACILITATOR, DeleteTheme(ids["theme"]))
    _not_on_vote(state, ids["vote"], ids["theme"])
    assert isinstance(_decide(state, PARTICIPANT, RemoveDot(ids["vote"], ids["theme"])), Decision)


# -- budget and cap --------------------------------------------------------------------------


def test_the_budget_holds_exactly() -> None:
    state, _, ids = room(budget=3, cap=2)  # p_1 has placed 1 dot
    vote = state.activities[ids["vote"]]
    assert dots.remaining(state, vote, P1) == 2
    state = _do(state, PARTICIPANT, AddDot(ids["vote"], ids["p1"]), AddDot(ids["vote"], ids["p2"]))
    assert state.spent[(ids["vote"], P1)] == 3
    assert dots.remaining(state, vote, P1) == 0
    assert _decide(state, PARTICIPANT, AddDot(ids["vote"], ids["p2"])) == Rejection(
        Code.CONFLICT, "all 3 of your dots are placed"
    )
    # another voter's budget is their own
    assert dots.remaining(state, vote, P2) == 3
    assert isinstance(_decide(state, OTHER_PARTICIPANT, AddDot(ids["vote"], ids["p2"])), Decision)
    # taking one back frees exactly one
    state = _do(state, PARTICIPANT, RemoveDot(ids["vote"], ids["p1"]))
    assert dots.remaining(state, vote, P1) == 1
    state = _do(state, PARTICIPANT, AddDot(ids["vote"], ids["p2"]))
    assert _decide(state, PARTICIPANT, AddDot(ids["vote"], ids["p1"])) == Rejection(
        Code.CONFLICT, "all 3 of your dots are placed"
    )


def test_a_budget_of_one() -> None:
    state, _, ids = room(budget=1, cap=1)
    assert _decide(state, PARTICIPANT, AddDot(ids["vote"], ids["p2"])) == Rejection(
        Code.CONFLICT, "all 1 of your dots are placed"
    )


def test_the_cap_holds_exactly() -> None:
    state, _, ids = room(budget=5, cap=2)  # p_1 has 1 dot on p1
    state = _do(state, PARTICIPANT, AddDot(ids["vote"], ids["p1"]))
    assert state.dots[(ids["vote"], P1, ids["p1"])] == 2
    assert _decide(state, PARTICIPANT, AddDot(ids["vote"], ids["p1"])) == Rejection(
        Code.CONFLICT, "at most 2 of your dots on one item"
    )
    # the cap is per item and per voter
    assert isinstance(_decide(state, PARTICIPANT, AddDot(ids["vote"], ids["p2"])), Decision)
    assert isinstance(_decide(state, OTHER_PARTICIPANT, AddDot(ids["vote"], ids["p1"])), Decision)


def test_a_cap_equal_to_the_budget_lets_all_dots_go_on_one_item() -> None:
    state, _, ids = room(budget=4, cap=4)
    state = _do(state, PARTICIPANT, *(AddDot(ids["vote"], ids["p1"]) for _ in range(3)))
    assert state.dots[(ids["vote"], P1, ids["p1"])] == 4
    result = _decide(state, PARTICIPANT, AddDot(ids["vote"], ids["p1"]))
    assert isinstance(result, Rejection)
    assert result.code is Code.CONFLICT


def test_the_same_dot_decided_again_is_decided_against_the_new_state() -> None:
    state, _, ids = room(budget=5, cap=3)
    command = AddDot(ids["vote"], ids["p2"])
    first = _decide(state, PARTICIPANT, command)
    state = _do(state, PARTICIPANT, command)
    assert _decide(state, PARTICIPANT, command) == first  # a second device: one more dot
    state = _do(state, PARTICIPANT, command, command)
    assert state.dots[(ids["vote"], P1, ids["p2"])] == 3
    assert _decide(state, PARTICIPANT, command) == Rejection(
        Code.CONFLICT, "at most 3 of your dots on one item"
    )


def test_remove_without_a_dot_conflicts() -> None:
    state, _, ids = room()
    assert _decide(state, PARTICIPANT, RemoveDot(ids["vote"], ids["p2"])) == Rejection(
        Code.CONFLICT, f"you have no dot on item {ids['p2']}"
    )
    assert _decide(state, OTHER_PARTICIPANT, RemoveDot(ids["vote"], ids["p1"])) == Rejection(
        Code.CONFLICT, f"you have no dot on item {ids['p1']}"
    )
    state = _do(state, PARTICIPANT, RemoveDot(ids["vote"], ids["p1"]))
    assert _decide(state, PARTICIPANT, RemoveDot(ids["vote"], ids["p1"])) == Rejection(
        Code.CONFLICT, f"you have no dot on item {ids['p1']}"
    )


# -- applying dots -----------------------------------------------------------------------------


def test_dot_maps_after_apply() -> None:
    state, _, ids = room()
    v, n1, n2 = ids["vote"], ids["p1"], ids["p2"]
    assert _dot_maps(state) == ({(v, P1, n1): 1}, {(v, P1): 1}, {(v, n1, "Staff"): 1})
    state = _do(state, PARTICIPANT, AddDot(v, n1), AddDot(v, n2))
    state = _do(state, OTHER_PARTICIPANT, AddDot(v, n1))
    assert _dot_maps(state) == (
        {(v, P1, n1): 2, (v, P1, n2): 1, (v, P2, n1): 1},
        {(v, P1): 3, (v, P2): 1},
        {(v, n1, "Staff"): 2, (v, n2, "Staff"): 1, (v, n1, "Guests"): 1},
    )
    state = _do(state, PARTICIPANT, RemoveDot(v, n2), RemoveDot(v, n1))
    assert _dot_maps(state) == (
        {(v, P1, n1): 1, (v, P2, n1): 1},
        {(v, P1): 1, (v, P2): 1},
        {(v, n1, "Staff"): 1, (v, n1, "Guests"): 1},
    )


def test_a_dot_changes_nothing_but_the_dot_maps() -> None:
    state, _, ids = room()
    after, op = step(state, OTHER_PARTICIPANT, AddDot(ids["vote"], ids["p1"]))
    assert op.kind == "dot.added"
    assert op.data == {"vote": ids["vote"], "item": ids["p1"]}
    assert op.by == P2
    same = (after.notes, after.activities, after.themes, after.participants)
    assert same == (state.notes, state.activities, state.themes, state.participants)


def test_add_then_remove_returns_to_an_equal_state() -> None:
    state, _, ids = room()
    start = state
    for actor, item in ((PARTICIPANT, ids["p2"]), (OTHER_PARTICIPANT, ids["p1"])):
        added = _do(start, actor, AddDot(ids["vote"], item))
        removed = _do(added, actor, RemoveDot(ids["vote"], item))
        assert replace(removed, seq=start.seq) == start
    # and taking the last dot away leaves no zero entries behind
    emptied = _do(start, PARTICIPANT, RemoveDot(ids["vote"], ids["p1"]))
    assert _dot_maps(emptied) == ({}, {}, {})


def test_dot_effects() -> None:
    state, _, ids = room()
    for kind, count in (("dot.added", 2), ("dot.removed", 1), ("dot.removed", 0)):
        data = {"vote": ids["vote"], "item": ids["p1"]}
        state, effects = apply(state, Op(state.seq + 1, kind, P1, 0, data))
        assert effects == [DotsChanged(ids["vote"], P1, ids["p1"], count)]


def _groupless() -> tuple[EventState, list[Op], dict[str, int]]:
    """p_1 joined before the event had stakeholder groups; p_2 joined as Staff after.
    A notes round with a note, and an open vote on it."""
    state, ops = EventState(id=EVENT_ID), []

    def do(actor: Actor | None, command: Command, by: str | None = None) -> int:
        nonlocal state
        state, op = step(state, actor, command, by=by)
        ops.append(op)
        return op.seq

    do(None, CreateEvent("Town hall", (), "ABC346"))
    do(None, Join(P1, None, None, None), by=P1)
    do(FACILITATOR, UpdateEvent(groups=("Staff",)))
    do(None, Join(P2, None, "Staff", None), by=P2)
    ids = {"round": do(FACILITATOR, AddActivity("notes", "What?"))}
    do(FACILITATOR, SetActivityStatus(ids["round"], "open"))
    do(FACILITATOR, SetCurrentActivity(ids["round"]))
    ids["note"] = do(PARTICIPANT, AddNote("an idea"))
    ids["vote"] = do(FACILITATOR, AddActivity("vote", "Vote", VoteSpec(ids["round"])))
    do(FACILITATOR, SetActivityStatus(ids["vote"], "open"))
    return state, ops, ids


def test_tallies_are_keyed_by_the_voters_group() -> None:
    state, ops, ids = _groupless()
    assert state.participants[P1].group is None
    v, n = ids["vote"], ids["note"]
    for actor in (PARTICIPANT, OTHER_PARTICIPANT, PARTICIPANT):
        state, op = step(state, actor, AddDot(v, n))
        ops.append(op)
    assert NO_GROUP == ""
    assert dict(state.tallies) == {(v, n, NO_GROUP): 2, (v, n, "Staff"): 1}
    assert fold(EVENT_ID, ops) == state
    state = _do(state, PARTICIPANT, RemoveDot(v, n), RemoveDot(v, n))
    assert dict(state.tallies) == {(v, n, "Staff"): 1}


def test_remaining_is_budget_minus_spent() -> None:
    state, _, ids = room(budget=5, cap=2)
    vote = state.activities[ids["vote"]]
    assert dots.remaining(state, vote, P1) == 4
    assert dots.remaining(state, vote, P2) == 5
    assert dots.remaining(state, vote, "p_never_voted") == 5
