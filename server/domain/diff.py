"""What changed between two versions of a strategy draft, for a reader on a phone.

A draft is Markdown. The diff is aligned three levels deep: sections (ATX headings), then
paragraphs inside a section that changed, then words inside a paragraph that changed, so
the reader sees "section 3.2 was edited, these two words in its second paragraph" rather
than a wall of line edits. Sections that were added, removed, edited or moved are told
apart, and a one-line summary heads it all.

Pure: texts in, a ``Diff`` value out. ``apply(old, diff(old, new)) == new`` and
``revert(new, diff(old, new)) == old`` hold exactly for every pair of texts, so a client
holding one version can rebuild the other from the diff alone.

Sections keep an identity across versions (a *lineage id*, see ``carry_ids``): when both
versions' ids are known, sections are matched by id rather than by content, so a diff
between versions 1 and 3 agrees with the 1→2 and 2→3 diffs the room already saw.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .merge import Matcher, bounded_ratio, opcodes, paragraphs

# Two sections with no heading in common are still the same section when at least half
# of the words either uses are used by both (Jaccard on word sets): an edit of a few
# sentences keeps a 150-word section well above it; an unrelated section of the same
# chapter, sharing only stop words, stays well below.
SECTION_SIMILARITY = 0.5
# Bounds on finding those sections (see ``_candidates``): a word used by more unmatched old
# sections than this finds none of them, and a new section is scored against this many
# old ones at most. A night's redraft leaves 2-10 sections unmatched by text or heading.
SIMILAR_WORD_SECTIONS = 32
SIMILAR_CANDIDATES = 16
# Inside a changed section, an old and a new paragraph are one edited paragraph (shown
# word by word) when difflib's ratio on their words is at least this; below it a word
# diff is mostly noise and reads better as "removed this, added that".
PARAGRAPH_SIMILARITY = 0.4
# Pairing paragraphs in a replaced run is quadratic; a run this large is a rewrite, not
# an edit, and is shown as removed + added without trying.
PAIRING_LIMIT = 2500
# ... and so is one whose pairs would compare more than this many characters in all (each
# pair compares both paragraphs): 2,500 pairs of 150-word paragraphs is ~4.5 M; 50 old
# and 50 new paragraphs of 5,000 characters each would be 25 M, and seconds of work.
PAIRING_CHARS = 8_000_000
# A fresh id that collides with one already handed out is drawn again, this many times at
# most: a ``fresh`` that keeps colliding is broken, and looping forever would hide it.
FRESH_TRIES = 100

Status = Literal["unchanged", "changed", "added", "removed"]
Op = Literal["=", "-", "+"]
Segment = tuple[Op, str]

# CommonMark's line endings; str.splitlines would also split on form feeds and U+2028.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+|$)(.*)")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+$")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
# Tokens for the word diff: runs of whitespace and runs of anything else, so joining
# them gives the paragraph back exactly.
_TOKEN = re.compile(r"\s+|\S+")
_WHITESPACE = re.compile(r"\s+")


# -- sections ------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    heading: str  # without the #'s and surrounding spaces; "" for the preamble
    level: int  # 1-6 for ATX headings, 0 for the preamble before the first heading
    text: str  # exact: heading line + body + trailing blank lines


def split_sections(markdown: str) -> tuple[Section, ...]:
    """The sections of ``markdown``, in order; joining their texts gives it back exactly."""
    starts: list[tuple[int, str, int]] = []  # (offset, heading, level)
    fence: str | None = None  # the opening fence while inside fenced code
    offset = 0
    for line in _LINE.findall(markdown):
        content = line.rstrip("\r\n")
        if fence is not None:
            if _closes(content, fence):
                fence = None
        elif opening := _opening_fence(content):
            fence = opening
        elif m := _HEADING.match(content):
            starts.append((offset, _heading_text(m.group(2)), len(m.group(1))))
        offset += len(line)
    sections = []
    if not starts or starts[0][0] > 0:
        end = starts[0][0] if starts else len(markdown)
        if end:
            sections.append(Section("", 0, markdown[:end]))
    for k, (start, heading, level) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(markdown)
        sections.append(Section(heading, level, markdown[start:end]))
    return tuple(sections)


def _opening_fence(content: str) -> str | None:
    m = _FENCE.match(content)
    if m is None:
        return None
    # A backtick fence's info string may not hold a backtick (CommonMark), else ``` x ```
    # inline code at the start of a line would swallow the rest of the draft.
    if m.group(1)[0] == "`" and "`" in m.group(2):
        return None
    return m.group(1)


def _closes(content: str, fence: str) -> bool:
    m = _FENCE.match(content)
    return (
        m is not None
        and m.group(1)[0] == fence[0]
        and len(m.group(1)) >= len(fence)
        and not m.group(2).strip(" \t")
    )


def _heading_text(raw: str) -> str:
    return _CLOSING_HASHES.sub("", raw.strip(" \t")).strip(" \t")


# -- alignment -----------------------------------------------------------------------


def align(old: Sequence[Section], new: Sequence[Section]) -> dict[int, int]:
    """New index -> old index for the sections that are the same section in both.

    Cheapest evidence first, so that the sections nobody touched (most of them, after a
    night's redraft) are settled by a dict look-up and never compared word by word.
    """
    matched: dict[int, int] = {}
    taken: set[int] = set()

    by_text: dict[tuple[bool, str], list[int]] = {}
    for i in reversed(range(len(old))):
        by_text.setdefault(_text_key(old[i]), []).append(i)
    for j, s in enumerate(new):
        candidates = by_text.get(_text_key(s))
        if candidates:
            i = candidates.pop()  # the earliest: duplicates pair in order, not crosswise
            matched[j] = i
            taken.add(i)

    old_heads = _unique_headings(old, taken)
    new_heads = _unique_headings(new, set(matched))
    for key, j in new_heads.items():
        if (h := old_heads.get(key)) is not None:
            matched[j] = h
            taken.add(h)

    left_old = [i for i in range(len(old)) if i not in taken]
    left_new = [j for j in range(len(new)) if j not in matched]
    if left_old and left_new:
        old_words = {i: _word_set(old[i].text) for i in left_old}
        index = _word_index(old_words)
        pairs = []
        for j in left_new:
            new_words = _word_set(new[j].text)
            for i in _candidates(index, new_words, j):
                if (old[i].level == 0) != (new[j].level == 0):
                    continue
                score = _jaccard(old_words[i], new_words)
                if score >= SECTION_SIMILARITY:
                    # Ties go to the pair nearest in position: the likelier lineage.
                    pairs.append((-score, abs(i - j), j, i))
        pairs.sort()
        for _, _, j, i in pairs:
            if j not in matched and i not in taken:
                matched[j] = i
                taken.add(i)
    return matched


def carry_ids(
    old_ids: Sequence[str],
    old: Sequence[Section],
    new: Sequence[Section],
    fresh: Callable[[], str],
) -> tuple[str, ...]:
    """Each new section's lineage id: its old section's id, else a fresh one."""
    if len(old_ids) != len(old):
        raise ValueError(f"{len(old_ids)} ids for {len(old)} sections")
    if len(set(old_ids)) != len(old_ids):
        raise ValueError("old ids are not unique")
    matched = align(old, new)
    used = {old_ids[i] for i in matched.values()}
    ids = []
    for j in range(len(new)):
        if j in matched:
            ids.append(old_ids[matched[j]])
            continue
        for _ in range(FRESH_TRIES):
            candidate = fresh()
            if candidate not in used:
                break
        else:
            raise ValueError(f"fresh() gave {FRESH_TRIES} ids in a row already in use")
        used.add(candidate)
        ids.append(candidate)
    return tuple(ids)


def _text_key(s: Section) -> tuple[bool, str]:
    return (s.level == 0, s.text.strip())


def _normal(heading: str) -> str:
    return _WHITESPACE.sub(" ", heading.casefold()).strip()


def _unique_headings(sections: Sequence[Section], skip: set[int]) -> dict[tuple[bool, str], int]:
    """Normalised heading -> index, for headings that occur once among the unmatched.

    An empty heading says nothing about lineage, except the preamble's: there is at most
    one, so the old preamble and the new one are the same section whatever they say.
    """
    seen: dict[tuple[bool, str], int] = {}
    twice: set[tuple[bool, str]] = set()
    for k, s in enumerate(sections):
        if k in skip:
            continue
        key = (s.level == 0, _normal(s.heading))
        if not key[0] and not key[1]:
            continue
        if key in seen:
            twice.add(key)
        seen[key] = k
    return {key: k for key, k in seen.items() if key not in twice}


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.casefold().split())


def _word_index(words: dict[int, frozenset[str]]) -> dict[str, list[int]]:
    """Word -> the sections (in order) that use it; "" -> those that use no words."""
    index: dict[str, list[int]] = {}
    for i, ws in words.items():
        for w in ws or ("",):
            index.setdefault(w, []).append(i)
    return index


def _candidates(index: dict[str, list[int]], words: frozenset[str], j: int) -> list[int]:
    """The unmatched old sections worth scoring against new section ``j``: those sharing
    a word with it that few sections use, most words shared first, then nearest.

    Scoring every unmatched pair was quadratic: 10,000 renamed headings took 91 s. Two
    sections can only reach ``SECTION_SIMILARITY`` by sharing words, and a word that more
    than ``SIMILAR_WORD_SECTIONS`` of them use (a stop word, in a long list of unmatched
    sections) is no evidence of which one is which, so it finds no candidates; at most
    ``SIMILAR_CANDIDATES`` are scored. A redraft leaves a handful of sections unmatched
    here, far below both, so for it this is exactly the old all-pairs scoring.
    """
    shared: dict[int, int] = {}
    for w in words or ("",):
        sections = index.get(w, ())
        if len(sections) <= SIMILAR_WORD_SECTIONS:
            for i in sections:
                shared[i] = shared.get(i, 0) + 1
    if len(shared) <= SIMILAR_CANDIDATES:
        return list(shared)
    best = sorted(shared, key=lambda i: (-shared[i], abs(i - j), i))
    return best[:SIMILAR_CANDIDATES]


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    if min(len(a), len(b)) < SECTION_SIMILARITY * max(len(a), len(b)):
        # The Jaccard index is at most the smaller set's size over the larger's: too
        # different in size is too different, found without intersecting the two.
        return 0.0
    return len(a & b) / len(a | b)


# -- the diff ------------------------------------------------------------------------


@dataclass(frozen=True)
class Same:
    text: str


@dataclass(frozen=True)
class Added:
    text: str


@dataclass(frozen=True)
class Removed:
    text: str


@dataclass(frozen=True)
class Changed:
    words: tuple[Segment, ...]

    @property
    def old(self) -> str:
        return "".join(t for op, t in self.words if op != "+")

    @property
    def new(self) -> str:
        return "".join(t for op, t in self.words if op != "-")


Block = Same | Added | Removed | Changed


@dataclass(frozen=True)
class Entry:
    """One section in the reading order: how it got from the old version to the new."""

    id: str | None
    status: Status
    moved: bool
    old: int | None  # index in the old version's sections
    new: int | None  # index in the new version's sections
    heading: str
    old_heading: str | None  # only when the heading text changed
    level: int
    blocks: tuple[Block, ...]  # () when unchanged: the reader has both texts
    # How the section ends (its trailing whitespace) in the old and the new version, when
    # that is all that differs at the end. A section that stops being the last one gains
    # a blank line; that is no change to show a reader, but apply must still be exact.
    ends: tuple[str, str] | None = None


@dataclass(frozen=True)
class Summary:
    changed: int
    added: int
    removed: int
    moved: int
    unchanged: int

    @property
    def text(self) -> str:
        parts = [
            (self.changed, "changed"),
            (self.added, "added"),
            (self.removed, "removed"),
            (self.moved, "moved"),
        ]
        said = [(n, verb) for n, verb in parts if n]
        if not said:
            return "No changes"
        first, verb = said[0]
        noun = "section" if first == 1 else "sections"
        return ", ".join([f"{first} {noun} {verb}", *(f"{n} {v}" for n, v in said[1:])])

    def to_wire(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "added": self.added,
            "removed": self.removed,
            "moved": self.moved,
            "unchanged": self.unchanged,
            "text": self.text,
        }


@dataclass(frozen=True)
class Diff:
    sections: tuple[Entry, ...]  # reading order: see _reading_order
    summary: Summary = field(init=False)

    def __post_init__(self) -> None:
        s = self.sections
        summary = Summary(
            changed=sum(e.status == "changed" for e in s),
            added=sum(e.status == "added" for e in s),
            removed=sum(e.status == "removed" for e in s),
            moved=sum(e.moved for e in s),
            unchanged=sum(e.status == "unchanged" for e in s),
        )
        object.__setattr__(self, "summary", summary)

    @property
    def changes(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.sections if e.status != "unchanged" or e.moved)

    def to_wire(self) -> dict[str, Any]:
        return {
            "summary": self.summary.to_wire(),
            "sections": [_entry_wire(e) for e in self.sections],
        }


def diff(
    old_text: str,
    new_text: str,
    old_ids: Sequence[str] | None = None,
    new_ids: Sequence[str] | None = None,
) -> Diff:
    """How ``new_text`` differs from ``old_text``, section by section.

    With both id lists (one id per section of each text, as ``carry_ids`` makes them),
    sections are matched by equal id; otherwise by ``align``.
    """
    old, new = split_sections(old_text), split_sections(new_text)
    for ids, sections, which in ((old_ids, old, "old"), (new_ids, new, "new")):
        if ids is not None:
            if len(ids) != len(sections):
                raise ValueError(f"{len(ids)} {which} ids for {len(sections)} sections")
            if len(set(ids)) != len(ids):
                raise ValueError(f"{which} ids are not unique")
    if old_ids is not None and new_ids is not None:
        where = {sid: i for i, sid in enumerate(old_ids)}
        matched = {j: where[sid] for j, sid in enumerate(new_ids) if sid in where}
    else:
        matched = align(old, new)
    moved = _moved(matched)

    def id_of(i: int | None, j: int | None) -> str | None:
        if new_ids is not None and j is not None:
            return new_ids[j]
        if old_ids is not None and i is not None:
            return old_ids[i]
        return None

    current: list[Entry] = []
    blocks: tuple[Block, ...]
    for j, s in enumerate(new):
        if j not in matched:
            blocks = tuple(Added(p) for p in paragraphs(s.text))
            current.append(
                Entry(id_of(None, j), "added", False, None, j, s.heading, None, s.level, blocks)
            )
            continue
        i = matched[j]
        o = old[i]
        old_core, old_end = _split_end(o.text)
        new_core, new_end = _split_end(s.text)
        ends = None if old_end == new_end else (old_end, new_end)
        if old_core == new_core:
            status: Status = "unchanged"
            blocks = ()
        else:
            status = "changed"
            blocks = _blocks(old_core, new_core, o.level > 0 and s.level > 0)
        old_heading = o.heading if o.heading != s.heading else None
        current.append(
            Entry(
                id_of(i, j), status, j in moved, i, j, s.heading, old_heading, s.level, blocks, ends
            )
        )
    kept = set(matched.values())
    removed = {
        i: Entry(
            id_of(i, None),
            "removed",
            False,
            i,
            None,
            o.heading,
            None,
            o.level,
            tuple(Removed(p) for p in paragraphs(o.text)),
        )
        for i, o in enumerate(old)
        if i not in kept
    }
    return Diff(_reading_order(current, removed))


def apply(old_text: str, d: Diff) -> str:
    """The new text, from the old one and the diff."""
    old = split_sections(old_text)
    out: list[str] = []
    for e in d.sections:
        if e.status == "removed":
            continue
        if e.status == "added":
            out.extend(_new_side(e.blocks))
            continue
        assert e.old is not None, "a matched entry has an old index"
        core, end = _split_end(old[e.old].text)
        if e.status == "changed":
            core = "".join(_new_side(e.blocks))
        out.append(core + (e.ends[1] if e.ends else end))
    return "".join(out)


def revert(new_text: str, d: Diff) -> str:
    """The old text, from the new one and the diff."""
    new = split_sections(new_text)
    pieces: list[tuple[int, str]] = []
    for e in d.sections:
        if e.old is None:
            continue
        if e.status == "removed":
            pieces.append((e.old, "".join(_old_side(e.blocks))))
            continue
        assert e.new is not None, "a matched entry has a new index"
        core, end = _split_end(new[e.new].text)
        if e.status == "changed":
            core = "".join(_old_side(e.blocks))
        pieces.append((e.old, core + (e.ends[0] if e.ends else end)))
    return "".join(text for _, text in sorted(pieces))


def _split_end(text: str) -> tuple[str, str]:
    core = text.rstrip()
    return core, text[len(core) :]


def _moved(matched: dict[int, int]) -> set[int]:
    """New indexes of the matched sections that moved.

    The sections that stayed are the longest run that kept its order (the longest
    increasing subsequence of old indexes, read in new order); the rest moved. Moving one
    section up past five others so reports one move, not five.
    """
    order = sorted(matched)
    olds = [matched[j] for j in order]
    tails: list[int] = []  # tails[k]: smallest old index ending a run of length k + 1
    tail_at: list[int] = []  # position in order of that tail
    back: list[int] = [-1] * len(olds)
    for p, value in enumerate(olds):
        k = bisect_left(tails, value)
        if k == len(tails):
            tails.append(value)
            tail_at.append(p)
        else:
            tails[k] = value
            tail_at[k] = p
        back[p] = tail_at[k - 1] if k else -1
    kept = set()
    p = tail_at[-1] if tail_at else -1
    while p != -1:
        kept.add(order[p])
        p = back[p]
    return {j for j in order if j not in kept}


def _reading_order(current: list[Entry], removed: dict[int, Entry]) -> tuple[Entry, ...]:
    """The new version's order, each removed section right after the section that came
    before it in the old version (first, if it was first): where a reader would have
    found it."""
    out: list[Entry] = []

    def follow(old_index: int | None) -> None:
        # Removed sections in a row follow each other, each after its old predecessor.
        nxt = 0 if old_index is None else old_index + 1
        while nxt in removed:
            out.append(removed[nxt])
            nxt += 1

    follow(None)
    for e in current:
        out.append(e)
        if e.old is not None:
            follow(e.old)
    return tuple(out)


# -- inside a changed section ----------------------------------------------------------


def _blocks(old_text: str, new_text: str, headed: bool) -> tuple[Block, ...]:
    """Paragraph by paragraph; ``headed`` when both texts start with a heading line."""
    a, b = paragraphs(old_text), paragraphs(new_text)
    blocks: list[Block] = []
    for tag, i1, i2, j1, j2 in opcodes(a, b):
        if tag == "equal":
            blocks.extend(Same(p) for p in a[i1:i2])
        elif tag == "delete":
            blocks.extend(Removed(p) for p in a[i1:i2])
        elif tag == "insert":
            blocks.extend(Added(p) for p in b[j1:j2])
        else:
            blocks.extend(_replaced(a[i1:i2], b[j1:j2], headed and i1 == j1 == 0))
    return tuple(blocks)


def _replaced(a: list[str], b: list[str], heads: bool) -> list[Block]:
    """A replaced run of paragraphs: similar old and new ones paired, in order, as edited
    paragraphs; the rest removed or added. ``heads`` when the run starts with both
    sections' heading paragraphs."""
    small = len(a) * len(b) <= PAIRING_LIMIT and (
        len(b) * sum(map(len, a)) + len(a) * sum(map(len, b)) <= PAIRING_CHARS
    )
    pairs = _pairs(a, b, heads) if small else [(0, 0)] if heads else []
    blocks: list[Block] = []
    i = j = 0
    for pi, pj in [*pairs, (len(a), len(b))]:
        blocks.extend(Removed(p) for p in a[i:pi])
        blocks.extend(Added(p) for p in b[j:pj])
        if pi < len(a):
            blocks.append(Changed(_words(a[pi], b[pj])))
        i, j = pi + 1, pj + 1
    return blocks


def _pairs(a: list[str], b: list[str], heads: bool) -> list[tuple[int, int]]:
    """The order-keeping pairing of similar paragraphs with the greatest total similarity
    (a small dynamic programme: replaced runs are a handful of paragraphs)."""
    words_a = [p.casefold().split() for p in a]
    words_b = [p.casefold().split() for p in b]
    score = [[0.0] * len(b) for _ in a]
    for i, wa in enumerate(words_a):
        m = Matcher()
        m.set_seq2(wa)
        for j, wb in enumerate(words_b):
            m.set_seq1(wb)
            if (
                m.real_quick_ratio() >= PARAGRAPH_SIMILARITY
                and m.quick_ratio() >= PARAGRAPH_SIMILARITY
                and (r := bounded_ratio(m)) >= PARAGRAPH_SIMILARITY
            ):
                score[i][j] = r
    if heads:
        # A heading renamed outright ("Access" -> "Getting seen") is still the heading:
        # shown as one edited line, never as a heading removed and another added.
        score[0][0] = max(score[0][0], PARAGRAPH_SIMILARITY)
    # best[i][j]: the best total pairing a[i:] with b[j:]
    best = [[0.0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in reversed(range(len(a))):
        for j in reversed(range(len(b))):
            take = score[i][j] + best[i + 1][j + 1] if score[i][j] else 0.0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    pairs = []
    i = j = 0
    while i < len(a) and j < len(b):
        if score[i][j] and best[i][j] == score[i][j] + best[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _words(old: str, new: str) -> tuple[Segment, ...]:
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    raw: list[Segment] = []
    for tag, i1, i2, j1, j2 in opcodes(_keys(a), _keys(b)):
        if tag == "equal":
            raw.append(("=", "".join(a[i1:i2])))
        if tag in ("delete", "replace"):
            raw.append(("-", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            raw.append(("+", "".join(b[j1:j2])))
    return tuple(_tidied(raw))


def _keys(tokens: list[str]) -> list[str]:
    """What the word diff compares: each token, but a single space keyed by the word
    before it.

    Half of all tokens are a single space; as plain tokens they seed candidate matches
    everywhere and made the word diff of 150-word paragraphs several times slower. Keyed
    by the word before them they are as rare as that word, and equal keys still mean
    equal tokens, so the diff stays exact. Line breaks are rare and stay plain, so the
    blank line ending an edited paragraph still matches.
    """
    keys = []
    before = ""
    for t in tokens:
        if t == " ":
            keys.append(f"{before}\0 ")
        else:
            keys.append(t)
            before = t
    return keys


def _tidied(raw: list[Segment]) -> list[Segment]:
    """Edits separated only by a space read as one edit: "-the old +a new" rather than
    "-the +a = -old +new". Within each run of edits, all that went out, then all that came
    in, less any whitespace both begin or end with; the equal text between runs as is."""
    out: list[Segment] = []
    removed: list[str] = []
    added: list[str] = []

    def flush() -> None:
        gone, came = "".join(removed), "".join(added)
        lead = trail = ""
        if gone and came:
            lead = _common_space(gone, came)
            gone, came = gone[len(lead) :], came[len(lead) :]
            trail = _common_space(gone[::-1], came[::-1])[::-1]
            gone, came = gone[: len(gone) - len(trail)], came[: len(came) - len(trail)]
        out.extend([("=", lead), ("-", gone), ("+", came), ("=", trail)])
        removed.clear()
        added.clear()

    for k, (op, text) in enumerate(raw):
        between_edits = 0 < k < len(raw) - 1 and not text.strip()
        if op == "=" and not between_edits:
            flush()
            out.append(("=", text))
        else:
            if op != "+":
                removed.append(text)
            if op != "-":
                added.append(text)
    flush()
    merged: list[Segment] = []
    for op, text in out:
        if not text:
            continue
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        else:
            merged.append((op, text))
    return merged


def _common_space(a: str, b: str) -> str:
    """The whitespace both ``a`` and ``b`` start with."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n] and a[n].isspace():
        n += 1
    return a[:n]


def _new_side(blocks: Iterable[Block]) -> Iterable[str]:
    for b in blocks:
        if isinstance(b, Same | Added):
            yield b.text
        elif isinstance(b, Changed):
            yield b.new


def _old_side(blocks: Iterable[Block]) -> Iterable[str]:
    for b in blocks:
        if isinstance(b, Same | Removed):
            yield b.text
        elif isinstance(b, Changed):
            yield b.old


# -- wire ------------------------------------------------------------------------------


def _entry_wire(e: Entry) -> dict[str, Any]:
    return {
        "id": e.id,
        "status": e.status,
        "moved": e.moved,
        "old": e.old,
        "new": e.new,
        "heading": e.heading,
        "old_heading": e.old_heading,
        "level": e.level,
        "blocks": [_block_wire(b) for b in e.blocks],
        "ends": list(e.ends) if e.ends else None,
    }


def _block_wire(b: Block) -> dict[str, Any]:
    if isinstance(b, Changed):
        return {"op": "changed", "words": [[op, text] for op, text in b.words]}
    op = "same" if isinstance(b, Same) else "added" if isinstance(b, Added) else "removed"
    return {"op": op, "text": b.text}
