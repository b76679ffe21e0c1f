"""Property tests for dot-voting: any interleaving of dots keeps budgets, caps and tallies.

Each example runs a voting session as ``Hub.write`` does — ``decide`` against the current
state, then the op with the next seq, then ``apply`` — with several participants in two
groups and one without a group, each on two devices. A device chooses what to do from what
it last saw, which may be stale (another device of the same person may have moved a dot
since), and the server decides it against the state as it is. Facilitators now and then
open, close, archive or reopen the votes, hide, unhide or merge notes.

A refused write is checked against an independent model of the rules (so that "refused"
is never a way to pass), an accepted one against the invariants of the dot maps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from plenary.domain.commands import (
    AddActivity,
    AddDot,
    AddNote,
    AddTheme,
    Command,
    CreateEvent,
    HideNote,
    Join,
    MergeNotes,
    RemoveDot,
    SetActivityStatus,
    SetCurrentActivity,
    SetNoteTheme,
    UnhideNote,
    UpdateEvent,
    VoteSpec,
)
from plenary.domain.fold import NO_GROUP, apply, fold
from plenary.domain.model import (
    ActivityKind,
    ActivityStatus,
    Actor,
    EventState,
    Op,
    Role,
    VoteTarget,
)
from plenary.domain.rules import Decision, decide
from plenary.errors import Code, Rejection

from . import EVENT_ID, FACILITATOR, LIMITS, op_for, step

VOTERS = (
    Actor("p_1", Role.PARTICIPANT),  # Staff
    Actor("p_2", Role.PARTICIPANT),  # Guests
    Actor("p_3", Role.PARTICIPANT),  # Staff
    Actor("p_4", Role.PARTICIPANT),  # joined before the event had groups: no group
)
STRANGER = Actor("p_9", Role.PARTICIPANT)  # never joined
# Two devices per voter (one for the stranger): a device is its actor and what it last saw.
DEVICES = (*(v for v in VOTERS for _ in range(2)), STRANGER)
GROUP_OF = {"p_1": "Staff", "p_2": "Guests", "p_3": "Staff", "p_4": None}

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Room:
    state: EventState
    ops: list[Op]
    ids: dict[str, int]


def _room(notes_vote: tuple[int, int], themes_vote: tuple[int, int]) -> Room:
    """Round ``a`` (open, current) with a note by each voter (``n1``-``n4``) and themes
    ``t1``, ``t2``; round ``b`` (draft) with a note ``nb`` and a theme ``tb``; vote ``vn``
    on the notes of ``a`` and vote ``vt`` on its themes, both open, with the given
    (budget, cap)."""
    state, ops, ids = EventState(id=EVENT_ID), [], {}

    def do(actor: Actor | None, command: Command, name: str = "", by: str | None = None) -> None:
        nonlocal state
        state, op = step(state, actor, command, by=by)
        ops.append(op)
        if name:
            ids[name] = op.seq

    do(None, CreateEvent("Town hall", (), "ABC346"))
    do(None, Join("p_4", None, None, None), by="p_4")
    do(FACILITATOR, UpdateEvent(groups=("Staff", "Guests")))
    for voter in VOTERS[:3]:
        do(None, Join(voter.id, None, GROUP_OF[voter.id], None), by=voter.id)
    do(FACILITATOR, AddActivity("notes", "What is working?"), "a")
    do(FACILITATOR, AddActivity("notes", "What is not?"), "b")
    do(FACILITATOR, SetActivityStatus(ids["a"], "open"))
    do(FACILITATOR, SetCurrentActivity(ids["a"]))
    for i, voter in enumerate(VOTERS, 1):
        do(voter, AddNote(f"idea {i}"), f"n{i}")
    do(FACILITATOR, AddNote("later", round=ids["b"]), "nb")
    for name, round_ in (("t1", "a"), ("t2", "a"), ("tb", "b")):
        do(FACILITATOR, AddTheme(ids[round_], f"theme {name}"), name)
    do(FACILITATOR, SetNoteTheme(ids["n1"], ids["t1"]))
    for name, target, (budget, cap) in (("vn", "notes", notes_vote), ("vt", "themes", themes_vote)):
        spec = VoteSpec(ids["a"], target, budget, cap, "live")
        do(FACILITATOR, AddActivity("vote", f"Vote on {target}", spec), name)
        do(FACILITATOR, SetActivityStatus(ids[name], "open"))
    return Room(state, ops, ids)


@st.composite
def _budget_and_cap(draw: st.DrawFn) -> tuple[int, int]:
    budget = draw(st.integers(min_value=1, max_value=4), label="budget")
    return budget, draw(st.integers(min_value=1, max_value=budget), label="cap")


# -- what the rules should say, written independently of plenary.domain.dots ------------------


def _spent(state: EventState, vote: int, voter: str) -> int:
    return sum(n for (v, who, _), n in state.dots.items() if v == vote and who == voter)


def _on_item(state: EventState, vote: int, item: int) -> bool:
    settings_ = state.activities[vote].vote
    assert settings_ is not None
    if settings_.target is VoteTarget.THEMES:
        theme = state.themes.get(item)
        return theme is not None and theme.round == settings_.round
    note = state.notes.get(item)
    return (
        note is not None
        and note.round == settings_.round
        and not note.hidden
        and note.merged_into is None
    )


def _expected(state: EventState, actor: Actor, command: AddDot | RemoveDot) -> Code | str | None:
    """None if the write must be accepted; else the code it must be refused with, or
    "budget"/"cap" for the two conflicts that the limits cause."""
    if actor.id not in state.participants:
        return Code.FORBIDDEN
    vote = state.activities.get(command.vote)
    if vote is None:
        return Code.NOT_FOUND
    if vote.kind is not ActivityKind.VOTE or vote.vote is None:
        return Code.INVALID
    if vote.status is not ActivityStatus.OPEN:
        return Code.CONFLICT
    here = state.dots.get((command.vote, actor.id, command.item), 0)
    if isinstance(command, RemoveDot):
        return None if here > 0 else Code.CONFLICT
    if not _on_item(state, command.vote, command.item):
        return Code.NOT_FOUND
    if _spent(state, command.vote, actor.id) >= vote.vote.budget:
        return "budget"
    if here >= vote.vote.cap:
        return "cap"
    return None


def _limit_reason(state: EventState, actor: Actor, command: AddDot, result: Rejection) -> str:
    """Which limit refused ``command``, checked against the state: "budget" or "cap"."""
    vote = state.activities[command.vote].vote
    assert vote is not None
    assert result.code is Code.CONFLICT
    if result.message == f"all {vote.budget} of your dots are placed":
        assert _spent(state, command.vote, actor.id) == vote.budget
        return "budget"
    assert result.message == f"at most {vote.cap} of your dots on one item", result
    assert state.dots[(command.vote, actor.id, command.item)] == vote.cap
    return "cap"


# -- the invariants -----------------------------------------------------------------------


def _vote_slice(state: EventState, vote: int) -> tuple[dict[object, int], ...]:
    return (
        {k: n for k, n in state.dots.items() if k[0] == vote},
        {k: n for k, n in state.spent.items() if k[0] == vote},
        {k: n for k, n in state.tallies.items() if k[0] == vote},
    )


def _dot_maps(state: EventState) -> tuple[object, ...]:
    return state.dots, state.spent, state.tallies


def _check_invariants(state: EventState) -> None:
    spent: Counter[tuple[int, str]] = Counter()
    by_item: Counter[tuple[int, int]] = Counter()
    tallies: Counter[tuple[int, int, str]] = Counter()
    for (vote, voter, item), n in state.dots.items():
        settings_ = state.activities[vote].vote
        assert settings_ is not None
        assert 1 <= n <= settings_.cap, ((vote, voter, item), n)
        spent[(vote, voter)] += n
        by_item[(vote, item)] += n
        tallies[(vote, item, GROUP_OF[voter] or NO_GROUP)] += n
    assert dict(state.spent) == dict(spent)
    for (vote, _), n in state.spent.items():
        settings_ = state.activities[vote].vote
        assert settings_ is not None
        assert 1 <= n <= settings_.budget
    assert dict(state.tallies) == dict(tallies)
    summed: Counter[tuple[int, int]] = Counter()
    for (vote, item, _), n in state.tallies.items():
        summed[(vote, item)] += n
    assert summed == by_item
    for counts in (state.dots, state.spent, state.tallies):
        assert all(n > 0 for n in counts.values()), "a zero entry was kept"


# -- sessions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    before: EventState
    actor: Actor
    command: Command
    result: Decision | Rejection
    after: EventState  # ``before`` when the command was refused


def _dot_command(
    data: st.DataObject, room: Room, seen: EventState, actor: Actor
) -> AddDot | RemoveDot:
    """Mostly what a voter would do from what their device shows (dots they placed, items
    on the vote), sometimes anything; the device's view may be stale."""
    ids = room.ids
    vote = data.draw(
        st.sampled_from([ids["vn"], ids["vn"], ids["vn"], ids["vt"], ids["vt"], ids["a"]]),
        label="vote",
    )
    mine = sorted({item for (v, who, item) in seen.dots if v == vote and who == actor.id})
    anything = [*sorted(seen.notes), *sorted(seen.themes), 999]
    if vote in (ids["vn"], ids["vt"]):
        offered = [i for i in anything if i != 999 and _on_item(seen, vote, i)]
    else:
        offered = anything
    remove = data.draw(st.integers(0, 9), label="remove?") < 4
    pools = [mine, mine, anything] if remove else [mine, offered, offered, offered, anything]
    pool = data.draw(st.sampled_from([p for p in pools if p]), label="pool")
    item = data.draw(st.sampled_from(pool), label="item")
    return RemoveDot(vote, item) if remove else AddDot(vote, item)


