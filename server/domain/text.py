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


def tidy(text: str, *, multiline: bool = False) -> str:
    """Text as people meant it: NFC, no control characters, no outer whitespace.

    Control characters come from paste accidents and broken keyboards, never on purpose;
    Postgres cannot even store NUL. Dropping them beats refusing the note of someone who
    cannot see what is wrong with it. Single-line fields get tabs and newlines as spaces.
    """
    out = []
    for ch in text:
        if ch in _LINE_BREAKS:
            out.append(ch if multiline else " ")
        elif unicodedata.category(ch) != "Cc":
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
