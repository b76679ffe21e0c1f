"""Reactions to the sections of a published draft: who may react to what, one reaction per
person per section, counts by group kept exactly, who sees them, and how they moved."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from plenary.domain import reactions
from plenary.domain.commands import (
    AddActivity,
    Command,
    CreateEvent,
    Join,
    PublishDraft,
    React,
    SaveDraft,
    SetActivityStatus,
    SetWriter,
    UpdateEvent,
)
from plenary.domain.fold import NO_GROUP, fold
from plenary.domain.model import (
    ActivityKind,
    ActivityStatus,
    Actor,
    EventState,
    Op,
    ReactionsVisibility,
    Role,
)
from plenary.domain.reactions import COMMENT_MAX, compare, mine, standing, visible
from plenary.domain.rules import Decision, decide
from plenary.errors import Code, Rejection
from plenary.protocol.schema import _validator_for, first_error

from . import EVENT_ID, FACILITATOR, LIMITS, OBSERVER, PLAN_V1, PLAN_V2, drafting, step

P1, P2, P3, P4 = (Actor(f"p_{n}", Role.PARTICIPANT) for n in range(1, 5))
READERS = (P1, P2, P3, P4)
GROUP_OF = {"p_1": "Staff", "p_2": "Guests", "p_3": "Staff", "p_4": None}
STRANGER = Actor("p_9", Role.PARTICIPANT)
KINDS = ("support", "concern", "question")

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

REACTIONS_FRAME = _validator_for("Reactions")
REACTED_FRAME = _validator_for("Reacted")


def _reading_room(
    visibility: str = "live",
) -> tuple[EventState, list[Op], int]:
    """Participants p_1 and p_3 (Staff), p_2 (Guests) and p_4 (no group: joined before
    the event had groups); an open draft whose version 1 (PLAN_V1, sections s1-s3) is
    published and version 2 (PLAN_V2, s1-s4) saved. Returns the draft's id."""
    state, ops = EventState(id=EVENT_ID), []

    def do(actor: Actor | None, command: Command, by: str | None = None) -> int:
        nonlocal state
        state, op = step(state, actor, command, by=by)
        ops.append(op)
        return op.seq

    do(None, CreateEvent("Town hall", (), "ABC346"))
    do(None, Join("p_4", None, None, None), by="p_4")
    do(FACILITATOR, UpdateEvent(groups=("Staff", "Guests")))
    for reader in READERS[:3]:
        do(None, Join(reader.id, None, GROUP_OF[reader.id], None), by=reader.id)
    draft = do(FACILITATOR, AddActivity("draft", "The strategy", reactions=visibility))
    do(FACILITATOR, SetActivityStatus(draft, "open"))
    do(FACILITATOR, SaveDraft(draft, 0, PLAN_V1))
    do(FACILITATOR, PublishDraft(draft, 1))
    do(FACILITATOR, SaveDraft(draft, 1, PLAN_V2))
    return state, ops, draft


def _decide(state: EventState, actor: Actor, command: Command) -> Decision | Rejection:
    return decide(state, actor, command, LIMITS)


def _refused(state: EventState, actor: Actor, command: Command, code: Code) -> Rejection:
    out = _decide(state, actor, command)
    assert isinstance(out, Rejection), out
    assert out.code is code, out
    return out


def _do(state: EventState, actor: Actor, *commands: Command) -> EventState:
    for command in commands:
        state, _ = step(state, actor, command)
    return state


def _counts(state: EventState) -> dict[tuple[int, int, str, str, str], int]:
    return dict(state.reaction_counts)


def _recount(state: EventState) -> dict[tuple[int, int, str, str, str], int]:
    """The counts, worked out from the reactions themselves."""
    return dict(
        Counter((a, v, s, r.kind.value, r.group) for (a, v, s, _), r in state.reactions.items())
    )


def _valid(validator: Any, instance: object) -> None:
    assert (reason := first_error(validator, instance)) is None, reason


# -- who may react to what ----------------------------------------------------------------------


