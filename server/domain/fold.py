"""Applying ops to state. ``apply`` is the only way state changes; ``fold`` replays a log."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from typing import TypeVar

from immutables import Map

from .model import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Anonymity,
    Draft,
    EventState,
    JsonDict,
    Link,
    Note,
    Op,
    Participant,
    Rationale,
    Reaction,
    ReactionKind,
    ReactionsVisibility,
    ResultsVisibility,
    Table,
    Theme,
    Version,
    VoteSettings,
    VoteTarget,
)

NO_GROUP = ""  # the tally key of voters who joined without a stakeholder group

K = TypeVar("K", bound=Hashable)


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


@dataclass(frozen=True)
class ActivityChanged:
    activity: Activity


@dataclass(frozen=True)
class ThemeChanged:
    theme: Theme


@dataclass(frozen=True)
class ThemeRemoved:
    theme_id: int


@dataclass(frozen=True)
class DraftChanged:
    """A draft's versions, publication, rationales or reactions changed. Drafts have no
    projection rows: exports and reports fold the log."""

    activity: int


@dataclass(frozen=True)
class DotsChanged:
    """One voter's dots on one item of one vote now number ``count``."""

    vote: int
    voter: str
    item: int
    count: int


Effect = (
    EventChanged
    | ParticipantChanged
    | NoteChanged
    | NoteRemoved
    | ActivityChanged
    | ThemeChanged
    | ThemeRemoved
    | DotsChanged
    | DraftChanged
)


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
        case "event.updated":
            state = _update_event(state, d)
            effects.append(EventChanged(state))
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
                round=d.get("round"),
            )
            state = _put_note(state, note, effects)
        case "note.edited":
            before = state.notes[d["note"]]
            edited_by = before.edited_by if op.by == before.author else op.by
            note = replace(before, text=d["text"], edited_by=edited_by, updated_seq=op.seq)
            state = _put_note(state, note, effects)
        case "note.hidden" | "note.unhidden":
            hidden = op.kind == "note.hidden"
            note = replace(state.notes[d["note"]], hidden=hidden, updated_seq=op.seq)
            state = _put_note(state, note, effects)
        case "note.deleted":
            state = replace(state, notes=state.notes.delete(d["note"]))
            effects.append(NoteRemoved(d["note"]))
        case "notes.merged":
            state = _merge(state, op, effects)
        case "note.themed":
            note = replace(state.notes[d["note"]], theme=d["theme"], updated_seq=op.seq)
            state = _put_note(state, note, effects)
        case "theme.added":
            theme = Theme(op.seq, d["round"], d["name"], op.seq, op.seq)
            state = _put_theme(state, theme, effects)
        case "theme.renamed":
            theme = replace(state.themes[d["theme"]], name=d["name"], updated_seq=op.seq)
            state = _put_theme(state, theme, effects)
        case "theme.deleted":
            state = _delete_theme(state, d["theme"], op.seq, effects)
        case "activity.added":
            activity = Activity(
                id=op.seq,
                kind=ActivityKind(d["kind"]),
                prompt=d["prompt"],
                status=ActivityStatus.DRAFT,
                vote=_vote_settings(d["vote"]),
                ends_at=None,
                created_seq=op.seq,
                updated_seq=op.seq,
                reactions=ReactionsVisibility(d["reactions"]) if d.get("reactions") else None,
            )
            state = _put_activity(state, activity, effects)
            state = replace(state, agenda=(*state.agenda, activity.id))
            effects.append(EventChanged(state))
        case "activity.edited":
            was = state.activities[d["activity"]]
            activity = replace(
                was,
                prompt=d.get("prompt", was.prompt),
                vote=_vote_settings(d["vote"]) if "vote" in d else was.vote,
                reactions=ReactionsVisibility(d["reactions"])
                if "reactions" in d
                else was.reactions,
                updated_seq=op.seq,
            )
            state = _put_activity(state, activity, effects)
        case "activity.status":
            activity = replace(
                state.activities[d["activity"]],
                status=ActivityStatus(d["status"]),
                updated_seq=op.seq,
            )
            state = _put_activity(state, activity, effects)
        case "activity.timer":
            seconds = d["seconds"]
            ends_at = op.at + seconds * 1000 if seconds is not None else None
            activity = replace(state.activities[d["activity"]], ends_at=ends_at, updated_seq=op.seq)
            state = _put_activity(state, activity, effects)
        case "activity.current":
            state = replace(state, current=d["activity"])
            effects.append(EventChanged(state))
        case "agenda.reordered":
            state = replace(state, agenda=tuple(d["order"]))
            effects.append(EventChanged(state))
        case "dot.added" | "dot.removed":
            state = _dot(state, op, +1 if op.kind == "dot.added" else -1, effects)
        case "writer.set":
            who = d["participant"]
            writers = state.writers | {who} if d["writer"] else state.writers - {who}
            state = replace(state, writers=writers)
        case "participant.removed":
            who = d["participant"]
            state = replace(state, removed=state.removed | {who}, writers=state.writers - {who})
        case "draft.saved":
            state = _save(state, op)
            effects.append(DraftChanged(d["activity"]))
        case "draft.published":
            state = _publish(state, op)
            effects.append(DraftChanged(d["activity"]))
        case "draft.explained":
            state = _explain(state, op)
            effects.append(DraftChanged(d["activity"]))
        case "reaction.changed":
            state = _react(state, op)
            effects.append(DraftChanged(d["activity"]))
        case _:
            raise UnknownOp(op.kind)
    return state.with_seq(op.seq), effects


