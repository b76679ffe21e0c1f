"""Reactions to the sections of a published draft, and how they moved between versions.

Each participant has at most one reaction per section of a version (support, concern or
question, with an optional comment) and may change or take it back while the draft is
open. Counts are kept incrementally by the fold, per section, kind and stakeholder group,
so a reaction costs O(log n) and a screen's standing is a read, never a recount.
"""

from __future__ import annotations

from collections import defaultdict

from ..errors import Code, Rejection
from . import groups
from .commands import React
from .decision import Decision
from .drafts import draft_of
from .model import (
    Activity,
    ActivityStatus,
    Actor,
    EventState,
    JsonDict,
    ReactionKind,
    ReactionsVisibility,
    Role,
)
from .text import tidy

COMMENT_MAX = 500
KINDS = tuple(k.value for k in ReactionKind)


def react(state: EventState, actor: Actor, cmd: React) -> Decision | Rejection:
    if actor.id not in state.participants:
        return Rejection(Code.FORBIDDEN, "you have not joined this event")
    pair = draft_of(state, cmd.activity)
    if isinstance(pair, Rejection):
        return pair
    found, draft = pair
    if found.status is not ActivityStatus.OPEN:
        return Rejection(Code.CONFLICT, f"the draft is {found.status}: reactions cannot change")
    if draft.published is None:
        return Rejection(Code.CONFLICT, "no version of this draft is published yet")
    if cmd.version != draft.published:
        # Reactions are to what the room is reading now; a phone that has not caught up
        # with a new version must not count against the old one.
        return Rejection(
            Code.CONFLICT, f"version {draft.published} is the one on screens now: react to it"
        )
    version = draft.version(cmd.version)
    assert version is not None
    if cmd.section not in version.sections:
        return Rejection(Code.NOT_FOUND, f"version {version.number} has no section {cmd.section}")
    if cmd.reaction is not None and cmd.reaction not in KINDS:
        return Rejection(Code.INVALID, f"a reaction is one of: {', '.join(KINDS)}")
    comment = tidy(cmd.comment, multiline=True) or None if cmd.comment is not None else None
    if comment is not None and len(comment) > COMMENT_MAX:
        return Rejection(Code.INVALID, f"the comment is longer than {COMMENT_MAX} characters")
    if cmd.reaction is None and comment is not None:
        return Rejection(Code.INVALID, "a comment goes with a reaction")
    before = state.reactions.get((cmd.activity, cmd.version, cmd.section, actor.id))
    if before is None and cmd.reaction is None:
        return Rejection(Code.CONFLICT, "you have no reaction here to take back")
    if before is not None and (before.kind.value, before.comment) == (cmd.reaction, comment):
        return Rejection(Code.CONFLICT, "that is already your reaction")
    return Decision(
        "reaction.changed",
        {
            "activity": cmd.activity,
            "version": cmd.version,
            "section": cmd.section,
            "reaction": cmd.reaction,
            "comment": comment,
        },
    )


def visible(found: Activity, audience: Role) -> bool:
    """Facilitators and the writing team always see the counts; the room as the draft's
    settings say."""
    if audience in (Role.FACILITATOR, Role.WRITER):
        return True
    if found.reactions is ReactionsVisibility.LIVE:
        return True
    return found.reactions is ReactionsVisibility.ON_CLOSE and found.status in (
        ActivityStatus.CLOSED,
        ActivityStatus.ARCHIVED,
    )


def sees_comments(audience: Role) -> bool:
    # Comments are for the people redrafting; the room sees counts.
    return audience in (Role.FACILITATOR, Role.WRITER)


def _zero() -> dict[str, int]:
    return dict.fromkeys(KINDS, 0)


def standing(
    state: EventState, activity_id: int, version: int, *, comments: bool, min_group: int = 1
) -> JsonDict:
    """The counts for every section of ``version``, overall and by stakeholder group;
    with ``comments``, the comments too (with groups, never names). Groups of fewer than
    ``min_group`` people count as one (groups.folded), on comments too: a comment marked
    with a group of one is signed."""
    fold = groups.folded(state, min_group)
    draft = state.drafts.get(activity_id)
    found = draft.version(version) if draft is not None else None
    sections = found.sections if found is not None else ()
    counts: dict[str, dict[str, int]] = {s: _zero() for s in sections}
    by_group: dict[str, dict[str, dict[str, int]]] = {s: {} for s in sections}
    for (a, v, section, kind, group), n in state.reaction_counts.items():
        if a != activity_id or v != version or section not in counts:
            continue
        counts[section][kind] += n
        by_group[section].setdefault(fold.get(group, group), _zero())[kind] += n
    said: dict[str, list[JsonDict]] = defaultdict(list)
    if comments:
        for (a, v, section, _who), r in sorted(
            state.reactions.items(), key=lambda item: item[1].seq
        ):
            if a == activity_id and v == version and r.comment is not None:
                said[section].append(
                    {
                        "reaction": r.kind.value,
                        "comment": r.comment,
                        "group": fold.get(r.group, r.group) or None,
                    }
                )
    total = _zero()
    out = []
    for section in sections:
        for kind, n in counts[section].items():
            total[kind] += n
        entry: JsonDict = {
            "section": section,
            "counts": counts[section],
            "by_group": [
                {"group": group or None, "counts": c}
                for group, c in sorted(by_group[section].items())
            ],
        }
        if comments:
            entry["comments"] = said.get(section, [])
        out.append(entry)
    return {"activity": activity_id, "version": version, "total": total, "sections": out}


def mine(state: EventState, activity_id: int, version: int, who: str) -> JsonDict:
    """One participant's own reactions to ``version``, for every device they use."""
    own = [
        {"section": section, "reaction": r.kind.value, "comment": r.comment}
        for (a, v, section, p), r in sorted(state.reactions.items())
        if a == activity_id and v == version and p == who
    ]
    return {"activity": activity_id, "version": version, "reactions": own}


def compare(
    state: EventState, activity_id: int, older: int, newer: int, min_group: int = 1
) -> JsonDict:
    """For each section in both versions (by lineage id): the reactions to each, overall
    and by group (groups under ``min_group`` people as one), and the shift — did the
    redraft move concern to support, and where?"""
    before = {
        s["section"]: s
        for s in standing(state, activity_id, older, comments=False, min_group=min_group)[
            "sections"
        ]
    }
    after = standing(state, activity_id, newer, comments=False, min_group=min_group)["sections"]
    out = []
    for entry in after:
        was = before.get(entry["section"])
        if was is None:
            continue
        groups = {g["group"] for g in was["by_group"]} | {g["group"] for g in entry["by_group"]}
        old_by = {g["group"]: g["counts"] for g in was["by_group"]}
        new_by = {g["group"]: g["counts"] for g in entry["by_group"]}
        out.append(
            {
                "section": entry["section"],
                "before": was["counts"],
                "after": entry["counts"],
                "shift": _shift(was["counts"], entry["counts"]),
                "by_group": [
                    {
                        "group": g,
                        "before": old_by.get(g, _zero()),
                        "after": new_by.get(g, _zero()),
                        "shift": _shift(old_by.get(g, _zero()), new_by.get(g, _zero())),
                    }
                    for g in sorted(groups, key=lambda g: (g is not None, g or ""))
                ],
            }
        )
    return {"activity": activity_id, "from": older, "to": newer, "sections": out}


def _shift(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in KINDS}
