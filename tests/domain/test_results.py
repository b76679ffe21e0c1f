"""Dot-vote results: ranking, tallies by group, and the common ground / divisive rule.

The worked example in docs/results.md is read from the document and checked against
``results()``, so the rule's documentation cannot drift from the code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plenary.domain.results import (
    NO_GROUP,
    STRONG_FACTOR,
    WEAK_FACTOR,
    ItemResult,
    Verdict,
    VoteResults,
    results,
)

RESULTS_MD = Path(__file__).resolve().parents[2] / "docs" / "results.md"

Row = tuple[str | None, int, int]


def spread(group: str | None, counts: dict[int, int]) -> list[Row]:
    """One group's dots, as ``{item: count}``, as rows."""
    return [(group, item, count) for item, count in counts.items()]


def by_item(res: VoteResults) -> dict[int, ItemResult]:
    return {r.item: r for r in res.items}


# -- ranking and tallies -------------------------------------------------------------------


def test_items_are_ranked_by_total_with_competition_ranks_and_ties_by_id() -> None:
    rows = spread("A", {10: 3, 11: 5, 12: 5, 13: 1, 14: 3})
    res = results(rows, [10, 11, 12, 13, 14, 15])
    assert [(r.item, r.total, r.rank) for r in res.items] == [
        (11, 5, 1),
        (12, 5, 1),
        (10, 3, 3),
        (14, 3, 3),
        (13, 1, 5),
        (15, 0, 6),
    ]


def test_everything_tied_at_zero_shares_rank_one() -> None:
    res = results([], [3, 1, 2])
    assert [(r.item, r.total, r.rank) for r in res.items] == [(1, 0, 1), (2, 0, 1), (3, 0, 1)]
    assert res.groups == []
    assert res.dots_by_group == {}
    assert not res.classified


def test_rows_sharing_a_group_and_item_are_summed() -> None:
    rows: list[Row] = [("A", 1, 1), ("B", 1, 2), ("A", 1, 2), ("A", 2, 1), ("B", 1, 1)]
    res = results(rows, [1, 2])
    one, two = by_item(res)[1], by_item(res)[2]
    assert one.by_group == {"A": 3, "B": 3}
    assert one.total == 6
    assert two.by_group == {"A": 1, "B": 0}
    assert two.total == 1
    assert res.dots_by_group == {"A": 4, "B": 3}
    assert one.support == {"A": 0.75, "B": 1.0}
    assert two.support == {"A": 0.25, "B": 0.0}


def test_items_without_dots_appear_with_every_voting_group_at_zero() -> None:
    res = results([("A", 1, 2), ("B", 1, 1)], [1, 2])
    empty = by_item(res)[2]
    assert empty.total == 0
    assert empty.rank == 2
    assert empty.by_group == {"A": 0, "B": 0}
    assert empty.support == {"A": 0.0, "B": 0.0}


def test_duplicate_item_ids_are_one_item() -> None:
    res = results([("A", 1, 1)], [1, 1, 2])
    assert [r.item for r in res.items] == [1, 2]


def test_dots_on_unknown_items_are_ignored_entirely() -> None:
    # Item 9 was deleted after dots went on it: it counts nowhere, not even in a group's
    # dots (so it does not dilute the group's shares), and group C, whose only dots were
    # on it, has not voted.
    rows: list[Row] = [("A", 1, 2), ("A", 9, 2), ("B", 2, 1), ("C", 9, 5)]
    res = results(rows, [1, 2])
    assert res.groups == ["A", "B"]
    assert res.dots_by_group == {"A": 2, "B": 1}
    assert [r.item for r in res.items] == [1, 2]
    assert by_item(res)[1].support == {"A": 1.0, "B": 0.0}


def test_voters_without_a_group_count_under_the_no_group_pseudo_group() -> None:
    rows: list[Row] = [(None, 1, 2), ("A", 1, 1), (None, 2, 1)]
    res = results(rows, [1, 2])
    assert NO_GROUP == "(no group)"
    assert res.groups == [NO_GROUP, "A"]
    assert res.dots_by_group == {NO_GROUP: 3, "A": 1}
    assert by_item(res)[1].by_group == {NO_GROUP: 2, "A": 1}
    assert res.classified  # they are a voting group like any other


