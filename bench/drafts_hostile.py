"""Hostile drafts benchmark: the worst a writer can send, against the caps and bounds.

Anyone can create an event and so be a writer; a save or publication is worked out in one
go, so its work must be bounded whatever the text. Each case is timed --runs times (the
median is quoted) and beside it, in the same run, a *peer* on the same input: plain
``unicodedata.normalize("NFC", ...)`` for the text cases, difflib's ``SequenceMatcher``
over the same paragraphs for the diff and merge cases. Ratios to the peer survive these
noisy machines better than milliseconds do.

    .venv/bin/python bench/drafts_hostile.py
    .venv/bin/python bench/drafts_hostile.py --scale 0.1 --runs 2     # smoke run

The cases, ``run_save`` (the job a worker process runs) unless said otherwise:

- 500 (the cap: saved), 3,000 and 10,000 renamed headings (refused by SECTIONS_MAX, or
  the length limit, before any matching); and
  ``diff.align`` on the same sections, the matching itself (91 s for 10,000 before it was
  bounded), with every-pair scoring extrapolated from its count of pairs;
- 80,000 alternating combining marks: refused by MARKS_RUN_MAX before NFC, whose own
  time on that text (the peer) is the 5 s it cost;
- a 20,000-word draft (bench/draftgen.py) with every paragraph changed: saved;
- two writers' 20,000-word redrafts on one base: the conflict and its merge;
- 1,000 paragraphs "x" merged with 1,000 alternating "x" and "y": difflib's cubic case,
  bounded by the matcher's budget (peer: difflib unbounded, at a tenth of the size).

Exit status: 0 when every case gave the answer it should (refused, saved, conflict); 1
when one did not.
"""

from __future__ import annotations

import argparse
import difflib
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable
from typing import Any

from draftgen import document, redraft
from plenary.domain import diff
from plenary.domain.drafts import SECTIONS_MAX, SaveJob, run_save
from plenary.domain.merge import merge3, paragraphs
from plenary.errors import Code, Rejection


