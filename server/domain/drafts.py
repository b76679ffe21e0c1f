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
from dataclasses import dataclass, replace
from typing import Any

from ..errors import Code, Rejection
from . import diff
from .agenda import activity, changeable
from .commands import ExplainChange, LinkSpec, Prepared, PublishDraft, SaveDraft, SetWriter
from .decision import Decision, Limits
from .dots import is_item
from .merge import merge3, paragraphs
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
from .text import stray, tidy

RATIONALE_MAX = 2000
# What one draft may hold. A strategy has tens of sections and, at 20,000 words, 300 to
# 1,000 paragraphs (bench/draftgen.py's has 44 and 271). These leave room for any real
# draft (5,000 paragraphs at the 300,000-character limit is 60 characters each) and
# still bound the work of matching and diffing: 10,000 headings took 91 s to save before.
SECTIONS_MAX = 500
PARAGRAPHS_MAX = 5_000
# The longest run of combining marks (Unicode M*) on one base character. Real text puts a
# few on a letter (Vietnamese 2, pointed Hebrew 2-3, a Tibetan stack a handful); Zalgo
# text, dozens to thousands, is the abuse. NFC sorts each run by combining class,
# quadratic in its length: one run of 80,000 alternating marks took 5.0 s here, 80,000
# marks in runs of 16 take 3 ms.
MARKS_RUN_MAX = 16
# The raw text is measured before normalising, so NFC never runs on an unbounded input.
# CRLF line endings, and marks composing onto their letters, at most halve a text.
RAW_SLACK = 2
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
    kept = "".join(ch for ch in newlines(raw) if ch in "\n\t" or not stray(ch))
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


def _fresh_ids(next_section: int) -> Callable[[], str]:
    counter = [next_section]

    def fresh() -> str:
        counter[0] += 1
        return f"s{counter[0] - 1}"

    return fresh


def too_much(raw: str, max_chars: int, what: str = "draft") -> Rejection | None:
    """A text too long, or with too long a run of combining marks, to normalise: one
    linear pass over the raw text, before anything superlinear runs on it.

    Characters that normalising drops (controls but newlines and tabs, bidi controls) or
    that never separate marks for NFC's sorting (other format characters, e.g. ZWJ)
    neither end a run nor count in it, so a run cannot be hidden by splitting it.
    """
    if len(raw) > RAW_SLACK * max_chars:
        return Rejection(Code.INVALID, f"the {what} is longer than {max_chars} characters")
    run = 0
    category = unicodedata.category
    for ch in raw:
        kind = category(ch)
        if kind[0] == "M":
            run += 1
            if run > MARKS_RUN_MAX:
                return Rejection(
                    Code.INVALID,
                    f"more than {MARKS_RUN_MAX} combining marks in a row on one character",
                )
        elif kind not in ("Cc", "Cf") or ch in "\n\r\t":
            run = 0
    return None


@dataclass(frozen=True)
class SaveJob:
    """All a save needs to be worked out away from the event's state: plain data, so it
    pickles to a worker process. ``base_text`` and the head fields are "" / () when
    there is no such version."""

    activity: int
    base: int
    text: str  # as the writer sent it
    head: int  # the draft's latest version; 0 before the first save
    head_text: str
    head_sections: tuple[str, ...]
    head_author: str
    base_text: str
    next_section: int
    max_chars: int


@dataclass(frozen=True)
class PublishJob:
    """All a publication needs to be worked out away from the event's state."""

    activity: int
    version: int
    text: str
    sections: tuple[str, ...]
    previous: int  # the version published now (there is one, or there is no job)
    previous_text: str
    previous_sections: tuple[str, ...]


