"""Rules for sticky notes and themes: posting, editing, moderating, merging, clustering."""

from __future__ import annotations

from ..errors import Code, Rejection
from .agenda import changeable
from .commands import (
    NOTE_COLOURS,
    AddNote,
    AddTheme,
    DeleteNote,
    DeleteTheme,
    EditNote,
    HideNote,
    MergeNotes,
    RenameTheme,
    SetNoteTheme,
    UnhideNote,
)
from .decision import Decision, Limits
from .model import Activity, ActivityKind, ActivityStatus, Actor, EventState, Note, Role, Theme
from .text import THEME_NAME_MAX, required, tidy

MERGE_MAX = 50


def check_text(text: str, limits: Limits) -> str | Rejection:
    clean = tidy(text, multiline=True)
    if not clean:
        return Rejection(Code.INVALID, "the note is empty")
    if len(clean) > limits.note_max_chars:
        return Rejection(
            Code.INVALID,
            f"the note is {len(clean)} characters; the limit is {limits.note_max_chars}",
        )
    return clean


def add_note(state: EventState, actor: Actor, cmd: AddNote, limits: Limits) -> Decision | Rejection:
    text = check_text(cmd.text, limits)
    if isinstance(text, Rejection):
        return text
    if cmd.colour is not None and cmd.colour not in NOTE_COLOURS:
        return Rejection(Code.INVALID, f"colour must be one of: {', '.join(NOTE_COLOURS)}")
    if actor.role is Role.PARTICIPANT and actor.id not in state.participants:
        return Rejection(Code.FORBIDDEN, "you have not joined this event")
    round_id = cmd.round if cmd.round is not None else _current_round(state)
    if round_id is None:
        if any(a.kind is ActivityKind.NOTES for a in state.activities.values()):
            return Rejection(Code.CONFLICT, "no notes round is running; wait for the next one")
        # An event without an agenda is one open board.
        return Decision("note.added", {"text": text, "colour": cmd.colour})
    found = _round_for(state, actor, round_id)
    if isinstance(found, Rejection):
        return found
    return Decision("note.added", {"text": text, "colour": cmd.colour, "round": found.id})


def _current_round(state: EventState) -> int | None:
    current = state.activities.get(state.current) if state.current is not None else None
    return current.id if current is not None and current.kind is ActivityKind.NOTES else None


def _round_for(state: EventState, actor: Actor, round_id: int) -> Activity | Rejection:
    """The round ``actor`` may change notes in: open for participants; facilitators may
    also tidy up a draft or closed one, never an archived one."""
    found = changeable(state, round_id)
    if isinstance(found, Rejection):
        return found
    if found.kind is not ActivityKind.NOTES:
        return Rejection(Code.INVALID, f"activity {round_id} is not a notes round")
    if actor.role is not Role.FACILITATOR and found.status is not ActivityStatus.OPEN:
        return Rejection(Code.CONFLICT, f"the round is {found.status}: notes cannot change")
    return found


def edit_note(
    state: EventState, actor: Actor, cmd: EditNote, limits: Limits
) -> Decision | Rejection:
    found = _note_for(state, actor, cmd.note, "edit")
    if isinstance(found, Rejection):
        return found
    text = check_text(cmd.text, limits)
    if isinstance(text, Rejection):
        return text
    if text == found.text:
        return Rejection(Code.CONFLICT, "the note already says that")
    return Decision("note.edited", {"note": cmd.note, "text": text})


def delete_note(state: EventState, actor: Actor, cmd: DeleteNote) -> Decision | Rejection:
    found = _note_for(state, actor, cmd.note, "delete")
    if isinstance(found, Rejection):
        return found
    if found.author != actor.id:
        # Facilitators hide or merge other people's notes; what someone said stays theirs.
        return Rejection(Code.FORBIDDEN, "you may only delete your own notes")
    if found.merged_from:
        # It stands for other people's notes, which would be left merged into nothing.
        return Rejection(Code.CONFLICT, "a merged note stands for others' notes: hide it instead")
    return Decision("note.deleted", {"note": cmd.note})


def _note_for(state: EventState, actor: Actor, note_id: int, verb: str) -> Note | Rejection:
    found = note(state, note_id)
    if isinstance(found, Rejection):
        return found
    if actor.role is not Role.FACILITATOR and found.author != actor.id:
        return Rejection(Code.FORBIDDEN, f"you may only {verb} your own notes")
    if actor.role is not Role.FACILITATOR and found.hidden:
        # Its author no longer sees it either (views.py): a change they cannot see would
        # be acknowledged and then vanish.
        return Rejection(Code.CONFLICT, f"a facilitator has hidden note {note_id}")
    if found.merged_into is not None:
        return Rejection(Code.CONFLICT, f"note {note_id} was merged into {found.merged_into}")
    if found.round is not None:
        round_ = _round_for(state, actor, found.round)
        if isinstance(round_, Rejection):
            return round_
    return found


