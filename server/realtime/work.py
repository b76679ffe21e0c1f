"""Heavy pure work off the event loop: a worker process, a time budget.

A draft save normalises up to 300,000 characters, matches its sections with the last
version's and diffs them; a conflict merges three versions; a publication diffs two.
Bounded by the draft caps (drafts.SECTIONS_MAX and the rest) that is still up to a few
hundred milliseconds of CPU, and anyone who creates an event is a writer. On the loop it
would hold every other event's acks for that long; in a thread it would still share the
GIL with the loop. So it runs in a worker process, and the loop waits for it like for the
database.

One worker per server process: on a two-core machine the loop has the other core, and
saves are rare (a writing team, at night). The pool starts on first use ("spawn": the
server has threads, which fork would copy mid-state); starting it is not charged to the
first job's budget.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ..errors import Code, Rejection

log = logging.getLogger("plenary.work")

T = TypeVar("T")

# A new worker imports the domain (about 0.3 s here); on a loaded machine much more. Only
# a pool that never starts is a failure.
START_TIMEOUT_S = 120.0

_pool: ProcessPoolExecutor | None = None
_started: Future[bool] | None = None


def _ready() -> bool:
    return True


def _get_pool() -> tuple[ProcessPoolExecutor, Future[bool]]:
    global _pool, _started
    if _pool is None or _started is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        _started = _pool.submit(_ready)
    return _pool, _started


def _reset() -> None:
    global _pool, _started
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
    _pool, _started = None, None


async def run(budget_s: float, fn: Callable[..., T], *args: Any) -> T | Rejection:
    """``fn(*args)`` in the worker, or a refusal: ``invalid`` when it takes longer than
    ``budget_s`` (the work goes on in the worker, bounded by the caps, but nobody waits for
    it; work queued behind it and no longer awaited is cancelled), ``unavailable`` when
    the worker cannot be started or died. ``fn`` is a module-level function and ``args``
    plain data: both are pickled to the worker."""
    for attempt in (1, 2):
        pool, started = _get_pool()
        try:
            await asyncio.wait_for(asyncio.wrap_future(started), START_TIMEOUT_S)
            return await asyncio.wait_for(asyncio.wrap_future(pool.submit(fn, *args)), budget_s)
        except TimeoutError:
            if not started.done():
                log.error("the worker process did not start within %.0f s", START_TIMEOUT_S)
                _reset()
                return Rejection(Code.UNAVAILABLE, "the server is busy; retry")
            return Rejection(
                Code.INVALID,
                f"working this draft out took longer than {budget_s:g} s: "
                "make it shorter, or split it into fewer sections",
            )
        except BrokenProcessPool:
            # A worker killed (out of memory, say): one new pool, then give up.
            log.error("the worker process died; starting another (attempt %d)", attempt)
            _reset()
    return Rejection(Code.UNAVAILABLE, "the server could not work out this draft; retry")


def shutdown() -> None:
    """Stop the worker (tests and a stopping server)."""
    _reset()