def save_job(
    state: EventState, actor: Actor, cmd: SaveDraft, limits: Limits
) -> SaveJob | Rejection:
    """The checks of a save against the state, all cheap: a refusal, or the job."""
    draft = _writable(state, actor, cmd.activity, "save drafts")
    if isinstance(draft, Rejection):
        return draft
    head = draft.version(draft.head)
    base = draft.version(cmd.base) if 0 <= cmd.base <= draft.head else None
    return SaveJob(
        activity=cmd.activity,
        base=cmd.base,
        text=cmd.text,
        head=draft.head,
        head_text=head.text if head is not None else "",
        head_sections=head.sections if head is not None else (),
        head_author=head.author if head is not None else "",
        base_text=base.text if base is not None else "",
        next_section=draft.next_section,
        max_chars=limits.draft_max_chars,
    )


def run_save(job: SaveJob) -> Decision | Rejection:
    """The heavy part of a save, pure and self-contained (a worker process runs it): the
    ``draft.saved`` decision, or the conflict with its merge, or why the text is refused.
    Its work is linear in the text, up to the caps (``SECTIONS_MAX``, ``PARAGRAPHS_MAX``,
    ``MARKS_RUN_MAX``) and the matchers' budgets in diff and merge."""
    if (refused := too_much(job.text, job.max_chars)) is not None:
        return refused
    # Markdown is line-based: keep newlines and tabs, drop what no keyboard means to type.
    # A CR is a line ending (CommonMark), not noise: as a control character tidy would
    # drop it, and a lone one (classic Mac text) would run two lines into one.
    text = document_text(job.text)
    if not text.strip():
        return Rejection(Code.INVALID, "the draft is empty")
    if len(text) > job.max_chars:
        return Rejection(Code.INVALID, f"the draft is longer than {job.max_chars} characters")
    sections = diff.split_sections(text)
    if len(sections) > SECTIONS_MAX:
        return Rejection(Code.INVALID, f"the draft has more than {SECTIONS_MAX} sections")
    if len(paragraphs(text)) > PARAGRAPHS_MAX:
        return Rejection(Code.INVALID, f"the draft has more than {PARAGRAPHS_MAX} paragraphs")
    if not 0 <= job.base <= job.head:
        return Rejection(Code.NOT_FOUND, f"there is no version {job.base} to build on")
    if job.base != job.head:
        return _conflict(job, text)
    if job.head and job.head_text == text:
        return Rejection(Code.CONFLICT, f"nothing changed since version {job.head}")
    old = diff.split_sections(job.head_text)
    ids = diff.carry_ids(job.head_sections, old, sections, _fresh_ids(job.next_section))
    summary = diff.diff(job.head_text, text, job.head_sections, ids).summary
    return Decision(
        "draft.saved",
        {
            "activity": job.activity,
            "version": job.head + 1,
            "base": job.base,
            "text": text,
            "sections": list(ids),
            "summary": summary.to_wire(),
        },
    )


def save_draft(
    state: EventState, actor: Actor, cmd: SaveDraft, limits: Limits
) -> Decision | Rejection:
    job = save_job(state, actor, cmd, limits)
    if isinstance(job, Rejection):
        return job
    return _prepared(cmd.prepared, job) or run_save(job)


def _prepared(prepared: Prepared | None, job: object) -> Decision | Rejection | None:
    """The result worked out ahead, if it was worked out from this very job: when the
    state moved on in between (another save, a publication, a writer taken off the team),
    the job differs and the work is done again here."""
    if prepared is None or prepared.job != job:
        return None
    result = prepared.result
    assert isinstance(result, Decision | Rejection), f"prepared {type(result)}"
    return result


def changes(older: Version | None, text: str, sections: Sequence[str]) -> diff.Diff:
    """How ``text`` (with its lineage ids) differs from ``older``, or from nothing.
    Matched by lineage id, so diffs between any two versions of a draft agree."""
    if older is None:
        return diff.diff("", text, (), sections)
    return diff.diff(older.text, text, older.sections, sections)


