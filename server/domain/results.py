"""Dot-vote results: items ranked by dots, the same tallies by stakeholder group, and
which items are common ground and which divide the room.

Pure and plain-valued: it takes dot rows and the votable items, not an ``EventState``,
so the same function serves the facilitator's live view, the projector and the export.
The classification rule, its reasons and a worked example are in docs/results.md, whose
example table the tests check against this module.

Why shares and not raw counts: groups differ in size (10 GPs, 40 residents). Each
group's voice is the way *it* spread its own dots, so an item's support in a group is the
share of that group's dots it received, and a group of 10 counts as much as a group of 40.

All threshold comparisons are exact (``Fraction``), so an item exactly on a threshold is
classified the same way on every machine; only the ``support`` values handed out are
rounded floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

# An item is *strong* in a group that gives it at least 1.5 times the fair share (the share
# each item would get if the group spread its dots evenly): with 5 items, 30 % of the
# group's dots or more.
STRONG_FACTOR = Fraction("1.5")
# An item is *weak* in a group that gives it at most half the fair share: with 5 items,
# 10 % or less. WEAK_FACTOR < STRONG_FACTOR, so no item is both strong and weak in one
# group, and common ground and divisive cannot both hold.
WEAK_FACTOR = Fraction("0.5")
# Classifying needs something to compare: with one voting group there are no "others".
MIN_GROUPS = 2
# Where the dots of voters without a stakeholder group are counted. A real group of this
# name would be merged with them; the name is chosen so that no event should want it.
NO_GROUP = "(no group)"
# Decimal places of the ``support`` shares handed out (4 places: 0.01 % resolution).
SUPPORT_DIGITS = 4


class Verdict(StrEnum):
    COMMON_GROUND = "common_ground"  # strong in every voting group
    DIVISIVE = "divisive"  # strong in at least one voting group, weak in another
    NEITHER = "neither"


@dataclass(frozen=True)
class ItemResult:
    """One item's result: its dots, its rank, its dots and support per group, its verdict."""

    item: int  # note or theme id
    total: int  # dots on it
    rank: int  # competition ranking: 1, 2, 2, 4 (ties share a rank)
    by_group: dict[str, int]  # dots per voting group (every voting group, 0 if none)
    support: dict[str, float]  # per voting group: its dots on the item / all dots it cast
    verdict: Verdict


@dataclass(frozen=True)
class VoteResults:
    """The results of one vote. ``classified`` is False when fewer than ``MIN_GROUPS``
    groups voted: every verdict is then NEITHER."""

    items: list[ItemResult]  # ranked: total desc, ties by item id asc
    groups: list[str]  # the voting groups considered, sorted
    dots_by_group: dict[str, int]  # all dots each voting group cast (on known items)
    classified: bool

    def to_wire(self) -> dict[str, Any]:
        """Plain JSON-able values: lists, dicts with str keys, ints, floats, str, bool."""
        return {
            "items": [
                {
                    "item": r.item,
                    "total": r.total,
                    "rank": r.rank,
                    "by_group": dict(r.by_group),
                    "support": dict(r.support),
                    "verdict": str(r.verdict),
                }
                for r in self.items
            ],
            "groups": list(self.groups),
            "dots_by_group": dict(self.dots_by_group),
            "classified": self.classified,
        }


def results(dots: Iterable[tuple[str | None, int, int]], items: Sequence[int]) -> VoteResults:
    """The results of a vote.

    ``dots`` are ``(group of the voter or None, item id, count)`` rows; rows may repeat a
    group and item (they are summed) and a count of 0 adds nothing. A voter without a group
    counts under ``NO_GROUP``. ``items`` is every item that can be voted on: items without
    dots appear with total 0, and dots on any other item (one deleted or hidden since) are
    ignored, as if never cast: they count in no total, no group's dots and no share.
    """
    known = set(items)
    tally: dict[str, dict[int, int]] = {}
    for group, item, count in dots:
        if count < 0:
            raise ValueError(f"a dot count cannot be negative: {count} on item {item}")
        if item not in known or count == 0:
            continue
        per_item = tally.setdefault(NO_GROUP if group is None else group, {})
        per_item[item] = per_item.get(item, 0) + count

    groups = sorted(tally)  # a group "voted" iff it has a dot on a known item
    cast = {g: sum(tally[g].values()) for g in groups}
    classified = len(groups) >= MIN_GROUPS

    totals = {i: sum(tally[g].get(i, 0) for g in groups) for i in known}
    order = sorted(known, key=lambda i: (-totals[i], i))
    ranked: list[ItemResult] = []
    for position, item in enumerate(order, start=1):
        tied = bool(ranked) and ranked[-1].total == totals[item]
        by_group = {g: tally[g].get(item, 0) for g in groups}
        shares = {g: Fraction(by_group[g], cast[g]) for g in groups}
        ranked.append(
            ItemResult(
                item=item,
                total=totals[item],
                rank=ranked[-1].rank if tied else position,
                by_group=by_group,
                support={g: round(float(s), SUPPORT_DIGITS) for g, s in shares.items()},
                verdict=classify(list(shares.values()), len(known)),
            )
        )
    return VoteResults(items=ranked, groups=groups, dots_by_group=cast, classified=classified)


def classify(shares: Sequence[Fraction], n_items: int) -> Verdict:
    """Classify one item from its exact share of each voting group's dots, when there are
    ``n_items`` items on the vote. Fewer than ``MIN_GROUPS`` shares: NEITHER."""
    if len(shares) < MIN_GROUPS or n_items == 0:
        return Verdict.NEITHER
    fair = Fraction(1, n_items)
    strong = [s >= STRONG_FACTOR * fair for s in shares]
    weak = [s <= WEAK_FACTOR * fair for s in shares]
    if all(strong):
        return Verdict.COMMON_GROUND
    if any(strong) and any(weak):
        # A group cannot be both (WEAK_FACTOR < STRONG_FACTOR), so these are two groups.
        return Verdict.DIVISIVE
    return Verdict.NEITHER
