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
    # Not a token's role: the audience of a participant a facilitator put on the writing
    # team. They see what participants see, plus the drafts' private working versions.
    WRITER = "writer"


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


class Anonymity(StrEnum):
    """Whose names the room sees on notes and in the participant list."""

    EVERYONE = "everyone"  # names shown to everyone
    FACILITATORS = "facilitators"  # names shown to facilitators only
    NOBODY = "nobody"  # names shown to no one (facilitators see groups and tables only)


class ActivityKind(StrEnum):
    NOTES = "notes"  # a round of sticky notes answering the prompt
    VOTE = "vote"  # dot-voting on the notes or themes of a notes round
    DRAFT = "draft"  # a strategy document, redrafted in versions and published to the room


class ActivityStatus(StrEnum):
    DRAFT = "draft"  # being prepared; participants cannot act on it
    OPEN = "open"  # participants post notes / place dots
    CLOSED = "closed"  # read-only; facilitators may still moderate and theme
    ARCHIVED = "archived"  # locked: nobody changes anything until it is reopened


class VoteTarget(StrEnum):
    NOTES = "notes"
    THEMES = "themes"


class ResultsVisibility(StrEnum):
    LIVE = "live"  # participants and observers see tallies while the vote is open
    ON_CLOSE = "on_close"  # they see them once the vote is closed; facilitators always


class ReactionsVisibility(StrEnum):
    """Who sees the counts of reactions to a draft's sections (facilitators and writers
    always)."""

    FACILITATORS = "facilitators"  # nobody else
    LIVE = "live"  # everyone, while reactions are open
    ON_CLOSE = "on_close"  # everyone, once the activity is closed


class ReactionKind(StrEnum):
    SUPPORT = "support"
    CONCERN = "concern"
    QUESTION = "question"


@dataclass(frozen=True)
class Table:
    number: str  # "1", "2", ... as printed on the table card
    name: str | None

    def to_wire(self) -> JsonDict:
        return {"number": self.number, "name": self.name}


@dataclass(frozen=True)
class VoteSettings:
    round: int  # the notes activity whose notes or themes are voted on
    target: VoteTarget
    budget: int  # dots per participant
    cap: int  # most dots one participant may put on one item
    results: ResultsVisibility

    def to_wire(self) -> JsonDict:
        return {
            "round": self.round,
            "target": self.target.value,
            "budget": self.budget,
            "cap": self.cap,
            "results": self.results.value,
        }


@dataclass(frozen=True)
class Activity:
    id: int  # the seq of the op that added it
    kind: ActivityKind
    prompt: str
    status: ActivityStatus
    vote: VoteSettings | None  # for a vote activity
    ends_at: int | None  # the countdown's end, server time in ms; None: no timer
    created_seq: int
    updated_seq: int
    reactions: ReactionsVisibility | None = None  # for a draft activity

    def to_wire(self) -> JsonDict:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "prompt": self.prompt,
            "status": self.status.value,
            "vote": self.vote.to_wire() if self.vote else None,
            "reactions": self.reactions.value if self.reactions else None,
            "ends_at": self.ends_at,
            "created_seq": self.created_seq,
            "updated_seq": self.updated_seq,
        }


