"""Per-address limits: what one client address may ask of this process.

A whole room sits behind one venue NAT, so the limits are sized for a room (250 phones
joining in a minute, twice over for retries) and not for a person. What they stop is one
address guessing join codes: misses, codes that name no event, have a bucket of their
own, 20 a minute by default, and once it is empty every code from that address is
answered 429 until it refills. docs/protocol.md ("Per-address limits") has the
arithmetic: at 20 misses a minute, finding any of 10,000 live events among 27^8 codes
takes an address 2.7 years on average.

The buckets are per process: behind a load balancer with N nodes an address gets N times
the rate at most, which the arithmetic survives (N = 4 is still 8 months per address).
"""

from __future__ import annotations

import time
from enum import Enum

from ..config import Config
from ..throttle import Buckets, Counter, Rate


class Ask(Enum):
    """What an HTTP request spends: a sign-in, or a look-up of a code."""

    SIGN_IN = "sign-in"  # join, observe, facilitate
    LOOKUP = "lookup"  # GET /api/codes/{code}


class AddressGuard:
    """The per-address buckets of this process, and its open-socket counts."""

    def __init__(self, joins: Rate, lookups: Rate, misses: Rate, connections: int) -> None:
        self.joins: Buckets[str] = Buckets(joins)
        self.lookups: Buckets[str] = Buckets(lookups)
        self.misses: Buckets[str] = Buckets(misses)
        # Open websocket connections per address (PLENARY_ADDRESS_CONNECTIONS).
        self.connections: Counter[str] = Counter(connections)

    @classmethod
    def from_config(cls, config: Config) -> AddressGuard:
        return cls(
            joins=Rate.per_minute(config.address_joins_per_minute),
            lookups=Rate.per_minute(config.address_lookups_per_minute),
            misses=Rate.per_minute(config.address_misses_per_minute),
            connections=config.address_connections,
        )

    def admit(self, address: str, ask: Ask, *, code: bool, now: float | None = None) -> float:
        """Take one from the bucket ``ask`` spends: 0.0 if the request may go ahead, else
        the seconds until it may (nothing is taken then). A request that carries a join
        code is refused outright while the address has no misses left: a guesser learns
        nothing, not even from a hit, until the bucket refills."""
        now = time.monotonic() if now is None else now
        if code:
            wait = self.misses.wait(address, now)
            if wait > 0:
                return wait
        bucket = self.lookups if ask is Ask.LOOKUP else self.joins
        return bucket.take(address, now)

    def missed(self, address: str, now: float | None = None) -> None:
        """A code from ``address`` named no event."""
        self.misses.take(address, now)
