"""Draft diff benchmark: how long the morning's "what changed overnight" takes to compute.

A synthetic strategy draft (bench/draftgen.py, 20,000 words by default) and its overnight
redraft are diffed by ``plenary.domain.diff`` --runs times, by content and by lineage
ids; ``carry_ids`` is timed too. The first run is reported on its own (cold: nothing
cached yet), then the median and p90 of the rest. A *peer* is measured in the same run:
``difflib.unified_diff`` over the lines of the whole document, what a plain line diff
costs, and (unless --no-words) ``SequenceMatcher`` over every word of it, what a naive
word diff of the whole text costs. Plenary's median is quoted as a ratio to the peer's,
because these machines are noisy and a ratio measured side by side survives the noise.

    .venv/bin/python bench/diff.py
    .venv/bin/python bench/diff.py --words 100000 --runs 10
    .venv/bin/python bench/diff.py --words 2000 --runs 2 --no-words    # smoke run

Prints the summary line a reader sees, and the size of the diff on the wire (msgpack)
next to the size of the new text.

Exit status: 0 when every diff rebuilds both versions exactly (apply and revert); 1 when
one does not.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import msgpack
from draftgen import document, redraft
from plenary.domain.diff import Diff, apply, carry_ids, diff, revert, split_sections


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, float, Any]:
    """(cold, median, p90) in milliseconds, and the last result."""
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    cold, warm = times[0], sorted(times[1:] or times)
    p90 = warm[min(len(warm) - 1, int(len(warm) * 0.9))]
    return cold, statistics.median(warm), p90, result


def row(name: str, cold: float, median: float, p90: float) -> None:
    print(f"  {name:<34} {cold:9.2f} {median:9.2f} {p90:9.2f}")


def exact(old: str, new: str, d: Diff) -> bool:
    return apply(old, d) == new and revert(new, d) == old


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=20_000, help="words in the draft")
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each")
    parser.add_argument("--seed", type=int, default=1, help="seed of the draft")
    parser.add_argument(
        "--no-words", action="store_true", help="skip the slow whole-text word diff peer"
    )
    args = parser.parse_args(argv)
    runs = max(1, args.runs)

    old = document(args.words, seed=args.seed)
    new = redraft(old, seed=args.seed + 1)
    old_sections, new_sections = split_sections(old), split_sections(new)
    print(
        f"draft: {len(old.split()):,} words, {len(old):,} chars, {len(old_sections)} sections;"
        f" redraft: {len(new.split()):,} words, {len(new_sections)} sections"
    )

    old_ids = tuple(f"s{k}" for k in range(len(old_sections)))
    numbers = itertools.count(1)

    def fresh() -> str:
        return f"n{next(numbers)}"

    print(f"  {'ms':<34} {'cold':>9} {'median':>9} {'p90':>9}")
    cold, med, p90, d = timed(lambda: diff(old, new), runs)
    row("diff", cold, med, p90)
    plenary_median = med
    c_cold, c_med, c_p90, new_ids = timed(
        lambda: carry_ids(old_ids, split_sections(old), split_sections(new), fresh), runs
    )
    row("carry_ids (with splitting)", c_cold, c_med, c_p90)
    i_cold, i_med, i_p90, d_ids = timed(lambda: diff(old, new, old_ids, new_ids), runs)
    row("diff by ids", i_cold, i_med, i_p90)
    w_cold, w_med, w_p90, wire = timed(lambda: msgpack.packb(d.to_wire()), runs)
    row("to_wire + msgpack", w_cold, w_med, w_p90)

    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    u_cold, u_med, u_p90, unified = timed(
        lambda: list(difflib.unified_diff(old_lines, new_lines)), runs
    )
    row("peer: unified_diff, lines", u_cold, u_med, u_p90)
    if not args.no_words:
        old_words, new_words = old.split(), new.split()
        s_cold, s_med, s_p90, _ = timed(
            lambda: difflib.SequenceMatcher(
                None, old_words, new_words, autojunk=False
            ).get_opcodes(),
            min(runs, 3),
        )
        row("peer: SequenceMatcher, all words", s_cold, s_med, s_p90)

    print(f"summary: {d.summary.text} ({d.summary.unchanged} unchanged)")
    print(f"summary by ids: {d_ids.summary.text}")
    unified_size = len("".join(unified).encode())
    print(
        f"wire: {len(wire):,} bytes msgpack; new text {len(new.encode()):,} bytes;"
        f" unified diff {unified_size:,} bytes"
    )
    print(f"ratio diff / unified_diff (median): {plenary_median / u_med:.1f}x")
    if not args.no_words:
        print(f"ratio diff / SequenceMatcher on words (median): {plenary_median / s_med:.3f}x")

    ok = exact(old, new, d) and exact(old, new, d_ids)
    print("round trip: ok" if ok else "round trip: FAILED (apply or revert is not exact)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
