"""Who may do what, and what a write turns into: ``decide`` is pure and never raises."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from ..errors import Code, Rejection
from .commands import (
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
from .model import Actor, EventState, JsonDict, Note, Role

TITLE_MAX = 200
GROUP_NAME_MAX = 60
GROUPS_MAX = 40
NAME_MAX = 60
TABLE_MAX = 20

_LINE_BREAKS = frozenset("\n\t")

_ANYONE_WHO_WRITES = frozenset({Role.FACILITATOR, Role.PARTICIPANT})

# Every write is checked against this table on the server; observers appear nowhere.
PERMISSIONS: dict[type[Command], frozenset[Role]] = {
    CreateEvent: frozenset(),  # only the server itself, over HTTP
    Join: frozenset(),  # only the server itself, over HTTP
    AddNote: _ANYONE_WHO_WRITES,
    EditNote: _ANYONE_WHO_WRITES,
    DeleteNote: _ANYONE_WHO_WRITES,
    HideNote: frozenset({Role.FACILITATOR}),
    UnhideNote: frozenset({Role.FACILITATOR}),
}


@dataclass(frozen=True)
class Limits:
    note_max_chars: int = 280


@dataclass(frozen=True)
class Decision:
    """An accepted write: the kind and data of the op to append."""

    kind: str
    data: JsonDict


def decide(
    state: EventState, actor: Actor | None, command: Command, limits: Limits
) -> Decision | Rejection:
    """Accept or refuse ``command`` by ``actor`` against ``state``.

    ``actor`` is None for writes the server makes itself (creating an event, a join).
    """
    if actor is not None and actor.role not in PERMISSIONS[type(command)]:
        article = "an" if actor.role.value[0] in "aeiou" else "a"
        return Rejection(Code.FORBIDDEN, f"{article} {actor.role} may not {_verb(command)}")
    match command:
        case CreateEvent():
            return _create_event(state, command)
        case Join():
            return _join(state, command)
        case AddNote() | EditNote() | DeleteNote():
            if actor is None:
                return _NO_SERVER_NOTES
            return _own_note_write(state, actor, command, limits)
        case HideNote():
            found = _note(state, command.note)
            if isinstance(found, Rejection):
                return found
            if found.hidden:
                return Rejection(Code.CONFLICT, f"note {command.note} is already hidden")
            return Decision("note.hidden", {"note": command.note})
        case UnhideNote():
            found = _note(state, command.note)
            if isinstance(found, Rejection):
                return found
            if not found.hidden:
                return Rejection(Code.CONFLICT, f"note {command.note} is not hidden")
            return Decision("note.unhidden", {"note": command.note})


def _own_note_write(
    state: EventState, actor: Actor, command: AddNote | EditNote | DeleteNote, limits: Limits
) -> Decision | Rejection:
    match command:
        case AddNote():
            return _add_note(state, actor, command, limits)
        case EditNote():
            return _edit_note(state, actor, command, limits)
        case DeleteNote():
            found = _own_note(state, actor, command.note, "delete")
            if isinstance(found, Rejection):
                return found
            return Decision("note.deleted", {"note": command.note})


_NO_SERVER_NOTES = Rejection(Code.FORBIDDEN, "notes belong to people; the server writes none")


def _verb(command: Command) -> str:
    names = {
        CreateEvent: "create an event",
        Join: "join on someone's behalf",
        AddNote: "add notes",
        EditNote: "edit notes",
        DeleteNote: "delete notes",
        HideNote: "hide notes",
        UnhideNote: "unhide notes",
    }
    return names[type(command)]


def tidy(text: str, *, multiline: bool = False) -> str:
    """Text as people meant it: NFC, no control characters, no outer whitespace.

    Control characters come from paste accidents and broken keyboards, never on purpose;
    Postgres cannot even store NUL. Dropping them beats refusing the note of someone who
    cannot see what is wrong with it. Single-line fields get tabs and newlines as spaces.
    """
    out = []
    for ch in text:
        if ch in _LINE_BREAKS:
            out.append(ch if multiline else " ")
        elif unicodedata.category(ch) != "Cc":
            out.append(ch)
    # Normalised last: a dropped character may have stood between a letter and its accent.
    return unicodedata.normalize("NFC", "".join(out)).strip()


def _create_event(state: EventState, cmd: CreateEvent) -> Decision | Rejection:
    if state.seq != 0:
        return Rejection(Code.CONFLICT, "the event already exists")
    title = tidy(cmd.title)
    if not title:
        return Rejection(Code.INVALID, "the title is empty")
    if len(title) > TITLE_MAX:
        return Rejection(Code.INVALID, f"the title is longer than {TITLE_MAX} characters")
    groups = tuple(tidy(g) for g in cmd.groups)
    if len(groups) > GROUPS_MAX:
        return Rejection(Code.INVALID, f"more than {GROUPS_MAX} stakeholder groups")
    if any(not g or len(g) > GROUP_NAME_MAX for g in groups):
        return Rejection(
            Code.INVALID, f"stakeholder group names must be 1-{GROUP_NAME_MAX} characters"
        )
    if len({g.casefold() for g in groups}) != len(groups):
        return Rejection(Code.INVALID, "stakeholder group names must differ")
    return Decision("event.created", {"title": title, "groups": list(groups), "code": cmd.code})


def _given(text: str | None) -> str | None:
    """An optional single-line field: blank means not given, for every field alike."""
    return (tidy(text) or None) if text is not None else None


def _join(state: EventState, cmd: Join) -> Decision | Rejection:
    if cmd.participant in state.participants:
        return Rejection(Code.CONFLICT, "already joined")
    name = _given(cmd.name)
    if name is not None and len(name) > NAME_MAX:
        return Rejection(Code.INVALID, f"the name is longer than {NAME_MAX} characters")
    group = _given(cmd.group)
    if state.groups and group not in state.groups:
        return Rejection(Code.INVALID, f"pick a stakeholder group from: {', '.join(state.groups)}")
    if not state.groups and group is not None:
        return Rejection(Code.INVALID, "this event has no stakeholder groups")
    table = _given(cmd.table)
    if table is not None and len(table) > TABLE_MAX:
        return Rejection(Code.INVALID, f"the table is longer than {TABLE_MAX} characters")
    return Decision(
        "participant.joined",
        {"participant": cmd.participant, "name": name, "group": group, "table": table},
    )


def _check_text(text: str, limits: Limits) -> str | Rejection:
    clean = tidy(text, multiline=True)
    if not clean:
        return Rejection(Code.INVALID, "the note is empty")
    if len(clean) > limits.note_max_chars:
        return Rejection(
            Code.INVALID,
            f"the note is {len(clean)} characters; the limit is {limits.note_max_chars}",
        )
    return clean


def _add_note(
    state: EventState, actor: Actor, cmd: AddNote, limits: Limits
) -> Decision | Rejection:
    text = _check_text(cmd.text, limits)
    if isinstance(text, Rejection):
        return text
    if cmd.colour is not None and cmd.colour not in NOTE_COLOURS:
        return Rejection(Code.INVALID, f"colour must be one of: {', '.join(NOTE_COLOURS)}")
    if actor.role is Role.PARTICIPANT and actor.id not in state.participants:
        return Rejection(Code.FORBIDDEN, "you have not joined this event")
    return Decision("note.added", {"text": text, "colour": cmd.colour})


def _edit_note(
    state: EventState, actor: Actor, cmd: EditNote, limits: Limits
) -> Decision | Rejection:
    found = _own_note(state, actor, cmd.note, "edit")
    if isinstance(found, Rejection):
        return found
    text = _check_text(cmd.text, limits)
    if isinstance(text, Rejection):
        return text
    return Decision("note.edited", {"note": cmd.note, "text": text})


def _note(state: EventState, note_id: int) -> Note | Rejection:
    note: Note | None = state.notes.get(note_id)
    if note is None:
        return Rejection(Code.NOT_FOUND, f"there is no note {note_id}")
    return note


def _own_note(state: EventState, actor: Actor, note_id: int, verb: str) -> Note | Rejection:
    note = _note(state, note_id)
    if isinstance(note, Rejection):
        return note
    if note.author != actor.id:
        return Rejection(Code.FORBIDDEN, f"you may only {verb} your own notes")
    return note
