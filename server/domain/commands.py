"""Writes a client asks for. Frames are schema-checked before they become commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NOTE_COLOURS = ("yellow", "pink", "blue", "green", "orange", "purple")


@dataclass(frozen=True)
class CreateEvent:
    title: str
    groups: tuple[str, ...]
    code: str


@dataclass(frozen=True)
class Join:
    participant: str
    name: str | None
    group: str | None
    table: str | None


@dataclass(frozen=True)
class TableSpec:
    number: str
    name: str | None = None


@dataclass(frozen=True)
class UpdateEvent:
    """Facilitators change the event's settings; a field left None stays as it is."""

    title: str | None = None
    groups: tuple[str, ...] | None = None
    tables: tuple[TableSpec, ...] | None = None
    anonymity: str | None = None


@dataclass(frozen=True)
class VoteSpec:
    round: int
    target: str = "notes"
    budget: int = 5
    cap: int = 2
    results: str = "live"


@dataclass(frozen=True)
class AddActivity:
    kind: str
    prompt: str
    vote: VoteSpec | None = None
    reactions: str | None = None  # a draft's ReactionsVisibility; default "facilitators"


@dataclass(frozen=True)
class EditActivity:
    activity: int
    prompt: str | None = None
    vote: VoteSpec | None = None
    reactions: str | None = None


@dataclass(frozen=True)
class MoveActivity:
    activity: int
    position: int  # 0-based place in the agenda


@dataclass(frozen=True)
class SetActivityStatus:
    activity: int
    status: str  # "open" | "closed" | "archived"; reopening is "open" again


@dataclass(frozen=True)
class SetCurrentActivity:
    activity: int | None


@dataclass(frozen=True)
class SetTimer:
    activity: int
    seconds: int | None  # None stops the countdown


@dataclass(frozen=True)
class AddNote:
    text: str
    colour: str | None = None
    round: int | None = None  # None: the current activity, or the board if none is current


@dataclass(frozen=True)
class EditNote:
    note: int
    text: str


@dataclass(frozen=True)
class DeleteNote:
    note: int


@dataclass(frozen=True)
class HideNote:
    note: int


@dataclass(frozen=True)
class UnhideNote:
    note: int


@dataclass(frozen=True)
class MergeNotes:
    notes: tuple[int, ...]  # two or more live notes of one round
    text: str  # the merged wording


@dataclass(frozen=True)
class AddTheme:
    round: int
    name: str


@dataclass(frozen=True)
class RenameTheme:
    theme: int
    name: str


@dataclass(frozen=True)
class DeleteTheme:
    theme: int


@dataclass(frozen=True)
class SetNoteTheme:
    note: int
    theme: int | None  # None takes the note out of its theme


@dataclass(frozen=True)
class AddDot:
    vote: int
    item: int


@dataclass(frozen=True)
class RemoveDot:
    vote: int
    item: int


@dataclass(frozen=True)
class SetWriter:
    """A facilitator puts a participant on the writing team, or takes them off it."""

    participant: str
    writer: bool


@dataclass(frozen=True)
class RemoveParticipant:
    """A facilitator removes a participant: their tokens stop working, their screens
    close; what they wrote stays (hiding it is a separate, visible decision)."""

    participant: str


@dataclass(frozen=True)
class Prepared:
    """The heavy part of a save or publish, worked out ahead (in a worker process) by
    ``drafts.offload``: the job it was worked out from and the ``Decision`` or
    ``Rejection`` it gave. Used only while the state still gives that same job."""

    job: object
    result: object


@dataclass(frozen=True)
class SaveDraft:
    activity: int
    base: int  # the version the text was written from; 0 for the first
    text: str
    prepared: Prepared | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class PublishDraft:
    activity: int
    version: int
    prepared: Prepared | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class LinkSpec:
    kind: str  # "theme" | "note" | "vote"
    id: int
    item: int | None = None  # for a vote: one of its notes or themes


@dataclass(frozen=True)
class ExplainChange:
    """Why a section of a version reads as it does; an empty rationale with no links
    takes the explanation away."""

    activity: int
    version: int
    section: str
    rationale: str
    links: tuple[LinkSpec, ...] = ()


@dataclass(frozen=True)
class React:
    """A participant's reaction to one section of the published version; None takes it
    back."""

    activity: int
    version: int
    section: str
    reaction: str | None
    comment: str | None = None


Command = (
    CreateEvent
    | Join
    | UpdateEvent
    | AddActivity
    | EditActivity
    | MoveActivity
    | SetActivityStatus
    | SetCurrentActivity
    | SetTimer
    | AddNote
    | EditNote
    | DeleteNote
    | HideNote
    | UnhideNote
    | MergeNotes
    | AddTheme
    | RenameTheme
    | DeleteTheme
    | SetNoteTheme
    | AddDot
    | RemoveDot
    | SetWriter
    | RemoveParticipant
    | SaveDraft
    | PublishDraft
    | ExplainChange
    | React
)

# The commands a client may send over the websocket, by their wire name.
CLIENT_COMMANDS: dict[str, type[Command]] = {
    "event.update": UpdateEvent,
    "activity.add": AddActivity,
    "activity.edit": EditActivity,
    "activity.move": MoveActivity,
    "activity.set_status": SetActivityStatus,
    "activity.set_current": SetCurrentActivity,
    "activity.set_timer": SetTimer,
    "note.add": AddNote,
    "note.edit": EditNote,
    "note.delete": DeleteNote,
    "note.hide": HideNote,
    "note.unhide": UnhideNote,
    "note.merge": MergeNotes,
    "note.set_theme": SetNoteTheme,
    "theme.add": AddTheme,
    "theme.rename": RenameTheme,
    "theme.delete": DeleteTheme,
    "dot.add": AddDot,
    "dot.remove": RemoveDot,
    "writer.set": SetWriter,
    "participant.remove": RemoveParticipant,
    "draft.save": SaveDraft,
    "draft.publish": PublishDraft,
    "draft.explain": ExplainChange,
    "reaction.set": React,
}


def command_from_wire(raw: dict[str, Any]) -> Command:
    """Build a command from a schema-validated ``op`` object of a ``write`` frame."""
    fields = {k: v for k, v in raw.items() if k != "kind"}
    cls = CLIENT_COMMANDS[raw["kind"]]
    if cls is AddActivity:
        # On the wire "kind" names the command, so the activity's kind travels as "type".
        fields["kind"] = fields.pop("type")
    if cls in (AddActivity, EditActivity) and fields.get("vote") is not None:
        fields["vote"] = VoteSpec(**fields["vote"])
    if cls is UpdateEvent:
        if "groups" in fields:
            fields["groups"] = tuple(fields["groups"])
        if "tables" in fields:
            fields["tables"] = tuple(TableSpec(**t) for t in fields["tables"])
    if cls is MergeNotes:
        fields["notes"] = tuple(fields["notes"])
    if cls is ExplainChange:
        fields["links"] = tuple(LinkSpec(**link) for link in fields.get("links", ()))
    return cls(**fields)