def test_only_participants_who_joined_react() -> None:
    state, _, draft = _reading_room()
    message = _refused(state, STRANGER, React(draft, 1, "s1", "support"), Code.FORBIDDEN).message
    assert "not joined" in message
    for actor in (FACILITATOR, OBSERVER):
        _refused(state, actor, React(draft, 1, "s1", "support"), Code.FORBIDDEN)
    state, op = step(state, P1, React(draft, 1, "s1", "support"))
    assert op.kind == "reaction.changed" and op.by == P1.id
    assert op.data == {
        "activity": draft,
        "version": 1,
        "section": "s1",
        "reaction": "support",
        "comment": None,
    }
    # A writer is still a participant and reacts like one.
    state = _do(state, FACILITATOR, SetWriter(P2.id, True))
    assert isinstance(_decide(state, P2, React(draft, 1, "s1", "concern")), Decision)


def test_reactions_are_to_the_version_on_screens() -> None:
    state, _, draft = _reading_room()
    # Version 2 is saved but not published: nobody has read it.
    message = _refused(state, P1, React(draft, 2, "s1", "support"), Code.CONFLICT).message
    assert "version 1 is the one on screens" in message
    state = _do(state, P1, React(draft, 1, "s2", "concern"))
    state = _do(state, FACILITATOR, PublishDraft(draft, 2))
    # A phone that has not caught up may not count against the old version.
    _refused(state, P1, React(draft, 1, "s2", "support"), Code.CONFLICT)
    _refused(state, P1, React(draft, 1, "s2", None), Code.CONFLICT)
    state = _do(state, P1, React(draft, 2, "s4", "support"))
    # The reaction to version 1 stays with version 1.
    assert state.reactions[(draft, 1, "s2", P1.id)].kind.value == "concern"
    assert state.reactions[(draft, 2, "s4", P1.id)].kind.value == "support"
    for number in (0, 3, 99):
        _refused(state, P1, React(draft, number, "s1", "support"), Code.CONFLICT)


def test_a_draft_with_nothing_published_takes_no_reactions() -> None:
    state, _, ids = drafting()
    state = _do(state, FACILITATOR, AddActivity("draft", "Another"))
    other = state.seq
    state = _do(state, FACILITATOR, SetActivityStatus(other, "open"))
    message = _refused(state, P1, React(other, 1, "s1", "support"), Code.CONFLICT).message
    assert "no version" in message
    state = _do(state, FACILITATOR, SaveDraft(other, 0, PLAN_V1))
    _refused(state, P1, React(other, 1, "s1", "support"), Code.CONFLICT)
    _refused(state, P1, React(ids["round"], 1, "s1", "support"), Code.INVALID)
    _refused(state, P1, React(ids["vote"], 1, "s1", "support"), Code.INVALID)
    _refused(state, P1, React(9999, 1, "s1", "support"), Code.NOT_FOUND)


def test_reactions_change_only_while_the_draft_is_open() -> None:
    state, _, draft = _reading_room()
    state = _do(state, P1, React(draft, 1, "s1", "support"))
    closed = _do(state, FACILITATOR, SetActivityStatus(draft, "closed"))
    archived = _do(closed, FACILITATOR, SetActivityStatus(draft, "archived"))
    for frozen, status in ((closed, "closed"), (archived, "archived")):
        message = _refused(frozen, P2, React(draft, 1, "s1", "support"), Code.CONFLICT).message
        assert status in message
        _refused(frozen, P1, React(draft, 1, "s1", None), Code.CONFLICT)
        _refused(frozen, P1, React(draft, 1, "s1", "concern"), Code.CONFLICT)
    reopened = _do(closed, FACILITATOR, SetActivityStatus(draft, "open"))
    assert isinstance(_decide(reopened, P2, React(draft, 1, "s1", "support")), Decision)
    # A draft published before it was opened takes none either.
    state, _, _ = drafting()
    state = _do(state, FACILITATOR, AddActivity("draft", "Not yet open"))
    unopened = state.seq
    state = _do(state, FACILITATOR, SaveDraft(unopened, 0, PLAN_V1), PublishDraft(unopened, 1))
    _refused(state, P1, React(unopened, 1, "s1", "support"), Code.CONFLICT)