def test_zero_counts_add_nothing_and_negative_counts_are_refused() -> None:
    res = results([("A", 1, 0), ("B", 1, 1)], [1])
    assert res.groups == ["B"]
    with pytest.raises(ValueError, match="negative"):
        results([("A", 1, -1)], [1])


def test_no_items_means_empty_results() -> None:
    res = results([("A", 1, 1), ("B", 1, 1)], [])
    assert res == VoteResults(items=[], groups=[], dots_by_group={}, classified=False)


# -- the classification --------------------------------------------------------------------

# Five items, so the fair share is 20 %: strong at >= 30 %, weak at <= 10 %. Each group
# casts 100 dots, so a count on item 1 is its support in percent.
FIVE = [1, 2, 3, 4, 5]


def hundred(group: str, on_first: int) -> list[Row]:
    """``group`` casts 100 dots: ``on_first`` on item 1, the rest spread over items 2-5."""
    rest = 100 - on_first
    counts = {1: on_first} | {i: rest // 4 + (1 if i - 2 < rest % 4 else 0) for i in FIVE[1:]}
    counts = {i: c for i, c in counts.items() if c}
    assert sum(counts.values()) == 100
    return spread(group, counts)


def test_thresholds_for_five_items() -> None:
    assert STRONG_FACTOR * Fraction(1, 5) == Fraction(30, 100)
    assert WEAK_FACTOR * Fraction(1, 5) == Fraction(10, 100)
    assert WEAK_FACTOR < STRONG_FACTOR  # so common ground and divisive are exclusive


@pytest.mark.parametrize(
    ("a_on_first", "expected"),
    [(29, Verdict.NEITHER), (30, Verdict.COMMON_GROUND), (31, Verdict.COMMON_GROUND)],
)
def test_strong_threshold_is_inclusive(a_on_first: int, expected: Verdict) -> None:
    # B is strong (50 %); A at 29 % is neither strong nor weak, so item 1 is neither.
    res = results(hundred("A", a_on_first) + hundred("B", 50), FIVE)
    assert by_item(res)[1].verdict is expected


@pytest.mark.parametrize(
    ("b_on_first", "expected"),
    [(9, Verdict.DIVISIVE), (10, Verdict.DIVISIVE), (11, Verdict.NEITHER)],
)
def test_weak_threshold_is_inclusive(b_on_first: int, expected: Verdict) -> None:
    # A is strong (50 %); B weak at <= 10 % makes item 1 divisive.
    res = results(hundred("A", 50) + hundred("B", b_on_first), FIVE)
    assert by_item(res)[1].verdict is expected


def test_boundaries_are_exact_where_floats_are_not() -> None:
    # Five items: in floats 1.5 * (1 / 5) is 0.30000000000000004, so 3 dots in 10 would
    # miss the strong threshold by one bit; in fractions it is exactly on it, so strong.
    assert not 3 / 10 >= 1.5 * (1 / 5)
    rows = spread("A", {1: 3, 2: 7}) + spread("B", {1: 5, 2: 5})
    item = by_item(results(rows, FIVE))[1]
    assert item.support == {"A": 0.3, "B": 0.5}
    assert item.verdict is Verdict.COMMON_GROUND


def test_strong_in_one_group_and_weak_in_none_is_neither() -> None:
    res = results(hundred("A", 50) + hundred("B", 20), FIVE)
    assert by_item(res)[1].verdict is Verdict.NEITHER


def test_weak_everywhere_is_neither() -> None:
    res = results(hundred("A", 5) + hundred("B", 0), FIVE)
    assert by_item(res)[1].verdict is Verdict.NEITHER


def test_common_ground_needs_every_voting_group() -> None:
    rows = hundred("A", 50) + hundred("B", 50) + hundred("C", 25)
    assert by_item(results(rows, FIVE))[1].verdict is Verdict.NEITHER
    rows = hundred("A", 50) + hundred("B", 50) + hundred("C", 30)
    assert by_item(results(rows, FIVE))[1].verdict is Verdict.COMMON_GROUND


def test_a_group_that_did_not_vote_is_not_considered() -> None:
    # C cast nothing in this vote: it does not block common ground.
    res = results(hundred("A", 50) + hundred("B", 50), FIVE)
    assert res.groups == ["A", "B"]
    assert by_item(res)[1].verdict is Verdict.COMMON_GROUND


def test_one_voting_group_is_unclassified() -> None:
    res = results(hundred("A", 90), FIVE)
    assert not res.classified
    assert res.groups == ["A"]
    assert {r.verdict for r in res.items} == {Verdict.NEITHER}


def test_a_single_item_is_never_strong() -> None:
    # Every group gives it all its dots: that is the fair share, not 1.5 times it.
    res = results([("A", 1, 3), ("B", 1, 1)], [1])
    assert res.classified
    assert res.items[0].verdict is Verdict.NEITHER


def test_group_size_does_not_matter_only_the_spread_of_its_dots() -> None:
    # 4 GPs, 40 residents, 5 dots each: the GPs' 8 dots on item 1 are 40 % of theirs.
    gps = spread("GPs", {1: 8, 2: 4, 3: 4, 4: 2, 5: 2})
    residents = spread("Residents", {1: 20, 2: 90, 3: 40, 4: 30, 5: 20})
    res = results(gps + residents, FIVE)
    one, two = by_item(res)[1], by_item(res)[2]
    assert one.support == {"GPs": 0.4, "Residents": 0.1}
    assert one.verdict is Verdict.DIVISIVE
    assert two.verdict is Verdict.NEITHER  # 45 % of residents' dots, 20 % of GPs'


# -- the wire ------------------------------------------------------------------------------


def str_keys_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and str_keys_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(str_keys_only(v) for v in value)
    return isinstance(value, str | int | float | bool) or value is None


def test_to_wire_is_plain_json() -> None:
    rows = [*hundred("A", 50), *hundred("B", 5), (None, 2, 1)]
    res = results(rows, FIVE)
    wire = res.to_wire()
    assert str_keys_only(wire)
    assert json.loads(json.dumps(wire)) == wire
    first = wire["items"][0]
    assert first == {
        "item": 1,
        "total": 55,
        "rank": 1,
        "by_group": {NO_GROUP: 0, "A": 50, "B": 5},
        "support": {NO_GROUP: 0.0, "A": 0.5, "B": 0.05},
        "verdict": "divisive",
    }
    assert wire["groups"] == [NO_GROUP, "A", "B"]
    assert wire["dots_by_group"] == {NO_GROUP: 1, "A": 100, "B": 100}
    assert wire["classified"] is True
    assert set(wire) == {"items", "groups", "dots_by_group", "classified"}


# -- docs/results.md -----------------------------------------------------------------------

EXAMPLE_MARKER = "<!-- results-example:"
CELL = re.compile(r"^(\d+) \((\d+)%\)$")


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def example_table() -> list[list[str]]:
    lines = RESULTS_MD.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(EXAMPLE_MARKER))
    table = []
    for line in lines[start + 1 :]:
        if not line.startswith("|"):
            break
        table.append(cells(line))
    return table


