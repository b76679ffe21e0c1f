"""Per-address limits (``web/guard.py``): pure arithmetic on a clock the test sets."""

from __future__ import annotations

import math

from plenary.config import load
from plenary.throttle import Rate
from plenary.web.guard import AddressGuard, Ask

T0 = 1000.0


def guard(joins: int = 600, lookups: int = 600, misses: int = 20) -> AddressGuard:
    return AddressGuard(
        Rate.per_minute(joins), Rate.per_minute(lookups), Rate.per_minute(misses), 1000
    )


def test_built_from_the_settings() -> None:
    config = load(
        {
            "PLENARY_SECRET": "only-so-that-nothing-is-generated",
            "PLENARY_ADDRESS_JOINS_PER_MINUTE": "7",
            "PLENARY_ADDRESS_LOOKUPS_PER_MINUTE": "8",
            "PLENARY_ADDRESS_MISSES_PER_MINUTE": "9",
            "PLENARY_ADDRESS_CONNECTIONS": "10",
        }
    )
    g = AddressGuard.from_config(config)
    assert (g.joins.rate, g.lookups.rate, g.misses.rate) == (
        Rate.per_minute(7),
        Rate.per_minute(8),
        Rate.per_minute(9),
    )
    assert g.connections.limit == 10


def test_a_room_of_250_joins_in_a_minute_at_the_defaults() -> None:
    g = AddressGuard.from_config(load({"PLENARY_SECRET": "only-so-that-nothing-is-generated"}))
    # Twice over, for the retries of a room on venue wifi, all within one second.
    assert all(g.admit("venue", Ask.SIGN_IN, code=True, now=T0) == 0 for _ in range(500))


def test_past_the_limit_the_wait_is_until_the_next_token() -> None:
    g = guard(joins=3)
    assert [g.admit("a", Ask.SIGN_IN, code=True, now=T0) for _ in range(3)] == [0, 0, 0]
    assert g.admit("a", Ask.SIGN_IN, code=True, now=T0) == 20.0  # 3 a minute: one per 20 s
    assert g.admit("b", Ask.SIGN_IN, code=True, now=T0) == 0, "other addresses are not held"
    assert g.admit("a", Ask.LOOKUP, code=True, now=T0) == 0, "look-ups have their own bucket"
    assert g.admit("a", Ask.SIGN_IN, code=True, now=T0 + 20) == 0


def test_once_the_misses_are_spent_every_code_waits() -> None:
    g = guard(misses=20)
    for _ in range(20):
        assert g.admit("a", Ask.LOOKUP, code=True, now=T0) == 0
        g.missed("a", now=T0)
    wait = g.admit("a", Ask.LOOKUP, code=True, now=T0)
    assert math.isclose(wait, 3.0)  # 20 a minute: one more guess every 3 s
    assert g.admit("a", Ask.SIGN_IN, code=True, now=T0) == wait, "on every route"
    assert g.admit("a", Ask.SIGN_IN, code=False, now=T0) == 0, "facilitator sign-ins carry none"
    assert g.admit("b", Ask.SIGN_IN, code=True, now=T0) == 0
    # A refused request spends nothing: after the wait, exactly one more guess.
    assert g.admit("a", Ask.LOOKUP, code=True, now=T0 + 3) == 0
    g.missed("a", now=T0 + 3)
    assert g.admit("a", Ask.LOOKUP, code=True, now=T0 + 3) > 0


def test_guessing_rate_is_the_documented_one() -> None:
    """20 misses a minute, whatever the caller does: 10.5 million guesses a year."""
    g = guard(joins=10**9, lookups=10**9, misses=20)
    now, guesses = T0, 0
    while now < T0 + 3600:
        wait = g.admit("a", Ask.LOOKUP, code=True, now=now)
        if wait > 0:
            now += wait
            continue
        g.missed("a", now=now)
        guesses += 1
    assert 20 * 60 <= guesses <= 20 * 60 + 20 + 1  # the hour's rate, plus one burst
