"""Rules for drafts: the writing team, saving and publishing versions, explaining changes.

A draft is a strategy document in Markdown. Writers (facilitators, and participants a
facilitator put on the writing team) save versions privately and publish one, which every
screen then shows. Saves are optimistic: each names the version it was written from, and
a save from anything but the latest version is refused with everything needed to settle
it — the base, both texts and a paragraph merge — so that nothing either writer wrote is
lost.

Section lineage ids and change summaries are worked out here, once, and recorded in the
op: replaying the log never re-diffs, and a later change to the alignment heuristics
cannot rewrite history.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

from ..errors import Code, Rejection
from . import diff
from .agenda import activity, changeable
from .commands import ExplainChange, LinkSpec, PublishDraft, SaveDraft, SetWriter
from .decision import Decision, Limits
from .dots import is_item
from .merge import merge3
from .model import (
    Activity,
    ActivityKind,
    Actor,
    Draft,
    EventState,
    JsonDict,
    Role,
    Version,
)
from .text import tidy

RATIONALE_MAX = 2000
LINKS_MAX = 20
LABEL_MAX = 200
LINK_KINDS = ("theme", "note", "vote")


def is_writer(state: EventState, actor: Actor) -> bool:
    return actor.role is Role.FACILITATOR or (
        actor.role is Role.PARTICIPANT and actor.id in state.writers
    )


def audience_of(state: EventState, actor: Actor) -> Role:
    """Which view of the event ``actor``'s screens get."""
    if actor.role is Role.PARTICIPANT and actor.id in state.writers:
        return Role.WRITER
    return actor.role


def set_writer(state: EventState, cmd: SetWriter) -> Decision | Rejection:
    if cmd.participant not in state.participants or cmd.participant in state.removed:
        return Rejection(Code.NOT_FOUND, f"there is no participant {cmd.participant}")
    if (cmd.participant in state.writers) == cmd.writer:
        where = "already on" if cmd.writer else "not on"
        return Rejection(Code.CONFLICT, f"{cmd.participant} is {where} the writing team")
    return Decision("writer.set", {"participant": cmd.participant, "writer": cmd.writer})


