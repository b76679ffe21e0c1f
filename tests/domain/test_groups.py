"""Small stakeholder groups folded together for everyone but facilitators (groups.py)."""

from __future__ import annotations

from plenary.domain import dots, reactions
from plenary.domain.commands import AddDot, Join, React, SetCurrentActivity, UpdateEvent
from plenary.domain.decision import Limits
from plenary.domain.groups import OTHER_GROUPS, folded, min_size
from plenary.domain.model import Actor, EventState, Role

from . import FACILITATOR, created, drafting, room, step


def _with_members(state: EventState, sizes: dict[str | None, int]) -> EventState:
    n = len(state.participants)
    for group, size in sizes.items():
        for _ in range(size):
            n += 1
            state, _ = step(state, None, Join(f"x_{n}", None, group, None), by=f"x_{n}")
    return state


def _event(sizes: dict[str | None, int]) -> EventState:
    # created() has p_1 in Staff and p_2 in Guests: count them in.
    state, _, _ = room()
    return _with_members(state, sizes)


def test_facilitators_see_every_group_and_the_room_groups_of_k() -> None:
    assert min_size(Role.FACILITATOR, Limits(group_min_size=5)) == 1
    for audience in (Role.PARTICIPANT, Role.OBSERVER, Role.WRITER):
        assert min_size(audience, Limits(group_min_size=5)) == 5
    assert Limits().group_min_size == 3


def test_groups_under_k_are_folded_and_a_fold_of_one_small_group_takes_the_smallest_other() -> None:
    state = _event({"Staff": 4, "Guests": 1})  # Staff 5, Guests 2: Guests alone is 2 < 3
    assert folded(state, 3) == {"Guests": OTHER_GROUPS, "Staff": OTHER_GROUPS}
    state = _with_members(state, {"Guests": 1})  # Guests 3: nobody is small
    assert folded(state, 3) == {}
    assert folded(state, 4) == {"Guests": OTHER_GROUPS, "Staff": OTHER_GROUPS}
    assert folded(state, 1) == {}


def test_two_small_groups_that_add_up_to_k_are_one_bucket_and_the_big_ones_stay() -> None:
    state, _, _ = room()
    state, _ = step(state, FACILITATOR, UpdateEvent(groups=("Staff", "Guests", "Board")))
    state = _with_members(state, {"Board": 5, "Staff": 1})  # Staff 2, Guests 1
    assert folded(state, 3) == {"Staff": OTHER_GROUPS, "Guests": OTHER_GROUPS}


def test_people_without_a_group_are_a_group_for_this() -> None:
    state, _ = created(groups=())  # p_1 and p_2 joined before there were groups
    state, _ = step(state, FACILITATOR, UpdateEvent(groups=("Staff", "Guests")))
    state = _with_members(state, {"Staff": 5, "Guests": 4})
    assert folded(state, 3) == {"": OTHER_GROUPS, "Guests": OTHER_GROUPS}


def test_the_rooms_tally_does_not_show_the_dots_of_a_group_of_one() -> None:
    state, _, ids = room()  # p_1 (Staff, alone) put a dot on p1's note
    state = _with_members(state, {"Guests": 4})  # Guests 5
    state, _ = step(state, Actor("x_3", Role.PARTICIPANT), AddDot(ids["vote"], ids["p2"]))
    vote = state.activities[ids["vote"]]

    full = dots.vote_results(state, vote)
    assert full.groups == ["Guests", "Staff"]
    assert full.dots_by_group == {"Guests": 1, "Staff": 1}

    room_view = dots.vote_results(state, vote, 3)
    # Staff (1) folds with the smallest other group, Guests (5): one bucket of 6.
    assert room_view.groups == [OTHER_GROUPS]
    assert room_view.dots_by_group == {OTHER_GROUPS: 2}
    assert [(r.item, r.total) for r in room_view.items] == [(r.item, r.total) for r in full.items]
    assert all(set(r.by_group) == {OTHER_GROUPS} for r in room_view.items)
    assert not room_view.classified  # one group: no verdicts that speak for a person


def test_reaction_counts_and_comments_fold_small_groups() -> None:
    state, _, ids = drafting()
    state = _with_members(state, {"Guests": 4})  # Staff 1 (p_1), Guests 5
    state, _ = step(state, FACILITATOR, SetCurrentActivity(ids["draft"]))
    section = state.drafts[ids["draft"]].versions[0].sections[0]
    p1 = Actor("p_1", Role.PARTICIPANT)
    state, _ = step(state, p1, React(ids["draft"], 1, section, "concern", "I run the buses"))
    full = reactions.standing(state, ids["draft"], 1, comments=True)
    assert [g["group"] for g in full["sections"][0]["by_group"]] == ["Staff"]
    assert full["sections"][0]["comments"][0]["group"] == "Staff"
    shown = reactions.standing(state, ids["draft"], 1, comments=True, min_group=3)
    assert [g["group"] for g in shown["sections"][0]["by_group"]] == [OTHER_GROUPS]
    assert shown["sections"][0]["comments"][0]["group"] == OTHER_GROUPS
    assert shown["sections"][0]["counts"] == full["sections"][0]["counts"]
    compared = reactions.compare(state, ids["draft"], 1, 1, min_group=3)
    assert [g["group"] for g in compared["sections"][0]["by_group"]] == [OTHER_GROUPS]
