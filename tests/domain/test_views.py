"""What each audience sees of ops and state: names by the anonymity setting, hidden notes
for facilitators only, and no individual dots for anyone."""

from __future__ import annotations

from dataclasses import replace

import pytest
from plenary.domain.commands import AddDot, EditNote, HideNote, UnhideNote, UpdateEvent
from plenary.domain.fold import apply, fold
from plenary.domain.model import Anonymity, EventState, Op, Role
from plenary.domain.views import op_view, sees_names, state_view

from . import EVENT_ID, FACILITATOR, OTHER_PARTICIPANT, PARTICIPANT, room, step

AUDIENCES = (Role.FACILITATOR, Role.PARTICIPANT, Role.OBSERVER)


def _views(state: EventState, op: Op) -> dict[Role, dict | None]:
    after, _ = apply(state, op)
    return {a: op_view(op, state, after, a) for a in AUDIENCES}


@pytest.mark.parametrize(
    ("anonymity", "facilitator", "others"),
    [
        (Anonymity.EVERYONE, True, True),
        (Anonymity.FACILITATORS, True, False),
        (Anonymity.NOBODY, False, False),
    ],
)
def test_names_follow_the_anonymity_setting(
    anonymity: Anonymity, facilitator: bool, others: bool
) -> None:
    assert sees_names(anonymity, Role.FACILITATOR) is facilitator
    assert sees_names(anonymity, Role.PARTICIPANT) is others
    assert sees_names(anonymity, Role.OBSERVER) is others
    state, ops, _ = room()
    if anonymity is not Anonymity.EVERYONE:
        state, _ = step(state, FACILITATOR, UpdateEvent(anonymity=anonymity.value))
    for audience, shown in ((Role.FACILITATOR, facilitator), (Role.PARTICIPANT, others)):
        names = {p["id"]: p["name"] for p in state_view(state, audience)["participants"]}
        assert names[PARTICIPANT.id] == (f"name of {PARTICIPANT.id}" if shown else None)
    # The join op itself, replayed against the same setting, says the same.
    join = next(op for op in ops if op.kind == "participant.joined")
    before = fold(EVENT_ID, [o for o in ops if o.seq < join.seq])
    before = replace(before, anonymity=anonymity)
    views = _views(before, join)
    assert (views[Role.FACILITATOR] or {})["data"]["name"] == (
        join.data["name"] if facilitator else None
    )
    assert (views[Role.OBSERVER] or {})["data"]["name"] == (join.data["name"] if others else None)


def test_no_audience_receives_a_dot() -> None:
    state, _, ids = room()
    decision_state, op = step(state, OTHER_PARTICIPANT, AddDot(ids["vote"], ids["p1"]))
    assert decision_state.spent[(ids["vote"], OTHER_PARTICIPANT.id)] == 1
    assert _views(state, op) == dict.fromkeys(AUDIENCES)
    for audience in AUDIENCES:
        assert "dots" not in state_view(decision_state, audience)


def test_a_hidden_note_is_gone_for_the_room_and_comes_back_whole() -> None:
    state, _, ids = room()
    after_hide, hide = step(state, FACILITATOR, HideNote(ids["p1"]))
    views = _views(state, hide)
    assert views[Role.FACILITATOR] == hide.to_wire()
    for audience in (Role.PARTICIPANT, Role.OBSERVER):
        assert views[audience] == {**hide.to_wire(), "kind": "note.deleted"}
        assert ids["p1"] not in {n["id"] for n in state_view(after_hide, audience)["notes"]}
    assert ids["p1"] in {n["id"] for n in state_view(after_hide, Role.FACILITATOR)["notes"]}

    # Changes to it while hidden reach facilitators only.
    after_edit, edit = step(after_hide, FACILITATOR, EditNote(ids["p1"], "reworded"))
    views = _views(after_hide, edit)
    assert views[Role.FACILITATOR] == edit.to_wire()
    assert views[Role.PARTICIPANT] is None and views[Role.OBSERVER] is None

    _, unhide = step(after_edit, FACILITATOR, UnhideNote(ids["p1"]))
    views = _views(after_edit, unhide)
    assert views[Role.FACILITATOR] is not None
    restored = views[Role.OBSERVER]["data"]["restored"]  # type: ignore[index]
    assert (restored["id"], restored["text"], restored["hidden"]) == (ids["p1"], "reworded", False)


def test_ordinary_ops_reach_everyone_unchanged() -> None:
    state, _, ids = room()
    _, edit = step(state, PARTICIPANT, EditNote(ids["p1"], "night buses every 20 minutes"))
    assert _views(state, edit) == dict.fromkeys(AUDIENCES, edit.to_wire())


def test_state_views_carry_the_agenda_and_themes() -> None:
    state, _, ids = room()
    view = state_view(state, Role.OBSERVER)
    assert view["agenda"] == [ids["round"], ids["vote"]]
    assert view["current"] == ids["round"]
    assert [t["id"] for t in view["themes"]] == [ids["theme"]]
    notes = {n["id"]: n for n in view["notes"]}
    assert notes[ids["p2"]]["theme"] == ids["theme"]
    assert notes[ids["p1"]]["round"] == ids["round"]