def test_the_section_must_be_in_the_version() -> None:
    state, _, draft = _reading_room()
    for section in ("s4", "s0", "s99", ""):  # s4 is in version 2 only
        _refused(state, P1, React(draft, 1, section, "support"), Code.NOT_FOUND)


@pytest.mark.parametrize("kind", ["love", "", "Support", "SUPPORT "])
def test_a_reaction_is_one_of_three(kind: str) -> None:
    state, _, draft = _reading_room()
    assert (
        "support, concern, question"
        in _refused(state, P1, React(draft, 1, "s1", kind), Code.INVALID).message
    )


# -- one reaction per person per section -------------------------------------------------------


def test_changing_a_reaction_moves_the_count() -> None:
    state, _, draft = _reading_room()
    state = _do(state, P1, React(draft, 1, "s2", "support"))
    assert _counts(state) == {(draft, 1, "s2", "support", "Staff"): 1}
    state = _do(state, P1, React(draft, 1, "s2", "concern"))
    assert _counts(state) == {(draft, 1, "s2", "concern", "Staff"): 1}
    assert list(state.reactions) == [(draft, 1, "s2", P1.id)]
    state = _do(state, P3, React(draft, 1, "s2", "concern"), React(draft, 1, "s3", "question"))
    state = _do(state, P2, React(draft, 1, "s2", "concern"))
    assert _counts(state) == {
        (draft, 1, "s2", "concern", "Staff"): 2,
        (draft, 1, "s2", "concern", "Guests"): 1,
        (draft, 1, "s3", "question", "Staff"): 1,
    }
    # Taken back: the count drops, and a zero is no entry at all.
    state, op = step(state, P3, React(draft, 1, "s3", None))
    assert op.data["reaction"] is None and op.data["comment"] is None
    assert (draft, 1, "s3", P3.id) not in state.reactions
    assert (draft, 1, "s3", "question", "Staff") not in state.reaction_counts
    message = _refused(state, P3, React(draft, 1, "s3", None), Code.CONFLICT).message
    assert "no reaction here to take back" in message
    assert _counts(state) == _recount(state)


def test_participants_without_a_group_are_counted_apart() -> None:
    state, _, draft = _reading_room()
    state = _do(state, P4, React(draft, 1, "s1", "question", "Which buses?"))
    reaction = state.reactions[(draft, 1, "s1", P4.id)]
    assert reaction.group == NO_GROUP and reaction.comment == "Which buses?"
    assert _counts(state) == {(draft, 1, "s1", "question", NO_GROUP): 1}
    s1 = standing(state, draft, 1, comments=True)["sections"][0]
    assert s1["by_group"] == [
        {"group": None, "counts": {"support": 0, "concern": 0, "question": 1}}
    ]
    assert s1["comments"] == [{"reaction": "question", "comment": "Which buses?", "group": None}]


def test_comments_go_with_a_reaction() -> None:
    state, _, draft = _reading_room()
    message = _refused(state, P1, React(draft, 1, "s1", None, "but why"), Code.INVALID).message
    assert "a comment goes with a reaction" in message
    # A blank comment is no comment; a comment is tidied.
    decision = _decide(state, P1, React(draft, 1, "s1", "support", " \n\t "))
    assert isinstance(decision, Decision) and decision.data["comment"] is None
    decision = _decide(state, P1, React(draft, 1, "s1", "support", "  yes\x00 please\r\n"))
    assert isinstance(decision, Decision) and decision.data["comment"] == "yes please"
    exactly = "c" * COMMENT_MAX
    decision = _decide(state, P1, React(draft, 1, "s1", "concern", exactly))
    assert isinstance(decision, Decision) and decision.data["comment"] == exactly
    message = _refused(state, P1, React(draft, 1, "s1", "concern", exactly + "c"), Code.INVALID)
    assert str(COMMENT_MAX) in message.message
    # With nothing to take back, a blank comment on a take-back is still nothing to do.
    _refused(state, P1, React(draft, 1, "s1", None, "  "), Code.CONFLICT)