def _facilitator_command(data: st.DataObject, room: Room) -> Command:
    ids, state = room.ids, room.state
    kind = data.draw(st.sampled_from(["status", "status", "status", "hide", "merge"]))
    if kind == "status":
        vote = data.draw(st.sampled_from([ids["vn"], ids["vt"]]), label="vote")
        return SetActivityStatus(vote, data.draw(st.sampled_from(["open", "closed", "archived"])))
    notes = sorted(i for i, n in state.notes.items() if n.round == ids["a"])
    if kind == "hide":
        note = data.draw(st.sampled_from(notes), label="note")
        return UnhideNote(note) if state.notes[note].hidden else HideNote(note)
    pair = data.draw(st.lists(st.sampled_from(notes), min_size=2, max_size=2, unique=True))
    return MergeNotes(tuple(pair), "merged")


def _session(data: st.DataObject, room: Room, steps: int) -> Iterator[Step]:
    """Run ``steps`` writes, each decided against the current state and applied when
    accepted, exactly as ``step`` (and ``Hub.write``) does."""
    seen: dict[int, EventState] = {}  # what each device last saw
    for _ in range(steps):
        if data.draw(st.integers(0, 9), label="facilitator?") == 0:
            actor, command = FACILITATOR, _facilitator_command(data, room)
        else:
            device = data.draw(st.integers(0, len(DEVICES) - 1), label="device")
            if device not in seen or data.draw(st.booleans(), label="sync"):
                seen[device] = room.state
            actor = DEVICES[device]
            command = _dot_command(data, room, seen[device], actor)
        before = room.state
        maps = (before.dots, before.spent, before.tallies, before.notes, before.activities)
        result = decide(before, actor, command, LIMITS)
        after_maps = (before.dots, before.spent, before.tallies, before.notes, before.activities)
        assert all(x is y for x, y in zip(maps, after_maps, strict=True)), "decide changed state"
        if isinstance(result, Decision):
            op = op_for(before, actor.id, result)
            room.state, _ = apply(before, op)
            room.ops.append(op)
        yield Step(before, actor, command, result, room.state)