def _update_event(state: EventState, d: JsonDict) -> EventState:
    changes: JsonDict = {}
    if "title" in d:
        changes["title"] = d["title"]
    if "groups" in d:
        changes["groups"] = tuple(d["groups"])
    if "tables" in d:
        changes["tables"] = tuple(Table(t["number"], t["name"]) for t in d["tables"])
    if "anonymity" in d:
        changes["anonymity"] = Anonymity(d["anonymity"])
    return replace(state, **changes)


def _vote_settings(raw: JsonDict | None) -> VoteSettings | None:
    if raw is None:
        return None
    return VoteSettings(
        round=int(raw["round"]),
        target=VoteTarget(raw["target"]),
        budget=int(raw["budget"]),
        cap=int(raw["cap"]),
        results=ResultsVisibility(raw["results"]),
    )


def _merge(state: EventState, op: Op, effects: list[Effect]) -> EventState:
    """A new note stands for the originals, which stay (marked) so that the link to them,
    their authors' groups and any dots on them survive."""
    originals = [state.notes[i] for i in op.data["notes"]]
    groups: set[str] = set()
    for n in originals:
        groups.update(n.groups or ((n.group,) if n.group is not None else ()))
    themes = {n.theme for n in originals}
    merged = Note(
        id=op.seq,
        author=op.by,
        group=None,
        table=None,
        text=op.data["text"],
        colour=None,
        hidden=False,
        created_seq=op.seq,
        updated_seq=op.seq,
        round=originals[0].round,
        theme=themes.pop() if len(themes) == 1 else None,
        merged_from=tuple(n.id for n in originals),
        groups=tuple(sorted(groups)),
    )
    state = _put_note(state, merged, effects)
    for n in originals:
        state = _put_note(state, replace(n, merged_into=merged.id, updated_seq=op.seq), effects)
    return state


def _delete_theme(state: EventState, theme_id: int, seq: int, effects: list[Effect]) -> EventState:
    # Its notes go back to being unthemed; they are not deleted with it.
    for note in state.notes.values():
        if note.theme == theme_id:
            state = _put_note(state, replace(note, theme=None, updated_seq=seq), effects)
    effects.append(ThemeRemoved(theme_id))
    return replace(state, themes=state.themes.delete(theme_id))


