"""The work of matching sections, diffing and merging is bounded, counted rather than timed:
the same answers as before for real drafts, near-linear work for hostile ones."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from difflib import SequenceMatcher
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plenary.domain import diff as diff_module
from plenary.domain import merge as merge_module
from plenary.domain.diff import (
    SECTION_SIMILARITY,
    SIMILAR_CANDIDATES,
    Section,
    align,
    diff,
    split_sections,
)
from plenary.domain.merge import budget, merge3, opcodes, paragraphs

from .test_diff import DOC, check, edited, render


def _all_pairs_align(old: Sequence[Section], new: Sequence[Section]) -> dict[int, int]:
    """``align`` as it was, scoring every unmatched pair: the reference."""
    matched: dict[int, int] = {}
    taken: set[int] = set()
    by_text: dict[tuple[bool, str], list[int]] = {}
    for i in reversed(range(len(old))):
        by_text.setdefault(diff_module._text_key(old[i]), []).append(i)
    for j, s in enumerate(new):
        candidates = by_text.get(diff_module._text_key(s))
        if candidates:
            i = candidates.pop()
            matched[j] = i
            taken.add(i)
    old_heads = diff_module._unique_headings(old, taken)
    new_heads = diff_module._unique_headings(new, set(matched))
    for key, j in new_heads.items():
        if (h := old_heads.get(key)) is not None:
            matched[j] = h
            taken.add(h)
    left_old = [i for i in range(len(old)) if i not in taken]
    left_new = [j for j in range(len(new)) if j not in matched]
    pairs = []
    for j in left_new:
        b = frozenset(new[j].text.casefold().split())
        for i in left_old:
            if (old[i].level == 0) != (new[j].level == 0):
                continue
            a = frozenset(old[i].text.casefold().split())
            score = 1.0 if not a and not b else len(a & b) / len(a | b)
            if score >= SECTION_SIMILARITY:
                pairs.append((-score, abs(i - j), j, i))
    pairs.sort()
    for _, _, j, i in pairs:
        if j not in matched and i not in taken:
            matched[j] = i
            taken.add(i)
    return matched


@settings(max_examples=300, deadline=None)
@given(st.data(), DOC)
def test_matching_is_what_scoring_every_pair_was(data: st.DataObject, doc: Any) -> None:
    new = data.draw(edited(doc))
    old_sections, new_sections = split_sections(render(doc)), split_sections(render(new))
    assert align(old_sections, new_sections) == _all_pairs_align(old_sections, new_sections)


def _renamed(n: int) -> tuple[str, str]:
    """n sections, every heading renamed and every body edited: nothing matches by text
    or heading, so all of them reach the similarity fallback."""
    old = "".join(f"# Heading {k}\n\nThe plan for area {k} and its people.\n\n" for k in range(n))
    new = "".join(f"# Part {k}\n\nThe plan for area {k} and its people, now.\n\n" for k in range(n))
    return old, new


@contextmanager
def _counted(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> Iterator[list[int]]:
    calls: list[int] = []
    real = getattr(module, name)

    def spy(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(module, name, spy)
    yield calls
    monkeypatch.setattr(module, name, real)


def test_matching_10000_renamed_sections_scores_a_bounded_number_of_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n = 10_000
    old_text, new_text = _renamed(n)
    old, new = split_sections(old_text), split_sections(new_text)
    with _counted(monkeypatch, diff_module, "_jaccard") as scored:
        matched = align(old, new)
    # Every unmatched pair was n * n = 100,000,000 scores.
    assert len(scored) <= SIMILAR_CANDIDATES * n
    # "area k" is in only two sections, one each side: each finds its own.
    assert matched == {j: j for j in range(n)}


def test_a_candidate_list_is_capped() -> None:
    """Every old section shares a rare word with the new one: only the best few are kept."""
    words = {i: frozenset({"#", f"w{i}", "shared"}) for i in range(20)}
    index = diff_module._word_index(words)
    found = diff_module._candidates(index, frozenset({"#", "shared", "w7"}), 7)
    assert len(found) == SIMILAR_CANDIDATES
    assert found[0] == 7  # shares most words
    # A word in more sections than the cap finds none of them: here "#" and "shared" are
    # in all 40, so only the rare word counts.
    wide = {i: frozenset({"#", f"w{i}", "shared"}) for i in range(40)}
    assert diff_module._candidates(diff_module._word_index(wide), wide[3], 3) == [3]


# -- difflib, bounded --------------------------------------------------------------------------


@contextmanager
def _matcher_work(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the range difflib's ``find_longest_match`` scans on each call (a lower bound
    on its work), whoever calls it."""
    work: list[int] = []
    real = SequenceMatcher.find_longest_match

    def spy(self: Any, alo: int = 0, ahi: Any = None, blo: int = 0, bhi: Any = None) -> Any:
        ahi = len(self.a) if ahi is None else ahi
        bhi = len(self.b) if bhi is None else bhi
        work.append((ahi - alo) + (bhi - blo))
        return real(self, alo, ahi, blo, bhi)

    monkeypatch.setattr(SequenceMatcher, "find_longest_match", spy)
    yield work
    monkeypatch.setattr(SequenceMatcher, "find_longest_match", real)