@SETTINGS
@given(
    data=st.data(),
    notes_vote=_budget_and_cap(),
    themes_vote=_budget_and_cap(),
    steps=st.integers(min_value=0, max_value=60),
)
def test_any_interleaving_of_dots_keeps_budgets_caps_and_tallies(
    data: st.DataObject, notes_vote: tuple[int, int], themes_vote: tuple[int, int], steps: int
) -> None:
    room = _room(notes_vote, themes_vote)
    votes = (room.ids["vn"], room.ids["vt"])
    _check_invariants(room.state)
    for s in _session(data, room, steps):
        if isinstance(s.command, AddDot | RemoveDot):
            expected = _expected(s.before, s.actor, s.command)
            event(f"{type(s.command).__name__}: {expected or 'accepted'}")
            if expected is None:
                assert isinstance(s.result, Decision), (s.command, s.result)
            else:
                assert isinstance(s.result, Rejection), (s.command, expected)
                if expected in ("budget", "cap"):
                    assert isinstance(s.command, AddDot)
                    assert _limit_reason(s.before, s.actor, s.command, s.result) == expected
                else:
                    assert s.result.code is expected, (s.command, s.result)
        if isinstance(s.result, Rejection):
            assert s.after is s.before, "a refused write changed the state"
            continue
        assert s.after.seq == s.before.seq + 1
        # a vote that is not open keeps its dots whatever happens
        for vote in votes:
            if s.before.activities[vote].status is not ActivityStatus.OPEN:
                assert _vote_slice(s.after, vote) == _vote_slice(s.before, vote)
        if isinstance(s.command, AddDot | RemoveDot):
            key = (s.command.vote, s.actor.id, s.command.item)
            change = 1 if isinstance(s.command, AddDot) else -1
            assert s.after.dots.get(key, 0) == s.before.dots.get(key, 0) + change
            assert {k: n for k, n in s.after.dots.items() if k != key} == {
                k: n for k, n in s.before.dots.items() if k != key
            }
            assert (s.after.notes, s.after.activities) == (s.before.notes, s.before.activities)
        else:  # facilitators never move anyone's dots
            assert _dot_maps(s.after) == _dot_maps(s.before)
        _check_invariants(s.after)

    # replaying the recorded log from scratch rebuilds the live state, from any prefix too
    assert fold(EVENT_ID, room.ops) == room.state
    cut = data.draw(st.integers(min_value=0, max_value=len(room.ops)), label="cut")
    assert fold(EVENT_ID, room.ops[cut:], fold(EVENT_ID, room.ops[:cut])) == room.state


