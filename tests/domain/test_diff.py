"""Diffing two versions of a strategy draft: sections, paragraphs, words; exact both ways."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from plenary.domain.diff import (
    Added,
    Changed,
    Diff,
    Removed,
    Same,
    Section,
    Summary,
    align,
    apply,
    carry_ids,
    diff,
    revert,
    split_sections,
)

DRAFT = (
    "Draft 1, for the room.\n\n"
    "# Urgent care strategy\n\nA city where urgent care is there when you need it.\n\n"
    "## Access\n\nSee a GP within a week.\n\nWalk-in centres open late on weekdays.\n\n"
    "## Workforce\n\nRecruit 200 nurses over three years and keep them.\n\n"
    "## Money\n\nShift funding from hospital beds to community teams.\n\n"
    "## Next steps\n\nThe board signs the plan off in March.\n"
)


def counter(prefix: str = "n") -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"{prefix}{next(numbers)}"


def ids_for(text: str, prefix: str = "s") -> tuple[str, ...]:
    return tuple(f"{prefix}{k}" for k in range(len(split_sections(text))))


# -- strategies ------------------------------------------------------------------------

WORDS = st.sampled_from(
    [
        *("care", "access", "nurses", "beds", "city", "plan", "GP", "board"),
        *("funding", "teams", "the", "a", "of", "to", "we", "will"),
    ]
)
PHRASE = st.lists(WORDS, min_size=1, max_size=8).map(" ".join)
LINE = st.one_of(
    PHRASE,
    st.just(""),
    st.just("   "),
    st.tuples(st.integers(1, 7), PHRASE).map(lambda t: "#" * t[0] + " " + t[1]),
    st.sampled_from(
        ["#", "## ", "   ### indented", "    # code", "#tag", "# closed ##", "\t# tab"]
    ),
    st.sampled_from(["```", "````", "```py", "~~~", "~~~~", "``` a`b", "  ```"]),
    st.sampled_from(["- a bullet", "> # quoted", "text\\"]),
)
ENDING = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"])
MARKDOWN = st.tuples(st.lists(st.tuples(LINE, ENDING), max_size=25), st.booleans()).map(
    lambda t: "".join(a + b for a, b in t[0]) + ("tail" if t[1] else "")
)

Doc = list[tuple[int, str, list[str]]]  # (level, heading, paragraphs) per section

PARAGRAPH = st.lists(WORDS, min_size=3, max_size=20).map(" ".join)
SECTION = st.tuples(st.integers(1, 3), PHRASE, st.lists(PARAGRAPH, min_size=0, max_size=4)).map(
    lambda t: (t[0], t[1], list(t[2]))
)
DOC = st.tuples(st.booleans(), st.lists(SECTION, max_size=8)).map(
    lambda t: ([(0, "", ["Preamble words here"])] if t[0] else []) + t[1]
)


def render(doc: Doc, end: str = "\n") -> str:
    parts = []
    for level, heading, paras in doc:
        head = [f"{'#' * level} {heading}"] if level else []
        parts.append("\n\n".join(head + paras))
    return "\n\n".join(p for p in parts if p) + (end if parts else "")


@st.composite
def edited(draw: st.DrawFn, doc: Doc) -> Doc:
    """A redraft: words edited, sections inserted, deleted, moved, headings renamed."""
    out = [(level, heading, list(paras)) for level, heading, paras in doc]
    first = 1 if out and out[0][0] == 0 else 0  # the preamble stays first
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["words", "insert", "delete", "move", "rename"]))
        headed = len(out) - first
        if kind == "insert" or headed == 0:
            out.insert(draw(st.integers(first, len(out))), draw(SECTION))
            continue
        k = draw(st.integers(first, len(out) - 1))
        level, _heading, paras = out[k]
        if kind == "words" and paras:
            p = draw(st.integers(0, len(paras) - 1))
            words = paras[p].split()
            w = draw(st.integers(0, len(words) - 1))
            words[w] = draw(WORDS)
            if draw(st.booleans()):
                words.insert(w, draw(WORDS))
            paras[p] = " ".join(words)
        elif kind == "delete":
            del out[k]
        elif kind == "move":
            section = out.pop(k)
            out.insert(draw(st.integers(first, len(out))), section)
        elif kind == "rename":
            out[k] = (level, draw(PHRASE), paras)
    return out


def plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return value is None or type(value) in (str, int, bool)


def check(old: str, new: str, d: Diff) -> None:
    """Everything that holds for every diff."""
    assert apply(old, d) == new
    assert revert(new, d) == old
    s = d.summary
    n_old, n_new = len(split_sections(old)), len(split_sections(new))
    assert s.unchanged + s.changed + s.added == n_new
    assert s.unchanged + s.changed + s.removed == n_old
    assert sorted(e.new for e in d.sections if e.new is not None) == list(range(n_new))
    assert all(e.status != "unchanged" or e.moved for e in d.changes)
    for e in d.sections:
        if e.status == "added":
            assert all(isinstance(b, Added) for b in e.blocks)
        if e.status == "removed":
            assert all(isinstance(b, Removed) for b in e.blocks)
        if e.status == "unchanged":
            assert e.blocks == ()
        for b in e.blocks:
            if isinstance(b, Changed):
                ops = [op for op, _ in b.words]
                assert all(x != y for x, y in itertools.pairwise(ops)), b.words
                assert all(text for _, text in b.words)
    wire = d.to_wire()
    assert plain(wire)
    json.dumps(wire)


# -- sections --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(MARKDOWN)
def test_sections_join_back_exactly(text: str) -> None:
    sections = split_sections(text)
    assert "".join(s.text for s in sections) == text
    assert all(s.text for s in sections)
    assert all(s.level > 0 for s in sections[1:])


def test_sections_of_a_draft() -> None:
    sections = split_sections(DRAFT)
    assert [(s.level, s.heading) for s in sections] == [
        (0, ""),
        (1, "Urgent care strategy"),
        (2, "Access"),
        (2, "Workforce"),
        (2, "Money"),
        (2, "Next steps"),
    ]
    assert sections[0].text == "Draft 1, for the room.\n\n"
    assert (
        sections[3].text == "## Workforce\n\nRecruit 200 nurses over three years and keep them.\n\n"
    )


def test_what_counts_as_a_heading() -> None:
    text = (
        "#\n"  # empty heading
        "   ### Three spaces ###\n"
        "    # four spaces is code\n"
        "#hashtag\n"
        "####### seven\n"
        "##\tTab\n"
        "# Closing # not #\n"
    )
    assert [(s.level, s.heading) for s in split_sections(text)] == [
        (1, ""),
        (3, "Three spaces"),
        (2, "Tab"),
        (1, "Closing # not"),
    ]


def test_headings_in_fenced_code_do_not_split() -> None:
    text = (
        "# Real\n\n```sh\n# a shell comment\n```\n\n"
        "~~~~\n# inside\n~~~\n# still inside: a shorter fence does not close\n~~~~~\n"
        "## After\n\n```\n# never closed\n"
    )
    assert [s.heading for s in split_sections(text)] == ["Real", "After"]


def test_a_backtick_fence_with_backticks_after_it_is_no_fence() -> None:
    assert [s.heading for s in split_sections("``` a`b\n# Heading\n")] == ["", "Heading"]


def test_preamble_and_empty() -> None:
    assert split_sections("") == ()
    assert split_sections("just text\n") == (Section("", 0, "just text\n"),)
    assert split_sections("# Only\n") == (Section("Only", 1, "# Only\n"),)
    assert split_sections("\n# H") == (Section("", 0, "\n"), Section("H", 1, "# H"))


# -- round trips -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(MARKDOWN, MARKDOWN)
def test_any_two_texts_round_trip(old: str, new: str) -> None:
    check(old, new, diff(old, new))


@settings(max_examples=200, deadline=None)
@given(st.data(), DOC, st.sampled_from(["\n", "", "\n\n"]), st.sampled_from(["\n", ""]))
def test_redrafts_round_trip(data: st.DataObject, doc: Doc, old_end: str, new_end: str) -> None:
    old = render(doc, old_end)
    new = render(data.draw(edited(doc)), new_end)
    check(old, new, diff(old, new))
    old_ids = ids_for(old)
    new_ids = carry_ids(old_ids, split_sections(old), split_sections(new), counter())
    by_ids = diff(old, new, old_ids, new_ids)
    check(old, new, by_ids)
    # carry_ids and align agree, so matching by id gives the same diff.
    assert by_ids.summary == diff(old, new).summary


@settings(max_examples=100, deadline=None)
@given(st.data(), DOC)
def test_diffs_across_several_versions_round_trip(data: st.DataObject, doc: Doc) -> None:
    versions = [render(doc)]
    ids = [ids_for(versions[0])]
    fresh = counter()
    for _ in range(3):
        doc = data.draw(edited(doc))
        versions.append(render(doc))
        ids.append(
            carry_ids(
                ids[-1],
                split_sections(versions[-2]),
                split_sections(doc_text := versions[-1]),
                fresh,
            )
        )
        assert len(set(ids[-1])) == len(ids[-1]) == len(split_sections(doc_text))
    d = diff(versions[0], versions[-1], ids[0], ids[-1])
    check(versions[0], versions[-1], d)
    for e in d.sections:
        if e.old is not None and e.new is not None:
            assert ids[0][e.old] == ids[-1][e.new] == e.id


# -- what the reader sees --------------------------------------------------------------


def test_identical_texts_have_no_changes() -> None:
    d = diff(DRAFT, DRAFT)
    assert d.changes == ()
    assert d.summary == Summary(changed=0, added=0, removed=0, moved=0, unchanged=6)
    assert d.summary.text == "No changes"
    assert diff("", "").to_wire() == {
        "summary": {
            "changed": 0,
            "added": 0,
            "removed": 0,
            "moved": 0,
            "unchanged": 0,
            "text": "No changes",
        },
        "sections": [],
    }


def test_moving_one_section_is_one_move() -> None:
    sections = [s.text for s in split_sections(DRAFT)]
    # Money up before Access: past two sections, but only Money moved.
    new = "".join([*sections[:2], sections[4], *sections[2:4], *sections[5:]])
    d = diff(DRAFT, new)
    assert (d.summary.moved, d.summary.added, d.summary.removed, d.summary.changed) == (1, 0, 0, 0)
    [moved] = d.changes
    assert (moved.heading, moved.status, moved.old, moved.new) == ("Money", "unchanged", 4, 2)
    assert d.summary.text == "1 section moved"
    check(DRAFT, new, d)


def test_moving_the_last_section_is_no_edit() -> None:
    # The last section ends in one newline; moved up, it ends in a blank line. Not a
    # change a reader could see.
    sections = [s.text.rstrip() + "\n\n" for s in split_sections(DRAFT)]
    new = "".join([*sections[:2], sections[5], *sections[2:5]]).rstrip() + "\n"
    d = diff(DRAFT, new)
    assert d.summary.text == "1 section moved"
    assert d.changes[0].ends == ("\n", "\n\n")
    check(DRAFT, new, d)


def test_renamed_heading_is_a_change_of_the_same_section() -> None:
    new = DRAFT.replace("## Access", "## Getting seen quickly")
    d = diff(DRAFT, new)
    [e] = d.changes
    assert (e.status, e.heading, e.old_heading, e.moved) == (
        "changed",
        "Getting seen quickly",
        "Access",
        False,
    )
    first, *rest = e.blocks
    assert first == Changed(
        (("=", "## "), ("-", "Access"), ("+", "Getting seen quickly"), ("=", "\n\n"))
    )
    assert all(isinstance(b, Same) for b in rest)
    assert d.summary.text == "1 section changed"


def test_a_word_edit_is_shown_word_by_word() -> None:
    new = DRAFT.replace("within a week", "within 48 hours")
    [e] = diff(DRAFT, new).changes
    assert e.old_heading is None
    assert e.blocks == (
        Same("## Access\n\n"),
        Changed((("=", "See a GP within "), ("-", "a week."), ("+", "48 hours."), ("=", "\n\n"))),
        Same("Walk-in centres open late on weekdays."),
    )
    assert e.blocks[1] == Changed(e.blocks[1].words)  # type: ignore[union-attr]


def test_an_unrelated_paragraph_is_removed_and_added_not_word_diffed() -> None:
    new = DRAFT.replace("Walk-in centres open late on weekdays.", "Pharmacies prescribe more.")
    [e] = diff(DRAFT, new).changes
    assert e.blocks[-2:] == (
        Removed("Walk-in centres open late on weekdays."),
        Added("Pharmacies prescribe more."),
    )


def test_added_and_removed_sections_in_reading_order() -> None:
    new = DRAFT.replace(
        "## Workforce\n\nRecruit 200 nurses over three years and keep them.\n\n",
        "## Pharmacies\n\nPharmacies prescribe more.\n\n",
    )
    d = diff(DRAFT, new)
    # The removed section comes right after the one before it in the old version.
    assert [(e.heading, e.status) for e in d.changes] == [
        ("Workforce", "removed"),
        ("Pharmacies", "added"),
    ]
    order = [e.heading for e in d.sections]
    assert order.index("Workforce") == order.index("Access") + 1
    assert d.summary.text == "1 section added, 1 removed"
    removed = d.changes[0]
    assert removed.blocks == (
        Removed("## Workforce\n\n"),
        Removed("Recruit 200 nurses over three years and keep them.\n\n"),
    )
    check(DRAFT, new, d)


def test_a_removed_first_section_comes_first() -> None:
    new = DRAFT.split("# Urgent", 1)[1].join(["# Urgent", ""])
    d = diff(DRAFT, new)
    assert d.sections[0].status == "removed" and d.sections[0].level == 0
    check(DRAFT, new, d)


def test_heavily_edited_section_is_matched_by_content() -> None:
    new = DRAFT.replace("## Workforce", "## People").replace("200 nurses", "300 nurses")
    [e] = diff(DRAFT, new).changes
    assert (e.status, e.old_heading, e.heading) == ("changed", "Workforce", "People")


def test_duplicate_headings_are_not_evidence() -> None:
    old = "## Actions\n\nHire nurses now please.\n\n## Actions\n\nOpen clinics late at night.\n"
    new = (
        "## Actions\n\nOpen clinics late at night daily.\n\n## Actions\n\nHire nurses now please.\n"
    )
    match = align(split_sections(old), split_sections(new))
    assert match == {1: 0, 0: 1}


def test_the_preamble_only_matches_a_preamble() -> None:
    old = split_sections("Intro text about care.\n\n# A\n\nbody\n")
    new = split_sections("# Intro text about care.\n\n# A\n\nbody\n")
    assert align(old, new) == {1: 1}
    assert align(old[:1], split_sections("Rewritten from scratch.\n")) == {0: 0}


def test_summary_texts() -> None:
    def text(changed: int, added: int, removed: int, moved: int) -> str:
        return Summary(changed, added, removed, moved, unchanged=3).text

    assert text(0, 0, 0, 0) == "No changes"
    assert text(4, 1, 0, 1) == "4 sections changed, 1 added, 1 moved"
    assert text(0, 1, 0, 0) == "1 section added"
    assert text(0, 0, 2, 1) == "2 sections removed, 1 moved"
    assert text(1, 2, 3, 4) == "1 section changed, 2 added, 3 removed, 4 moved"


def test_moved_and_edited_counts_as_both() -> None:
    sections = [s.text for s in split_sections(DRAFT)]
    edited = sections[4].replace("hospital beds", "acute beds")
    new = "".join([*sections[:2], edited, *sections[2:4], *sections[5:]])
    d = diff(DRAFT, new)
    [e] = d.changes
    assert (e.status, e.moved) == ("changed", True)
    assert d.summary.text == "1 section changed, 1 moved"


# -- wire ------------------------------------------------------------------------------


def test_wire_shape() -> None:
    new = DRAFT.replace("## Access", "## Getting seen").replace("200 nurses", "300 nurses")
    new = new.replace("## Next steps", "## Pharmacies\n\nPrescribe more.\n\n## Next steps")
    ids = ids_for(DRAFT)
    new_ids = carry_ids(ids, split_sections(DRAFT), split_sections(new), counter("x"))
    wire = diff(DRAFT, new, ids, new_ids).to_wire()
    assert json.loads(json.dumps(wire)) == wire
    assert plain(wire)
    assert wire["summary"] == {
        "changed": 2,
        "added": 1,
        "removed": 0,
        "moved": 0,
        "unchanged": 4,
        "text": "2 sections changed, 1 added",
    }
    access = wire["sections"][2]
    assert {k: v for k, v in access.items() if k != "blocks"} == {
        "id": "s2",
        "status": "changed",
        "moved": False,
        "old": 2,
        "new": 2,
        "heading": "Getting seen",
        "old_heading": "Access",
        "level": 2,
        "ends": None,
    }
    assert access["blocks"][0] == {
        "op": "changed",
        "words": [["=", "## "], ["-", "Access"], ["+", "Getting seen"], ["=", "\n\n"]],
    }
    assert access["blocks"][1] == {"op": "same", "text": "See a GP within a week.\n\n"}
    added = wire["sections"][5]
    assert (added["id"], added["status"], added["old"], added["new"]) == ("x1", "added", None, 5)
    assert added["blocks"][0] == {"op": "added", "text": "## Pharmacies\n\n"}
    assert wire["sections"][0]["blocks"] == []  # unchanged: the reader has the text


# -- lineage ---------------------------------------------------------------------------


def test_carry_ids_keeps_lineage() -> None:
    old = split_sections(DRAFT)
    ids = ("pre", "top", "access", "workforce", "money", "next")
    texts = [s.text for s in old]
    new_text = "".join(
        [
            texts[0],
            texts[1],
            texts[4],  # Money moved up
            texts[2].replace("a week", "two days"),  # edited
            "## Pharmacies\n\nPrescribe more.\n\n",  # new
            texts[5],
        ]
    )  # Workforce removed
    new = split_sections(new_text)
    assert carry_ids(ids, old, new, counter()) == ("pre", "top", "money", "access", "n1", "next")


def test_carry_ids_draws_again_on_a_collision() -> None:
    old = split_sections("# A\n\nx\n")
    new = split_sections("# A\n\nx\n\n# B\n\ny\n")
    draws = iter(["a", "a", "b"])
    assert carry_ids(["a"], old, new, lambda: next(draws)) == ("a", "b")


def test_carry_ids_refuses_bad_input() -> None:
    old = split_sections(DRAFT)
    for bad in (["x"], ["x"] * len(old)):
        try:
            carry_ids(bad, old, old, counter())
        except ValueError:
            continue
        raise AssertionError(f"{bad} accepted")


def test_diff_refuses_ids_that_do_not_fit() -> None:
    for old_ids, new_ids in ((["a"], ids_for(DRAFT)), (ids_for(DRAFT), ["x"] * 6)):
        try:
            diff(DRAFT, DRAFT, old_ids, new_ids)
        except ValueError:
            continue
        raise AssertionError("accepted")


def test_ids_keep_diffs_between_distant_versions_consistent() -> None:
    v1 = DRAFT
    # v2 renames Workforce; its body, unchanged, still ties it to v1's.
    v2 = v1.replace("## Workforce", "## Our people")
    # v3 rewrites the body; the heading, unchanged, still ties it to v2's.
    v3 = v2.replace(
        "Recruit 200 nurses over three years and keep them.",
        "Train local residents as health care assistants, with a paid route into nursing.",
    )
    ids1 = ids_for(v1)
    ids2 = carry_ids(ids1, split_sections(v1), split_sections(v2), counter())
    ids3 = carry_ids(ids2, split_sections(v2), split_sections(v3), counter())
    assert ids3 == ids1
    # Compared directly, nothing ties v3's section to v1's: a removal and an addition.
    assert diff(v1, v3).summary.text == "1 section added, 1 removed"
    # By lineage, it is the same section, edited, as the room saw it happen.
    d = diff(v1, v3, ids1, ids3)
    assert d.summary.text == "1 section changed"
    [e] = d.changes
    assert (e.id, e.old_heading, e.heading) == ("s3", "Workforce", "Our people")
    check(v1, v3, d)