def test_docs_state_the_constants_the_code_uses() -> None:
    text = RESULTS_MD.read_text(encoding="utf-8")
    for name, value in (("STRONG_FACTOR", STRONG_FACTOR), ("WEAK_FACTOR", WEAK_FACTOR)):
        found = re.search(rf"`{name} = ([0-9.]+)`", text)
        assert found, f"docs/results.md does not state `{name} = ...`"
        assert Fraction(found.group(1)) == value, f"docs/results.md states another {name}"
    assert f"`{NO_GROUP}`" in text


def test_docs_worked_example_matches_results() -> None:
    header, _, *body = example_table()
    groups = header[2:-4]
    assert header[:2] == ["id", "theme"]
    assert header[-4:] == ["total", "rank", "verdict", "why"]
    *item_rows, all_dots = body
    assert all_dots[1] == "all dots"

    rows: list[Row] = []
    expected: list[tuple[int, int, int, dict[str, int], dict[str, Fraction], Verdict]] = []
    for line in item_rows:
        item = int(line[0])
        counts: dict[str, int] = {}
        percents: dict[str, Fraction] = {}
        for group, cell in zip(groups, line[2:-4], strict=True):
            match = CELL.match(cell)
            assert match, f"docs/results.md: cell {cell!r} is not 'dots (percent%)'"
            counts[group] = int(match.group(1))
            percents[group] = Fraction(int(match.group(2)), 100)
            rows.append((group, item, counts[group]))
        total, rank, verdict = int(line[-4]), int(line[-3]), Verdict(line[-2].replace(" ", "_"))
        expected.append((item, total, rank, counts, percents, verdict))

    res = results(rows, [e[0] for e in expected])
    assert res.classified
    assert res.groups == sorted(groups)
    assert res.dots_by_group == {g: int(c) for g, c in zip(groups, all_dots[2:-4], strict=True)}
    assert sum(res.dots_by_group.values()) == int(all_dots[-4])
    # The table lists the items in the order results() ranks them.
    assert [r.item for r in res.items] == [e[0] for e in expected]
    for got, (item, total, rank, counts, percents, verdict) in zip(
        res.items, expected, strict=True
    ):
        assert (got.item, got.total, got.rank, got.verdict) == (item, total, rank, verdict)
        assert got.by_group == counts
        assert sum(counts.values()) == total
        for group, percent in percents.items():
            # The percentages shown are exact in this example: no rounding to argue about.
            assert Fraction(counts[group], res.dots_by_group[group]) == percent, (item, group)
            assert got.support[group] == float(percent)
    assert {r.verdict for r in res.items} == set(Verdict), "the example shows every verdict"


