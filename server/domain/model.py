"""The values the domain works on: roles, actors, ops and the state of one event."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from immutables import Map

JsonDict = dict[str, Any]

SYSTEM_ACTOR = "system"


class Role(StrEnum):
    FACILITATOR = "facilitator"
    PARTICIPANT = "participant"
    OBSERVER = "observer"


@dataclass(frozen=True)
class Actor:
    """Who is writing: the identity carried by a verified access token."""

    id: str
    role: Role


@dataclass(frozen=True)
class Op:
    """One entry of an event's log. ``seq`` is gapless per event, starting at 1."""

    seq: int
    kind: str
    by: str
    at: int  # server time, ms since the Unix epoch
    data: JsonDict

    def to_wire(self) -> JsonDict:
        return {"seq": self.seq, "kind": self.kind, "by": self.by, "at": self.at, "data": self.data}

    @classmethod
    def from_wire(cls, raw: JsonDict) -> Op:
        return cls(
            seq=int(raw["seq"]),
            kind=str(raw["kind"]),
            by=str(raw["by"]),
            at=int(raw["at"]),
            data=dict(raw["data"]),
        )


@dataclass(frozen=True)
class Participant:
    id: str
    name: str | None  # None: joined anonymously
    group: str | None
    table: str | None
    joined_seq: int

    def to_wire(self) -> JsonDict:
        return {
            "id": self.id,
            "name": self.name,
            "group": self.group,
            "table": self.table,
            "joined_seq": self.joined_seq,
        }


@dataclass(frozen=True)
class Note:
    id: int  # the seq of the op that added it: unique per event, known to every node
    author: str
    group: str | None
    table: str | None
    text: str
    colour: str | None
    hidden: bool
    created_seq: int
    updated_seq: int

    def to_wire(self) -> JsonDict:
        return {
            "id": self.id,
            "author": self.author,
            "group": self.group,
            "table": self.table,
            "text": self.text,
            "colour": self.colour,
            "hidden": self.hidden,
            "created_seq": self.created_seq,
            "updated_seq": self.updated_seq,
        }


@dataclass(frozen=True)
class EventState:
    """Everything an event is, as of log entry ``seq``: the fold of ops 1..seq.

    Collections are persistent maps so that applying an op is O(log n), not a copy.
    """

    id: str
    seq: int = 0
    title: str = ""
    code: str = ""
    groups: tuple[str, ...] = ()
    participants: Map[str, Participant] = field(default_factory=Map)
    notes: Map[int, Note] = field(default_factory=Map)

    def with_seq(self, seq: int) -> EventState:
        return replace(self, seq=seq)

    def to_wire(self) -> JsonDict:
        """The snapshot a client receives when it is too far behind to resume from ops."""
        return {
            "id": self.id,
            "seq": self.seq,
            "title": self.title,
            "code": self.code,
            "groups": list(self.groups),
            "participants": [p.to_wire() for _, p in sorted(self.participants.items())],
            "notes": [n.to_wire() for _, n in sorted(self.notes.items())],
        }