def median_ms(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def job(text: str, head_text: str = "", base: int | None = None, base_text: str = "") -> SaveJob:
    sections = tuple(f"s{k + 1}" for k in range(len(diff.split_sections(head_text))))
    head = 1 if head_text else 0
    return SaveJob(
        activity=1,
        base=head if base is None else base,
        text=text,
        head=head,
        head_text=head_text,
        head_sections=sections,
        head_author="p_1",
        base_text=base_text,
        next_section=len(sections) + 1,
        max_chars=300_000,
    )


def row(name: str, ms: float, peer_name: str, peer_ms: float, outcome: str) -> None:
    ratio = ms / peer_ms if peer_ms else float("inf")
    print(f"  {name:<38} {ms:10.1f} {peer_name:<26} {peer_ms:10.1f} {ratio:8.2f}x  {outcome}")


def outcome(result: Any) -> str:
    if isinstance(result, Rejection):
        return f"{result.code}: {result.message[:48]}"
    return f"{result.kind} v{result.data['version']}"


def revised(paragraph: str) -> str:
    """A paragraph with a word changed in the middle, and a heading as it was."""
    if paragraph.startswith("#"):
        return paragraph
    words = paragraph.split(" ")
    words[len(words) // 2] = "revised"
    return " ".join(words)


def lines_peer(old: str, new: str) -> Callable[[], Any]:
    """What a plain line diff of the same two texts costs (as bench/diff.py's peer)."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    return lambda: list(difflib.unified_diff(old_lines, new_lines))


def headings(count: int, runs: int) -> bool:
    old = "".join(f"# Heading {k}\n\nThe plan for area {k}.\n\n" for k in range(count))
    new = "".join(f"# Part {k}\n\nThe plan for area {k}, now.\n\n" for k in range(count))
    ms, result = median_ms(lambda: run_save(job(new, old)), runs)
    peer, _ = median_ms(lines_peer(old, new), runs)
    row(f"save of {count:,} headings", ms, "unified_diff, lines", peer, outcome(result))
    # Past the cap it is refused: for sections, or (10,000 of them) for its length.
    refused = isinstance(result, Rejection) and result.code is Code.INVALID
    ok = refused == (count > SECTIONS_MAX)
    olds, news = diff.split_sections(old), diff.split_sections(new)
    ms, matched = median_ms(lambda: diff.align(olds, news), runs)
    # Scoring every unmatched pair, as matching did before: timed on a corner of the
    # pairs, scaled up by their count.
    k = min(count, 300)
    sets_old = [diff._word_set(s.text) for s in olds[:k]]
    sets_new = [diff._word_set(s.text) for s in news[:k]]
    corner, _ = median_ms(lambda: [diff._jaccard(a, b) for a in sets_old for b in sets_new], 1)
    every = corner * (count / k) ** 2
    row(f"align {count:,} renamed sections", ms, "every pair (extrapolated)", every, "")
    return ok and len(matched) == count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size by this")
    args = parser.parse_args(argv)
    runs, scale = max(1, args.runs), args.scale
    ok = True

    def n(x: int) -> int:
        return max(2, int(x * scale))

    print(f"  {'median ms':<38} {'plenary':>10} {'peer':<26} {'peer ms':>10} {'ratio':>9}")
    for count in (n(SECTIONS_MAX), n(3_000), n(10_000)):
        ok &= headings(count, runs)

    marks = "Z" + "\u0301\u0316" * (n(80_000) // 2)
    ms, result = median_ms(lambda: run_save(job(f"# Plan\n\n{marks}\n")), runs)
    peer, _ = median_ms(lambda: unicodedata.normalize("NFC", marks), 1)
    row(
        f"save of {len(marks) - 1:,} alternating marks",
        ms,
        "NFC of the text",
        peer,
        outcome(result),
    )
    ok &= isinstance(result, Rejection) and "combining marks" in result.message

    words = n(20_000)
    base = document(words, seed=1)
    every = "".join(revised(p) for p in paragraphs(base))
    ms, result = median_ms(lambda: run_save(job(every, base)), runs)
    peer, _ = median_ms(lines_peer(base, every), runs)
    row(f"save of {words:,} words, all changed", ms, "unified_diff, lines", peer, outcome(result))
    ok &= not isinstance(result, Rejection) and result.kind == "draft.saved"

    ours, theirs = redraft(base, seed=2), redraft(base, seed=3)
    conflict = job(ours, theirs, base=1, base_text=base)
    conflict = SaveJob(**{**conflict.__dict__, "head": 2})
    ms, result = median_ms(lambda: run_save(conflict), runs)
    a, po, pt = paragraphs(base), paragraphs(ours), paragraphs(theirs)

    def peer_merge() -> None:
        difflib.SequenceMatcher(None, a, po, autojunk=False).get_opcodes()
        difflib.SequenceMatcher(None, a, pt, autojunk=False).get_opcodes()

    peer, _ = median_ms(peer_merge, runs)
    row(
        f"conflict of two {words:,}-word drafts", ms, "difflib, base to each", peer, outcome(result)
    )
    ok &= isinstance(result, Rejection) and result.code is Code.CONFLICT

    size = n(1_000)
    x, xy = "x\n\n" * size, "x\n\ny\n\n" * (size // 2)
    ms, merged = median_ms(lambda: merge3(x, xy, x), runs)
    small = max(2, size // 10)
    sx, sxy = ["x\n\n"] * small, ["x\n\n", "y\n\n"] * (small // 2)
    peer, _ = median_ms(
        lambda: difflib.SequenceMatcher(None, sx, sxy, autojunk=False).get_opcodes(), 1
    )
    row(
        f"merge of {size:,} x / x-y paragraphs",
        ms,
        f"difflib at {small:,}",
        peer,
        f"{merged.conflicts} conflicts",
    )
    ok &= merged.text() == xy

    print("answers: ok" if ok else "answers: WRONG (a case was not refused, saved or merged)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