def hide_note(state: EventState, cmd: HideNote | UnhideNote) -> Decision | Rejection:
    found = _moderated(state, cmd.note)
    if isinstance(found, Rejection):
        return found
    hide = isinstance(cmd, HideNote)
    if found.hidden == hide:
        return Rejection(Code.CONFLICT, f"note {cmd.note} is {'already' if hide else 'not'} hidden")
    return Decision("note.hidden" if hide else "note.unhidden", {"note": cmd.note})


def _moderated(state: EventState, note_id: int) -> Note | Rejection:
    """A note a facilitator may moderate: any note outside an archived round."""
    found = note(state, note_id)
    if isinstance(found, Rejection):
        return found
    if found.round is not None:
        round_ = changeable(state, found.round)
        if isinstance(round_, Rejection):
            return round_
    return found


def merge_notes(state: EventState, cmd: MergeNotes, limits: Limits) -> Decision | Rejection:
    ids = tuple(dict.fromkeys(cmd.notes))  # keep order, drop repeats
    if not 2 <= len(ids) <= MERGE_MAX:
        return Rejection(Code.INVALID, f"merge 2-{MERGE_MAX} different notes")
    originals: list[Note] = []
    for note_id in ids:
        found = _moderated(state, note_id)
        if isinstance(found, Rejection):
            return found
        if not found.live:
            return Rejection(Code.CONFLICT, f"note {note_id} is hidden or already merged")
        originals.append(found)
    if len({n.round for n in originals}) != 1:
        return Rejection(Code.INVALID, "only notes of the same round can be merged")
    text = check_text(cmd.text, limits)
    if isinstance(text, Rejection):
        return text
    return Decision("notes.merged", {"notes": list(ids), "text": text})


def add_theme(state: EventState, cmd: AddTheme) -> Decision | Rejection:
    round_ = changeable(state, cmd.round)
    if isinstance(round_, Rejection):
        return round_
    if round_.kind is not ActivityKind.NOTES:
        return Rejection(Code.INVALID, f"activity {cmd.round} is not a notes round")
    name = _theme_name(state, cmd.round, cmd.name, None)
    if isinstance(name, Rejection):
        return name
    return Decision("theme.added", {"round": cmd.round, "name": name})


def rename_theme(state: EventState, cmd: RenameTheme) -> Decision | Rejection:
    found = _theme(state, cmd.theme)
    if isinstance(found, Rejection):
        return found
    name = _theme_name(state, found.round, cmd.name, found.id)
    if isinstance(name, Rejection):
        return name
    return Decision("theme.renamed", {"theme": found.id, "name": name})


def delete_theme(state: EventState, cmd: DeleteTheme) -> Decision | Rejection:
    found = _theme(state, cmd.theme)
    if isinstance(found, Rejection):
        return found
    return Decision("theme.deleted", {"theme": found.id})


def set_note_theme(state: EventState, cmd: SetNoteTheme) -> Decision | Rejection:
    found = _moderated(state, cmd.note)
    if isinstance(found, Rejection):
        return found
    if found.round is None:
        return Rejection(Code.INVALID, "notes on the open board have no themes")
    if cmd.theme is not None:
        theme = _theme(state, cmd.theme)
        if isinstance(theme, Rejection):
            return theme
        if theme.round != found.round:
            return Rejection(Code.INVALID, "the theme belongs to another round")
    if found.theme == cmd.theme:
        return Rejection(Code.CONFLICT, "the note is already there")
    return Decision("note.themed", {"note": found.id, "theme": cmd.theme})


def _theme(state: EventState, theme_id: int) -> Theme | Rejection:
    found: Theme | None = state.themes.get(theme_id)
    if found is None:
        return Rejection(Code.NOT_FOUND, f"there is no theme {theme_id}")
    round_ = changeable(state, found.round)
    if isinstance(round_, Rejection):
        return round_
    return found


def _theme_name(
    state: EventState, round_id: int, raw: str, renaming: int | None
) -> str | Rejection:
    name = required(raw, "theme name", THEME_NAME_MAX)
    if isinstance(name, Rejection):
        return name
    for theme in state.themes.values():
        if (
            theme.round == round_id
            and theme.id != renaming
            and theme.name.casefold() == name.casefold()
        ):
            return Rejection(Code.CONFLICT, f"this round already has a theme called {theme.name}")
    return name


def note(state: EventState, note_id: int) -> Note | Rejection:
    found: Note | None = state.notes.get(note_id)
    if found is None:
        return Rejection(Code.NOT_FOUND, f"there is no note {note_id}")
    return found
