"""Builders shared by the domain tests: actors, and states made by deciding and applying."""

from __future__ import annotations

from plenary.domain.commands import (
    AddActivity,
    AddDot,
    AddNote,
    AddTheme,
    Command,
    CreateEvent,
    HideNote,
    Join,
    PublishDraft,
    SaveDraft,
    SetActivityStatus,
    SetCurrentActivity,
    SetNoteTheme,
    VoteSpec,
)
from plenary.domain.fold import apply
from plenary.domain.model import SYSTEM_ACTOR, Actor, EventState, Op, Role
from plenary.domain.rules import Decision, Limits, decide

EVENT_ID = "ev_test"
LIMITS = Limits()
AT = 1_700_000_000_000

FACILITATOR = Actor("f_1", Role.FACILITATOR)
PARTICIPANT = Actor("p_1", Role.PARTICIPANT)
OTHER_PARTICIPANT = Actor("p_2", Role.PARTICIPANT)
OBSERVER = Actor("o_1", Role.OBSERVER)


def op_for(state: EventState, by: str, decision: Decision) -> Op:
    """The op the hub would record for an accepted decision."""
    return Op(seq=state.seq + 1, kind=decision.kind, by=by, at=AT + state.seq, data=decision.data)


def step(
    state: EventState,
    actor: Actor | None,
    command: Command,
    limits: Limits = LIMITS,
    *,
    by: str | None = None,
) -> tuple[EventState, Op]:
    """Decide (it must be accepted) and apply one command, as ``Hub.write`` does."""
    decision = decide(state, actor, command, limits)
    assert isinstance(decision, Decision), decision
    writer = actor.id if actor is not None else (by or SYSTEM_ACTOR)
    op = op_for(state, writer, decision)
    new_state, _ = apply(state, op)
    return new_state, op


def created(groups: tuple[str, ...] = ("Staff", "Guests")) -> tuple[EventState, list[Op]]:
    """An event with ``groups``, participants p_1 (Staff) and p_2 (Guests) joined."""
    state, ops = EventState(id=EVENT_ID), []
    state, op = step(state, None, CreateEvent("Town hall", groups, "ABC346"))
    ops.append(op)
    for actor, group in ((PARTICIPANT, "Staff"), (OTHER_PARTICIPANT, "Guests")):
        cmd = Join(actor.id, f"name of {actor.id}", group if groups else None, "T1")
        state, op = step(state, None, cmd, by=actor.id)
        ops.append(op)
    return state, ops


def with_notes() -> tuple[EventState, list[Op], dict[str, int]]:
    """``created()`` plus one note by each of p_1, p_2 and f_1, and one hidden note by p_1.

    Returns the note ids by name: ``p1``, ``p2``, ``f1``, ``hidden``.
    """
    state, ops = created()
    ids = {}
    for name, actor in (("p1", PARTICIPANT), ("p2", OTHER_PARTICIPANT), ("f1", FACILITATOR)):
        state, op = step(state, actor, AddNote(f"note by {actor.id}", "yellow"))
        ops.append(op)
        ids[name] = op.seq
    state, op = step(state, PARTICIPANT, AddNote("to be hidden"))
    ops.append(op)
    ids["hidden"] = op.seq
    state, op = step(state, FACILITATOR, HideNote(ids["hidden"]))
    ops.append(op)
    return state, ops, ids


def room(
    budget: int = 5, cap: int = 2, target: str = "notes"
) -> tuple[EventState, list[Op], dict[str, int]]:
    """``created()`` run as a room: a notes round (open, current) with a note by p_1 and
    one by p_2, a theme holding p_2's note, and an open vote on the round's ``target``
    with one of p_1's dots on p_1's note (or on the theme).

    Returns ids by name: ``round``, ``vote``, ``p1``, ``p2``, ``theme``.
    """
    state, ops = created()
    ids: dict[str, int] = {}

    def do(actor: Actor, command: Command) -> int:
        nonlocal state
        state, op = step(state, actor, command)
        ops.append(op)
        return op.seq

    ids["round"] = do(FACILITATOR, AddActivity("notes", "What is working?"))
    do(FACILITATOR, SetActivityStatus(ids["round"], "open"))
    do(FACILITATOR, SetCurrentActivity(ids["round"]))
    ids["p1"] = do(PARTICIPANT, AddNote("more buses at night", "yellow"))
    ids["p2"] = do(OTHER_PARTICIPANT, AddNote("safer cycle lanes"))
    ids["theme"] = do(FACILITATOR, AddTheme(ids["round"], "Transport"))
    do(FACILITATOR, SetNoteTheme(ids["p2"], ids["theme"]))
    vote = VoteSpec(ids["round"], target, budget, cap, "live")
    ids["vote"] = do(FACILITATOR, AddActivity("vote", "Which matter most?", vote))
    do(FACILITATOR, SetActivityStatus(ids["vote"], "open"))
    first = ids["theme"] if target == "themes" else ids["p1"]
    do(PARTICIPANT, AddDot(ids["vote"], first))
    return state, ops, ids


PLAN_V1 = """# Our town in 2030

We want a town that works for everyone.

## Transport

More buses during the day.

## Housing

Build homes near the station.
"""

PLAN_V2 = """# Our town in 2030

We want a town that works for everyone.

## Transport

More buses at night and during the day, and safer cycle lanes.

## Housing

Build homes near the station.

## Young people

A youth council with a real budget.
"""


def drafting() -> tuple[EventState, list[Op], dict[str, int]]:
    """``room()`` plus an open draft (reactions shown live) whose version 1 is published
    and whose version 2 is saved but not published. Adds ids ``draft``."""
    state, ops, ids = room()

    def do(actor: Actor, command: Command) -> int:
        nonlocal state
        state, op = step(state, actor, command)
        ops.append(op)
        return op.seq

    ids["draft"] = do(FACILITATOR, AddActivity("draft", "The strategy", reactions="live"))
    do(FACILITATOR, SetActivityStatus(ids["draft"], "open"))
    do(FACILITATOR, SaveDraft(ids["draft"], 0, PLAN_V1))
    do(FACILITATOR, PublishDraft(ids["draft"], 1))
    do(FACILITATOR, SaveDraft(ids["draft"], 1, PLAN_V2))
    return state, ops, ids
