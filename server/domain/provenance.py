""" "You said → we changed": what in the room a change to the strategy points back to.

A rationale's links name themes, notes and votes by id, and ids never change: a theme
renamed is the same theme, a note merged into another is followed to the merged note, a
vote is read as it stands now. Only what is truly gone (a deleted theme or note) falls
back to the label kept when the link was made. Resolution is per audience: a note the
facilitators hid shows nobody else its text, not even through a rationale.
"""

from __future__ import annotations

from .diff import Diff
from .dots import results_visible, vote_results
from .drafts import changes
from .model import (
    Draft,
    EventState,
    JsonDict,
    Link,
    Rationale,
    Role,
    Version,
    VoteTarget,
)
from .views import rationales_of, sees_hidden


def resolve(state: EventState, link: Link, audience: Role, min_group: int = 1) -> JsonDict:
    """A link as ``audience`` may read it now: status is live, renamed, merged, hidden or
    deleted; ``title`` what the target says now; ``target`` where a merged note went;
    ``standing`` a vote's (or one item's) dots when the audience may see results."""
    out: JsonDict = {
        **link.to_wire(),
        "status": "live",
        "title": link.label,
        "target": link.id,
        "standing": None,
    }
    if link.kind == "theme":
        theme = state.themes.get(link.id)
        if theme is None:
            out.update(status="deleted", target=None)
        elif theme.name != link.label:
            out.update(status="renamed", title=theme.name)
    elif link.kind == "note":
        _resolve_note(state, link, audience, out)
    elif link.kind == "vote":
        _resolve_vote(state, link, audience, out, min_group)
    return out


def _resolve_note(state: EventState, link: Link, audience: Role, out: JsonDict) -> None:
    note = state.notes.get(link.id)
    seen = {link.id}
    while note is not None and note.merged_into is not None and note.merged_into not in seen:
        seen.add(note.merged_into)
        note = state.notes.get(note.merged_into)
    if note is None:
        out.update(status="deleted", target=None)
        if not sees_hidden(audience):
            out["label"] = out["title"] = None  # it may have been deleted for a reason
        return
    if note.hidden and not sees_hidden(audience):
        out.update(status="hidden", title=None, label=None, target=None)
        return
    out.update(title=note.text, target=note.id)
    if note.id != link.id:
        out["status"] = "merged"
    elif note.hidden:
        out["status"] = "hidden"


def _resolve_vote(
    state: EventState, link: Link, audience: Role, out: JsonDict, min_group: int
) -> None:
    vote = state.activities.get(link.id)
    if vote is None or vote.vote is None:
        out.update(status="deleted", target=None)
        return
    if link.item is None:
        out["title"] = vote.prompt
    else:
        _resolve_item(state, vote.vote.target, link.item, audience, out)
    if not results_visible(vote, audience):
        return
    # The verdict as this audience's tallies show it: from folded groups for the room.
    rows = vote_results(state, vote, min_group).items
    if link.item is None:
        out["standing"] = {
            "top": [{"item": r.item, "rank": r.rank, "dots": r.total} for r in rows[:5]]
        }
        return
    for r in rows:
        if r.item == link.item:
            out["standing"] = {"rank": r.rank, "dots": r.total, "verdict": str(r.verdict)}
            break


def _resolve_item(
    state: EventState, target: VoteTarget, item: int, audience: Role, out: JsonDict
) -> None:
    """A vote's item reads as it does now. An item that is a note is as private as the
    note: its label repeats the note's text, which a hidden or deleted note shows nobody
    but facilitators."""
    theme, note = state.themes.get(item), state.notes.get(item)
    if theme is not None:
        out["title"] = theme.name
    elif note is not None and (not note.hidden or sees_hidden(audience)):
        out["title"] = note.text
    elif not sees_hidden(audience) and (note is not None or target is VoteTarget.NOTES):
        out["label"] = out["title"] = None


def rationale_view(
    state: EventState, rationale: Rationale, audience: Role, min_group: int = 1
) -> JsonDict:
    return {
        "rationale": rationale.text,
        "links": [resolve(state, link, audience, min_group) for link in rationale.links],
        "by": rationale.by,
        "seq": rationale.seq,
    }


def report(
    state: EventState,
    draft: Draft,
    older: Version | None,
    newer: Version,
    audience: Role,
    min_group: int = 1,
    d: Diff | None = None,
) -> JsonDict:
    """Every change from ``older`` (or from nothing) to ``newer``, each with its rationale
    and what it links to: the version report the projector shows. ``d`` is the diff
    between them when it was worked out already (off the event loop)."""
    d = d if d is not None else changes(older, newer.text, newer.sections)
    explained = rationales_of(state, draft, newer)
    listed = []
    for entry in d.to_wire()["sections"]:
        if entry["status"] == "unchanged" and not entry["moved"]:
            continue
        # A removed section is explained under its id on the version that removed it.
        rationale = explained.get(entry["id"]) if entry["id"] is not None else None
        listed.append(
            {
                **entry,
                "rationale": rationale_view(state, rationale, audience, min_group)
                if rationale is not None
                else None,
            }
        )
    return {
        "activity": draft.activity,
        "version": newer.number,
        "from": older.number if older is not None else None,
        "author": newer.author,
        "published_at": newer.published_at,
        "summary": d.summary.to_wire(),
        "changes": listed,
        "unexplained": sum(1 for c in listed if c["rationale"] is None),
    }