# -- properties ----------------------------------------------------------------------------

GROUP_NAMES = st.sampled_from([None, "GPs", "Residents", "Staff", "Board"])
KNOWN_ITEMS = st.lists(st.integers(1, 10), max_size=8)
# Item ids up to 13, so some rows fall on items that are not on the vote.
RANDOM_ROWS = st.lists(st.tuples(GROUP_NAMES, st.integers(1, 13), st.integers(0, 6)), max_size=40)


@st.composite
def agreeing_rows(draw: st.DrawFn) -> list[Row]:
    """Random rows plus a favourite item on which several groups pile dots, so that
    common ground (rare among random rows) is generated too."""
    rows = draw(RANDOM_ROWS)
    favourite = draw(st.integers(1, 10))
    fans = draw(st.lists(GROUP_NAMES, min_size=1, max_size=5, unique=True))
    return rows + [(g, favourite, draw(st.integers(1, 30))) for g in fans]


ROWS = st.one_of(RANDOM_ROWS, agreeing_rows())
PROPERTY = settings(max_examples=200, deadline=None)


def reference(rows: Iterable[Row], items: list[int]) -> dict[int, Verdict]:
    """The verdicts recomputed independently, by integer cross-multiplication:
    d / D >= F / n  <=>  d * n * F.denominator >= F.numerator * D."""
    known = set(items)
    dots: dict[tuple[str, int], int] = {}
    cast: dict[str, int] = {}
    for group, item, count in rows:
        if item in known and count > 0:
            g = NO_GROUP if group is None else group
            dots[g, item] = dots.get((g, item), 0) + count
            cast[g] = cast.get(g, 0) + count
    n = len(known)
    out = {}
    for item in known:
        strong, weak = [], []
        for g, total in cast.items():
            d = dots.get((g, item), 0)
            strong.append(d * n * STRONG_FACTOR.denominator >= STRONG_FACTOR.numerator * total)
            weak.append(d * n * WEAK_FACTOR.denominator <= WEAK_FACTOR.numerator * total)
        if len(cast) < 2:
            out[item] = Verdict.NEITHER
        elif all(strong):
            out[item] = Verdict.COMMON_GROUND
        elif any(
            strong[a] and weak[b] for a in range(len(cast)) for b in range(len(cast)) if a != b
        ):
            out[item] = Verdict.DIVISIVE
        else:
            out[item] = Verdict.NEITHER
    return out


