"""Three-way merge of two writers' texts saved on the same base, by paragraph.

When two writers save on the same version, nothing either wrote may be lost: edits to
different paragraphs merge cleanly; edits that touch the same paragraphs come back as a
conflict region holding the base, ours and theirs, for a person to settle.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import Match, SequenceMatcher
from typing import Literal

# difflib's matcher is quadratic, even cubic, on sequences that repeat one element: 1,000
# paragraphs "x" against 1,000 alternating "x" and "y" took 11 s, 2,000 against 2,000
# took 100 s. Its work is counted (``Matcher``) and stopped at this many steps per item
# compared: an edited 150-word paragraph or a redrafted 20,000-word draft spends under 10
# (see tests/domain/test_merge.py); past the budget the common start and end are kept and
# the middle is shown replaced, which is exact, only coarser.
MATCH_STEPS_PER_ITEM = 40
# ... plus this many for any pair, so that short sequences never reach the budget.
MATCH_STEPS_FLOOR = 2_000

Tag = Literal["equal", "replace", "delete", "insert"]
Opcode = tuple[Tag, int, int, int, int]  # SequenceMatcher's: tag, i1, i2, j1, j2

# Paragraphs end at a blank line; the separator stays with the paragraph before it, so
# joining the pieces gives back the text exactly.
_PARAGRAPH = re.compile(r".*?(?:\n[ \t]*\n(?:[ \t]*\n)*|\Z)", re.DOTALL)


def paragraphs(text: str) -> list[str]:
    return [p for p in _PARAGRAPH.findall(text) if p]


@dataclass(frozen=True)
class Clean:
    text: str


@dataclass(frozen=True)
class Conflict:
    base: str
    ours: str
    theirs: str


Region = Clean | Conflict


@dataclass(frozen=True)
class Merged:
    regions: tuple[Region, ...]

    @property
    def clean(self) -> bool:
        return not any(isinstance(r, Conflict) for r in self.regions)

    @property
    def conflicts(self) -> int:
        return sum(isinstance(r, Conflict) for r in self.regions)

    def text(self, prefer: str = "ours") -> str:
        """The merged text, taking ``prefer``'s side ("ours" or "theirs") in conflicts."""
        out = []
        for r in self.regions:
            if isinstance(r, Clean):
                out.append(r.text)
            else:
                out.append(r.ours if prefer == "ours" else r.theirs)
        return "".join(out)

    def to_wire(self) -> list[dict[str, str]]:
        return [
            {"text": r.text}
            if isinstance(r, Clean)
            else {"base": r.base, "ours": r.ours, "theirs": r.theirs}
            for r in self.regions
        ]


@dataclass(frozen=True)
class _Hunk:
    lo: int  # base range [lo, hi) replaced
    hi: int


class _OverBudget(Exception):
    """Raised inside ``Matcher`` only, and caught by its callers in this package."""


class Matcher(SequenceMatcher[str]):
    """difflib's matcher, autojunk off, that counts its work and gives up past a budget.

    The work of one ``find_longest_match`` is at most the range it looks at in each
    sequence plus, for each element in its range of ``a``, how often that element occurs
    in ``b``; ``steps`` adds that up before each call, and a call that would take it past
    ``budget`` raises ``_OverBudget`` instead. Callers use ``opcodes`` and
    ``bounded_ratio``, which catch it.
    """

    def __init__(self, a: Sequence[str] = (), b: Sequence[str] = (), budget: int = 0) -> None:
        self.budget = budget
        self.steps = 0
        self.seq1: Sequence[str] = ()
        self.seq2: Sequence[str] = ()
        self._counts: Counter[str] = Counter()  # how often each element occurs in b
        self._cost: list[int] | None = None  # _cost[i]: the work of a[:i], see above
        super().__init__(None, a, b, autojunk=False)

    def set_seq1(self, a: Sequence[str]) -> None:
        super().set_seq1(a)
        self.seq1, self._cost, self.steps = a, None, 0

    def set_seq2(self, b: Sequence[str]) -> None:
        super().set_seq2(b)
        # With no junk and autojunk off, difflib indexes every occurrence of everything.
        self.seq2, self._counts, self._cost, self.steps = b, Counter(b), None, 0

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> Match:
        ahi = len(self.seq1) if ahi is None else ahi
        bhi = len(self.seq2) if bhi is None else bhi
        if self._cost is None:
            cost = [0]
            for x in self.seq1:
                cost.append(cost[-1] + self._counts[x])
            self._cost = cost
        self.steps += (ahi - alo) + (bhi - blo) + self._cost[ahi] - self._cost[alo]
        if self.steps > self.budget:
            raise _OverBudget
        return super().find_longest_match(alo, ahi, blo, bhi)


def budget(a: Sequence[str], b: Sequence[str]) -> int:
    """The matcher steps allowed for comparing ``a`` with ``b``: linear in their size."""
    return MATCH_STEPS_FLOOR + MATCH_STEPS_PER_ITEM * (len(a) + len(b))


def opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """``SequenceMatcher(None, a, b, autojunk=False).get_opcodes()`` when that takes at
    most ``budget(a, b)`` steps; otherwise the common start and end as equal and the
    middle as replaced (or deleted, or inserted)."""
    m = Matcher(a, b, budget(a, b))
    try:
        return m.get_opcodes()
    except _OverBudget:
        return _ends(a, b)


def bounded_ratio(m: Matcher) -> float:
    """``m.ratio()``, or 0.0 (nothing alike) when working it out would pass its budget."""
    m.budget = budget(m.seq1, m.seq2)
    try:
        return m.ratio()
    except _OverBudget:
        return 0.0


def _ends(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    ahi, bhi = len(a) - end, len(b) - end
    out: list[Opcode] = []
    if start:
        out.append(("equal", 0, start, 0, start))
    if start < ahi or start < bhi:
        tag: Tag = (
            "replace" if start < ahi and start < bhi else "delete" if start < ahi else "insert"
        )
        out.append((tag, start, ahi, start, bhi))
    if end:
        out.append(("equal", ahi, len(a), bhi, len(b)))
    return out


def merge3(base: str, ours: str, theirs: str) -> Merged:
    b, o, t = paragraphs(base), paragraphs(ours), paragraphs(theirs)
    to_ours, to_theirs = opcodes(b, o), opcodes(b, t)
    hunks = sorted(
        [_Hunk(i1, i2) for tag, i1, i2, _, _ in to_ours if tag != "equal"]
        + [_Hunk(i1, i2) for tag, i1, i2, _, _ in to_theirs if tag != "equal"],
        key=lambda h: (h.lo, h.hi),
    )
    ours_edges = _Edges(to_ours)
    theirs_edges = _Edges(to_theirs)
    regions: list[Region] = []
    done = 0  # base paragraphs emitted so far
    ours_done = theirs_done = 0  # each side's paragraphs emitted so far
    for lo, hi in _groups(hunks):
        if done < lo:
            regions.append(Clean("".join(b[done:lo])))
        base_part = "".join(b[lo:hi])
        # A side's text for the group: from before any insertion at its start (unless a
        # previous group already took it) to after any insertion at its end.
        o1, o2 = max(ours_edges.left(lo), ours_done), ours_edges.right(hi)
        t1, t2 = max(theirs_edges.left(lo), theirs_done), theirs_edges.right(hi)
        ours_part, theirs_part = "".join(o[o1:o2]), "".join(t[t1:t2])
        ours_done, theirs_done = o2, t2
        if ours_part == theirs_part:  # the same change on both sides, or none on either
            regions.append(Clean(ours_part))
        elif ours_part == base_part:
            regions.append(Clean(theirs_part))
        elif theirs_part == base_part:
            regions.append(Clean(ours_part))
        else:
            regions.append(Conflict(base_part, ours_part, theirs_part))
        done = hi
    if done < len(b):
        regions.append(Clean("".join(b[done:])))
    return Merged(tuple(_joined(regions)))


def _groups(hunks: list[_Hunk]) -> list[tuple[int, int]]:
    """Base ranges where either side changed, overlapping changes taken together. An
    insertion touching another change joins it: which goes first is for a person to say."""
    groups: list[tuple[int, int]] = []
    for h in hunks:
        if groups:
            lo, hi = groups[-1]
            empty = h.lo == h.hi or lo == hi
            if h.lo < hi or (empty and h.lo <= hi):
                groups[-1] = (lo, max(hi, h.hi))
                continue
        groups.append((h.lo, h.hi))
    return groups


class _Edges:
    """Where a base position lands on one side, before (``left``) or after (``right``)
    anything that side inserted exactly there."""

    def __init__(self, opcodes: list[Opcode]) -> None:
        self._opcodes = opcodes
        # Opcodes are sorted by base range and tile it: a bisection finds the first and
        # the last that hold a position. A scan from each end, as before, made a merge of
        # two 5,000-paragraph drafts edited all over quadratic in its groups.
        self._lo = [i1 for _, i1, _, _, _ in opcodes]
        self._hi = [i2 for _, _, i2, _, _ in opcodes]

    def left(self, p: int) -> int:
        k = bisect_left(self._hi, p)  # the first opcode with i1 <= p <= i2
        if k < len(self._opcodes):
            tag, i1, _i2, j1, _j2 = self._opcodes[k]
            return j1 + (p - i1) if tag == "equal" else j1
        return 0  # an empty base and an empty side

    def right(self, p: int) -> int:
        k = bisect_right(self._lo, p) - 1  # the last opcode with i1 <= p <= i2
        if k >= 0:
            tag, i1, _i2, j1, j2 = self._opcodes[k]
            return j1 + (p - i1) if tag == "equal" else j2
        return 0


def _joined(regions: list[Region]) -> list[Region]:
    """Adjacent clean regions as one, and no empty ones: a stable shape for the wire."""
    out: list[Region] = []
    # Clean texts in a row are joined once: adding each onto the last was quadratic in
    # the length of a clean stretch.
    run: list[str] = []
    for r in regions:
        if isinstance(r, Clean):
            if r.text:
                run.append(r.text)
            continue
        if run:
            out.append(Clean("".join(run)))
            run = []
        out.append(r)
    if run:
        out.append(Clean("".join(run)))
    return out
