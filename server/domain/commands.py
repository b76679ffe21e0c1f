"""Writes a client asks for. Frames are schema-checked before they become commands."""

from __future__ import annotations

from dataclasses import dataclass
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
class AddNote:
    text: str
    colour: str | None = None


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


Command = CreateEvent | Join | AddNote | EditNote | DeleteNote | HideNote | UnhideNote

# The commands a client may send over the websocket, by their wire name.
CLIENT_COMMANDS: dict[str, type[Command]] = {
    "note.add": AddNote,
    "note.edit": EditNote,
    "note.delete": DeleteNote,
    "note.hide": HideNote,
    "note.unhide": UnhideNote,
}


def command_from_wire(raw: dict[str, Any]) -> Command:
    """Build a command from a schema-validated ``op`` object of a ``write`` frame."""
    kind = raw["kind"]
    cls = CLIENT_COMMANDS[kind]
    fields = {k: v for k, v in raw.items() if k != "kind"}
    return cls(**fields)
