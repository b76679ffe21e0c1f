"""Applying ops to state. ``apply`` is the only way state changes; ``fold`` replays a log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from .model import EventState, Note, Op, Participant


@dataclass(frozen=True)
class EventChanged:
    """The event's own fields (title, groups, join code) changed."""

    state: EventState


@dataclass(frozen=True)
class ParticipantChanged:
    participant: Participant


@dataclass(frozen=True)
class NoteChanged:
    note: Note


@dataclass(frozen=True)
class NoteRemoved:
    note_id: int


Effect = EventChanged | ParticipantChanged | NoteChanged | NoteRemoved


class UnknownOp(ValueError):
    """An op kind this version cannot apply: the log is from a newer Plenary."""


def apply(state: EventState, op: Op) -> tuple[EventState, list[Effect]]:
    """Return the state after ``op`` and the projection rows it changes.

    ``op.seq`` must be ``state.seq + 1``: the log is applied strictly in order.
    """
    if op.seq != state.seq + 1:
        raise ValueError(f"op {op.seq} applied to state at {state.seq}")
    d = op.data
    effects: list[Effect] = []
    match op.kind:
        case "event.created":
            state = replace(state, title=d["title"], groups=tuple(d["groups"]), code=d["code"])
            effects.append(EventChanged(state))
        case "participant.joined":
            p = Participant(d["participant"], d["name"], d["group"], d["table"], op.seq)
            state = replace(state, participants=state.participants.set(p.id, p))
            effects.append(ParticipantChanged(p))
        case "note.added":
            author = state.participants.get(op.by)
            note = Note(
                id=op.seq,
                author=op.by,
                group=author.group if author else None,
                table=author.table if author else None,
                text=d["text"],
                colour=d["colour"],
                hidden=False,
                created_seq=op.seq,
                updated_seq=op.seq,
            )
            state = _put_note(state, note, effects)
        case "note.edited":
            note = replace(state.notes[d["note"]], text=d["text"], updated_seq=op.seq)
            state = _put_note(state, note, effects)
        case "note.hidden" | "note.unhidden":
            hidden = op.kind == "note.hidden"
            note = replace(state.notes[d["note"]], hidden=hidden, updated_seq=op.seq)
            state = _put_note(state, note, effects)
        case "note.deleted":
            state = replace(state, notes=state.notes.delete(d["note"]))
            effects.append(NoteRemoved(d["note"]))
        case _:
            raise UnknownOp(op.kind)
    return state.with_seq(op.seq), effects


def _put_note(state: EventState, note: Note, effects: list[Effect]) -> EventState:
    effects.append(NoteChanged(note))
    return replace(state, notes=state.notes.set(note.id, note))


def fold(event_id: str, ops: Iterable[Op], state: EventState | None = None) -> EventState:
    """Replay ``ops`` (in order) onto ``state``, or onto an empty event."""
    current = state if state is not None else EventState(id=event_id)
    for op in ops:
        current, _ = apply(current, op)
    return current
