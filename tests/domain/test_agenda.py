"""Rules for the event's settings and its agenda: activities, their lifecycle, timers."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from plenary.domain.commands import (
    AddActivity,
    AddDot,
    AddNote,
    AddTheme,
    Command,
    DeleteNote,
    DeleteTheme,
    EditActivity,
    EditNote,
    HideNote,
    Join,
    MergeNotes,
    MoveActivity,
    RemoveDot,
    RenameTheme,
    SetActivityStatus,
    SetCurrentActivity,
    SetNoteTheme,
    SetTimer,
    TableSpec,
    UpdateEvent,
    VoteSpec,
)
from plenary.domain.fold import fold
from plenary.domain.model import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Actor,
    Anonymity,
    EventState,
    Op,
    ResultsVisibility,
    Table,
    VoteSettings,
    VoteTarget,
)
from plenary.domain.rules import Decision, decide
from plenary.errors import Code, Rejection

from . import EVENT_ID, FACILITATOR, LIMITS, PARTICIPANT, created, room, step


def _decide(state: EventState, command: Command, actor: Actor = FACILITATOR) -> object:
    return decide(state, actor, command, LIMITS)


def _agenda() -> tuple[EventState, list[Op], dict[str, int]]:
    """``created()`` with three draft activities in this order: notes rounds ``a`` and
    ``b``, and a vote ``v`` on the notes of ``a`` (budget 5, cap 2)."""
    state, ops = created()
    ids: dict[str, int] = {}

    def add(name: str, command: AddActivity) -> None:
        nonlocal state
        state, op = step(state, FACILITATOR, command)
        ops.append(op)
        ids[name] = op.seq

    add("a", AddActivity("notes", "What is working?"))
    add("b", AddActivity("notes", "What is not working?"))
    add("v", AddActivity("vote", "Which matter most?", VoteSpec(ids["a"])))
    return state, ops, ids


# The way to each status from draft, through the rules.
_PATHS: dict[str, tuple[str, ...]] = {
    "draft": (),
    "open": ("open",),
    "closed": ("open", "closed"),
    "archived": ("open", "closed", "archived"),
}


def _with_status(state: EventState, activity_id: int, status: str) -> EventState:
    for target in _PATHS[status]:
        state, _ = step(state, FACILITATOR, SetActivityStatus(activity_id, target))
    assert state.activities[activity_id].status == status
    return state


# -- UpdateEvent ------------------------------------------------------------------------------


def test_update_title_is_tidied_and_applied() -> None:
    state, _ = created()
    result = _decide(state, UpdateEvent(title="  City\tcare\n strategy \x00"))
    assert result == Decision("event.updated", {"title": "City care  strategy"})
    state, _ = step(state, FACILITATOR, UpdateEvent(title="City care strategy"))
    assert state.title == "City care strategy"
    assert state.groups == ("Staff", "Guests")  # the fields not given stay as they are


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "the title is empty"),
        (" \n\t\x00", "the title is empty"),
        ("t" * 201, "the title is longer than 200 characters"),
    ],
)
def test_update_title_limits(title: str, message: str) -> None:
    state, _ = created()
    assert _decide(state, UpdateEvent(title=title)) == Rejection(Code.INVALID, message)
    assert isinstance(_decide(state, UpdateEvent(title="t" * 200)), Decision)


def test_update_groups_adds_and_reorders() -> None:
    state, _ = created()
    result = _decide(state, UpdateEvent(groups=(" Guests ", "Board", "Staff")))
    assert result == Decision("event.updated", {"groups": ["Guests", "Board", "Staff"]})
    state, _ = step(state, FACILITATOR, UpdateEvent(groups=("Guests", "Board", "Staff")))
    assert state.groups == ("Guests", "Board", "Staff")


def test_update_groups_may_drop_a_group_nobody_joined_as() -> None:
    state, _ = created(("Staff", "Guests", "Board"))
    state, _ = step(state, FACILITATOR, UpdateEvent(groups=("Staff", "Guests")))
    assert state.groups == ("Staff", "Guests")


@pytest.mark.parametrize(
    ("groups", "dropped"),
    [
        (("Staff",), "Guests"),
        (("Board",), "Guests, Staff"),
        ((), "Guests, Staff"),
        (("staff", "Guests"), "Staff"),  # a change of case is a different group
    ],
)
def test_update_groups_cannot_drop_a_group_participants_joined_as(
    groups: tuple[str, ...], dropped: str
) -> None:
    state, _ = created()
    result = _decide(state, UpdateEvent(groups=groups))
    assert result == Rejection(Code.CONFLICT, f"participants have joined as {dropped}: keep it")


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (("Staff", "Guests", "guests"), "stakeholder group names must differ"),
        (("Staff", "Guests", " "), "stakeholder group names must be 1-60 characters"),
        (("Staff", "Guests", "g" * 61), "stakeholder group names must be 1-60 characters"),
        (("Staff", "Guests", *(f"g{i}" for i in range(39))), "more than 40 stakeholder groups"),
    ],
)
def test_update_groups_are_checked_like_at_creation(groups: tuple[str, ...], message: str) -> None:
    state, _ = created()
    assert _decide(state, UpdateEvent(groups=groups)) == Rejection(Code.INVALID, message)


def test_update_tables_are_tidied_and_applied() -> None:
    state, _ = created()
    tables = (TableSpec(" 1 ", "By the\twindow"), TableSpec("2"), TableSpec("A3", "   "))
    result = _decide(state, UpdateEvent(tables=tables))
    assert result == Decision(
        "event.updated",
        {
            "tables": [
                {"number": "1", "name": "By the window"},
                {"number": "2", "name": None},
                {"number": "A3", "name": None},
            ]
        },
    )
    state, _ = step(state, FACILITATOR, UpdateEvent(tables=tables))
    assert state.tables == (Table("1", "By the window"), Table("2", None), Table("A3", None))
    # and an empty list takes them away again
    state, _ = step(state, FACILITATOR, UpdateEvent(tables=()))
    assert state.tables == ()


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ((TableSpec("A"), TableSpec(" a ")), "table a is listed twice"),
        ((TableSpec("1"), TableSpec("2"), TableSpec("1", "again")), "table 1 is listed twice"),
        ((TableSpec(""),), "table numbers must be 1-20 characters"),
        ((TableSpec(" \t"),), "table numbers must be 1-20 characters"),
        ((TableSpec("t" * 21),), "table numbers must be 1-20 characters"),
        ((TableSpec("1", "n" * 61),), "table names must be at most 60 characters"),
        (tuple(TableSpec(str(i)) for i in range(201)), "more than 200 tables"),
    ],
)
def test_update_tables_limits(tables: tuple[TableSpec, ...], message: str) -> None:
    state, _ = created()
    assert _decide(state, UpdateEvent(tables=tables)) == Rejection(Code.INVALID, message)


def test_update_tables_at_the_limits_are_accepted() -> None:
    state, _ = created()
    most = tuple(TableSpec(str(i)) for i in range(200))
    assert isinstance(_decide(state, UpdateEvent(tables=most)), Decision)
    longest = (TableSpec("t" * 20, "n" * 60),)
    result = _decide(state, UpdateEvent(tables=longest))
    assert result == Decision("event.updated", {"tables": [{"number": "t" * 20, "name": "n" * 60}]})


@pytest.mark.parametrize("anonymity", ["everyone", "facilitators", "nobody"])
def test_update_anonymity_values(anonymity: str) -> None:
    state, _ = created()
    assert state.anonymity is Anonymity.EVERYONE
    result = _decide(state, UpdateEvent(anonymity=anonymity))
    assert result == Decision("event.updated", {"anonymity": anonymity})
    state, _ = step(state, FACILITATOR, UpdateEvent(anonymity=anonymity))
    assert state.anonymity is Anonymity(anonymity)


@pytest.mark.parametrize("anonymity", ["Everyone", "none", "", "anonymous"])
def test_update_unknown_anonymity_is_refused(anonymity: str) -> None:
    state, _ = created()
    assert _decide(state, UpdateEvent(anonymity=anonymity)) == Rejection(
        Code.INVALID, "anonymity must be one of: everyone, facilitators, nobody"
    )


def test_update_with_nothing_to_change_is_refused() -> None:
    state, _ = created()
    assert _decide(state, UpdateEvent()) == Rejection(Code.INVALID, "nothing to change")


def test_update_several_fields_at_once() -> None:
    state, _ = created()
    command = UpdateEvent("Day two", ("Staff", "Guests", "Board"), (TableSpec("1"),), "nobody")
    state, op = step(state, FACILITATOR, command)
    assert op.data == {
        "title": "Day two",
        "groups": ["Staff", "Guests", "Board"],
        "tables": [{"number": "1", "name": None}],
        "anonymity": "nobody",
    }
    assert (state.title, state.groups, state.tables, state.anonymity) == (
        "Day two",
        ("Staff", "Guests", "Board"),
        (Table("1", None),),
        Anonymity.NOBODY,
    )


def test_one_bad_field_refuses_the_whole_update() -> None:
    state, _ = created()
    result = _decide(state, UpdateEvent(title="Fine", anonymity="secret"))
    assert isinstance(result, Rejection)
    assert result.code is Code.INVALID


def test_participants_cannot_update_the_event() -> None:
    state, _ = created()
    result = _decide(state, UpdateEvent(title="Mine now"), PARTICIPANT)
    assert result == Rejection(Code.FORBIDDEN, "a participant may not change the event's settings")


# -- joining an event with tables -------------------------------------------------------------


def _tabled() -> EventState:
    state, _ = created()
    tables = (TableSpec("1"), TableSpec("2", "Window"), TableSpec("A3"))
    state, _ = step(state, FACILITATOR, UpdateEvent(tables=tables))
    return state


@pytest.mark.parametrize(("typed", "stored"), [("1", "1"), (" 2 ", "2"), ("a3", "A3")])
def test_join_picks_a_defined_table_case_insensitively(typed: str, stored: str) -> None:
    state = _tabled()
    result = decide(state, None, Join("p_new", "Ada", "Staff", typed), LIMITS)
    assert result == Decision(
        "participant.joined",
        {"participant": "p_new", "name": "Ada", "group": "Staff", "table": stored},
    )
    state, _ = step(state, None, Join("p_new", "Ada", "Staff", typed), by="p_new")
    assert state.participants["p_new"].table == stored


@pytest.mark.parametrize("typed", ["4", "T1", "A 3", "Window"])
def test_join_with_an_undefined_table_is_refused_with_the_choices(typed: str) -> None:
    state = _tabled()
    result = decide(state, None, Join("p_new", "Ada", "Staff", typed), LIMITS)
    assert result == Rejection(Code.INVALID, "pick a table from: 1, 2, A3")


def test_join_without_a_table_is_allowed_when_tables_are_defined() -> None:
    # Remote participants sit at no table.
    state = _tabled()
    result = decide(state, None, Join("p_new", "Ada", "Staff", "  "), LIMITS)
    assert isinstance(result, Decision)
    assert result.data["table"] is None


# -- AddActivity ------------------------------------------------------------------------------


def test_add_a_notes_round() -> None:
    state, _ = created()
    result = _decide(state, AddActivity("notes", "  What is\r\nworking?\x00 "))
    assert result == Decision(
        "activity.added", {"kind": "notes", "prompt": "What is\nworking?", "vote": None}
    )
    state, op = step(state, FACILITATOR, AddActivity("notes", "What is working?"))
    assert state.activities[op.seq] == Activity(
        id=op.seq,
        kind=ActivityKind.NOTES,
        prompt="What is working?",
        status=ActivityStatus.DRAFT,
        vote=None,
        ends_at=None,
        created_seq=op.seq,
        updated_seq=op.seq,
    )
    assert state.agenda == (op.seq,)
    assert state.current is None  # adding does not make it current


def test_add_a_vote() -> None:
    state, _, ids = _agenda()
    spec = VoteSpec(ids["b"], "themes", 7, 3, "on_close")
    result = _decide(state, AddActivity("vote", "Prioritise", spec))
    assert result == Decision(
        "activity.added",
        {
            "kind": "vote",
            "prompt": "Prioritise",
            "vote": {
                "round": ids["b"],
                "target": "themes",
                "budget": 7,
                "cap": 3,
                "results": "on_close",
            },
        },
    )
    state, op = step(state, FACILITATOR, AddActivity("vote", "Prioritise", spec))
    added = state.activities[op.seq]
    assert added.kind is ActivityKind.VOTE
    assert added.status is ActivityStatus.DRAFT
    assert added.vote == VoteSettings(ids["b"], VoteTarget.THEMES, 7, 3, ResultsVisibility.ON_CLOSE)
    assert state.agenda == (ids["a"], ids["b"], ids["v"], op.seq)


def test_vote_spec_defaults() -> None:
    state, _, ids = _agenda()
    result = _decide(state, AddActivity("vote", "Prioritise", VoteSpec(ids["a"])))
    assert isinstance(result, Decision)
    assert result.data["vote"] == {
        "round": ids["a"],
        "target": "notes",
        "budget": 5,
        "cap": 2,
        "results": "live",
    }


@pytest.mark.parametrize("kind", ["Notes", "poll", "", "themes"])
def test_add_an_unknown_kind_is_refused(kind: str) -> None:
    state, _ = created()
    assert _decide(state, AddActivity(kind, "What?")) == Rejection(
        Code.INVALID, "kind must be one of: notes, vote, draft"
    )


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "the prompt is empty"),
        (" \n\t\x00 ", "the prompt is empty"),
        ("p" * 501, "the prompt is longer than 500 characters"),
    ],
)
def test_add_prompt_limits(prompt: str, message: str) -> None:
    state, _ = created()
    assert _decide(state, AddActivity("notes", prompt)) == Rejection(Code.INVALID, message)
    longest = _decide(state, AddActivity("notes", "p" * 500))
    assert isinstance(longest, Decision)
    assert longest.data["prompt"] == "p" * 500


def test_a_vote_without_settings_is_refused() -> None:
    state, _ = created()
    assert _decide(state, AddActivity("vote", "Prioritise")) == Rejection(
        Code.INVALID, "a vote needs its settings: round, budget, cap"
    )


def test_vote_settings_on_a_notes_round_are_refused() -> None:
    state, _, ids = _agenda()
    result = _decide(state, AddActivity("notes", "What?", VoteSpec(ids["a"])))
    assert result == Rejection(Code.INVALID, "only a vote has vote settings")


@pytest.mark.parametrize("which", ["v", "missing"])
def test_a_vote_must_target_a_notes_round(which: str) -> None:
    state, _, ids = _agenda()
    round_id = ids.get(which, 999)
    result = _decide(state, AddActivity("vote", "Prioritise", VoteSpec(round_id)))
    assert result == Rejection(Code.INVALID, f"activity {round_id} is not a notes round")


@pytest.mark.parametrize("target", ["note", "Themes", "", "activities"])
def test_vote_target_values(target: str) -> None:
    state, _, ids = _agenda()
    result = _decide(state, AddActivity("vote", "P", VoteSpec(ids["a"], target=target)))
    assert result == Rejection(Code.INVALID, "target must be one of: notes, themes")


@pytest.mark.parametrize("results", ["hidden", "Live", "", "on close"])
def test_vote_results_values(results: str) -> None:
    state, _, ids = _agenda()
    result = _decide(state, AddActivity("vote", "P", VoteSpec(ids["a"], results=results)))
    assert result == Rejection(Code.INVALID, "results must be one of: live, on_close")


@pytest.mark.parametrize(
    ("budget", "cap", "ok"),
    [
        (0, 1, False),
        (-1, 1, False),
        (1, 1, True),
        (100, 1, True),
        (100, 100, True),
        (101, 1, False),
        (5, 0, False),
        (5, -1, False),
        (5, 5, True),
        (5, 6, False),
        (1, 2, False),
    ],
)
def test_vote_budget_and_cap(budget: int, cap: int, ok: bool) -> None:
    state, _, ids = _agenda()
    spec = VoteSpec(ids["a"], budget=budget, cap=cap)
    result = _decide(state, AddActivity("vote", "P", spec))
    if ok:
        assert isinstance(result, Decision)
        assert (result.data["vote"]["budget"], result.data["vote"]["cap"]) == (budget, cap)
    elif not 1 <= budget <= 100:
        assert result == Rejection(Code.INVALID, "the budget must be 1-100 dots")
    else:
        assert result == Rejection(Code.INVALID, "the cap per item must be 1 to the budget")


# -- EditActivity -----------------------------------------------------------------------------


def test_edit_the_prompt() -> None:
    state, _, ids = _agenda()
    result = _decide(state, EditActivity(ids["a"], prompt=" What works\twell? "))
    assert result == Decision(
        "activity.edited", {"activity": ids["a"], "prompt": "What works\twell?"}
    )
    before = state.activities[ids["a"]]
    state, op = step(state, FACILITATOR, EditActivity(ids["a"], prompt="What works well?"))
    after = state.activities[ids["a"]]
    assert after.prompt == "What works well?"
    assert after.updated_seq == op.seq
    assert (after.kind, after.status, after.created_seq) == (
        before.kind,
        before.status,
        before.created_seq,
    )


@pytest.mark.parametrize("status", ["open", "closed"])
def test_the_prompt_can_change_after_opening(status: str) -> None:
    state, _, ids = _agenda()
    state = _with_status(state, ids["a"], status)
    assert isinstance(_decide(state, EditActivity(ids["a"], prompt="Reworded")), Decision)


def test_edit_prompt_limits() -> None:
    state, _, ids = _agenda()
    assert _decide(state, EditActivity(ids["a"], prompt=" ")) == Rejection(
        Code.INVALID, "the prompt is empty"
    )
    assert _decide(state, EditActivity(ids["a"], prompt="p" * 501)) == Rejection(
        Code.INVALID, "the prompt is longer than 500 characters"
    )


def test_edit_with_nothing_to_change_is_refused() -> None:
    state, _, ids = _agenda()
    assert _decide(state, EditActivity(ids["a"])) == Rejection(Code.INVALID, "nothing to change")


def test_edit_an_unknown_activity_is_not_found() -> None:
    state, _, _ = _agenda()
    assert _decide(state, EditActivity(999, prompt="x")) == Rejection(
        Code.NOT_FOUND, "there is no activity 999"
    )


def test_edit_vote_settings_while_draft() -> None:
    state, _, ids = _agenda()
    spec = VoteSpec(ids["b"], "themes", 3, 1, "on_close")
    result = _decide(state, EditActivity(ids["v"], vote=spec))
    assert result == Decision(
        "activity.edited",
        {
            "activity": ids["v"],
            "vote": {
                "round": ids["b"],
                "target": "themes",
                "budget": 3,
                "cap": 1,
                "results": "on_close",
            },
        },
    )
    state, _ = step(state, FACILITATOR, EditActivity(ids["v"], prompt="New", vote=spec))
    edited = state.activities[ids["v"]]
    assert edited.prompt == "New"
    assert edited.vote == VoteSettings(
        ids["b"], VoteTarget.THEMES, 3, 1, ResultsVisibility.ON_CLOSE
    )


def test_edit_vote_settings_are_validated() -> None:
    state, _, ids = _agenda()
    bad = VoteSpec(ids["a"], budget=2, cap=3)
    assert _decide(state, EditActivity(ids["v"], vote=bad)) == Rejection(
        Code.INVALID, "the cap per item must be 1 to the budget"
    )
    assert _decide(state, EditActivity(ids["v"], vote=VoteSpec(ids["v"]))) == Rejection(
        Code.INVALID, f"activity {ids['v']} is not a notes round"
    )


def test_vote_settings_on_a_notes_round_cannot_be_edited_in() -> None:
    state, _, ids = _agenda()
    result = _decide(state, EditActivity(ids["a"], vote=VoteSpec(ids["a"])))
    assert result == Rejection(Code.INVALID, "only a vote has vote settings")


@pytest.mark.parametrize("status", ["open", "closed"])
def test_vote_settings_cannot_change_once_opened(status: str) -> None:
    state, _, ids = _agenda()
    state = _with_status(state, ids["v"], status)
    result = _decide(state, EditActivity(ids["v"], vote=VoteSpec(ids["a"], budget=50)))
    assert result == Rejection(Code.CONFLICT, "vote settings can change only before it opens")


def test_vote_settings_stay_frozen_after_reopening() -> None:
    state, _, ids = _agenda()
    state = _with_status(state, ids["v"], "closed")
    state, _ = step(state, FACILITATOR, SetActivityStatus(ids["v"], "open"))
    result = _decide(state, EditActivity(ids["v"], vote=VoteSpec(ids["a"], budget=50)))
    assert isinstance(result, Rejection)
    assert result.code is Code.CONFLICT


# -- MoveActivity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "position", "order"),
    [
        ("v", 0, ("v", "a", "b")),
        ("v", 1, ("a", "v", "b")),
        ("a", 2, ("b", "v", "a")),
        ("a", 1, ("b", "a", "v")),
        ("b", 0, ("b", "a", "v")),
        ("b", 2, ("a", "v", "b")),
    ],
)
def test_move_activity(which: str, position: int, order: tuple[str, ...]) -> None:
    state, _, ids = _agenda()
    assert state.agenda == (ids["a"], ids["b"], ids["v"])
    expected = [ids[name] for name in order]
    result = _decide(state, MoveActivity(ids[which], position))
    assert result == Decision("agenda.reordered", {"order": expected})
    activities = state.activities
    state, _ = step(state, FACILITATOR, MoveActivity(ids[which], position))
    assert state.agenda == tuple(expected)
    assert state.activities == activities  # only the order changes


@pytest.mark.parametrize("position", [-1, 3, 100])
def test_move_out_of_range_is_refused(position: int) -> None:
    state, _, ids = _agenda()
    assert _decide(state, MoveActivity(ids["a"], position)) == Rejection(
        Code.INVALID, "position must be 0-2"
    )


@pytest.mark.parametrize(("which", "position"), [("a", 0), ("b", 1), ("v", 2)])
def test_move_to_where_it_already_is_conflicts(which: str, position: int) -> None:
    state, _, ids = _agenda()
    assert _decide(state, MoveActivity(ids[which], position)) == Rejection(
        Code.CONFLICT, "the activity is already there"
    )


def test_move_an_unknown_activity_is_not_found() -> None:
    state, _, _ = _agenda()
    assert _decide(state, MoveActivity(999, 0)) == Rejection(
        Code.NOT_FOUND, "there is no activity 999"
    )


def test_moves_compose() -> None:
    state, _, ids = _agenda()
    state, _ = step(state, FACILITATOR, MoveActivity(ids["v"], 0))
    state, _ = step(state, FACILITATOR, MoveActivity(ids["a"], 0))
    assert state.agenda == (ids["a"], ids["v"], ids["b"])
    state, op = step(state, FACILITATOR, AddActivity("notes", "Next"))
    assert state.agenda == (ids["a"], ids["v"], ids["b"], op.seq)  # new ones go last


# -- SetActivityStatus ------------------------------------------------------------------------

# Written out by hand (not read from agenda._TRANSITIONS), so that a change fails here.
ALLOWED_MOVES = {
    ("draft", "open"),
    ("open", "closed"),
    ("closed", "open"),
    ("closed", "archived"),
    ("archived", "open"),
    ("archived", "closed"),
}


@pytest.mark.parametrize("start", ["draft", "open", "closed", "archived"])
@pytest.mark.parametrize("target", ["open", "closed", "archived"])
def test_status_transition_table(start: str, target: str) -> None:
    state, _, ids = _agenda()
    a = ids["a"]
    state = _with_status(state, a, start)
    result = _decide(state, SetActivityStatus(a, target))
    if (start, target) in ALLOWED_MOVES:
        assert result == Decision("activity.status", {"activity": a, "status": target})
        state, op = step(state, FACILITATOR, SetActivityStatus(a, target))
        assert state.activities[a].status is ActivityStatus(target)
        assert state.activities[a].updated_seq == op.seq
    elif start == target:
        assert result == Rejection(Code.CONFLICT, f"activity {a} is already {target}")
    else:
        assert result == Rejection(Code.CONFLICT, f"a {start} activity cannot become {target}")


@pytest.mark.parametrize("start", ["draft", "open", "closed", "archived"])
@pytest.mark.parametrize("status", ["draft", "Open", "locked", ""])
def test_status_values(start: str, status: str) -> None:
    state, _, ids = _agenda()
    state = _with_status(state, ids["a"], start)
    assert _decide(state, SetActivityStatus(ids["a"], status)) == Rejection(
        Code.INVALID, "status must be one of: open, closed, archived"
    )


def test_status_of_an_unknown_activity_is_not_found() -> None:
    state, _, _ = _agenda()
    assert _decide(state, SetActivityStatus(999, "open")) == Rejection(
        Code.NOT_FOUND, "there is no activity 999"
    )


def test_status_changes_one_activity_only() -> None:
    state, _, ids = _agenda()
    state = _with_status(state, ids["a"], "archived")
    assert state.activities[ids["b"]].status is ActivityStatus.DRAFT
    assert state.activities[ids["v"]].status is ActivityStatus.DRAFT


# -- SetCurrentActivity -----------------------------------------------------------------------


def test_set_and_clear_the_current_activity() -> None:
    state, _, ids = _agenda()
    assert state.current is None
    assert _decide(state, SetCurrentActivity(None)) == Rejection(
        Code.CONFLICT, "that is already the current activity"
    )
    result = _decide(state, SetCurrentActivity(ids["b"]))
    assert result == Decision("activity.current", {"activity": ids["b"]})
    state, _ = step(state, FACILITATOR, SetCurrentActivity(ids["b"]))
    assert state.current == ids["b"]
    assert _decide(state, SetCurrentActivity(ids["b"])) == Rejection(
        Code.CONFLICT, "that is already the current activity"
    )
    state, _ = step(state, FACILITATOR, SetCurrentActivity(ids["v"]))
    assert state.current == ids["v"]
    state, _ = step(state, FACILITATOR, SetCurrentActivity(None))
    assert state.current is None


def test_current_unknown_activity_is_not_found() -> None:
    state, _, _ = _agenda()
    assert _decide(state, SetCurrentActivity(999)) == Rejection(
        Code.NOT_FOUND, "there is no activity 999"
    )


# -- SetTimer ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [1, 300, 86400])
def test_timer_ends_at_the_ops_server_time_plus_the_seconds(seconds: int) -> None:
    state, ops, ids = _agenda()
    result = _decide(state, SetTimer(ids["a"], seconds))
    assert result == Decision("activity.timer", {"activity": ids["a"], "seconds": seconds})
    state, op = step(state, FACILITATOR, SetTimer(ids["a"], seconds))
    ops.append(op)
    assert state.activities[ids["a"]].ends_at == op.at + seconds * 1000
    assert state.activities[ids["a"]].updated_seq == op.seq


def test_timer_end_does_not_depend_on_when_the_log_is_folded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, ops, ids = _agenda()
    state, op = step(state, FACILITATOR, SetTimer(ids["a"], 90))
    ops.append(op)
    first = fold(EVENT_ID, ops)
    # a node folding the log an hour later, with a clock that is off
    monkeypatch.setattr(time, "time", lambda: 4_000_000_000.0)
    monkeypatch.setattr(time, "time_ns", lambda: 4_000_000_000_000_000_000)
    monkeypatch.setattr(time, "monotonic", lambda: 12_345.0)
    second = fold(EVENT_ID, ops)
    assert first == second == state
    assert second.activities[ids["a"]].ends_at == op.at + 90_000
    # the end is the op's own time: the same op recorded later ends later
    later = Op(op.seq, op.kind, op.by, op.at + 5_000, op.data)
    assert fold(EVENT_ID, [*ops[:-1], later]).activities[ids["a"]].ends_at == op.at + 95_000


def test_restarting_and_stopping_the_timer() -> None:
    state, _, ids = _agenda()
    state, _ = step(state, FACILITATOR, SetTimer(ids["a"], 60))
    state, op = step(state, FACILITATOR, SetTimer(ids["a"], 120))
    assert state.activities[ids["a"]].ends_at == op.at + 120_000
    assert _decide(state, SetTimer(ids["a"], None)) == Decision(
        "activity.timer", {"activity": ids["a"], "seconds": None}
    )
    state, _ = step(state, FACILITATOR, SetTimer(ids["a"], None))
    assert state.activities[ids["a"]].ends_at is None
    assert _decide(state, SetTimer(ids["a"], None)) == Rejection(
        Code.CONFLICT, "there is no countdown to stop"
    )


def test_stopping_when_there_is_no_timer_conflicts() -> None:
    state, _, ids = _agenda()
    assert _decide(state, SetTimer(ids["a"], None)) == Rejection(
        Code.CONFLICT, "there is no countdown to stop"
    )


@pytest.mark.parametrize("seconds", [0, -1, 86401, 10**9])
def test_timer_limits(seconds: int) -> None:
    state, _, ids = _agenda()
    assert _decide(state, SetTimer(ids["a"], seconds)) == Rejection(
        Code.INVALID, "a countdown is 1-86400 seconds"
    )


def test_timer_on_an_unknown_activity_is_not_found() -> None:
    state, _, _ = _agenda()
    assert _decide(state, SetTimer(999, 60)) == Rejection(
        Code.NOT_FOUND, "there is no activity 999"
    )


def test_timers_are_per_activity() -> None:
    state, _, ids = _agenda()
    state, op_a = step(state, FACILITATOR, SetTimer(ids["a"], 60))
    state, op_b = step(state, FACILITATOR, SetTimer(ids["b"], 30))
    assert state.activities[ids["a"]].ends_at == op_a.at + 60_000
    assert state.activities[ids["b"]].ends_at == op_b.at + 30_000
    assert state.activities[ids["v"]].ends_at is None


# -- archived activities are locked -----------------------------------------------------------


def _archived_room() -> tuple[EventState, dict[str, int]]:
    """``room()`` with its notes round archived (closed first), and its vote archived too."""
    state, _, ids = room()
    for activity_id in (ids["round"], ids["vote"]):
        for status in ("closed", "archived"):
            state, _ = step(state, FACILITATOR, SetActivityStatus(activity_id, status))
    return state, ids


_LOCKED: list[tuple[str, Actor, Callable[[dict[str, int]], Command]]] = [
    ("edit prompt", FACILITATOR, lambda i: EditActivity(i["round"], prompt="Changed")),
    ("edit vote", FACILITATOR, lambda i: EditActivity(i["vote"], prompt="Changed")),
    ("timer", FACILITATOR, lambda i: SetTimer(i["round"], 60)),
    ("stop timer", FACILITATOR, lambda i: SetTimer(i["round"], None)),
    ("note by participant", PARTICIPANT, lambda i: AddNote("late", round=i["round"])),
    ("note by facilitator", FACILITATOR, lambda i: AddNote("late", round=i["round"])),
    ("edit own note", PARTICIPANT, lambda i: EditNote(i["p1"], "changed")),
    ("delete own note", PARTICIPANT, lambda i: DeleteNote(i["p1"])),
    ("reword note", FACILITATOR, lambda i: EditNote(i["p1"], "changed")),
    ("hide note", FACILITATOR, lambda i: HideNote(i["p1"])),
    ("merge notes", FACILITATOR, lambda i: MergeNotes((i["p1"], i["p2"]), "both")),
    ("add theme", FACILITATOR, lambda i: AddTheme(i["round"], "Safety")),
    ("rename theme", FACILITATOR, lambda i: RenameTheme(i["theme"], "Moving")),
    ("delete theme", FACILITATOR, lambda i: DeleteTheme(i["theme"])),
    ("theme a note", FACILITATOR, lambda i: SetNoteTheme(i["p1"], i["theme"])),
    ("unthemed note", FACILITATOR, lambda i: SetNoteTheme(i["p2"], None)),
]


@pytest.mark.parametrize(
    ("actor", "make"), [(a, m) for _, a, m in _LOCKED], ids=[name for name, _, _ in _LOCKED]
)
def test_archived_activities_refuse_changes(
    actor: Actor, make: Callable[[dict[str, int]], Command]
) -> None:
    state, ids = _archived_room()
    command = make(ids)
    result = _decide(state, command, actor)
    assert isinstance(result, Rejection), result
    assert result.code is Code.CONFLICT
    assert "archived; reopen it first" in result.message


@pytest.mark.parametrize("command", [AddDot, RemoveDot])
def test_an_archived_vote_refuses_dots(command: type[AddDot] | type[RemoveDot]) -> None:
    state, ids = _archived_room()
    result = _decide(state, command(ids["vote"], ids["p1"]), PARTICIPANT)
    assert result == Rejection(Code.CONFLICT, "the vote is archived: dots cannot change")


def test_reopening_an_archived_round_unlocks_it() -> None:
    state, ids = _archived_room()
    state, _ = step(state, FACILITATOR, SetActivityStatus(ids["round"], "open"))
    assert isinstance(_decide(state, SetTimer(ids["round"], 60)), Decision)
    assert isinstance(_decide(state, AddNote("late", round=ids["round"]), PARTICIPANT), Decision)
    assert isinstance(_decide(state, AddTheme(ids["round"], "Safety")), Decision)


def test_archived_activities_may_still_be_moved_and_made_current() -> None:
    state, ids = _archived_room()
    assert isinstance(_decide(state, MoveActivity(ids["round"], 1)), Decision)
    state, _ = step(state, FACILITATOR, SetCurrentActivity(ids["vote"]))
    assert isinstance(_decide(state, SetCurrentActivity(ids["round"])), Decision)
