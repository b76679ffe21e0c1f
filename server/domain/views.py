"""What each audience may see of an op or of the state: pure, and the same on every node.

The log holds everything; screens do not. Three audiences, by role:

* facilitators see every note (hidden ones too) and every name the anonymity setting
  lets facilitators see;
* participants and observers see the wall as the projector shows it: no hidden notes,
  and names only when the anonymity setting shows them to everyone.

Nobody receives individual dots: each dot is an op in the log (so that budgets, caps
and exports are exact), but screens get coalesced tallies instead. An op an audience
may not see has no view (None); its seq still counts, so a client's cursor moves past it.
"""

from __future__ import annotations

from .model import Anonymity, EventState, JsonDict, Note, Op, Participant, Role

# Ops no screen receives one by one.
_NEVER_DELIVERED = frozenset({"dot.added", "dot.removed"})
# Ops about one note, which a screen that cannot see the note has no use for.
_ABOUT_A_NOTE = frozenset({"note.edited", "note.themed", "note.deleted"})


def sees_names(anonymity: Anonymity, audience: Role) -> bool:
    if anonymity is Anonymity.EVERYONE:
        return True
    return anonymity is Anonymity.FACILITATORS and audience is Role.FACILITATOR


def sees_hidden(audience: Role) -> bool:
    return audience is Role.FACILITATOR


def op_view(op: Op, before: EventState, after: EventState, audience: Role) -> JsonDict | None:
    """What ``audience`` receives of ``op``, which took ``before`` to ``after``; None if
    nothing."""
    if op.kind in _NEVER_DELIVERED:
        return None
    data = op.data
    if op.kind == "participant.joined" and not sees_names(after.anonymity, audience):
        data = {**data, "name": None}
    elif not sees_hidden(audience):
        if op.kind in _ABOUT_A_NOTE:
            note = before.notes.get(data["note"])
            if note is not None and note.hidden:
                return None
        elif op.kind == "note.hidden":
            # To these screens a hidden note is simply gone.
            return {**op.to_wire(), "kind": "note.deleted"}
        elif op.kind == "note.unhidden":
            # They never had it, or dropped it: it comes back whole.
            restored = note_wire(after.notes[data["note"]])
            return {**op.to_wire(), "data": {**data, "restored": restored}}
    return {**op.to_wire(), "data": data}


def state_view(state: EventState, audience: Role) -> JsonDict:
    """The snapshot ``audience`` receives: the state as its screens may show it."""
    names = sees_names(state.anonymity, audience)
    hidden = sees_hidden(audience)
    return {
        "id": state.id,
        "seq": state.seq,
        "title": state.title,
        "code": state.code,
        "groups": list(state.groups),
        "tables": [t.to_wire() for t in state.tables],
        "anonymity": state.anonymity.value,
        "participants": [participant_wire(p, names) for _, p in sorted(state.participants.items())],
        "notes": [note_wire(n) for _, n in sorted(state.notes.items()) if hidden or not n.hidden],
        "activities": [a.to_wire() for _, a in sorted(state.activities.items())],
        "agenda": list(state.agenda),
        "current": state.current,
        "themes": [t.to_wire() for _, t in sorted(state.themes.items())],
    }


def participant_wire(p: Participant, with_name: bool) -> JsonDict:
    return {**p.to_wire(), "name": p.name if with_name else None}


def note_wire(note: Note) -> JsonDict:
    return {
        **note.to_wire(),
        "round": note.round,
        "theme": note.theme,
        "edited_by": note.edited_by,
        "merged_into": note.merged_into,
        "merged_from": list(note.merged_from),
        "groups": list(note.groups),
    }