def _conflict(job: SaveJob, yours: str) -> Rejection:
    """Another writer saved since the job's base: everything needed to settle it by hand,
    and the merge where the two sets of edits do not overlap."""
    activity, base, base_text = job.activity, job.base, job.base_text
    head, author, theirs = job.head, job.head_author, job.head_text
    merged = merge3(base_text, yours, theirs)
    return Rejection(
        Code.CONFLICT,
        f"version {head} was saved after version {base}, which you started from; "
        + (
            "your edits and theirs merge cleanly: check the merge and save it"
            if merged.clean
            else f"{merged.conflicts} passage(s) were changed by both: settle them and save"
        ),
        detail={
            "activity": activity,
            "base": {"version": base, "text": base_text},
            "theirs": {"version": head, "author": author, "text": theirs},
            "yours": {"text": yours},
            "merged": {
                "clean": merged.clean,
                "conflicts": merged.conflicts,
                "text": merged.text(),
                "regions": merged.to_wire(),
            },
        },
    )


def publish_job(
    state: EventState, actor: Actor, cmd: PublishDraft
) -> PublishJob | Decision | Rejection:
    """The checks of a publication against the state, all cheap: a refusal, the decision
    itself when nothing was published before (no change to summarise), or the job."""
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
    if previous is None:
        return _published(cmd.activity, version.number, None, None)
    return PublishJob(
        activity=cmd.activity,
        version=version.number,
        text=version.text,
        sections=version.sections,
        previous=previous.number,
        previous_text=previous.text,
        previous_sections=previous.sections,
    )


def run_publish(job: PublishJob) -> Decision:
    """The heavy part of a publication, pure and self-contained: the change summary
    between what screens show now and the version they will show."""
    d = diff.diff(job.previous_text, job.text, job.previous_sections, job.sections)
    return _published(job.activity, job.version, job.previous, d.summary.to_wire())


def _published(
    activity: int, version: int, previous: int | None, summary: JsonDict | None
) -> Decision:
    return Decision(
        "draft.published",
        {"activity": activity, "version": version, "previous": previous, "summary": summary},
    )


def publish_draft(state: EventState, actor: Actor, cmd: PublishDraft) -> Decision | Rejection:
    job = publish_job(state, actor, cmd)
    if not isinstance(job, PublishJob):
        return job
    return _prepared(cmd.prepared, job) or run_publish(job)


# -- off the event loop ------------------------------------------------------------------

Job = SaveJob | PublishJob


def offload(
    state: EventState, actor: Actor, command: object, limits: Limits
) -> tuple[Callable[[Any], Decision | Rejection], Job] | None:
    """The heavy work of ``command``, for a worker process: ``(run, job)`` such that
    ``run(job)`` is what deciding ``command`` on ``state`` would compute, or None when
    there is nothing heavy (not a save or publication, or one refused or decided by the
    cheap checks: decide it inline as usual).

    The contract with the hub: ``run`` is a module-level function and ``job`` a frozen
    dataclass of str, int and tuples, so both pickle to a ``ProcessPoolExecutor``; the
    state is never sent. Submit ``run(job)`` to the pool with a time budget, then
    ``decide`` ``with_result(command, job, result)`` on the loop as for any command. If
    the state changed meanwhile (another save came first) the prepared result no longer
    matches and decide does the work again inline, so a result is never applied to a
    state it was not worked out for. On a timeout or a broken pool, refuse the write (or
    decide the plain command inline, if the budget allows): the caps bound that work.
    """
    if isinstance(command, SaveDraft):
        job = save_job(state, actor, command, limits)
        return None if isinstance(job, Rejection) else (run_save, job)
    if isinstance(command, PublishDraft):
        published = publish_job(state, actor, command)
        return (run_publish, published) if isinstance(published, PublishJob) else None
    return None


def with_result(
    command: SaveDraft | PublishDraft, job: Job, result: Decision | Rejection
) -> SaveDraft | PublishDraft:
    """``command`` carrying ``run(job)``'s result, for decide to use (see ``offload``)."""
    return replace(command, prepared=Prepared(job, result))


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
    # tidy normalises to NFC, superlinear on a long run of combining marks: bound it first.
    if (refused := too_much(cmd.rationale, RATIONALE_MAX, "rationale")) is not None:
        return refused
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
