"""Cleaning the text people type (``text.tidy``) and the drafts they write
(``drafts.document_text``): bidi controls go. Pure: no event loop, no I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plenary.domain.drafts import document_text
from plenary.domain.text import BIDI_CONTROLS, tidy

# LRE RLE PDF LRO RLO, then LRI RLI FSI PDI.
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


def test_the_set_is_the_embeddings_overrides_and_isolates() -> None:
    assert sorted(BIDI_CONTROLS) == BIDI


@pytest.mark.parametrize("control", BIDI)
def test_tidy_drops_each_bidi_control(control: str) -> None:
    assert tidy(f"Ann{control}") == "Ann"
    assert tidy(f"{control}gnp.exe") == "gnp.exe"
    assert tidy(f"a{control}b\n{control}c", multiline=True) == "ab\nc"


def test_an_override_cannot_make_a_name_read_as_another() -> None:
    # Shown as "Facilitator" by a browser that honours the RLO: it must not survive.
    assert tidy("\u202erotatilicaF") == "rotatilicaF"
    assert tidy("\u2067Bob\u2069 (host)") == "Bob (host)"


def test_what_right_to_left_writing_needs_stays() -> None:
    # Hebrew and Arabic text, the LRM/RLM marks, ZWNJ (Persian) and ZWJ (emoji).
    for text in (
        "שלום",
        "مرحبا",
        "abc\u200fd",
        "\u200ex",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "👩\u200d💻",
    ):
        assert tidy(text) == text


def test_document_text_drops_bidi_controls_and_keeps_the_rest() -> None:
    raw = "# Plan\u202e\n\n\tcode\u2066 \u2069block\n- شكرا\u200f\n"
    assert document_text(raw) == "# Plan\n\n\tcode block\n- شكرا\u200f\n"


@given(st.text())
def test_nothing_tidy_returns_holds_a_bidi_control(text: str) -> None:
    assert not set(tidy(text)) & BIDI_CONTROLS
    assert not set(tidy(text, multiline=True)) & BIDI_CONTROLS
    assert not set(document_text(text)) & BIDI_CONTROLS


@given(st.text())
def test_tidy_is_idempotent(text: str) -> None:
    assert tidy(tidy(text)) == tidy(text)


def test_runs_of_combining_marks_are_cut_before_normalising() -> None:
    from plenary.domain.text import MARKS_RUN_MAX, tidy

    zalgo = "a" + "\u0301\u0323" * 2000 + " b"
    clean = tidy(zalgo)
    assert clean.endswith(" b")
    assert len(clean) <= 1 + MARKS_RUN_MAX + 2
    # Real text keeps its marks: Vietnamese stacks two on a letter.
    assert tidy("Vi\u1ec7t Nam") == "Vi\u1ec7t Nam"
    assert tidy("e\u0323\u0302") == "\u1ec7"
