"""Token buckets: the arithmetic every fair share rests on, on a clock the test holds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plenary.throttle import Bucket, Buckets, Counter, Rate, retry_after_header, retry_after_ms


def test_a_full_bucket_spends_its_burst_then_says_how_long_to_wait() -> None:
    bucket = Bucket(Rate(rate=2.0, burst=5), now=0.0)
    assert [bucket.take(0.0) for _ in range(5)] == [0.0] * 5
    assert bucket.take(0.0) == pytest.approx(0.5)  # one token at 2 a second
    assert bucket.take(0.25) == pytest.approx(0.25)
    assert bucket.take(0.5) == 0.0


def test_refill_never_passes_the_burst() -> None:
    bucket = Bucket(Rate(rate=10.0, burst=3), now=0.0)
    for _ in range(3):
        bucket.take(0.0)
    assert bucket.full(3600.0)
    assert [bucket.take(3600.0) for _ in range(4)][-1] > 0


def test_a_clock_going_backwards_spends_nothing_extra() -> None:
    bucket = Bucket(Rate(rate=1.0, burst=1), now=10.0)
    assert bucket.take(10.0) == 0.0
    assert bucket.take(5.0) > 0  # no refill from the past


@given(
    rate=st.floats(0.1, 100),
    burst=st.integers(1, 200),
    gaps=st.lists(st.floats(0, 2), min_size=1, max_size=200),
)
def test_what_passes_never_exceeds_the_burst_plus_the_rate_times_the_time(
    rate: float, burst: int, gaps: list[float]
) -> None:
    bucket = Bucket(Rate(rate, burst), now=0.0)
    now, passed = 0.0, 0
    for gap in gaps:
        now += gap
        if bucket.take(now) == 0.0:
            passed += 1
    assert passed <= burst + rate * now + 1e-6


def test_retry_hints_are_never_zero() -> None:
    assert retry_after_ms(0.0001) == 1
    assert retry_after_ms(0.25) == 250
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(2.1) == "3"


def test_keyed_buckets_are_separate_and_bounded() -> None:
    buckets: Buckets[str] = Buckets(Rate.per_minute(2), max_keys=3)
    assert buckets.take("a", 0.0) == 0.0 and buckets.take("a", 0.0) == 0.0
    assert buckets.take("a", 0.0) > 0
    assert buckets.take("b", 0.0) == 0.0  # another key's share is its own
    assert buckets.wait("a", 0.0) > 0 and buckets.wait("nobody", 0.0) == 0.0
    for key in "cdefgh":
        buckets.take(key, 0.0)
    assert len(buckets) <= 3


def test_eviction_drops_refilled_buckets_first() -> None:
    buckets: Buckets[str] = Buckets(Rate(rate=1.0, burst=1), max_keys=2)
    buckets.take("busy", 100.0)
    buckets.take("idle", 0.0)  # refilled by t=100
    buckets.take("new", 100.0)
    assert buckets.wait("busy", 100.0) > 0, "the bucket in use was kept"


def test_counter_caps_and_releases() -> None:
    open_: Counter[str] = Counter(2)
    assert open_.acquire("x") and open_.acquire("x")
    assert not open_.acquire("x")
    assert open_.acquire("y")
    open_.release("x")
    assert open_.count("x") == 1 and open_.acquire("x")
    open_.release("y")
    assert open_.count("y") == 0


def test_a_cost_known_after_the_fact_is_charged_into_debt() -> None:
    bucket = Bucket(Rate(rate=0.25, burst=2), now=0.0)
    assert bucket.owed(0.0) == 0.0
    bucket.charge(0.0, 3.0)  # a job took 3 s of a 2 s burst
    assert bucket.owed(0.0) == pytest.approx(4.0, abs=0.01)  # 1 s of debt at 0.25/s
    assert bucket.owed(4.1) == 0.0
