"""Three-way merge of two writers' texts saved on the same base, by paragraph.

When two writers save on the same version, nothing either wrote may be lost: edits to
different paragraphs merge cleanly; edits that touch the same paragraphs come back as a
conflict region holding the base, ours and theirs, for a person to settle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

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


def merge3(base: str, ours: str, theirs: str) -> Merged:
    b, o, t = paragraphs(base), paragraphs(ours), paragraphs(theirs)
    to_ours = SequenceMatcher(None, b, o, autojunk=False)
    to_theirs = SequenceMatcher(None, b, t, autojunk=False)
    hunks = sorted(
        [_Hunk(i1, i2) for tag, i1, i2, _, _ in to_ours.get_opcodes() if tag != "equal"]
        + [_Hunk(i1, i2) for tag, i1, i2, _, _ in to_theirs.get_opcodes() if tag != "equal"],
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

    def __init__(self, matcher: SequenceMatcher[str]) -> None:
        self._opcodes = matcher.get_opcodes()

    def left(self, p: int) -> int:
        for tag, i1, i2, j1, _j2 in self._opcodes:
            if i1 <= p <= i2:
                return j1 + (p - i1) if tag == "equal" else j1
        return 0  # an empty base and an empty side

    def right(self, p: int) -> int:
        for tag, i1, i2, j1, j2 in reversed(self._opcodes):
            if i1 <= p <= i2:
                return j1 + (p - i1) if tag == "equal" else j2
        return 0


def _joined(regions: list[Region]) -> list[Region]:
    """Adjacent clean regions as one, and no empty ones: a stable shape for the wire."""
    out: list[Region] = []
    for r in regions:
        if isinstance(r, Clean):
            if not r.text:
                continue
            if out and isinstance(out[-1], Clean):
                out[-1] = Clean(out[-1].text + r.text)
                continue
        out.append(r)
    return out
