"""Who may do what, and what a write turns into: ``decide`` is pure and never raises.

The rules themselves live by subject: ``agenda`` (settings, activities, timers),
``board`` (notes and themes), ``dots`` (voting). This module holds the permission table
every write is checked against and the two writes the server makes itself.
"""

from __future__ import annotations

from ..errors import Code, Rejection
from . import agenda, board, dots, drafts, reactions
from .commands import (
    AddActivity,
    AddDot,
    AddNote,
    AddTheme,
    Command,
    CreateEvent,
    DeleteNote,
    DeleteTheme,
    EditActivity,
    EditNote,
    ExplainChange,
    HideNote,
    Join,
    MergeNotes,
    MoveActivity,
    PublishDraft,
    React,
    RemoveDot,
    RemoveParticipant,
    RenameTheme,
    SaveDraft,
    SetActivityStatus,
    SetCurrentActivity,
    SetNoteTheme,
    SetTimer,
    SetWriter,
    UnhideNote,
    UpdateEvent,
)
from .decision import Decision, Limits
from .model import Actor, EventState, Role
from .text import (
    GROUP_NAME_MAX,
    GROUPS_MAX,
    NAME_MAX,
    TABLE_MAX,
    TITLE_MAX,
    given,
    required,
    tidy,
)

__all__ = [
    "GROUPS_MAX",
    "GROUP_NAME_MAX",
    "NAME_MAX",
    "PERMISSIONS",
    "TABLE_MAX",
    "TITLE_MAX",
    "Decision",
    "Limits",
    "decide",
    "tidy",
]

_WRITERS = frozenset({Role.FACILITATOR, Role.PARTICIPANT})
_FACILITATORS = frozenset({Role.FACILITATOR})

# Every write is checked against this table on the server; observers appear nowhere.
PERMISSIONS: dict[type[Command], frozenset[Role]] = {
    CreateEvent: frozenset(),  # only the server itself, over HTTP
    Join: frozenset(),  # only the server itself, over HTTP
    UpdateEvent: _FACILITATORS,
    AddActivity: _FACILITATORS,
    EditActivity: _FACILITATORS,
    MoveActivity: _FACILITATORS,
    SetActivityStatus: _FACILITATORS,
    SetCurrentActivity: _FACILITATORS,
    SetTimer: _FACILITATORS,
    AddNote: _WRITERS,
    EditNote: _WRITERS,  # participants their own; facilitators any (the log keeps the original)
    DeleteNote: _WRITERS,  # only one's own
    HideNote: _FACILITATORS,
    UnhideNote: _FACILITATORS,
    MergeNotes: _FACILITATORS,
    AddTheme: _FACILITATORS,
    RenameTheme: _FACILITATORS,
    DeleteTheme: _FACILITATORS,
    SetNoteTheme: _FACILITATORS,
    AddDot: frozenset({Role.PARTICIPANT}),
    RemoveDot: frozenset({Role.PARTICIPANT}),
    SetWriter: _FACILITATORS,
    RemoveParticipant: _FACILITATORS,
    # Participants only if a facilitator put them on the writing team (drafts.is_writer).
    SaveDraft: _WRITERS,
    PublishDraft: _WRITERS,
    ExplainChange: _WRITERS,
    React: frozenset({Role.PARTICIPANT}),
}

_VERBS: dict[type[Command], str] = {
    CreateEvent: "create an event",
    Join: "join on someone's behalf",
    UpdateEvent: "change the event's settings",
    AddActivity: "add activities",
    EditActivity: "edit activities",
    MoveActivity: "reorder the agenda",
    SetActivityStatus: "open or close activities",
    SetCurrentActivity: "choose the current activity",
    SetTimer: "set countdowns",
    AddNote: "add notes",
    EditNote: "edit notes",
    DeleteNote: "delete notes",
    HideNote: "hide notes",
    UnhideNote: "unhide notes",
    MergeNotes: "merge notes",
    AddTheme: "add themes",
    RenameTheme: "rename themes",
    DeleteTheme: "delete themes",
    SetNoteTheme: "move notes between themes",
    AddDot: "place dots",
    RemoveDot: "remove dots",
    SetWriter: "choose the writing team",
    RemoveParticipant: "remove participants",
    SaveDraft: "save drafts",
    PublishDraft: "publish drafts",
    ExplainChange: "explain changes to drafts",
    React: "react to drafts",
}

_SERVER_ONLY = Rejection(Code.FORBIDDEN, "only people make this write; the server makes none")


