"""Cleaning and bounding the text people type, shared by every rule that takes text."""

from __future__ import annotations

import unicodedata

from ..errors import Code, Rejection

TITLE_MAX = 200
GROUP_NAME_MAX = 60
GROUPS_MAX = 40
NAME_MAX = 60
TABLE_MAX = 20
TABLE_NAME_MAX = 60
TABLES_MAX = 200
PROMPT_MAX = 500
THEME_NAME_MAX = 80

_LINE_BREAKS = frozenset("\n\t")
# Combining marks kept in a row on one character (drafts.MARKS_RUN_MAX refuses a draft
# past the same number; a note or a name just loses the excess).
MARKS_RUN_MAX = 16
# Bidi embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069). An override
# left open in a name reverses whatever a screen shows after it ("Ann\u202e" makes the
# next note on a wall read backwards), and an RLO spells one text as another
# ("Trojan Source"). No one types them; the marks U+200E/U+200F, which do not nest and
# cannot leak, stay, and so do ZWJ and ZWNJ, which emoji and Persian need.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def stray(ch: str) -> bool:
    """A character no one types on purpose: a control character or a bidi control."""
    return ch in BIDI_CONTROLS or unicodedata.category(ch) == "Cc"


def tidy(text: str, *, multiline: bool = False) -> str:
    """Text as people meant it: NFC, no control characters, no outer whitespace.

    Control characters come from paste accidents and broken keyboards, never on purpose;
    Postgres cannot even store NUL. Dropping them beats refusing the note of someone who
    cannot see what is wrong with it. Single-line fields get tabs and newlines as spaces.
    Bidi controls go too (see ``BIDI_CONTROLS``), and combining marks past the
    ``MARKS_RUN_MAX``-th on one character: NFC sorts a run of marks in time quadratic in
    its length (4,000 of them, a note's worth, cost about 12 ms; a draft's 80,000, 5 s),
    and real text puts a few on a letter.
    """
    out = []
    run = 0
    category = unicodedata.category
    for ch in text:
        if ch in _LINE_BREAKS:
            out.append(ch if multiline else " ")
            run = 0
            continue
        kind = category(ch)
        if kind[0] == "M":
            run += 1
            if run > MARKS_RUN_MAX:
                continue
        elif kind not in ("Cc", "Cf"):
            run = 0
        if not stray(ch):
            out.append(ch)
    # Normalised last: a dropped character may have stood between a letter and its accent.
    return unicodedata.normalize("NFC", "".join(out)).strip()


def given(text: str | None) -> str | None:
    """An optional single-line field: blank means not given, for every field alike."""
    return (tidy(text) or None) if text is not None else None


def required(text: str, what: str, limit: int, *, multiline: bool = False) -> str | Rejection:
    """A field that must say something, within ``limit`` characters."""
    clean = tidy(text, multiline=multiline)
    if not clean:
        return Rejection(Code.INVALID, f"the {what} is empty")
    if len(clean) > limit:
        return Rejection(Code.INVALID, f"the {what} is longer than {limit} characters")
    return clean