@dataclass(frozen=True)
class Theme:
    id: int  # the seq of the op that added it
    round: int  # the notes activity it groups notes of
    name: str
    created_seq: int
    updated_seq: int

    def to_wire(self) -> JsonDict:
        return {
            "id": self.id,
            "round": self.round,
            "name": self.name,
            "created_seq": self.created_seq,
            "updated_seq": self.updated_seq,
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
    round: int | None = None  # the notes activity it answers; None: the event's open board
    theme: int | None = None
    edited_by: str | None = None  # a facilitator who changed the text; the log keeps the original
    merged_into: int | None = None  # set on an original once a merge replaced it
    merged_from: tuple[int, ...] = ()  # on a merged note: the originals it stands for
    groups: tuple[str, ...] = ()  # on a merged note: the stakeholder groups of the originals

    @property
    def live(self) -> bool:
        """On the wall: neither hidden nor merged into another note."""
        return not self.hidden and self.merged_into is None

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
class Version:
    """One saved version of a draft. Numbers count from 1 per draft; a version is
    private to the writing team until it is published."""

    number: int
    base: int  # the version it was written from; 0 for the first
    author: str
    saved_seq: int
    saved_at: int
    text: str  # Markdown
    sections: tuple[str, ...]  # one lineage id per heading section, stable across versions
    summary: JsonDict  # the change from ``base``
    published_seq: int | None = None
    published_at: int | None = None
    previous: int | None = None  # the published version this one followed on screens
    published_summary: JsonDict | None = None  # the change from ``previous``

    @property
    def published(self) -> bool:
        return self.published_seq is not None

    def meta(self) -> JsonDict:
        """The history entry: everything but the text."""
        return {
            "version": self.number,
            "base": self.base,
            "author": self.author,
            "saved_seq": self.saved_seq,
            "saved_at": self.saved_at,
            "words": len(self.text.split()),
            "summary": self.summary,
            "published_seq": self.published_seq,
            "published_at": self.published_at,
            "previous": self.previous,
            "published_summary": self.published_summary,
        }


@dataclass(frozen=True)
class Draft:
    activity: int
    versions: tuple[Version, ...] = ()  # versions[n - 1] is version n
    published: int | None = None  # the version screens show now
    # The largest lineage number any version used, kept as versions are added: scanning
    # every section of every version on each save grew with the night's work (130 saves
    # of 500 sections took 8% of the loop).
    last_section: int = 0

    @property
    def next_section(self) -> int:
        """Lineage ids are "s1", "s2", ... per draft, handed out in order: the next is one
        past the largest ever used, so a removed section's id is never given again."""
        return self.last_section + 1

    @property
    def head(self) -> int:
        """The latest saved version; 0 before the first save."""
        return len(self.versions)

    def version(self, number: int) -> Version | None:
        return self.versions[number - 1] if 1 <= number <= len(self.versions) else None


@dataclass(frozen=True)
class Link:
    """What in the room prompted a change: a theme, a note, or a vote (optionally one of
    its items). ``label`` is the theme's name or note's text when linked, shown if the
    target is later deleted."""

    kind: str  # "theme" | "note" | "vote"
    id: int
    item: int | None
    label: str

    def to_wire(self) -> JsonDict:
        return {"kind": self.kind, "id": self.id, "item": self.item, "label": self.label}


@dataclass(frozen=True)
class Rationale:
    text: str
    links: tuple[Link, ...]
    by: str
    seq: int


@dataclass(frozen=True)
class Reaction:
    kind: ReactionKind
    comment: str | None
    group: str  # the reactor's stakeholder group when reacting (fold.NO_GROUP if none)
    seq: int


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
    anonymity: Anonymity = Anonymity.EVERYONE
    tables: tuple[Table, ...] = ()
    activities: Map[int, Activity] = field(default_factory=Map)
    agenda: tuple[int, ...] = ()  # activity ids in running order
    current: int | None = None  # the activity every phone and the projector follow
    themes: Map[int, Theme] = field(default_factory=Map)
    # Dot-voting, kept incrementally so that a dot costs O(log n), never a recount:
    dots: Map[tuple[int, str, int], int] = field(default_factory=Map)  # (vote, voter, item)
    spent: Map[tuple[int, str], int] = field(default_factory=Map)  # (vote, voter)
    tallies: Map[tuple[int, int, str], int] = field(default_factory=Map)  # (vote, item, group)
    # Drafts: the writing team, versions, rationales and reactions to sections.
    writers: frozenset[str] = frozenset()  # participants on the writing team
    # Participants a facilitator removed: kept in ``participants`` (their notes still
    # name a group and table), but their tokens are refused and screens do not list them.
    removed: frozenset[str] = frozenset()
    drafts: Map[int, Draft] = field(default_factory=Map)
    rationales: Map[tuple[int, int, str], Rationale] = field(default_factory=Map)
    # (activity, version, section, participant) and, kept incrementally like tallies,
    # (activity, version, section, kind, group) -> count
    reactions: Map[tuple[int, int, str, str], Reaction] = field(default_factory=Map)
    reaction_counts: Map[tuple[int, int, str, str, str], int] = field(default_factory=Map)

    def with_seq(self, seq: int) -> EventState:
        return replace(self, seq=seq)

    def to_wire(self) -> JsonDict:
        """The whole state as facilitators see it (``views.state_view`` for the others)."""
        from .views import state_view  # views builds on this module

        return state_view(self, Role.FACILITATOR)

    def projection(self) -> JsonDict:
        """What the projection tables hold of this state (``store.read_projection``)."""
        return {
            "id": self.id,
            "seq": self.seq,
            "title": self.title,
            "code": self.code,
            "groups": list(self.groups),
            "participants": [p.to_wire() for _, p in sorted(self.participants.items())],
            "notes": [n.to_wire() for _, n in sorted(self.notes.items())],
        }
