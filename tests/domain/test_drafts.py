"""Rules for drafts: the writing team, saving versions with optimistic concurrency,
publishing, explaining changes; and what each audience sees of them."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plenary.domain import diff
from plenary.domain.commands import (
    AddActivity,
    AddNote,
    Command,
    ExplainChange,
    HideNote,
    LinkSpec,
    PublishDraft,
    React,
    SaveDraft,
    SetActivityStatus,
    SetWriter,
)
from plenary.domain.drafts import (
    LABEL_MAX,
    LINKS_MAX,
    RATIONALE_MAX,
    audience_of,
    is_writer,
)
from plenary.domain.fold import apply, fold
from plenary.domain.merge import paragraphs
from plenary.domain.model import Actor, EventState, Link, Op, Role
from plenary.domain.rules import Decision, Limits, decide
from plenary.domain.views import op_view, state_view
from plenary.errors import Code, Rejection
from plenary.protocol.schema import _validator_for, first_error

from . import (
    EVENT_ID,
    FACILITATOR,
    LIMITS,
    OBSERVER,
    OTHER_PARTICIPANT,
    PARTICIPANT,
    PLAN_V1,
    PLAN_V2,
    drafting,
    room,
    step,
)

P1, P2 = PARTICIPANT.id, OTHER_PARTICIPANT.id
WRITER = PARTICIPANT  # put on the writing team by the tests that need a writer
AUDIENCES = (Role.FACILITATOR, Role.WRITER, Role.PARTICIPANT, Role.OBSERVER)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

EVENT_STATE = _validator_for("EventState")
OP = _validator_for("Op")
DRAFT_CONFLICT = _validator_for("DraftConflict")


def _decide(
    state: EventState, actor: Actor, command: Command, limits: Limits = LIMITS
) -> Decision | Rejection:
    return decide(state, actor, command, limits)


def _refused(
    state: EventState, actor: Actor, command: Command, code: Code, limits: Limits = LIMITS
) -> Rejection:
    out = _decide(state, actor, command, limits)
    assert isinstance(out, Rejection), out
    assert out.code is code, out
    return out


def _do(state: EventState, actor: Actor, *commands: Command) -> EventState:
    for command in commands:
        state, _ = step(state, actor, command)
    return state


def _blank() -> tuple[EventState, list[Op], dict[str, int]]:
    """``room()`` plus an open draft with nothing saved yet. Adds id ``draft``."""
    state, ops, ids = room()
    for command in (AddActivity("draft", "The strategy"), None):
        if command is None:
            command = SetActivityStatus(ids["draft"], "open")
        state, op = step(state, FACILITATOR, command)
        ops.append(op)
        ids.setdefault("draft", op.seq)
    return state, ops, ids


def _with_writer(state: EventState) -> EventState:
    return _do(state, FACILITATOR, SetWriter(WRITER.id, True))


def _valid(validator: Any, instance: object) -> None:
    assert (reason := first_error(validator, instance)) is None, reason


# -- the writing team ---------------------------------------------------------------------


def test_facilitators_choose_the_writing_team() -> None:
    state, _, _ = drafting()
    assert state.writers == frozenset()
    state, op = step(state, FACILITATOR, SetWriter(P1, True))
    assert op.kind == "writer.set" and op.data == {"participant": P1, "writer": True}
    assert state.writers == {P1}
    assert "already on" in _refused(state, FACILITATOR, SetWriter(P1, True), Code.CONFLICT).message
    state = _do(state, FACILITATOR, SetWriter(P2, True), SetWriter(P1, False))
    assert state.writers == {P2}
    assert "not on" in _refused(state, FACILITATOR, SetWriter(P1, False), Code.CONFLICT).message
    _refused(state, FACILITATOR, SetWriter("p_9", True), Code.NOT_FOUND)
    _refused(state, FACILITATOR, SetWriter(OBSERVER.id, True), Code.NOT_FOUND)
    # Nobody else picks the team, not even a writer.
    for actor in (PARTICIPANT, OTHER_PARTICIPANT, OBSERVER):
        _refused(state, actor, SetWriter(P1, True), Code.FORBIDDEN)


def _writes(ids: dict[str, int], version: int) -> list[Command]:
    draft = ids["draft"]
    return [
        SaveDraft(draft, 2, PLAN_V2 + "\nOne more line.\n"),
        PublishDraft(draft, version),
        ExplainChange(draft, version, "s2", "the room asked for it"),
    ]


def test_only_the_writing_team_writes_drafts() -> None:
    state, _, ids = drafting()
    for actor in (PARTICIPANT, OBSERVER):
        for command in _writes(ids, 2):
            message = _refused(state, actor, command, Code.FORBIDDEN).message
            assert actor.role.value in message
    # Once on the team, each of the three writes goes through.
    team = _with_writer(state)
    for command in _writes(ids, 2):
        assert isinstance(_decide(team, WRITER, command), Decision), command
    saved, op = step(team, WRITER, _writes(ids, 2)[0])
    assert op.by == WRITER.id and saved.drafts[ids["draft"]].versions[-1].author == WRITER.id
    # The other participant is still not on it; taken off, the writer no longer writes.
    for command in _writes(ids, 2):
        _refused(team, OTHER_PARTICIPANT, command, Code.FORBIDDEN)
    off = _do(team, FACILITATOR, SetWriter(WRITER.id, False))
    for command in _writes(ids, 2):
        _refused(off, WRITER, command, Code.FORBIDDEN)


def test_audience_of_a_writer_is_the_writers_view() -> None:
    state, _, _ = drafting()
    assert audience_of(state, FACILITATOR) is Role.FACILITATOR
    assert audience_of(state, PARTICIPANT) is Role.PARTICIPANT
    assert audience_of(state, OBSERVER) is Role.OBSERVER
    assert is_writer(state, FACILITATOR) and not is_writer(state, PARTICIPANT)
    team = _with_writer(state)
    assert audience_of(team, PARTICIPANT) is Role.WRITER and is_writer(team, PARTICIPANT)
    assert audience_of(team, OTHER_PARTICIPANT) is Role.PARTICIPANT
    assert audience_of(team, FACILITATOR) is Role.FACILITATOR
    # An observer never writes, whatever the set says (observers cannot be put on it).
    odd = replace(team, writers=team.writers | {OBSERVER.id})
    assert audience_of(odd, OBSERVER) is Role.OBSERVER and not is_writer(odd, OBSERVER)
    _refused(odd, OBSERVER, _writes({"draft": 1}, 1)[0], Code.FORBIDDEN)


# -- saving ---------------------------------------------------------------------------------


def test_versions_count_from_one_on_base_zero() -> None:
    state, _, ids = _blank()
    draft = ids["draft"]
    assert draft not in state.drafts
    _refused(state, FACILITATOR, SaveDraft(draft, 1, PLAN_V1), Code.NOT_FOUND)
    _refused(state, FACILITATOR, SaveDraft(draft, -1, PLAN_V1), Code.NOT_FOUND)
    texts = [PLAN_V1, PLAN_V2, PLAN_V2 + "\n## Parks\n\nMore trees.\n"]
    for n, text in enumerate(texts, 1):
        state, op = step(state, FACILITATOR, SaveDraft(draft, n - 1, text))
        assert op.kind == "draft.saved"
        assert (op.data["version"], op.data["base"], op.data["text"]) == (n, n - 1, text)
        found = state.drafts[draft]
        assert found.head == n and found.published is None
        version = found.versions[n - 1]
        assert (version.number, version.base, version.author) == (n, n - 1, FACILITATOR.id)
        assert (version.saved_seq, version.saved_at) == (op.seq, op.at)
        assert version.text == text and not version.published
        assert list(version.sections) == op.data["sections"]
        assert version.summary == op.data["summary"]
        assert version.meta()["words"] == len(text.split())
    _refused(state, FACILITATOR, SaveDraft(draft, 4, PLAN_V1), Code.NOT_FOUND)


@pytest.mark.parametrize(
    ("typed", "saved"),
    [
        ("# Plan\r\n\r\nBody text.\r\n", "# Plan\n\nBody text.\n"),
        ("# Plan\n\nBody\x00 te\x07xt.", "# Plan\n\nBody text.\n"),
        # Leading blank lines go; the first line keeps its indentation (Markdown meaning).
        ("\n\n  # Plan\n\n\tindented\n\n\n", "  # Plan\n\n\tindented\n"),
        ("\n    code first\n", "    code first\n"),
        ("# Cafe\u0301", "# Caf\u00e9\n"),
        ("# Plan\rBody", "# Plan\nBody\n"),  # a lone CR (old Mac) is a line break too
    ],
)
def test_saved_text_is_tidied(typed: str, saved: str) -> None:
    state, _, ids = _blank()
    decision = _decide(state, FACILITATOR, SaveDraft(ids["draft"], 0, typed))
    assert isinstance(decision, Decision)
    assert decision.data["text"] == saved


@pytest.mark.parametrize("text", ["", " ", "\n\n\t  \n", "\x00\x01\r\n"])
def test_an_empty_draft_is_refused(text: str) -> None:
    state, _, ids = _blank()
    assert (
        "empty"
        in _refused(state, FACILITATOR, SaveDraft(ids["draft"], 0, text), Code.INVALID).message
    )


@pytest.mark.parametrize(("length", "accepted"), [(39, True), (40, False), (400, False)])
def test_a_draft_longer_than_the_limit_is_refused(length: int, accepted: bool) -> None:
    state, _, ids = _blank()
    limits = Limits(draft_max_chars=40)  # the stored text ends in a newline: 39 + 1 fits
    out = _decide(state, FACILITATOR, SaveDraft(ids["draft"], 0, "x" * length), limits)
    if accepted:
        assert isinstance(out, Decision) and len(out.data["text"]) == 40
    else:
        assert isinstance(out, Rejection) and out.code is Code.INVALID
        assert "longer than 40" in out.message


def test_saving_the_same_text_again_is_refused() -> None:
    state, _, ids = drafting()
    for same in (PLAN_V2, PLAN_V2.replace("\n", "\r\n"), "\n\n" + PLAN_V2 + "\n\n"):
        message = _refused(state, FACILITATOR, SaveDraft(ids["draft"], 2, same), Code.CONFLICT)
        assert "nothing changed since version 2" in message.message


def test_archived_drafts_and_other_activities_take_no_saves() -> None:
    state, _, ids = drafting()
    draft = ids["draft"]
    archived = _do(
        state, FACILITATOR, SetActivityStatus(draft, "closed"), SetActivityStatus(draft, "archived")
    )
    for command in _writes(ids, 2):
        assert "archived" in _refused(archived, FACILITATOR, command, Code.CONFLICT).message
    reopened = _do(archived, FACILITATOR, SetActivityStatus(draft, "open"))
    assert isinstance(_decide(reopened, FACILITATOR, _writes(ids, 2)[0]), Decision)
    # Closed to reactions, the draft is still redrafted (the overnight redraft).
    closed = _do(state, FACILITATOR, SetActivityStatus(draft, "closed"))
    for command in _writes(ids, 2):
        assert isinstance(_decide(closed, FACILITATOR, command), Decision)
    for other in (ids["round"], ids["vote"]):
        message = _refused(state, FACILITATOR, SaveDraft(other, 0, PLAN_V1), Code.INVALID).message
        assert "not a draft" in message
        _refused(state, FACILITATOR, PublishDraft(other, 1), Code.INVALID)
        _refused(state, FACILITATOR, ExplainChange(other, 1, "s1", "why"), Code.INVALID)
    _refused(state, FACILITATOR, SaveDraft(9999, 0, PLAN_V1), Code.NOT_FOUND)


def _sections(text: str) -> list[str]:
    return [s.heading for s in diff.split_sections(text)]


def test_sections_keep_their_lineage_ids() -> None:
    state, _, ids = _blank()
    draft = ids["draft"]
    plan, alpha = "# Plan\n\nIntro.\n", "## Alpha\n\nAlpha body.\n"
    alpha2 = "## Alpha prime\n\nAlpha body.\n"
    beta, beta2 = "## Beta\n\nBeta body.\n", "## Beta\n\nBeta body, longer now.\n"
    gamma, delta = "## Gamma\n\nGamma.\n", "## Delta\n\nNew things entirely.\n"
    v1 = "\n".join([plan, alpha, beta, gamma])
    # Beta edited and moved below Gamma; Alpha renamed (same body).
    v2 = "\n".join([plan, alpha2, gamma, beta2])
    # Gamma removed, Delta added.
    v3 = "\n".join([plan, alpha2, beta2, delta])
    # Gamma back, word for word: a new section all the same, with an id never used before.
    v4 = "\n".join([v3, gamma])
    state = _do(
        state,
        FACILITATOR,
        SaveDraft(draft, 0, v1),
        SaveDraft(draft, 1, v2),
        SaveDraft(draft, 2, v3),
        SaveDraft(draft, 3, v4),
    )
    versions = state.drafts[draft].versions
    by_heading = [dict(zip(_sections(v.text), v.sections, strict=True)) for v in versions]
    assert by_heading[0] == {"Plan": "s1", "Alpha": "s2", "Beta": "s3", "Gamma": "s4"}
    assert by_heading[1] == {"Plan": "s1", "Alpha prime": "s2", "Gamma": "s4", "Beta": "s3"}
    assert by_heading[2] == {"Plan": "s1", "Alpha prime": "s2", "Beta": "s3", "Delta": "s5"}
    assert by_heading[3] == {**by_heading[2], "Gamma": "s6"}
    assert state.drafts[draft].next_section == 7
    summary = versions[1].summary
    assert (summary["changed"], summary["moved"], summary["added"]) == (2, 1, 0)
    assert versions[2].summary["removed"] == 1 and versions[2].summary["added"] == 1
    assert versions[0].summary == {
        "changed": 0,
        "added": 4,
        "removed": 0,
        "moved": 0,
        "unchanged": 0,
        "text": "4 sections added",
    }


_POOL = [
    f"## Part {c}\n\n{c} is about {c.lower()} things and more {c.lower()} words.\n"
    for c in "ABCDEFGH"
]


@st.composite
def _redrafts(draw: st.DrawFn) -> list[str]:
    """A sequence of texts: each drops, adds, reorders and edits sections of the one
    before, so that lineage has something to follow."""
    sections = draw(st.lists(st.sampled_from(_POOL), min_size=1, max_size=5, unique=True))
    texts = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        action = draw(st.sampled_from(["drop", "add", "swap", "edit", "edit"]))
        if action == "drop" and len(sections) > 1:
            sections.pop(draw(st.integers(0, len(sections) - 1)))
        elif action == "add":
            sections.insert(draw(st.integers(0, len(sections))), draw(st.sampled_from(_POOL)))
        elif action == "swap" and len(sections) > 1:
            i = draw(st.integers(0, len(sections) - 2))
            sections[i], sections[i + 1] = sections[i + 1], sections[i]
        else:
            i = draw(st.integers(0, len(sections) - 1))
            sections[i] = sections[i].rstrip("\n") + f" Edit {len(texts)}.\n"
        text = "\n".join(sections)
        if not texts or texts[-1] != text:
            texts.append(text)
    return texts


@SETTINGS
@given(_redrafts())
def test_fresh_section_ids_are_never_reused(texts: list[str]) -> None:
    state, _, ids = _blank()
    draft = ids["draft"]
    for n, text in enumerate(texts):
        state = _do(state, FACILITATOR, SaveDraft(draft, n, text))
    versions = state.drafts[draft].versions
    seen: set[str] = set()
    for k, version in enumerate(versions):
        assert all(re.fullmatch(r"s[1-9][0-9]*", s) for s in version.sections)
        assert len(set(version.sections)) == len(version.sections)
        assert len(version.sections) == len(diff.split_sections(version.text))
        before = set(versions[k - 1].sections) if k else set()
        # A section new in this version has an id no earlier version ever used.
        assert not (set(version.sections) - before) & seen
        seen |= set(version.sections)
        if k:
            # A section whose text is the same in both versions (and unique) keeps its id.
            old = versions[k - 1]
            old_texts = [s.text.strip() for s in diff.split_sections(old.text)]
            new_texts = [s.text.strip() for s in diff.split_sections(version.text)]
            for j, t in enumerate(new_texts):
                if new_texts.count(t) == 1 and old_texts.count(t) == 1:
                    assert version.sections[j] == old.sections[old_texts.index(t)]
    assert state.drafts[draft].next_section == 1 + max(int(s[1:]) for s in seen)


# -- conflicts -------------------------------------------------------------------------------


def test_a_save_on_a_stale_base_merges_cleanly_when_the_edits_are_apart() -> None:
    state, _, ids = drafting()  # version 2 saved by the facilitator on version 1
    state = _with_writer(state)
    yours = PLAN_V1.replace("works for everyone.", "works for everyone, young and old.")
    conflict = _refused(state, WRITER, SaveDraft(ids["draft"], 1, yours), Code.CONFLICT)
    assert "merge cleanly" in conflict.message
    detail = conflict.detail
    assert detail is not None
    _valid(DRAFT_CONFLICT, detail)
    assert detail["activity"] == ids["draft"]
    assert detail["base"] == {"version": 1, "text": PLAN_V1}
    assert detail["theirs"] == {"version": 2, "author": FACILITATOR.id, "text": PLAN_V2}
    assert detail["yours"] == {"text": yours}
    merged = detail["merged"]
    assert (merged["clean"], merged["conflicts"]) == (True, 0)
    assert "young and old" in merged["text"] and "safer cycle lanes" in merged["text"]
    assert "A youth council" in merged["text"]
    assert merged["regions"] == [{"text": merged["text"]}]
    # Saving the merge on the version it was merged with settles it.
    state, op = step(state, WRITER, SaveDraft(ids["draft"], 2, merged["text"]))
    assert op.data["version"] == 3 and op.data["base"] == 2
    assert state.drafts[ids["draft"]].versions[2].text == merged["text"]


def test_edits_to_the_same_paragraph_come_back_as_a_conflict_region() -> None:
    state, _, ids = drafting()
    state = _with_writer(state)
    yours = PLAN_V1.replace("More buses during the day.", "Trams, not buses.")
    conflict = _refused(state, WRITER, SaveDraft(ids["draft"], 1, yours), Code.CONFLICT)
    assert "1 passage(s)" in conflict.message
    assert conflict.detail is not None
    _valid(DRAFT_CONFLICT, conflict.detail)
    merged = conflict.detail["merged"]
    assert (merged["clean"], merged["conflicts"]) == (False, 1)
    regions = [r for r in merged["regions"] if "base" in r]
    assert regions == [
        {
            "base": "More buses during the day.\n\n",
            "ours": "Trams, not buses.\n\n",
            "theirs": "More buses at night and during the day, and safer cycle lanes.\n\n",
        }
    ]
    # The merged text takes the writer's side of the passage and keeps theirs elsewhere.
    assert "Trams, not buses." in merged["text"] and "A youth council" in merged["text"]
    settled = merged["text"].replace("Trams, not buses.", "Trams at night, buses by day.")
    state, op = step(state, WRITER, SaveDraft(ids["draft"], 2, settled))
    assert op.data["version"] == 3


def test_two_writers_on_one_base_the_second_is_told() -> None:
    state, _, ids = _blank()
    state = _do(_with_writer(state), FACILITATOR, SaveDraft(ids["draft"], 0, PLAN_V1))
    first = PLAN_V1 + "\n## Parks\n\nMore trees.\n"
    second = PLAN_V1.replace("# Our town in 2030", "# Our town in 2035")
    state = _do(state, FACILITATOR, SaveDraft(ids["draft"], 1, first))
    conflict = _refused(state, WRITER, SaveDraft(ids["draft"], 1, second), Code.CONFLICT)
    assert conflict.detail is not None
    assert conflict.detail["theirs"]["author"] == FACILITATOR.id
    assert conflict.detail["merged"]["clean"]
    text = conflict.detail["merged"]["text"]
    assert "2035" in text and "More trees." in text
    # A save on version 0 after version 2 exists conflicts against the latest, with an
    # empty base.
    conflict = _refused(state, WRITER, SaveDraft(ids["draft"], 0, second), Code.CONFLICT)
    assert conflict.detail is not None
    assert conflict.detail["base"] == {"version": 0, "text": ""}
    assert conflict.detail["theirs"]["version"] == 2


_PARAGRAPHS = st.sampled_from(
    [
        "# Heading",
        "## Sub heading",
        "Alpha beta gamma.",
        "Delta epsilon.",
        "- one\n- two",
        "Zeta eta theta iota.",
        "Kappa.",
    ]
)


@st.composite
def _edited(draw: st.DrawFn, base: list[str]) -> list[str]:
    out = []
    for p in base:
        match draw(st.sampled_from(["keep", "keep", "edit", "drop"])):
            case "keep":
                out.append(p)
            case "edit":
                out.append(p + " " + draw(st.sampled_from(["Edited.", "Changed!", "More."])))
        if draw(st.booleans()) and draw(st.booleans()):
            out.append(draw(_PARAGRAPHS) + " Inserted.")
    return out or ["Everything went."]


@st.composite
def _three_texts(draw: st.DrawFn) -> tuple[str, str, str]:
    base = draw(st.lists(_PARAGRAPHS, min_size=1, max_size=6))
    theirs, yours = draw(_edited(base)), draw(_edited(base))
    return tuple("\n\n".join(ps) + "\n" for ps in (base, theirs, yours))  # type: ignore[return-value]


@SETTINGS
@given(_three_texts())
def test_nothing_either_writer_wrote_is_lost(texts: tuple[str, str, str]) -> None:
    base, theirs, yours = texts
    state, _, ids = _blank()
    state = _do(_with_writer(state), FACILITATOR, SaveDraft(ids["draft"], 0, base))
    if theirs == base:
        return
    state = _do(state, FACILITATOR, SaveDraft(ids["draft"], 1, theirs))
    conflict = _refused(state, WRITER, SaveDraft(ids["draft"], 1, yours), Code.CONFLICT)
    detail = conflict.detail
    assert detail is not None
    _valid(DRAFT_CONFLICT, detail)
    # Both texts come back whole, with the base they started from.
    assert detail["base"]["text"] == base
    assert detail["theirs"]["text"] == theirs and detail["yours"]["text"] == yours
    merged = detail["merged"]
    regions = merged["regions"]
    assert merged["conflicts"] == sum("base" in r for r in regions)
    assert merged["clean"] == (merged["conflicts"] == 0)
    assert merged["text"] == "".join(r.get("text", r.get("ours", "")) for r in regions)
    # Every paragraph either side added or changed is in the merge (in a conflict, on
    # that side of the region).
    ours_side = "".join(r.get("text", r.get("ours", "")) for r in regions)
    theirs_side = "".join(r.get("text", r.get("theirs", "")) for r in regions)
    for side, text in ((ours_side, yours), (theirs_side, theirs)):
        for p in paragraphs(text):
            if p not in paragraphs(base):
                assert p.strip() in side
    # Saving the merge on the latest version settles it, unless it is their text exactly.
    out = _decide(state, WRITER, SaveDraft(ids["draft"], 2, merged["text"]))
    if isinstance(out, Decision):
        assert out.data["version"] == 3 and out.data["base"] == 2
    else:
        assert out.code in (Code.CONFLICT, Code.INVALID), out
        assert out.code is Code.INVALID or "nothing changed" in out.message


# -- publishing -----------------------------------------------------------------------------


def test_publishing_a_version() -> None:
    state, ops, ids = drafting()
    draft = ids["draft"]
    found = state.drafts[draft]
    v1 = found.versions[0]
    published_op = next(op for op in ops if op.kind == "draft.published")
    assert found.published == 1
    assert (v1.published_seq, v1.published_at) == (published_op.seq, published_op.at)
    assert (v1.previous, v1.published_summary) == (None, None)
    assert published_op.data == {"activity": draft, "version": 1, "previous": None, "summary": None}
    assert not found.versions[1].published

    state, op = step(state, FACILITATOR, PublishDraft(draft, 2))
    expected = diff.diff(PLAN_V1, PLAN_V2, v1.sections, found.versions[1].sections).summary
    assert op.data == {
        "activity": draft,
        "version": 2,
        "previous": 1,
        "summary": expected.to_wire(),
    }
    assert (op.data["summary"]["changed"], op.data["summary"]["added"]) == (1, 1)
    found = state.drafts[draft]
    v2 = found.versions[1]
    assert found.published == 2
    assert (v2.published_seq, v2.previous, v2.published_summary) == (op.seq, 1, op.data["summary"])
    assert found.versions[0].published  # still published once, in the history

    for number in (1, 2):
        message = _refused(state, FACILITATOR, PublishDraft(draft, number), Code.CONFLICT).message
        assert "already published" in message
    for number in (0, 3, -1):
        _refused(state, FACILITATOR, PublishDraft(draft, number), Code.NOT_FOUND)


def test_publishing_skips_versions_and_compares_with_the_last_published() -> None:
    state, _, ids = drafting()
    draft = ids["draft"]
    v3 = PLAN_V2.replace("Build homes near the station.", "Build homes by the river.")
    state = _do(state, FACILITATOR, SaveDraft(draft, 2, v3))
    state, op = step(state, FACILITATOR, PublishDraft(draft, 3))
    assert op.data["previous"] == 1
    assert op.data["summary"]["changed"] == 2 and op.data["summary"]["added"] == 1
    # Version 2 was skipped: it can no longer be published.
    _refused(state, FACILITATOR, PublishDraft(draft, 2), Code.CONFLICT)
    assert not state.drafts[draft].versions[1].published


def test_nothing_to_publish_before_a_save() -> None:
    state, _, ids = _blank()
    _refused(state, FACILITATOR, PublishDraft(ids["draft"], 1), Code.NOT_FOUND)


# -- explaining changes -----------------------------------------------------------------------


def test_a_change_is_explained_on_a_section_of_that_version_or_earlier() -> None:
    state, _, ids = drafting()
    draft = ids["draft"]
    assert state.drafts[draft].versions[1].sections == ("s1", "s2", "s3", "s4")
    _refused(state, FACILITATOR, ExplainChange(draft, 1, "s4", "new"), Code.NOT_FOUND)
    _refused(state, FACILITATOR, ExplainChange(draft, 2, "s99", "what"), Code.NOT_FOUND)
    _refused(state, FACILITATOR, ExplainChange(draft, 3, "s1", "not yet"), Code.NOT_FOUND)
    _refused(state, FACILITATOR, ExplainChange(draft, 0, "s1", "never"), Code.NOT_FOUND)
    state, op = step(state, FACILITATOR, ExplainChange(draft, 2, "s4", " Young people asked.\x00 "))
    assert op.kind == "draft.explained"
    assert op.data == {
        "activity": draft,
        "version": 2,
        "section": "s4",
        "rationale": "Young people asked.",
        "links": [],
    }
    rationale = state.rationales[(draft, 2, "s4")]
    assert (rationale.text, rationale.links, rationale.by, rationale.seq) == (
        "Young people asked.",
        (),
        FACILITATOR.id,
        op.seq,
    )
    # A removed section is explained on the version that removed it.
    v3 = PLAN_V2.replace("## Housing\n\nBuild homes near the station.\n\n", "")
    state = _do(state, FACILITATOR, SaveDraft(draft, 2, v3))
    assert "s3" not in state.drafts[draft].versions[2].sections
    state = _do(state, FACILITATOR, ExplainChange(draft, 3, "s3", "Housing moved to its own plan."))
    assert state.rationales[(draft, 3, "s3")].text == "Housing moved to its own plan."


def test_links_are_checked_and_labelled() -> None:
    state, _, ids = drafting()
    draft = ids["draft"]
    specs = (
        LinkSpec("theme", ids["theme"]),
        LinkSpec("note", ids["p1"]),
        LinkSpec("vote", ids["vote"]),
        LinkSpec("vote", ids["vote"], ids["p2"]),
    )
    state, op = step(state, FACILITATOR, ExplainChange(draft, 2, "s2", "You said", specs))
    assert op.data["links"] == [
        {"kind": "theme", "id": ids["theme"], "item": None, "label": "Transport"},
        {"kind": "note", "id": ids["p1"], "item": None, "label": "more buses at night"},
        {"kind": "vote", "id": ids["vote"], "item": None, "label": "Which matter most?"},
        {"kind": "vote", "id": ids["vote"], "item": ids["p2"], "label": "safer cycle lanes"},
    ]
    assert state.rationales[(draft, 2, "s2")].links == tuple(
        Link(x["kind"], x["id"], x["item"], x["label"]) for x in op.data["links"]
    )
    # Links alone, with no words, explain a change too.
    state = _do(state, FACILITATOR, ExplainChange(draft, 2, "s4", "", (specs[0],)))
    assert state.rationales[(draft, 2, "s4")].text == ""

    bad = [
        (LinkSpec("theme", 9999), Code.NOT_FOUND),
        (LinkSpec("theme", ids["p1"]), Code.NOT_FOUND),  # a note's id is no theme
        (LinkSpec("theme", ids["theme"], ids["p2"]), Code.NOT_FOUND),
        (LinkSpec("note", 9999), Code.NOT_FOUND),
        (LinkSpec("note", ids["theme"]), Code.NOT_FOUND),
        (LinkSpec("note", ids["p1"], ids["p1"]), Code.NOT_FOUND),
        (LinkSpec("vote", ids["round"]), Code.NOT_FOUND),  # a notes round is no vote
        (LinkSpec("vote", draft), Code.NOT_FOUND),
        (LinkSpec("vote", 9999), Code.NOT_FOUND),
        (LinkSpec("vote", ids["vote"], ids["theme"]), Code.NOT_FOUND),  # votes on notes
        (LinkSpec("vote", ids["vote"], 9999), Code.NOT_FOUND),
        (LinkSpec("poll", ids["vote"]), Code.INVALID),
    ]
    for spec, code in bad:
        _refused(state, FACILITATOR, ExplainChange(draft, 2, "s3", "why", (spec,)), code)
    twice = (LinkSpec("note", ids["p1"]), LinkSpec("note", ids["p1"]))
    message = _refused(
        state, FACILITATOR, ExplainChange(draft, 2, "s3", "why", twice), Code.INVALID
    )
    assert "linked twice" in message.message
    # The same vote with and without an item are two links, not one twice.
    both = (LinkSpec("vote", ids["vote"]), LinkSpec("vote", ids["vote"], ids["p1"]))
    assert isinstance(
        _decide(state, FACILITATOR, ExplainChange(draft, 2, "s3", "", both)), Decision
    )


def test_a_long_note_is_labelled_by_its_start() -> None:
    state, _, ids = drafting()
    state, op = step(state, PARTICIPANT, AddNote("w" * 280))
    state, explained = step(
        state, FACILITATOR, ExplainChange(ids["draft"], 2, "s2", "", (LinkSpec("note", op.seq),))
    )
    assert explained.data["links"][0]["label"] == "w" * LABEL_MAX


def test_an_empty_explanation_takes_one_away_and_is_refused_when_there_is_none() -> None:
    state, _, ids = drafting()
    draft = ids["draft"]
    for empty in ("", "  \n\t", "\x00"):
        message = _refused(state, FACILITATOR, ExplainChange(draft, 2, "s2", empty), Code.INVALID)
        assert "say why" in message.message
    state = _do(state, FACILITATOR, ExplainChange(draft, 2, "s2", "first"))
    state = _do(state, FACILITATOR, ExplainChange(draft, 2, "s2", "second, better"))
    assert state.rationales[(draft, 2, "s2")].text == "second, better"
    state, op = step(state, FACILITATOR, ExplainChange(draft, 2, "s2", " "))
    assert op.data["rationale"] == "" and op.data["links"] == []
    assert (draft, 2, "s2") not in state.rationales
    _refused(state, FACILITATOR, ExplainChange(draft, 2, "s2", ""), Code.INVALID)


def test_explanations_have_limits() -> None:
    state, _, ids = drafting()
    draft = ids["draft"]
    exactly = "y" * RATIONALE_MAX
    assert isinstance(_decide(state, FACILITATOR, ExplainChange(draft, 2, "s2", exactly)), Decision)
    message = _refused(
        state, FACILITATOR, ExplainChange(draft, 2, "s2", exactly + "y"), Code.INVALID
    ).message
    assert str(RATIONALE_MAX) in message
    many = tuple(LinkSpec("note", ids["p1"]) for _ in range(LINKS_MAX + 1))
    message = _refused(
        state, FACILITATOR, ExplainChange(draft, 2, "s2", "x", many), Code.INVALID
    ).message
    assert f"more than {LINKS_MAX} links" in message


def test_the_log_replays_to_the_same_drafts() -> None:
    state, ops, ids = drafting()
    draft = ids["draft"]
    for command in (
        SetWriter(P1, True),
        ExplainChange(draft, 2, "s2", "buses", (LinkSpec("theme", ids["theme"]),)),
        PublishDraft(draft, 2),
        React(draft, 2, "s2", "support", "yes"),
    ):
        actor = PARTICIPANT if isinstance(command, React) else FACILITATOR
        state, op = step(state, actor, command)
        ops.append(op)
    assert fold(EVENT_ID, ops) == state


# -- what each audience sees ------------------------------------------------------------------


def _views(state: EventState, op: Op) -> dict[Role, dict[str, Any] | None]:
    after, _ = apply(state, op)
    out = {a: op_view(op, state, after, a) for a in AUDIENCES}
    for view in out.values():
        if view is not None:
            _valid(OP, view)
    return out


def _op(state: EventState, actor: Actor, command: Command) -> Op:
    decision = _decide(state, actor, command)
    assert isinstance(decision, Decision), decision
    return Op(state.seq + 1, decision.kind, actor.id, 1_700_000_000_000, decision.data)


def test_saves_reach_the_writing_team_only() -> None:
    state, _, ids = drafting()
    state = _with_writer(state)
    views = _views(state, _op(state, WRITER, SaveDraft(ids["draft"], 2, PLAN_V2 + "\nMore.\n")))
    assert views[Role.FACILITATOR] is not None and views[Role.WRITER] is not None
    assert views[Role.FACILITATOR] == views[Role.WRITER]
    assert views[Role.PARTICIPANT] is None and views[Role.OBSERVER] is None


def test_a_publication_reaches_everyone_with_its_text() -> None:
    state, _, ids = drafting()
    draft = ids["draft"]
    state = _do(
        state,
        FACILITATOR,
        ExplainChange(draft, 2, "s4", "asked for", (LinkSpec("note", ids["p1"]),)),
    )
    op = _op(state, FACILITATOR, PublishDraft(draft, 2))
    views = _views(state, op)
    assert len({repr(v) for v in views.values()}) == 1  # one shape, encoded once
    data = views[Role.OBSERVER]["data"]  # type: ignore[index]
    assert data["text"] == PLAN_V2 and data["author"] == FACILITATOR.id
    assert data["sections"] == ["s1", "s2", "s3", "s4"]
    assert data["previous"] == 1 and data["summary"]["added"] == 1
    assert [(r["section"], r["rationale"]) for r in data["rationales"]] == [("s4", "asked for")]
    assert data["rationales"][0]["links"][0]["label"] == "more buses at night"


def test_explanations_reach_the_room_once_their_version_is_published() -> None:
    state, _, ids = drafting()
    draft = ids["draft"]
    state = _with_writer(state)
    # On the working version 2: the writing team only.
    views = _views(state, _op(state, WRITER, ExplainChange(draft, 2, "s2", "because")))
    assert views[Role.FACILITATOR] is not None and views[Role.WRITER] is not None
    assert views[Role.PARTICIPANT] is None and views[Role.OBSERVER] is None
    # On the published version 1: everyone.
    views = _views(state, _op(state, WRITER, ExplainChange(draft, 1, "s2", "because")))
    assert all(v is not None for v in views.values())
    # Once version 2 is published, explanations of it reach everyone too.
    state = _do(state, FACILITATOR, PublishDraft(draft, 2))
    views = _views(state, _op(state, WRITER, ExplainChange(draft, 2, "s2", "because")))
    assert all(v is not None for v in views.values())


def test_a_hidden_notes_text_does_not_reach_the_room_through_a_link() -> None:
    state, _, ids = drafting()
    draft = ids["draft"]
    state = _do(
        state, FACILITATOR, PublishDraft(draft, 2), AddNote("rude words", round=ids["round"])
    )
    hidden = state.seq
    state = _do(state, FACILITATOR, HideNote(hidden))
    views = _views(
        state,
        _op(state, FACILITATOR, ExplainChange(draft, 2, "s2", "x", (LinkSpec("note", hidden),))),
    )
    assert views[Role.FACILITATOR]["data"]["links"][0]["label"] == "rude words"  # type: ignore[index]
    for audience in (Role.WRITER, Role.PARTICIPANT, Role.OBSERVER):
        assert views[audience]["data"]["links"][0]["label"] is None  # type: ignore[index]


def test_reactions_are_never_delivered_one_by_one() -> None:
    state, _, ids = drafting()
    views = _views(state, _op(state, PARTICIPANT, React(ids["draft"], 1, "s2", "concern")))
    assert views == dict.fromkeys(AUDIENCES)


def test_writer_changes_reach_everyone() -> None:
    state, _, _ = drafting()
    op = _op(state, FACILITATOR, SetWriter(P1, True))
    assert _views(state, op) == dict.fromkeys(AUDIENCES, op.to_wire())


def test_the_room_sees_published_versions_and_the_team_its_working_one() -> None:
    state, _, ids = drafting()
    draft = ids["draft"]
    state = _with_writer(state)
    state = _do(state, FACILITATOR, ExplainChange(draft, 2, "s4", "asked for"))
    views = {a: state_view(state, a) for a in AUDIENCES}
    for view in views.values():
        _valid(EVENT_STATE, view)
        assert view["writers"] == [P1]
    for audience in (Role.FACILITATOR, Role.WRITER):
        (d,) = views[audience]["drafts"]
        assert (d["published"], d["head"]) == (1, 2)
        assert [v["version"] for v in d["versions"]] == [1, 2]
        assert d["versions"][1]["base"] == 1 and d["versions"][1]["summary"]["added"] == 1
        assert d["current"]["version"] == 1 and d["current"]["text"] == PLAN_V1
        assert d["working"]["version"] == 2 and d["working"]["text"] == PLAN_V2
        assert [r["section"] for r in d["working"]["rationales"]] == ["s4"]
    for audience in (Role.PARTICIPANT, Role.OBSERVER):
        (d,) = views[audience]["drafts"]
        assert (d["published"], d["head"], d["working"]) == (1, 1, None)
        assert [v["version"] for v in d["versions"]] == [1]
        assert "base" not in d["versions"][0] and "saved_seq" not in d["versions"][0]
        assert d["current"]["text"] == PLAN_V1 and d["current"]["rationales"] == []
        assert PLAN_V2 not in repr(views[audience])
    # Once the working version is published, there is nothing private left to show.
    state = _do(state, FACILITATOR, PublishDraft(draft, 2))
    for audience in AUDIENCES:
        view = state_view(state, audience)
        _valid(EVENT_STATE, view)
        (d,) = view["drafts"]
        assert d["working"] is None and d["current"]["version"] == 2
        assert [r["section"] for r in d["current"]["rationales"]] == ["s4"]
        assert [v["version"] for v in d["versions"]] == [1, 2]


def test_a_draft_with_nothing_published_shows_the_room_nothing() -> None:
    state, _, ids = _blank()
    state = _do(state, FACILITATOR, SaveDraft(ids["draft"], 0, PLAN_V1))
    for audience in AUDIENCES:
        view = state_view(state, audience)
        _valid(EVENT_STATE, view)
        (d,) = view["drafts"]
        assert d["current"] is None and d["published"] is None
        if audience in (Role.FACILITATOR, Role.WRITER):
            assert d["head"] == 1 and d["working"]["text"] == PLAN_V1
        else:
            assert (d["head"], d["versions"], d["working"]) == (None, [], None)


def test_explanations_on_working_versions_stand_for_the_next_publication() -> None:
    """Writers explain on version 2, then save version 3 and publish that: the room sees
    the explanation with version 3; a later explanation of the same section wins."""
    state, _, ids = drafting()
    draft = ids["draft"]
    why = ExplainChange(draft, 2, "s2", "Night buses came up at every table")
    v3 = PLAN_V2.replace("youth council", "youth council and a youth forum")
    state = _do(state, FACILITATOR, why, SaveDraft(draft, 2, v3), PublishDraft(draft, 3))
    published = state.drafts[draft].versions[2]
    assert published.published and published.previous == 1
    participants = state_view(state, Role.PARTICIPANT)["drafts"][0]["current"]
    assert [r["rationale"] for r in participants["rationales"]] == [why.rationale]
    newer = ExplainChange(draft, 3, "s2", "Buses, and the cycle lanes you voted for")
    state = _do(state, FACILITATOR, newer)
    current = state_view(state, Role.OBSERVER)["drafts"][0]["current"]
    assert [r["rationale"] for r in current["rationales"]] == [newer.rationale]


def test_a_writer_who_is_not_a_facilitator_cannot_link_a_hidden_note() -> None:
    state, _, ids = drafting()
    draft = ids["draft"]
    state = _do(state, FACILITATOR, SetWriter(PARTICIPANT.id, True), HideNote(ids["p2"]))
    link = (LinkSpec("note", ids["p2"]),)
    refused = _refused(
        state, PARTICIPANT, ExplainChange(draft, 2, "s2", "why", link), Code.NOT_FOUND
    )
    assert refused.message == f"there is no note {ids['p2']}"
    assert isinstance(
        _decide(state, FACILITATOR, ExplainChange(draft, 2, "s2", "why", link)), Decision
    )
