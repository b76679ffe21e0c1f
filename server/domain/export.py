"""What leaves the system: an event's complete archive (its whole log) and one table per
activity for a spreadsheet. Pure: the shell reads the log and writes the files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import Code, Rejection
from . import reactions
from .diff import split_sections
from .dots import vote_results
from .fold import UnknownOp, fold
from .model import ActivityKind, EventState, JsonDict, Op, Role, VoteTarget
from .views import rationales_of, sees_names

ARCHIVE_FORMAT = "plenary-event-archive"
ARCHIVE_VERSION = 1


@dataclass(frozen=True)
class EventRecord:
    """What the events table holds beside the log; an archive carries it too, so that the
    restored event opens with the same join code and facilitator key."""

    id: str
    code: str
    facilitator_key_hash: str
    created_at: int


@dataclass(frozen=True)
class Logged:
    """One entry of the log as stored: the op and the client op id it was written under."""

    op: Op
    client_op_id: str | None


def archive(event: EventRecord, log: Sequence[Logged]) -> JsonDict:
    return {
        "format": ARCHIVE_FORMAT,
        "version": ARCHIVE_VERSION,
        "event": {
            "id": event.id,
            "code": event.code,
            "facilitator_key_hash": event.facilitator_key_hash,
            "created_at": event.created_at,
        },
        "ops": [{**e.op.to_wire(), "client_op_id": e.client_op_id} for e in log],
    }


def read_archive(raw: Any) -> tuple[EventRecord, list[Logged], EventState] | Rejection:
    """Check an archive all the way (shape, a gapless log, a log this version can fold)
    before anything is written; return what to restore and the state it folds to."""
    try:
        if raw.get("format") != ARCHIVE_FORMAT:
            return Rejection(Code.INVALID, "this is not a Plenary event archive")
        if raw.get("version") != ARCHIVE_VERSION:
            return Rejection(Code.INVALID, f"archive version {raw.get('version')!r} is unknown")
        e = raw["event"]
        event = EventRecord(
            str(e["id"]), str(e["code"]), str(e["facilitator_key_hash"]), int(e["created_at"])
        )
        log = []
        for entry in raw["ops"]:
            client_op_id = entry.get("client_op_id")
            log.append(
                Logged(Op.from_wire(entry), str(client_op_id) if client_op_id is not None else None)
            )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return Rejection(Code.INVALID, f"the archive is malformed ({type(exc).__name__}: {exc})")
    if [e.op.seq for e in log] != list(range(1, len(log) + 1)):
        return Rejection(Code.INVALID, "the archive's log has gaps or is out of order")
    if not log or log[0].op.kind != "event.created":
        return Rejection(Code.INVALID, "the archive's log does not start with the event")
    try:
        state = fold(event.id, [e.op for e in log])
    except UnknownOp as exc:
        return Rejection(Code.INVALID, f"the archive has an op this version cannot apply: {exc}")
    except (KeyError, TypeError, ValueError) as exc:
        return Rejection(Code.INVALID, f"the archive's log does not fold ({exc!r})")
    if state.code != event.code:
        return Rejection(Code.INVALID, "the archive's join code disagrees with its log")
    return event, log, state


NOTES_HEADER = (
    "note",
    "text",
    "author",
    "group",
    "table",
    "theme",
    "hidden",
    "merged_into",
    "merged_from",
    "dots",
)


def notes_table(state: EventState, round_id: int) -> list[tuple[Any, ...]] | Rejection:
    """A notes round for a spreadsheet: every note with its theme, group, table and the
    dots it got in the votes on this round's notes. Names as facilitators may see them."""
    round_ = state.activities.get(round_id)
    if round_ is None or round_.kind is not ActivityKind.NOTES:
        return Rejection(Code.NOT_FOUND, f"there is no notes round {round_id}")
    dots_on: dict[int, int] = {}
    for (vote_id, item, _group), count in state.tallies.items():
        vote = state.activities[vote_id]
        if vote.vote and vote.vote.round == round_id and vote.vote.target is VoteTarget.NOTES:
            dots_on[item] = dots_on.get(item, 0) + count
    names = sees_names(state.anonymity, Role.FACILITATOR)
    rows: list[tuple[Any, ...]] = [NOTES_HEADER]
    for note in sorted(state.notes.values(), key=lambda n: n.id):
        if note.round != round_id:
            continue
        author = state.participants.get(note.author)
        theme = state.themes.get(note.theme) if note.theme is not None else None
        rows.append(
            (
                note.id,
                note.text,
                (author.name or "") if author is not None and names else "",
                note.group or "; ".join(note.groups),
                note.table or "",
                theme.name if theme is not None else "",
                "yes" if note.hidden else "",
                note.merged_into or "",
                " ".join(str(i) for i in note.merged_from),
                dots_on.get(note.id, 0),
            )
        )
    return rows


