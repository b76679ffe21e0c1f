"""Draft work is bounded: caps on what a draft holds, checked before anything superlinear,
and the heavy part of a save or publication as a pure job a worker process can run."""

from __future__ import annotations

import pickle
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plenary.domain import drafts
from plenary.domain.commands import AddNote, ExplainChange, PublishDraft, SaveDraft
from plenary.domain.drafts import (
    MARKS_RUN_MAX,
    PARAGRAPHS_MAX,
    RATIONALE_MAX,
    RAW_SLACK,
    SECTIONS_MAX,
    PublishJob,
    SaveJob,
    offload,
    publish_job,
    run_publish,
    run_save,
    save_job,
    with_result,
)
from plenary.domain.model import EventState
from plenary.domain.rules import Decision, Limits, decide
from plenary.errors import Code, Rejection

from . import FACILITATOR, LIMITS, PARTICIPANT, drafting, step

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _state() -> tuple[EventState, int]:
    """An open draft: version 1 published, version 2 saved on it (see ``drafting``)."""
    state, _, ids = drafting()
    return state, ids["draft"]


def _refused(state: EventState, command: Any, code: Code = Code.INVALID) -> Rejection:
    out = decide(state, FACILITATOR, command, LIMITS)
    assert isinstance(out, Rejection), out
    assert out.code is code, out
    return out


def _round_trip(value: Any) -> Any:
    return pickle.loads(pickle.dumps(value))


# -- caps ------------------------------------------------------------------------------------


def test_at_most_so_many_sections() -> None:
    state, draft = _state()
    fits = "".join(f"# Heading {k}\n" for k in range(SECTIONS_MAX))
    assert isinstance(decide(state, FACILITATOR, SaveDraft(draft, 2, fits), LIMITS), Decision)
    out = _refused(state, SaveDraft(draft, 2, fits + "# One more\n"))
    assert f"more than {SECTIONS_MAX} sections" in out.message


def test_at_most_so_many_paragraphs() -> None:
    state, draft = _state()
    fits = "".join(f"point {k}\n\n" for k in range(PARAGRAPHS_MAX))
    assert isinstance(decide(state, FACILITATOR, SaveDraft(draft, 2, fits), LIMITS), Decision)
    out = _refused(state, SaveDraft(draft, 2, fits + "one more\n"))
    assert f"more than {PARAGRAPHS_MAX} paragraphs" in out.message


