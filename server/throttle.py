"""Fair shares: token buckets, per connection, per token and per client address.

A bucket holds up to ``burst`` tokens and refills at ``rate`` per second; each action
takes one. An empty bucket says how long until the next token, which is the retry hint
clients get (``rate_limited`` with ``detail.retry_after_ms``, or HTTP 429 with
``Retry-After``). Pure arithmetic on a clock the caller passes in: no I/O, no tasks.

Keyed buckets (``Buckets``) are bounded: a flood of distinct addresses cannot grow them
without limit, because a bucket that has refilled is indistinguishable from a new one
and is dropped first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")


@dataclass(frozen=True)
class Rate:
    """``rate`` actions per second on average, ``burst`` at once."""

    rate: float
    burst: int

    @classmethod
    def per_minute(cls, n: int) -> Rate:
        return cls(n / 60.0, n)


class Bucket:
    __slots__ = ("_level", "_stamp", "rate")

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self._level = float(rate.burst)
        self._stamp = now

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._level = min(
                float(self.rate.burst), self._level + (now - self._stamp) * self.rate.rate
            )
            self._stamp = now

    def take(self, now: float, n: float = 1.0) -> float:
        """Take ``n`` tokens: 0.0 if they were there, else the seconds until they will be
        (nothing is taken then)."""
        self._refill(now)
        if self._level >= n:
            self._level -= n
            return 0.0
        return (n - self._level) / self.rate.rate

    def charge(self, now: float, n: float) -> None:
        """Spend ``n`` after the fact, into debt if need be: for costs known only once paid
        (the seconds a job took)."""
        self._refill(now)
        self._level -= n

    def owed(self, now: float) -> float:
        """Seconds until the bucket is out of debt (0.0: it is not in debt)."""
        self._refill(now)
        return 0.0 if self._level > 0 else (1e-3 - self._level) / self.rate.rate

    def wait(self, now: float) -> float:
        """Seconds until one token is there, taking nothing."""
        self._refill(now)
        return 0.0 if self._level >= 1.0 else (1.0 - self._level) / self.rate.rate

    def full(self, now: float) -> bool:
        self._refill(now)
        return self._level >= self.rate.burst


def retry_after_ms(wait_s: float) -> int:
    return max(1, math.ceil(wait_s * 1000))


def retry_after_header(wait_s: float) -> str:
    """``Retry-After`` takes whole seconds; never 0, or a client retries at once."""
    return str(max(1, math.ceil(wait_s)))


class Buckets(Generic[K]):
    """One bucket per key (an address, a token), at most ``max_keys`` of them."""

    def __init__(self, rate: Rate, max_keys: int = 100_000) -> None:
        self.rate = rate
        self._max_keys = max_keys
        self._buckets: OrderedDict[K, Bucket] = OrderedDict()

    def take(self, key: K, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._evict(now)
            bucket = self._buckets[key] = Bucket(self.rate, now)
        else:
            self._buckets.move_to_end(key)
        return bucket.take(now)

    def wait(self, key: K, now: float | None = None) -> float:
        """How long until ``key`` may act again (0.0: now), taking nothing."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        return 0.0 if bucket is None else bucket.wait(now)

    def _evict(self, now: float) -> None:
        """Drop refilled buckets (oldest first); if every one is in use, the oldest."""
        for key in [k for k, b in self._buckets.items() if b.full(now)]:
            del self._buckets[key]
        while len(self._buckets) >= self._max_keys:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)


class Counter(Generic[K]):
    """Open things per key (sockets per address), capped."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[K, int] = {}

    def acquire(self, key: K) -> bool:
        n = self._open.get(key, 0)
        if n >= self.limit:
            return False
        self._open[key] = n + 1
        return True

    def release(self, key: K) -> None:
        n = self._open.get(key, 0) - 1
        if n > 0:
            self._open[key] = n
        else:
            self._open.pop(key, None)

    def count(self, key: K) -> int:
        return self._open.get(key, 0)


class Penalties(Generic[K]):
    """Keys sent away until a time: a connection closed for flooding may not come back
    (with the same token) before its backoff, so a reconnect loop costs one cheap refusal
    per attempt instead of a handshake, a catch-up and another flood each time."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._max_keys = max_keys
        self._until: OrderedDict[K, float] = OrderedDict()

    def impose(self, key: K, seconds: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._until[key] = now + seconds
        self._until.move_to_end(key)
        while len(self._until) > self._max_keys:
            self._until.popitem(last=False)

    def remaining(self, key: K, now: float | None = None) -> float:
        """Seconds ``key`` must still wait (0.0: none)."""
        until = self._until.get(key)
        if until is None:
            return 0.0
        now = time.monotonic() if now is None else now
        if until <= now:
            del self._until[key]
            return 0.0
        return until - now