@SETTINGS
@given(
    data=st.data(),
    notes_vote=_budget_and_cap(),
    themes_vote=_budget_and_cap(),
    steps=st.integers(min_value=1, max_value=40),
)
def test_the_same_dot_decided_again_is_refused_only_by_a_limit(
    data: st.DataObject, notes_vote: tuple[int, int], themes_vote: tuple[int, int], steps: int
) -> None:
    # Two devices sending the same AddDot (or one resending it as a new op) are two
    # decisions against the state as it is: the second is one more dot unless the
    # budget or the cap is reached. Answering a retried op id from the log is the hub's.
    room = _room(notes_vote, themes_vote)
    for s in _session(data, room, steps):
        if not (isinstance(s.command, AddDot) and isinstance(s.result, Decision)):
            continue
        again = decide(s.after, s.actor, s.command, LIMITS)
        if isinstance(again, Decision):
            assert again == s.result
            continue
        reason = _limit_reason(s.after, s.actor, s.command, again)
        vote = s.after.activities[s.command.vote].vote
        assert vote is not None
        count = s.after.dots[(s.command.vote, s.actor.id, s.command.item)]
        assert (reason == "cap" and count == vote.cap) or (
            reason == "budget" and s.after.spent[(s.command.vote, s.actor.id)] == vote.budget
        )
