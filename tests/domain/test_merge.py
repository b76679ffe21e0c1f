"""Three-way merge of two writers' saves on one base: nothing either wrote is lost."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from plenary.domain.merge import Clean, Conflict, merge3, paragraphs

BASE = (
    "# Vision\n\nA city that cares.\n\n## Access\n\nSee a GP within a week.\n\n"
    "Walk-in centres open late.\n\n## Workforce\n\nRecruit 200 nurses.\n"
)


def test_paragraphs_rejoin_exactly() -> None:
    for text in (BASE, "", "one", "a\n\n\n\nb\n", "\n\nlead\n \t\nx"):
        assert "".join(paragraphs(text)) == text


def test_one_side_changed_takes_that_side() -> None:
    ours = BASE.replace("within a week", "within 48 hours")
    assert merge3(BASE, ours, BASE).text() == ours
    assert merge3(BASE, BASE, ours).text() == ours
    assert merge3(BASE, ours, BASE).clean


def test_edits_to_different_paragraphs_both_survive() -> None:
    ours = BASE.replace("within a week", "within 48 hours")
    theirs = BASE.replace("200 nurses", "300 nurses")
    merged = merge3(BASE, ours, theirs)
    assert merged.clean
    assert merged.text() == BASE.replace("within a week", "within 48 hours").replace(
        "200 nurses", "300 nurses"
    )


def test_the_same_edit_on_both_sides_is_no_conflict() -> None:
    both = BASE.replace("open late", "open until midnight")
    merged = merge3(BASE, both, both)
    assert merged.clean and merged.text() == both


def test_edits_to_the_same_paragraph_conflict_and_keep_both() -> None:
    ours = BASE.replace("within a week", "within 48 hours")
    theirs = BASE.replace("within a week", "on the same day")
    merged = merge3(BASE, ours, theirs)
    assert not merged.clean and merged.conflicts == 1
    (conflict,) = [r for r in merged.regions if isinstance(r, Conflict)]
    assert conflict.base == "See a GP within a week.\n\n"
    assert "48 hours" in conflict.ours and "same day" in conflict.theirs
    assert merged.text("ours") == ours
    assert merged.text("theirs") == theirs
    json.dumps(merged.to_wire())


def test_an_insertion_next_to_an_edit_is_a_conflict_not_a_guess() -> None:
    ours = BASE.replace("See a GP within a week.\n\n", "See a GP within 48 hours.\n\n")
    theirs = BASE.replace(
        "See a GP within a week.\n\n", "Pharmacies first.\n\nSee a GP within a week.\n\n"
    )
    merged = merge3(BASE, ours, theirs)
    assert not merged.clean
    assert merged.text("ours") == ours and merged.text("theirs") == theirs


_paras = st.lists(
    st.text(alphabet="abcdefgh ", min_size=1, max_size=12).map(lambda s: s.strip() or "x"),
    min_size=0,
    max_size=8,
)


def _doc(ps: list[str]) -> str:
    return "".join(p + "\n\n" for p in ps)


@st.composite
def _edited(draw: st.DrawFn, base: list[str]) -> list[str]:
    out = list(base)
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert" or not out:
            out.insert(draw(st.integers(0, len(out))), draw(st.text("xyz", min_size=1, max_size=5)))
        elif action == "delete":
            out.pop(draw(st.integers(0, len(out) - 1)))
        else:
            out[draw(st.integers(0, len(out) - 1))] = draw(st.text("uvw", min_size=1, max_size=5))
    return out


@settings(max_examples=200, deadline=None)
@given(data=st.data(), base=_paras)
def test_properties(data: st.DataObject, base: list[str]) -> None:
    ours = data.draw(_edited(base), label="ours")
    theirs = data.draw(_edited(base), label="theirs")
    b, o, t = _doc(base), _doc(ours), _doc(theirs)
    merged = merge3(b, o, t)
    # Nothing either side wrote is lost: every paragraph a side added is in the merge, or
    # in a conflict region for a person to settle.
    kept = "".join(r.text if isinstance(r, Clean) else r.ours + r.theirs for r in merged.regions)
    for added in (set(ours) - set(base)) | (set(theirs) - set(base)):
        assert added in kept
    # Unchanged sides: the other side wins, cleanly.
    assert merge3(b, o, b).text() == o and merge3(b, o, b).clean
    assert merge3(b, b, t).text() == t and merge3(b, b, t).clean
    assert merge3(b, o, o).text() == o and merge3(b, o, o).clean
    # Regions are never empty and never two clean ones in a row.
    for first, second in zip(merged.regions, merged.regions[1:], strict=False):
        assert not (isinstance(first, Clean) and isinstance(second, Clean))
    assert all(not isinstance(r, Clean) or r.text for r in merged.regions)