def vote_table(state: EventState, vote_id: int) -> list[tuple[Any, ...]] | Rejection:
    """A vote's results for a spreadsheet: items ranked, the tallies by group, verdicts."""
    vote = state.activities.get(vote_id)
    if vote is None or vote.vote is None:
        return Rejection(Code.NOT_FOUND, f"there is no vote {vote_id}")
    standing = vote_results(state, vote)
    groups = list(standing.groups)
    rows: list[tuple[Any, ...]] = [("rank", "item", "text", "total", *groups, "verdict")]
    for r in standing.items:
        if vote.vote.target is VoteTarget.THEMES:
            theme = state.themes.get(r.item)
            text = theme.name if theme is not None else ""
        else:
            note = state.notes.get(r.item)
            text = note.text if note is not None else ""
        by_group = [r.by_group.get(g, 0) for g in groups]
        rows.append((r.rank, r.item, text, r.total, *by_group, r.verdict.value))
    return rows


DRAFT_HEADER = (
    "version",
    "published",
    "section",
    "heading",
    "support",
    "concern",
    "question",
    "comments",
    "rationale",
    "links",
)


def draft_table(state: EventState, draft_id: int) -> list[tuple[Any, ...]] | Rejection:
    """A draft for a spreadsheet: each section of each version, the reactions to it
    (counts and comments, with groups) and the rationale written for it."""
    draft = state.drafts.get(draft_id)
    found = state.activities.get(draft_id)
    if found is None or found.kind is not ActivityKind.DRAFT:
        return Rejection(Code.NOT_FOUND, f"there is no draft {draft_id}")
    rows: list[tuple[Any, ...]] = [DRAFT_HEADER]
    if draft is None:
        return rows
    for version in draft.versions:
        standing = reactions.standing(state, draft_id, version.number, comments=True)
        by_section = {s["section"]: s for s in standing["sections"]}
        headings = [s.heading for s in split_sections(version.text)]
        explained = rationales_of(state, draft, version)
        for section, heading in zip(version.sections, headings, strict=True):
            counts = by_section[section]["counts"]
            comments = by_section[section]["comments"]
            rationale = explained.get(section)
            rows.append(
                (
                    version.number,
                    "yes" if version.published else "",
                    section,
                    heading,
                    counts["support"],
                    counts["concern"],
                    counts["question"],
                    "\n".join(
                        f"{c['reaction']} ({c['group'] or 'no group'}): {c['comment']}"
                        for c in comments
                    ),
                    rationale.text if rationale is not None else "",
                    "; ".join(f"{link.kind} {link.id}: {link.label}" for link in rationale.links)
                    if rationale is not None
                    else "",
                )
            )
    return rows


def activity_table(state: EventState, activity_id: int) -> list[tuple[Any, ...]] | Rejection:
    activity = state.activities.get(activity_id)
    if activity is None:
        return Rejection(Code.NOT_FOUND, f"there is no activity {activity_id}")
    if activity.kind is ActivityKind.VOTE:
        return vote_table(state, activity_id)
    if activity.kind is ActivityKind.DRAFT:
        return draft_table(state, activity_id)
    return notes_table(state, activity_id)
