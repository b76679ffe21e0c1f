"""Property tests: random sessions of valid and invalid writes keep the log's invariants.

Each example runs a session as ``Hub.write`` does — ``decide`` → op with the next seq →
``apply`` — with facilitators, participants (joined or not), observers and the server
itself issuing any command, most of them refused. After every step and at the end the
invariants of the log are checked, including Zulip's "a stale copy plus the rest of the
log equals the live state".
"""

from __future__ import annotations

import unicodedata

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from plenary.domain.commands import (
    NOTE_COLOURS,
    AddNote,
    Command,
    CreateEvent,
    DeleteNote,
    EditNote,
    HideNote,
    Join,
    UnhideNote,
)
from plenary.domain.fold import apply, fold
from plenary.domain.model import SYSTEM_ACTOR, Actor, EventState, Op, Role
from plenary.domain.rules import Decision, Limits, decide, tidy
from plenary.errors import Code, Rejection
from plenary.protocol.frames import encode, encode_op, ops_frame
from plenary.protocol.schema import first_error, protocol_schema, server_validators

from . import AT, EVENT_ID

LIMITS = Limits(note_max_chars=24)  # small, so that "too long" is easy to generate

ACTORS: tuple[Actor | None, ...] = (
    Actor("f_1", Role.FACILITATOR),
    Actor("f_2", Role.FACILITATOR),
    Actor("p_1", Role.PARTICIPANT),
    Actor("p_2", Role.PARTICIPANT),
    Actor("p_3", Role.PARTICIPANT),
    Actor("o_1", Role.OBSERVER),
    Actor("o_2", Role.OBSERVER),
    None,  # the server: creates the event, joins people
    None,
)
PARTICIPANT_IDS = ("p_1", "p_2", "p_3")
GROUPS = ("Staff", "Guests", "Board")

TEXTS = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="ascii"), min_size=1, max_size=20),
    st.sampled_from(["", " ", "\n\t", "\x00", "ok", "e\u0301", "x" * 24, "x" * 25, "a\r\nb"]),
)
MAYBE_TEXT = st.none() | TEXTS
COLOURS = st.sampled_from([*NOTE_COLOURS, None, "red", ""])


def _validator(def_name: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$defs": protocol_schema()["$defs"], "$ref": f"#/$defs/{def_name}"}
    )


# One validator per op kind (as the Op union's oneOf would pick): validating against the
# union tries all seven branches for every op, which made this file slow.
OP_BY_KIND = {
    protocol_schema()["$defs"][name]["properties"]["kind"]["const"]: _validator(name)
    for name in (ref["$ref"].rsplit("/", 1)[1] for ref in protocol_schema()["$defs"]["Op"]["oneOf"])
}


def _note_id(
    data: st.DataObject, state: EventState, actor: Actor | None, hidden: bool | None = None
) -> int:
    """Mostly a note that exists (often the actor's own, or one in the ``hidden`` state
    that a hide/unhide can change), sometimes one that does not."""
    if hidden is None:
        own = sorted(i for i, n in state.notes.items() if actor and n.author == actor.id)
    else:
        own = sorted(i for i, n in state.notes.items() if n.hidden is hidden)
    choice = data.draw(st.sampled_from(["own", "own", "any", "any", "missing"]), label="which")
    if choice == "own" and own:
        return data.draw(st.sampled_from(own), label="note")
    if choice != "missing" and state.notes:
        return data.draw(st.sampled_from(sorted(state.notes)), label="note")
    return data.draw(st.sampled_from([state.seq + 1, 1, 9999]), label="note")


# Weighted towards the writes that can succeed, so that most sessions grow a real board.
_KINDS = ["add"] * 4 + ["edit"] * 3 + ["delete", "hide", "hide", "unhide", "unhide"]


def _command(data: st.DataObject, state: EventState, actor: Actor | None) -> Command:
    # the server never writes notes of its own
    kinds = ["create", "join", "join", "join"] if actor is None else ["create", "join", *_KINDS]
    kind = data.draw(st.sampled_from(kinds), label="kind")
    match kind:
        case "create":
            groups = data.draw(st.lists(st.sampled_from([*GROUPS, "staff", " "]), max_size=4))
            return CreateEvent(data.draw(TEXTS, label="title"), tuple(groups), "ABC346")
        case "join":
            return Join(
                data.draw(st.sampled_from(PARTICIPANT_IDS), label="participant"),
                data.draw(MAYBE_TEXT, label="name"),
                data.draw(st.sampled_from([*GROUPS, "Nobody", None]), label="group"),
                data.draw(st.none() | st.text(max_size=25), label="table"),
            )
        case "add":
            return AddNote(data.draw(TEXTS, label="text"), data.draw(COLOURS, label="colour"))
        case "edit":
            return EditNote(_note_id(data, state, actor), data.draw(TEXTS, label="text"))
        case "delete":
            return DeleteNote(_note_id(data, state, actor))
        case "hide":
            return HideNote(_note_id(data, state, actor, hidden=False))
        case _:
            return UnhideNote(_note_id(data, state, actor, hidden=True))