def _dot(state: EventState, op: Op, step: int, effects: list[Effect]) -> EventState:
    vote, item, voter = op.data["vote"], op.data["item"], op.by
    participant = state.participants.get(voter)
    group = participant.group if participant is not None and participant.group else NO_GROUP
    count = state.dots.get((vote, voter, item), 0) + step
    spent = state.spent.get((vote, voter), 0) + step
    tally = state.tallies.get((vote, item, group), 0) + step
    effects.append(DotsChanged(vote, voter, item, count))
    return replace(
        state,
        dots=_set_or_drop(state.dots, (vote, voter, item), count),
        spent=_set_or_drop(state.spent, (vote, voter), spent),
        tallies=_set_or_drop(state.tallies, (vote, item, group), tally),
    )


def _save(state: EventState, op: Op) -> EventState:
    d = op.data
    draft = state.drafts.get(d["activity"]) or Draft(d["activity"])
    version = Version(
        number=d["version"],
        base=d["base"],
        author=op.by,
        saved_seq=op.seq,
        saved_at=op.at,
        text=d["text"],
        sections=tuple(d["sections"]),
        summary=d["summary"],
    )
    last = max((int(s[1:]) for s in version.sections), default=0)
    draft = replace(
        draft,
        versions=(*draft.versions, version),
        last_section=max(draft.last_section, last),
    )
    return replace(state, drafts=state.drafts.set(draft.activity, draft))


def _publish(state: EventState, op: Op) -> EventState:
    d = op.data
    draft = state.drafts[d["activity"]]
    number = d["version"]
    version = replace(
        draft.versions[number - 1],
        published_seq=op.seq,
        published_at=op.at,
        previous=d["previous"],
        published_summary=d["summary"],
    )
    versions = (*draft.versions[: number - 1], version, *draft.versions[number:])
    draft = replace(draft, versions=versions, published=number)
    return replace(state, drafts=state.drafts.set(draft.activity, draft))


def _explain(state: EventState, op: Op) -> EventState:
    d = op.data
    key = (d["activity"], d["version"], d["section"])
    if not d["rationale"] and not d["links"]:
        return replace(state, rationales=state.rationales.delete(key))
    links = tuple(Link(x["kind"], x["id"], x["item"], x["label"]) for x in d["links"])
    rationale = Rationale(d["rationale"], links, op.by, op.seq)
    return replace(state, rationales=state.rationales.set(key, rationale))


def _react(state: EventState, op: Op) -> EventState:
    d = op.data
    section = (d["activity"], d["version"], d["section"])
    key = (*section, op.by)
    counts = state.reaction_counts
    before = state.reactions.get(key)
    if before is not None:
        old = (*section, before.kind.value, before.group)
        counts = _set_or_drop(counts, old, counts.get(old, 0) - 1)
    if d["reaction"] is None:
        return replace(state, reactions=state.reactions.delete(key), reaction_counts=counts)
    participant = state.participants.get(op.by)
    group = participant.group if participant is not None and participant.group else NO_GROUP
    reaction = Reaction(ReactionKind(d["reaction"]), d["comment"], group, op.seq)
    new = (*section, reaction.kind.value, group)
    counts = _set_or_drop(counts, new, counts.get(new, 0) + 1)
    return replace(state, reactions=state.reactions.set(key, reaction), reaction_counts=counts)


def _set_or_drop(m: Map[K, int], key: K, value: int) -> Map[K, int]:
    """Zero counts are dropped, so that equal votes are equal states however reached."""
    return m.set(key, value) if value else m.delete(key)


def _put_activity(state: EventState, activity: Activity, effects: list[Effect]) -> EventState:
    effects.append(ActivityChanged(activity))
    return replace(state, activities=state.activities.set(activity.id, activity))


def _put_theme(state: EventState, theme: Theme, effects: list[Effect]) -> EventState:
    effects.append(ThemeChanged(theme))
    return replace(state, themes=state.themes.set(theme.id, theme))


def _put_note(state: EventState, note: Note, effects: list[Effect]) -> EventState:
    effects.append(NoteChanged(note))
    return replace(state, notes=state.notes.set(note.id, note))


def fold(event_id: str, ops: Iterable[Op], state: EventState | None = None) -> EventState:
    """Replay ``ops`` (in order) onto ``state``, or onto an empty event."""
    current = state if state is not None else EventState(id=event_id)
    for op in ops:
        current, _ = apply(current, op)
    return current