def newlines(text: str) -> str:
    """Every line ending as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def document_text(raw: str) -> str:
    """A Markdown document as people meant it: LF line endings, NFC, no control
    characters but newlines and tabs, no leading blank lines or trailing whitespace, one
    final newline. Unlike ``tidy`` it keeps the first line's indentation, which in
    Markdown is meaning (an indented code block)."""
    kept = "".join(ch for ch in newlines(raw) if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    text = unicodedata.normalize("NFC", kept).rstrip()
    text = _LEADING_BLANK_LINES.sub("", text)
    return text + "\n" if text else ""


_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")


def draft_of(state: EventState, activity_id: int) -> tuple[Activity, Draft] | Rejection:
    found = activity(state, activity_id)
    if isinstance(found, Rejection):
        return found
    if found.kind is not ActivityKind.DRAFT:
        return Rejection(Code.INVALID, f"activity {activity_id} is not a draft")
    return found, state.drafts.get(found.id) or Draft(found.id)


def _writable(state: EventState, actor: Actor, activity_id: int, verb: str) -> Draft | Rejection:
    if not is_writer(state, actor):
        return Rejection(
            Code.FORBIDDEN,
            f"a {actor.role} may not {verb} unless a facilitator puts them on the writing team",
        )
    found = changeable(state, activity_id)
    if isinstance(found, Rejection):
        return found
    pair = draft_of(state, activity_id)
    return pair if isinstance(pair, Rejection) else pair[1]


def _fresh_ids(draft: Draft) -> Callable[[], str]:
    counter = [draft.next_section]

    def fresh() -> str:
        counter[0] += 1
        return f"s{counter[0] - 1}"

    return fresh


def save_draft(
    state: EventState, actor: Actor, cmd: SaveDraft, limits: Limits
) -> Decision | Rejection:
    draft = _writable(state, actor, cmd.activity, "save drafts")
    if isinstance(draft, Rejection):
        return draft
    # Markdown is line-based: keep newlines and tabs, drop what no keyboard means to type.
    # A CR is a line ending (CommonMark), not noise: as a control character tidy would
    # drop it, and a lone one (classic Mac text) would run two lines into one.
    text = document_text(cmd.text)
    if not text.strip():
        return Rejection(Code.INVALID, "the draft is empty")
    if len(text) > limits.draft_max_chars:
        return Rejection(
            Code.INVALID, f"the draft is longer than {limits.draft_max_chars} characters"
        )
    if not 0 <= cmd.base <= draft.head:
        return Rejection(Code.NOT_FOUND, f"there is no version {cmd.base} to build on")
    head = draft.version(draft.head)
    if cmd.base != draft.head:
        assert head is not None
        return conflict(draft, cmd.base, text, head)
    if head is not None and head.text == text:
        return Rejection(Code.CONFLICT, f"nothing changed since version {head.number}")
    sections = diff.split_sections(text)
    old_text = head.text if head is not None else ""
    old_ids = head.sections if head is not None else ()
    ids = diff.carry_ids(old_ids, diff.split_sections(old_text), sections, _fresh_ids(draft))
    summary = changes(head, text, ids).summary
    return Decision(
        "draft.saved",
        {
            "activity": cmd.activity,
            "version": draft.head + 1,
            "base": cmd.base,
            "text": text,
            "sections": list(ids),
            "summary": summary.to_wire(),
        },
    )


def changes(older: Version | None, text: str, sections: Sequence[str]) -> diff.Diff:
    """How ``text`` (with its lineage ids) differs from ``older``, or from nothing.
    Matched by lineage id, so diffs between any two versions of a draft agree."""
    if older is None:
        return diff.diff("", text, (), sections)
    return diff.diff(older.text, text, older.sections, sections)


def conflict(draft: Draft, base: int, yours: str, head: Version) -> Rejection:
    """Another writer saved since ``base``: everything needed to settle it by hand, and
    the merge where the two sets of edits do not overlap."""
    base_version = draft.version(base)
    base_text = base_version.text if base_version is not None else ""
    merged = merge3(base_text, yours, head.text)
    return Rejection(
        Code.CONFLICT,
        f"version {head.number} was saved after version {base}, which you started from; "
        + (
            "your edits and theirs merge cleanly: check the merge and save it"
            if merged.clean
            else f"{merged.conflicts} passage(s) were changed by both: settle them and save"
        ),
        detail={
            "activity": draft.activity,
            "base": {"version": base, "text": base_text},
            "theirs": {"version": head.number, "author": head.author, "text": head.text},
            "yours": {"text": yours},
            "merged": {
                "clean": merged.clean,
                "conflicts": merged.conflicts,
                "text": merged.text(),
                "regions": merged.to_wire(),
            },
        },
    )


def publish_draft(state: EventState, actor: Actor, cmd: PublishDraft) -> Decision | Rejection:
    draft = _writable(state, actor, cmd.activity, "publish drafts")
    if isinstance(draft, Rejection):
        return draft
    version = draft.version(cmd.version)
    if version is None:
        return Rejection(Code.NOT_FOUND, f"there is no version {cmd.version}")
    if draft.published is not None and cmd.version <= draft.published:
        return Rejection(
            Code.CONFLICT,
            f"version {draft.published} is already published; publish a later version",
        )
    previous = draft.version(draft.published) if draft.published is not None else None
    summary: JsonDict | None = None
    if previous is not None:
        summary = changes(previous, version.text, version.sections).summary.to_wire()
    return Decision(
        "draft.published",
        {
            "activity": cmd.activity,
            "version": version.number,
            "previous": previous.number if previous is not None else None,
            "summary": summary,
        },
    )


def explain_change(state: EventState, actor: Actor, cmd: ExplainChange) -> Decision | Rejection:
    draft = _writable(state, actor, cmd.activity, "explain changes to drafts")
    if isinstance(draft, Rejection):
        return draft
    version = draft.version(cmd.version)
    if version is None:
        return Rejection(Code.NOT_FOUND, f"there is no version {cmd.version}")
    # A removal is a change too: it is explained on the version that made it.
    earlier = (v.sections for v in draft.versions[: version.number])
    if not any(cmd.section in sections for sections in earlier):
        return Rejection(Code.NOT_FOUND, f"version {version.number} has no section {cmd.section}")
    text = tidy(newlines(cmd.rationale), multiline=True)
    if len(text) > RATIONALE_MAX:
        return Rejection(Code.INVALID, f"the rationale is longer than {RATIONALE_MAX} characters")
    if len(cmd.links) > LINKS_MAX:
        return Rejection(Code.INVALID, f"more than {LINKS_MAX} links")
    links: list[JsonDict] = []
    for spec in cmd.links:
        link = _link(state, actor, spec)
        if isinstance(link, Rejection):
            return link
        if link in links:
            return Rejection(Code.INVALID, f"the {spec.kind} {spec.id} is linked twice")
        links.append(link)
    key = (cmd.activity, version.number, cmd.section)
    if not text and not links and key not in state.rationales:
        return Rejection(Code.INVALID, "say why, or link what prompted the change")
    return Decision(
        "draft.explained",
        {
            "activity": cmd.activity,
            "version": version.number,
            "section": cmd.section,
            "rationale": text,
            "links": links,
        },
    )


def _link(state: EventState, actor: Actor, spec: LinkSpec) -> JsonDict | Rejection:
    """A link checked against the room as it is now; its label keeps what it said, for
    when the theme or note is gone later."""
    label: str
    if spec.kind == "theme":
        theme = state.themes.get(spec.id)
        if theme is None or spec.item is not None:
            return Rejection(Code.NOT_FOUND, f"there is no theme {spec.id}")
        label = theme.name
    elif spec.kind == "note":
        note = state.notes.get(spec.id)
        # A writer who is not a facilitator may not see hidden notes, nor learn their ids.
        hidden = note is not None and note.hidden and actor.role is not Role.FACILITATOR
        if note is None or hidden or spec.item is not None:
            return Rejection(Code.NOT_FOUND, f"there is no note {spec.id}")
        label = note.text
    elif spec.kind == "vote":
        vote = state.activities.get(spec.id)
        if vote is None or vote.vote is None:
            return Rejection(Code.NOT_FOUND, f"there is no vote {spec.id}")
        if spec.item is not None and not is_item(state, vote, spec.item):
            return Rejection(Code.NOT_FOUND, f"item {spec.item} is not on vote {spec.id}")
        label = vote.prompt
        if spec.item is not None:
            theme, note = state.themes.get(spec.item), state.notes.get(spec.item)
            label = theme.name if theme is not None else note.text if note is not None else label
    else:
        return Rejection(Code.INVALID, f"a link is to one of: {', '.join(LINK_KINDS)}")
    return {"kind": spec.kind, "id": spec.id, "item": spec.item, "label": label[:LABEL_MAX]}