@pytest.mark.parametrize(
    ("marks", "accepted"),
    [
        ("\u0301\u0316" * (MARKS_RUN_MAX // 2), True),
        ("\u0301\u0316" * (MARKS_RUN_MAX // 2) + "\u0301", False),
        # Vietnamese: two marks on one letter, many letters in a row.
        ("e\u0302\u0301" * 1000, True),
        # What normalising drops, or never separates marks at, hides no run.
        ("\u0301\u0316" * (MARKS_RUN_MAX // 4) + "\x00\u202e\u200d" + "\u0301" * 9, False),
        # A new line, a letter or a space starts again.
        ("\u0301" * MARKS_RUN_MAX + "\n" + "\u0301" * MARKS_RUN_MAX, True),
        ("\u0301" * MARKS_RUN_MAX + " " + "\u0301" * MARKS_RUN_MAX, True),
    ],
)
def test_a_long_run_of_combining_marks_is_refused(marks: str, accepted: bool) -> None:
    state, draft = _state()
    out = decide(state, FACILITATOR, SaveDraft(draft, 2, f"# Plan\n\nZ{marks}algo\n"), LIMITS)
    if accepted:
        assert isinstance(out, Decision), out
    else:
        assert isinstance(out, Rejection) and out.code is Code.INVALID, out
        assert f"more than {MARKS_RUN_MAX} combining marks" in out.message


def test_nothing_is_normalised_before_the_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 5.3 s was NFC itself: the raw text is measured first, and refused unseen."""
    state, draft = _state()
    calls: list[int] = []
    real = unicodedata.normalize

    def spy(form: Any, text: str) -> str:
        calls.append(len(text))
        return real(form, text)

    monkeypatch.setattr(unicodedata, "normalize", spy)
    limits = Limits(draft_max_chars=1_000)
    zalgo = "a" + "\u0301\u0316" * 40_000
    out = decide(state, FACILITATOR, SaveDraft(draft, 2, zalgo), LIMITS)
    assert isinstance(out, Rejection) and "combining marks" in out.message
    long = "x" * (RAW_SLACK * 1_000 + 1)
    out = decide(state, FACILITATOR, SaveDraft(draft, 2, long), limits)
    assert isinstance(out, Rejection) and "longer than 1000" in out.message
    assert calls == []
    # Within the slack it is normalised, and then measured exactly.
    out = decide(state, FACILITATOR, SaveDraft(draft, 2, "x" * 1_001), limits)
    assert isinstance(out, Rejection) and "longer than 1000" in out.message
    assert calls == [1_001]


def test_crlf_text_at_the_limit_is_not_refused_for_its_raw_length() -> None:
    state, draft = _state()
    limits = Limits(draft_max_chars=1_000)
    text = "# Plan\r\n" + "a\r\n" * 300  # 908 raw characters, 608 once normalised
    out = decide(state, FACILITATOR, SaveDraft(draft, 2, text), limits)
    assert isinstance(out, Decision), out


def test_a_rationale_is_measured_before_it_is_normalised() -> None:
    state, draft = _state()
    section = state.drafts[draft].version(2)
    assert section is not None
    for rationale in ("a" + "\u0301" * (MARKS_RUN_MAX + 1), "x" * (RAW_SLACK * RATIONALE_MAX + 1)):
        _refused(state, ExplainChange(draft, 2, section.sections[0], rationale, ()))


# -- the job, inline and in a worker -----------------------------------------------------------

_SECTION = st.sampled_from(
    [
        "# Plan\n\nA city that cares.\n",
        "## Access\n\nSee a GP within a week.\n\nWalk-in centres open late.\n",
        "## Workforce\n\nRecruit 200 nurses.\n",
        "## Money\n\nShift funding to community teams.\n",
        "## Access\n\nSee a GP within 48 hours.\n",
        "Preamble, for the room.\n",
        "",
        "   \n\r\n",
        "## Caf\u0065\u0301\n\n\x00Bidi \u202eflip\u202c here.\r\n",
    ]
)
_TEXT = st.lists(_SECTION, max_size=6).map("\n".join)


@SETTINGS
@given(text=_TEXT, base=st.integers(-1, 3))
def test_a_save_as_a_job_is_the_save_inline(text: str, base: int) -> None:
    """run_save(job), with both pickled on the way, is what save_draft decides: the
    saved version, the conflict with its merge, or the refusal."""
    state, draft = _state()
    command = SaveDraft(draft, base, text)
    inline = decide(state, FACILITATOR, command, LIMITS)
    job = save_job(state, FACILITATOR, command, LIMITS)
    assert isinstance(job, SaveJob)
    result = _round_trip(run_save(_round_trip(job)))
    assert result == inline
    assert decide(state, FACILITATOR, with_result(command, job, result), LIMITS) == inline


def test_a_publication_as_a_job_is_the_publication_inline() -> None:
    state, draft = _state()
    command = PublishDraft(draft, 2)
    inline = decide(state, FACILITATOR, command, LIMITS)
    assert isinstance(inline, Decision) and inline.data["summary"]["changed"]
    job = publish_job(state, FACILITATOR, command)
    assert isinstance(job, PublishJob)
    result = _round_trip(run_publish(_round_trip(job)))
    assert result == inline
    assert decide(state, FACILITATOR, with_result(command, job, result), LIMITS) == inline


def test_offload_hands_out_only_heavy_work() -> None:
    state, draft = _state()
    save = SaveDraft(draft, 2, "# Plan\n\nNew.\n")
    found = offload(state, FACILITATOR, save, LIMITS)
    assert found is not None
    run, job = found
    assert run is run_save and _round_trip(run) is run_save
    assert job == save_job(state, FACILITATOR, save, LIMITS)
    run, job = offload(state, FACILITATOR, PublishDraft(draft, 2), LIMITS) or (None, None)
    assert run is run_publish and isinstance(job, PublishJob)
    # Refused by the cheap checks, or nothing heavy to do: decided inline.
    assert offload(state, PARTICIPANT, save, LIMITS) is None  # not on the writing team
    assert offload(state, FACILITATOR, PublishDraft(draft, 1), LIMITS) is None  # published
    assert offload(state, FACILITATOR, PublishDraft(draft, 9), LIMITS) is None
    assert offload(state, FACILITATOR, AddNote("hello"), LIMITS) is None


def test_a_prepared_result_is_used_while_the_state_still_gives_its_job() -> None:
    state, draft = _state()
    command = SaveDraft(draft, 2, "# Plan\n\nNew.\n")
    job = save_job(state, FACILITATOR, command, LIMITS)
    assert isinstance(job, SaveJob)
    marker = Decision("draft.saved", {"marker": True})
    assert decide(state, FACILITATOR, with_result(command, job, marker), LIMITS) == marker


def test_a_stale_prepared_result_is_ignored() -> None:
    """Worked out on version 2; another writer saved version 3 before it was decided:
    decided again, inline, as the conflict it now is."""
    state, draft = _state()
    command = SaveDraft(draft, 2, "# Plan\n\nMine.\n")
    job = save_job(state, FACILITATOR, command, LIMITS)
    assert isinstance(job, SaveJob)
    prepared = with_result(command, job, run_save(job))
    assert isinstance(decide(state, FACILITATOR, prepared, LIMITS), Decision)
    later, _ = step(state, FACILITATOR, SaveDraft(draft, 2, "# Plan\n\nTheirs.\n"))
    out = decide(later, FACILITATOR, prepared, LIMITS)
    assert isinstance(out, Rejection) and out.code is Code.CONFLICT, out
    assert out == decide(later, FACILITATOR, command, LIMITS)
    # The same for a publication worked out before another was published.
    publish = PublishDraft(draft, 3)
    pjob = publish_job(later, FACILITATOR, publish)
    assert isinstance(pjob, PublishJob) and pjob.previous == 1
    stale = with_result(publish, pjob, run_publish(pjob))
    moved, _ = step(later, FACILITATOR, PublishDraft(draft, 2))
    out = decide(moved, FACILITATOR, stale, LIMITS)
    assert isinstance(out, Decision) and out.data["previous"] == 2
    assert out == decide(moved, FACILITATOR, publish, LIMITS)


def test_a_prepared_result_does_not_change_what_a_command_equals() -> None:
    state, draft = _state()
    command = SaveDraft(draft, 2, "# Plan\n\nNew.\n")
    job = save_job(state, FACILITATOR, command, LIMITS)
    assert isinstance(job, SaveJob)
    assert with_result(command, job, run_save(job)) == command
    assert "prepared" not in repr(with_result(command, job, run_save(job)))


def test_the_hub_can_hand_the_job_to_a_process() -> None:
    """No state and no closures: the job and its function pickle by reference and value."""
    state, draft = _state()
    job = save_job(state, FACILITATOR, SaveDraft(draft, 2, "# Plan\n\nNew.\n"), LIMITS)
    assert isinstance(job, SaveJob)
    blob = pickle.dumps((drafts.run_save, job))
    assert len(blob) < 4 * (len(job.text) + len(job.head_text) + len(job.base_text)) + 1_000
    run, again = pickle.loads(blob)
    assert run(again) == run_save(job)