def verdicts(res: VoteResults) -> dict[int, Verdict]:
    return {r.item: r.verdict for r in res.items}


@PROPERTY
@given(ROWS, KNOWN_ITEMS)
def test_totals_add_up(rows: list[Row], items: list[int]) -> None:
    res = results(rows, items)
    on_known = sum(count for _, item, count in rows if item in set(items))
    assert sum(r.total for r in res.items) == on_known
    assert sum(res.dots_by_group.values()) == on_known
    assert sorted(r.item for r in res.items) == sorted(set(items))
    for r in res.items:
        assert list(r.by_group) == res.groups
        assert list(r.support) == res.groups
        assert sum(r.by_group.values()) == r.total
    for g in res.groups:
        assert sum(r.by_group[g] for r in res.items) == res.dots_by_group[g] > 0


@PROPERTY
@given(ROWS, KNOWN_ITEMS)
def test_ranks_follow_totals(rows: list[Row], items: list[int]) -> None:
    ranked = results(rows, items).items
    for before, after in pairwise(ranked):
        assert (before.total, -before.item) > (after.total, -after.item)
        assert before.rank <= after.rank
        assert (before.rank == after.rank) == (before.total == after.total)
    for r in ranked:
        assert r.rank == 1 + sum(1 for o in ranked if o.total > r.total)


@PROPERTY
@given(ROWS, KNOWN_ITEMS)
def test_verdicts_match_an_independent_recomputation(rows: list[Row], items: list[int]) -> None:
    res = results(rows, items)
    assert verdicts(res) == reference(rows, items)
    assert res.classified == (len(res.groups) >= 2)
    n = len(res.items)
    for r in res.items:
        shares = [Fraction(r.by_group[g], res.dots_by_group[g]) for g in res.groups]
        for share, shown in zip(shares, r.support.values(), strict=True):
            assert abs(float(share) - shown) <= 0.00005
        weak_somewhere = any(s <= WEAK_FACTOR / n for s in shares)
        strong_somewhere = any(s >= STRONG_FACTOR / n for s in shares)
        if r.verdict is Verdict.COMMON_GROUND:
            assert not weak_somewhere  # so it cannot also be divisive
        if r.verdict is Verdict.DIVISIVE:
            assert strong_somewhere
            assert weak_somewhere


@PROPERTY
@given(st.data(), ROWS, KNOWN_ITEMS)
def test_order_of_the_input_does_not_matter(
    data: st.DataObject, rows: list[Row], items: list[int]
) -> None:
    shuffled_rows = data.draw(st.permutations(rows))
    shuffled_items = data.draw(st.permutations(items))
    assert results(shuffled_rows, shuffled_items) == results(rows, items)


@PROPERTY
@given(st.data(), ROWS, KNOWN_ITEMS)
def test_scaling_a_groups_dots_changes_no_verdict(
    data: st.DataObject, rows: list[Row], items: list[int]
) -> None:
    # Shares are scale-free: a group twice the size voting the same way says the same.
    factor = {g: data.draw(st.integers(1, 7), label=f"factor {g}") for g, _, _ in rows}
    scaled = [(g, item, count * factor[g]) for g, item, count in rows]
    before, after = results(rows, items), results(scaled, items)
    assert verdicts(after) == verdicts(before)
    assert after.groups == before.groups
    assert {r.item: r.support for r in after.items} == {r.item: r.support for r in before.items}


@PROPERTY
@given(ROWS, KNOWN_ITEMS, st.integers(2, 7))
def test_scaling_everyone_alike_keeps_the_ranking(
    rows: list[Row], items: list[int], k: int
) -> None:
    before = results(rows, items)
    after = results([(g, item, count * k) for g, item, count in rows], items)
    assert [(r.item, r.rank, r.verdict) for r in after.items] == [
        (r.item, r.rank, r.verdict) for r in before.items
    ]
    assert [r.total for r in after.items] == [r.total * k for r in before.items]