def test_the_same_reaction_twice_is_refused() -> None:
    state, _, draft = _reading_room()
    state = _do(state, P1, React(draft, 1, "s1", "concern", "too slow"))
    for same in (
        React(draft, 1, "s1", "concern", "too slow"),
        React(draft, 1, "s1", "concern", " too slow "),
    ):
        message = _refused(state, P1, same, Code.CONFLICT).message
        assert "already your reaction" in message
    # The same kind with another comment, or without one, is a change.
    counts = _counts(state)
    state = _do(state, P1, React(draft, 1, "s1", "concern", "far too slow"))
    assert _counts(state) == counts
    assert state.reactions[(draft, 1, "s1", P1.id)].comment == "far too slow"
    state = _do(state, P1, React(draft, 1, "s1", "concern"))
    assert state.reactions[(draft, 1, "s1", P1.id)].comment is None
    _refused(state, P1, React(draft, 1, "s1", "concern"), Code.CONFLICT)


# -- a property: counts are always a recount ------------------------------------------------------


@st.composite
def _session(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Reactions, changes and take-backs by four participants (and a stranger), now and
    then a new version published, or the draft closed and reopened."""
    moves: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(min_value=1, max_value=40))):
        what = draw(st.sampled_from(["react"] * 12 + ["publish", "close"]))
        if what == "react":
            moves.append(
                (
                    "react",
                    (
                        draw(st.sampled_from([*READERS, STRANGER])),
                        draw(st.sampled_from(["s1", "s2", "s3", "s4"])),
                        draw(st.sampled_from([*KINDS, None, None])),
                        draw(st.sampled_from([None, None, "hm", "  ", "good"])),
                        draw(st.booleans()),  # to an old version
                    ),
                )
            )
        else:
            moves.append((what, None))
    return moves


def _expected(state: EventState, draft: int, actor: Actor, command: React) -> Code | None:
    """What the rules should say, worked out independently of plenary.domain.reactions."""
    found = state.drafts[draft]
    if actor.id not in state.participants:
        return Code.FORBIDDEN
    if state.activities[draft].status is not ActivityStatus.OPEN:
        return Code.CONFLICT
    if command.version != found.published:
        return Code.CONFLICT
    if command.section not in found.versions[command.version - 1].sections:
        return Code.NOT_FOUND
    comment = (command.comment or "").strip() or None
    if command.reaction is None and comment is not None:
        return Code.INVALID
    before = state.reactions.get((draft, command.version, command.section, actor.id))
    if before is None and command.reaction is None:
        return Code.CONFLICT
    if before is not None and (before.kind.value, before.comment) == (command.reaction, comment):
        return Code.CONFLICT
    return None


@SETTINGS
@given(_session())
def test_counts_always_equal_a_recount(moves: list[tuple[str, Any]]) -> None:
    state, ops, draft = _reading_room()

    def do(actor: Actor, command: Command) -> None:
        nonlocal state
        state, op = step(state, actor, command)
        ops.append(op)

    for what, args in moves:
        found = state.drafts[draft]
        published = found.published
        assert published is not None
        if what == "publish":
            text = found.versions[-1].text + f"\nParagraph {len(ops)}.\n"
            do(FACILITATOR, SaveDraft(draft, found.head, text))
            do(FACILITATOR, PublishDraft(draft, found.head + 1))
            continue
        if what == "close":
            status = state.activities[draft].status
            do(FACILITATOR, SetActivityStatus(draft, "open" if status == "closed" else "closed"))
            continue
        actor, section, kind, comment, old = args
        version = published - 1 if old and published > 1 else published
        command = React(draft, version, section, kind, comment)
        expected = _expected(state, draft, actor, command)
        out = _decide(state, actor, command)
        event(f"refused: {out.code}" if isinstance(out, Rejection) else "accepted")
        if isinstance(out, Rejection):
            assert out.code is expected, (out, expected)
            continue
        assert expected is None, (out, expected)
        before = len(state.reactions)
        had = (draft, version, section, actor.id) in state.reactions
        do(actor, command)
        assert len(state.reactions) == before + (0 if had else 1) - (1 if kind is None else 0)
        assert _counts(state) == _recount(state)

    assert _counts(state) == _recount(state)
    assert all(n > 0 for n in state.reaction_counts.values())
    for number in range(1, state.drafts[draft].head + 1):
        theirs = [k for k in state.reactions if k[1] == number]
        for comments in (False, True):
            board = standing(state, draft, number, comments=comments)
            _valid(REACTIONS_FRAME, {"t": "reactions", "seq": state.seq, **board})
            assert sum(board["total"].values()) == len(theirs)
            assert sum(sum(s["counts"].values()) for s in board["sections"]) == len(theirs)
            for s in board["sections"]:
                by_group = Counter[str]()
                for g in s["by_group"]:
                    by_group.update(g["counts"])
                assert {k: by_group[k] for k in KINDS} == s["counts"]
        for reader in READERS:
            own = mine(state, draft, number, reader.id)
            _valid(REACTED_FRAME, {"t": "reacted", "seq": state.seq, **own})
            assert len(own["reactions"]) == sum(1 for k in theirs if k[3] == reader.id)
    assert fold(EVENT_ID, ops) == state


# -- who sees the counts ------------------------------------------------------------------------


@pytest.mark.parametrize("setting", [*ReactionsVisibility, None])
@pytest.mark.parametrize("status", list(ActivityStatus))
@pytest.mark.parametrize("audience", list(Role))
def test_who_sees_the_counts(
    setting: ReactionsVisibility | None, status: ActivityStatus, audience: Role
) -> None:
    state, _, draft = _reading_room()
    found = replace(state.activities[draft], reactions=setting, status=status)
    if audience in (Role.FACILITATOR, Role.WRITER) or setting is ReactionsVisibility.LIVE:
        expected = True
    elif setting is ReactionsVisibility.ON_CLOSE:
        expected = status in (ActivityStatus.CLOSED, ActivityStatus.ARCHIVED)
    else:
        expected = False
    assert visible(found, audience) is expected
    assert reactions.sees_comments(audience) is (audience in (Role.FACILITATOR, Role.WRITER))


def test_a_drafts_reactions_default_to_facilitators_only() -> None:
    state, _, ids = drafting()
    state = _do(state, FACILITATOR, AddActivity("draft", "Quiet"))
    quiet = state.activities[state.seq]
    assert quiet.kind is ActivityKind.DRAFT
    assert quiet.reactions is ReactionsVisibility.FACILITATORS
    assert not visible(quiet, Role.PARTICIPANT) and not visible(quiet, Role.OBSERVER)
    assert visible(quiet, Role.WRITER) and visible(quiet, Role.FACILITATOR)
    assert state.activities[ids["draft"]].reactions is ReactionsVisibility.LIVE


# -- standing, mine, compare ----------------------------------------------------------------------


def test_standing_reads_the_counts_and_comments_without_names() -> None:
    state, _, draft = _reading_room()
    state = _do(state, P2, React(draft, 1, "s2", "concern", "nights too"))
    state = _do(
        state, P1, React(draft, 1, "s2", "support", "good"), React(draft, 1, "s1", "support")
    )
    state = _do(state, P3, React(draft, 1, "s2", "concern"))
    counts = standing(state, draft, 1, comments=False)
    _valid(REACTIONS_FRAME, {"t": "reactions", "seq": state.seq, **counts})
    assert counts["activity"] == draft and counts["version"] == 1
    assert counts["total"] == {"support": 2, "concern": 2, "question": 0}
    assert [s["section"] for s in counts["sections"]] == ["s1", "s2", "s3"]
    s2 = counts["sections"][1]
    assert s2["counts"] == {"support": 1, "concern": 2, "question": 0}
    assert s2["by_group"] == [
        {"group": "Guests", "counts": {"support": 0, "concern": 1, "question": 0}},
        {"group": "Staff", "counts": {"support": 1, "concern": 1, "question": 0}},
    ]
    assert "comments" not in s2
    assert counts["sections"][2] == {
        "section": "s3",
        "counts": {"support": 0, "concern": 0, "question": 0},
        "by_group": [],
    }
    full = standing(state, draft, 1, comments=True)
    _valid(REACTIONS_FRAME, {"t": "reactions", "seq": state.seq, **full})
    assert full["sections"][1]["comments"] == [  # in the order they were made
        {"reaction": "concern", "comment": "nights too", "group": "Guests"},
        {"reaction": "support", "comment": "good", "group": "Staff"},
    ]
    assert full["sections"][0]["comments"] == []
    assert P1.id not in repr(full) and P2.id not in repr(full)
    # A version nobody saved has no sections to stand on.
    assert standing(state, draft, 9, comments=False)["sections"] == []


def test_mine_is_ones_own_reactions() -> None:
    state, _, draft = _reading_room()
    state = _do(
        state, P1, React(draft, 1, "s2", "concern", "why"), React(draft, 1, "s1", "support")
    )
    state = _do(state, P2, React(draft, 1, "s1", "question"))
    own = mine(state, draft, 1, P1.id)
    _valid(REACTED_FRAME, {"t": "reacted", "seq": state.seq, **own})
    assert own == {
        "activity": draft,
        "version": 1,
        "reactions": [
            {"section": "s1", "reaction": "support", "comment": None},
            {"section": "s2", "reaction": "concern", "comment": "why"},
        ],
    }
    assert mine(state, draft, 1, P4.id)["reactions"] == []
    assert mine(state, draft, 2, P1.id)["reactions"] == []


def _zero(**counts: int) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in KINDS}


def test_compare_shows_how_the_redraft_moved_the_room() -> None:
    state, _, draft = _reading_room()
    state = _do(state, P1, React(draft, 1, "s2", "concern"))
    state = _do(state, P2, React(draft, 1, "s2", "concern"))
    state = _do(state, P4, React(draft, 1, "s3", "question"))
    state = _do(state, FACILITATOR, PublishDraft(draft, 2))
    state = _do(state, P1, React(draft, 2, "s2", "support"))
    state = _do(state, P2, React(draft, 2, "s2", "concern"))
    state = _do(state, P4, React(draft, 2, "s4", "support"))
    out = compare(state, draft, 1, 2)
    assert (out["activity"], out["from"], out["to"]) == (draft, 1, 2)
    # s4 is new in version 2: there is nothing to compare it with.
    assert [s["section"] for s in out["sections"]] == ["s1", "s2", "s3"]
    s1, s2, s3 = out["sections"]
    assert s1 == {
        "section": "s1",
        "before": _zero(),
        "after": _zero(),
        "shift": _zero(),
        "by_group": [],
    }
    assert (s2["before"], s2["after"]) == (_zero(concern=2), _zero(support=1, concern=1))
    assert s2["shift"] == _zero(support=1, concern=-1)
    assert s2["by_group"] == [
        {
            "group": "Guests",
            "before": _zero(concern=1),
            "after": _zero(concern=1),
            "shift": _zero(),
        },
        {
            "group": "Staff",
            "before": _zero(concern=1),
            "after": _zero(support=1),
            "shift": _zero(support=1, concern=-1),
        },
    ]
    assert s3["shift"] == _zero(question=-1)
    assert s3["by_group"] == [
        {"group": None, "before": _zero(question=1), "after": _zero(), "shift": _zero(question=-1)}
    ]
    # The other way round, the shift is the opposite and a removed section is left out.
    back = compare(state, draft, 2, 1)
    assert [s["section"] for s in back["sections"]] == ["s1", "s2", "s3"]
    assert back["sections"][1]["shift"] == _zero(support=-1, concern=1)


def test_compare_follows_lineage_not_position() -> None:
    state, _, draft = _reading_room()
    state = _do(state, P1, React(draft, 1, "s3", "concern"))
    # Version 3 moves Housing (s3) to the top and drops Transport (s2).
    moved = (
        "# Our town in 2030\n\n## Housing\n\nBuild homes near the station.\n\n"
        "We want a town that works for everyone.\n"
    )
    state = _do(state, FACILITATOR, SaveDraft(draft, 2, moved), PublishDraft(draft, 3))
    assert state.drafts[draft].versions[2].sections[:2] == ("s1", "s3")
    state = _do(state, P1, React(draft, 3, "s3", "support"))
    out = compare(state, draft, 1, 3)
    assert [s["section"] for s in out["sections"]] == [*state.drafts[draft].versions[2].sections]
    housing = next(s for s in out["sections"] if s["section"] == "s3")
    assert housing["shift"] == _zero(support=1, concern=-1)
    assert "s2" not in {s["section"] for s in out["sections"]}