def _check_step(
    before: EventState, actor: Actor | None, command: Command, op: Op, after: EventState
) -> None:
    assert after.seq == before.seq + 1 == op.seq
    assert actor is None or actor.role is not Role.OBSERVER, "an observer produced an op"
    for note_id, old in before.notes.items():
        new = after.notes.get(note_id)
        if new is None:
            assert op.kind == "note.deleted"
            assert actor is not None and actor.id == old.author
            continue
        assert new.author == old.author, "a note changed author"
        assert new.created_seq == old.created_seq
        if new.hidden != old.hidden:
            assert actor is not None and actor.role is Role.FACILITATOR
            assert op.kind == ("note.hidden" if new.hidden else "note.unhidden")
        if new.text != old.text:
            # Its author, or a facilitator moderating (who is then named on the note).
            assert actor is not None
            assert actor.id == old.author or (
                actor.role is Role.FACILITATOR and new.edited_by == actor.id
            )
        if new != old:
            assert new.updated_seq == op.seq
    for note_id in set(after.notes) - set(before.notes):
        note = after.notes[note_id]
        assert note_id == op.seq
        assert note.author == op.by
        assert not note.hidden
    for note in after.notes.values():
        assert 0 < len(note.text) <= LIMITS.note_max_chars
        assert all(unicodedata.category(ch) != "Cc" or ch in "\n\t" for ch in note.text)
        assert note.text == note.text.strip()
    # participants are only ever added, by the server, and never change
    assert set(before.participants) <= set(after.participants)
    for pid, p in before.participants.items():
        assert after.participants[pid] == p
    if set(after.participants) != set(before.participants):
        assert actor is None and op.kind == "participant.joined"


def _run_session(data: st.DataObject, steps: int) -> tuple[EventState, list[Op], int]:
    state, ops, refused = EventState(id=EVENT_ID), [], 0
    if data.draw(st.integers(0, 9), label="create first") > 0:
        state, op = _accept(state, None, CreateEvent("Town hall", GROUPS, "ABC346"))
        ops.append(op)
    for _ in range(steps):
        actor = data.draw(st.sampled_from(ACTORS), label="actor")
        command = _command(data, state, actor)
        parts = (state.seq, state.title, state.groups, state.participants, state.notes)
        result = decide(state, actor, command, LIMITS)
        after = (state.seq, state.title, state.groups, state.participants, state.notes)
        assert all(x is y for x, y in zip(parts, after, strict=True)), "decide changed the state"
        if isinstance(result, Rejection):
            refused += 1
            assert isinstance(result.code, Code)
            assert result.code in {Code.FORBIDDEN, Code.INVALID, Code.CONFLICT, Code.NOT_FOUND}
            assert result.message and len(result.message) <= 1000
            if actor is not None and actor.role is Role.OBSERVER:
                assert result.code is Code.FORBIDDEN
            continue
        assert isinstance(result, Decision)
        assert actor is None or actor.role is not Role.OBSERVER
        before = state
        state, op = _accept(state, actor, command, result)
        _check_step(before, actor, command, op, state)
        ops.append(op)
    return state, ops, refused


def _accept(
    state: EventState,
    actor: Actor | None,
    command: Command,
    decision: Decision | Rejection | None = None,
) -> tuple[EventState, Op]:
    decision = decision or decide(state, actor, command, LIMITS)
    assert isinstance(decision, Decision), decision
    if actor is not None:
        by = actor.id
    elif isinstance(command, Join):
        by = command.participant  # as the HTTP join does (hub.write(by=participant))
    else:
        by = SYSTEM_ACTOR
    op = Op(seq=state.seq + 1, kind=decision.kind, by=by, at=AT + state.seq, data=decision.data)
    new_state, _ = apply(state, op)
    return new_state, op


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), steps=st.integers(min_value=0, max_value=35))
def test_random_sessions_keep_the_log_invariants(data: st.DataObject, steps: int) -> None:
    live, ops, _ = _run_session(data, steps)

    # the log is gapless from 1 and its fold is the live state
    assert [op.seq for op in ops] == list(range(1, len(ops) + 1))
    assert live.seq == len(ops)
    assert fold(EVENT_ID, ops) == live

    # a stale copy brought forward with the rest of the log equals the live state
    cut = data.draw(st.integers(min_value=0, max_value=len(ops)), label="cut")
    assert fold(EVENT_ID, ops[cut:], fold(EVENT_ID, ops[:cut])) == live

    # what goes on the wire conforms to the protocol schema
    snapshot = msgpack.unpackb(encode({"t": "snapshot", "seq": live.seq, "state": live.to_wire()}))
    reason = first_error(server_validators()["snapshot"], snapshot)
    assert reason is None, reason
    for op in ops:
        reason = first_error(OP_BY_KIND[op.kind], op.to_wire())
        assert reason is None, (op, reason)
    if ops:  # what a catching-up client receives decodes to the same log
        frame = msgpack.unpackb(ops_frame([encode_op(op.to_wire()) for op in ops], ops[-1].seq))
        assert [Op.from_wire(raw) for raw in frame["ops"]] == ops


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60), multiline=st.booleans())
def test_tidy_leaves_no_control_characters_or_outer_whitespace(text: str, multiline: bool) -> None:
    out = tidy(text, multiline=multiline)
    allowed = "\n\t" if multiline else ""
    assert all(unicodedata.category(ch) != "Cc" or ch in allowed for ch in out)
    assert out == out.strip()


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40), limit=st.integers(min_value=1, max_value=30))
def test_note_limit_is_exact(text: str, limit: int) -> None:
    state = EventState(id=EVENT_ID)
    facilitator = ACTORS[0]
    assert facilitator is not None
    result = decide(state, facilitator, AddNote(text), Limits(note_max_chars=limit))
    clean = tidy(text, multiline=True)
    if not clean or len(clean) > limit:
        assert isinstance(result, Rejection)
        assert result.code is Code.INVALID
    else:
        assert result == Decision("note.added", {"text": clean, "colour": None})