def decide(
    state: EventState, actor: Actor | None, command: Command, limits: Limits
) -> Decision | Rejection:
    """Accept or refuse ``command`` by ``actor`` against ``state``.

    ``actor`` is None for writes the server makes itself (creating an event, a join).
    """
    if actor is not None and actor.id in state.removed:
        # Their connections are closed when the removal is applied; this covers a write
        # already on its way, and another node that has not applied it yet.
        return Rejection(Code.UNAUTHORISED, "you were removed from this event")
    if actor is not None and actor.role not in PERMISSIONS[type(command)]:
        article = "an" if actor.role.value[0] in "aeiou" else "a"
        return Rejection(Code.FORBIDDEN, f"{article} {actor.role} may not {_VERBS[type(command)]}")
    match command:
        case CreateEvent():
            return _create_event(state, command)
        case Join():
            return _join(state, command)
    if actor is None:
        return _SERVER_ONLY
    return _decide_as(state, actor, command, limits)


def _decide_as(
    state: EventState, actor: Actor, command: Command, limits: Limits
) -> Decision | Rejection:
    match command:
        case UpdateEvent():
            return agenda.update_event(state, command)
        case AddActivity():
            return agenda.add_activity(state, command)
        case EditActivity():
            return agenda.edit_activity(state, command)
        case MoveActivity():
            return agenda.move_activity(state, command)
        case SetActivityStatus():
            return agenda.set_status(state, command)
        case SetCurrentActivity():
            return agenda.set_current(state, command)
        case SetTimer():
            return agenda.set_timer(state, command)
        case AddNote():
            return board.add_note(state, actor, command, limits)
        case EditNote():
            return board.edit_note(state, actor, command, limits)
        case DeleteNote():
            return board.delete_note(state, actor, command)
        case HideNote() | UnhideNote():
            return board.hide_note(state, command)
        case MergeNotes():
            return board.merge_notes(state, command, limits)
        case AddTheme():
            return board.add_theme(state, command)
        case RenameTheme():
            return board.rename_theme(state, command)
        case DeleteTheme():
            return board.delete_theme(state, command)
        case SetNoteTheme():
            return board.set_note_theme(state, command)
        case AddDot():
            return dots.add_dot(state, actor, command)
        case RemoveDot():
            return dots.remove_dot(state, actor, command)
        case SetWriter():
            return drafts.set_writer(state, command)
        case RemoveParticipant():
            return _remove_participant(state, command)
        case SaveDraft():
            return drafts.save_draft(state, actor, command, limits)
        case PublishDraft():
            return drafts.publish_draft(state, actor, command)
        case ExplainChange():
            return drafts.explain_change(state, actor, command)
        case React():
            return reactions.react(state, actor, command)
        case CreateEvent() | Join():
            return _SERVER_ONLY


def _create_event(state: EventState, cmd: CreateEvent) -> Decision | Rejection:
    if state.seq != 0:
        return Rejection(Code.CONFLICT, "the event already exists")
    title = required(cmd.title, "title", TITLE_MAX)
    if isinstance(title, Rejection):
        return title
    groups = agenda.check_groups(cmd.groups)
    if isinstance(groups, Rejection):
        return groups
    return Decision("event.created", {"title": title, "groups": list(groups), "code": cmd.code})


def _join(state: EventState, cmd: Join) -> Decision | Rejection:
    if cmd.participant in state.participants:
        return Rejection(Code.CONFLICT, "already joined")
    name = given(cmd.name)
    if name is not None and len(name) > NAME_MAX:
        return Rejection(Code.INVALID, f"the name is longer than {NAME_MAX} characters")
    group = given(cmd.group)
    if state.groups and group not in state.groups:
        return Rejection(Code.INVALID, f"pick a stakeholder group from: {', '.join(state.groups)}")
    if not state.groups and group is not None:
        return Rejection(Code.INVALID, "this event has no stakeholder groups")
    table = given(cmd.table)
    if table is not None and len(table) > TABLE_MAX:
        return Rejection(Code.INVALID, f"the table is longer than {TABLE_MAX} characters")
    if state.tables and table is not None:
        numbers = {t.number.casefold(): t.number for t in state.tables}
        if table.casefold() not in numbers:
            return Rejection(
                Code.INVALID, f"pick a table from: {', '.join(t.number for t in state.tables)}"
            )
        table = numbers[table.casefold()]
    return Decision(
        "participant.joined",
        {"participant": cmd.participant, "name": name, "group": group, "table": table},
    )


def _remove_participant(state: EventState, cmd: RemoveParticipant) -> Decision | Rejection:
    if cmd.participant not in state.participants:
        return Rejection(Code.NOT_FOUND, f"there is no participant {cmd.participant}")
    if cmd.participant in state.removed:
        return Rejection(Code.CONFLICT, f"{cmd.participant} was already removed")
    return Decision("participant.removed", {"participant": cmd.participant})