def _apply(a: Sequence[str], b: Sequence[str], ops: list[Any]) -> list[str]:
    out: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        out.extend(a[i1:i2] if tag == "equal" else b[j1:j2])
        if tag == "equal":
            assert list(a[i1:i2]) == list(b[j1:j2])
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from("xyz"), max_size=60), st.lists(st.sampled_from("xyz"), max_size=60))
def test_small_inputs_get_difflibs_own_opcodes(a: list[str], b: list[str]) -> None:
    ops = opcodes(a, b)
    assert ops == SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    assert _apply(a, b, ops) == b


def test_a_hostile_paragraph_list_is_diffed_within_its_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1,000 "x" against 1,000 "x y" alternating took 11 s: cubic. Now it stops at its
    budget and shows the middle replaced, exactly."""
    a, b = ["x"] * 2_000, ["x", "y"] * 1_000
    with _matcher_work(monkeypatch) as work:
        ops = opcodes(a, b)
    assert sum(work) <= budget(a, b)
    assert _apply(a, b, ops) == b
    assert ops[0] == ("equal", 0, 1, 0, 1)  # the common start is kept


def test_a_hostile_word_diff_and_merge_stay_within_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = "# Plan\n\n" + "a " * 20_000 + "\n"
    new = "# Plan\n\n" + "a b " * 10_000 + "\n"
    with _matcher_work(monkeypatch) as work:
        d = diff(old, new)
    check(old, new, d)
    tokens = 2 * 40_000 + 10  # both paragraphs' tokens, and the heading's
    assert sum(work) <= budget(range(tokens), ()) + budget(range(10), ())
    base = "x\n\n" * 2_000
    ours = "x\n\ny\n\n" * 1_000
    theirs = "z\n\n" + "x\n\n" * 1_999
    with _matcher_work(monkeypatch) as work:
        merged = merge3(base, ours, theirs)
    n = len(paragraphs(base))
    assert sum(work) <= 2 * budget(range(n), range(n + 1_000))
    # Coarser, and still nothing either writer wrote is lost.
    assert merged.text("ours") == ours or not merged.clean
    for region in merged.regions:
        if isinstance(region, merge_module.Conflict):
            assert region.ours in ours and region.theirs in theirs


def test_a_large_replaced_run_is_not_paired(monkeypatch: pytest.MonkeyPatch) -> None:
    """50 old and 50 new paragraphs of 5,000 characters: 2,500 pairs (within
    PAIRING_LIMIT), but 25 M characters compared; shown as removed and added unpaired."""
    para = " ".join(f"w{k % 7}" for k in range(1_600))
    old = "# Plan\n\n" + "".join(f"{para} o{k}\n\n" for k in range(50))
    new = "# Plan\n\n" + "".join(f"n{k} {para}\n\n" for k in range(50))
    with _counted(monkeypatch, diff_module, "bounded_ratio") as scored:
        d = diff(old, new)
    check(old, new, d)
    assert scored == []
