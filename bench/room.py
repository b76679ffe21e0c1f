"""Room benchmark: a scripted Real Time Strategic Change room on one server.

N participants (120 by default, a large RTSC room), spread over four stakeholder groups
and tables of eight, plus a facilitator and optional observer screens, all on websockets:

1. the facilitator adds a notes round, opens it and makes it current;
2. at a signal every participant posts one note, the sends spread uniformly over one
   second (the burst after "you have a minute, go");
3. the facilitator adds a live-results vote on the round (5 dots, at most 2 per note) and
   opens it;
4. at a signal every participant spends all 5 dots within one second (the vote storm);
5. the facilitator closes the vote.

Prints, per backend: how long until every screen has every note, per-note delivery
latency, how long until every screen has the final tally, how many ``tally`` and ``mine``
frames each screen received, server CPU and memory; and checks that nothing was lost or
duplicated, that no screen received an individual dot, and that no dot was refused.

    .venv/bin/python bench/room.py --quick
    .venv/bin/python bench/room.py                      # both backends, 120 participants, 3 runs
    .venv/bin/python bench/room.py --backend pg --participants 200 --observers 50

Exit status: 0 when every check passed; 1 when a note was lost or duplicated, a dot was
refused or broadcast, a screen missed the final tally or was closed; 2 when a server or a
client could not be started.

Server processes, temporary databases and the helpers for them come from fanout.py; see
bench/README.md for what each column means and figures measured so far.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import random
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgpack
import websockets
from fanout import (
    CONNECT_CONCURRENCY,
    CONNECT_TIMEOUT_S,
    BenchError,
    ServerProcess,
    aligned,
    cpu_seconds,
    note_text,
    percentile,
    pg_database,
    post_json,
    raise_open_file_limit,
    rss_kb,
    start_plenary,
)
from websockets.asyncio.client import ClientConnection

# Four stakeholder groups, as in a health-and-care strategy event; tables of eight are
# "max-mix": consecutive joiners cycle through the groups, so every table mixes them.
GROUPS = ("GP", "Hospital", "Resident", "Voluntary sector")
TABLE_SIZE = 8
# The vote: 5 dots each, at most 2 on one note, results shown live.
BUDGET = 5
CAP = 2
# A participant per ~60 clients per receiver process: each screen here receives far fewer
# frames than in fanout.py (one burst, not a stream), so one process keeps up with 60+
# clients easily; two processes also spread the senders over both CPUs.
CLIENTS_PER_PROC = 60
# The "go" signal names a moment this far ahead, so every receiver process starts its
# burst at the same instant although the signal reaches them a little apart.
GO_AHEAD_S = 0.3
# Each phase (all writes answered, every screen up to date, every screen has the final
# tally) gets this long. A server that keeps up needs a few seconds; past this the run
# reports what is missing instead of hanging.
PHASE_TIMEOUT_S = 30.0
# How often a wait checks its screens. Figures come from the receive stamps, not from
# when the poll noticed, so this only sets how soon the next phase starts.
POLL_S = 0.01
# How long the main process waits for a receiver process's answer beyond the phase
# itself: spawn, import and pickling the report take a second or two on a busy machine.
ANSWER_SLACK_S = 30.0

_DOT_KINDS = frozenset({"dot.added", "dot.removed"})


# -- one screen ---------------------------------------------------------------------------


@dataclass
class Seen:
    """What one screen received and sent, stamped with CLOCK_MONOTONIC ns (shared by all
    processes on Linux, so stamps from different processes compare). Picklable: receiver
    processes send it back whole."""

    role: str
    cursor: int = 0  # the `upto` of the last ops frame: the protocol's resume point
    notes: dict[int, int] = field(default_factory=dict)  # note seq -> first receipt
    note_rounds: set[int | None] = field(default_factory=set)  # rounds of notes received
    dup: int = 0  # ops at or below the cursor (already had)
    broken: int = 0  # ops frames whose upto is below one of their ops
    dot_ops: int = 0  # dot.added / dot.removed ops received: no screen may get one
    tallies: list[tuple[int, int, int, int]] = field(default_factory=list)  # ns, vote, seq, dots
    mines: list[tuple[int, int, int, int]] = field(default_factory=list)  # ns, vote, left, placed
    sent: dict[str, int] = field(default_factory=dict)  # op id -> send time
    acked: dict[str, tuple[int, int]] = field(default_factory=dict)  # op id -> (seq, time)
    refused: dict[str, str] = field(default_factory=dict)  # op id -> error code
    close_code: int | None = None  # set when the server (not we) closed it
    resync: bool = False
    closing: bool = False  # set when we close it: a close after this is ours


class Client:
    """One websocket client: reads every frame as it arrives and keeps what ``Seen`` holds."""

    def __init__(self, role: str, token: str) -> None:
        self.token = token
        self.seen = Seen(role)
        self.ws: ClientConnection | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, url: str) -> None:
        self.ws = await websockets.connect(
            url,
            compression=None,
            max_size=None,
            open_timeout=CONNECT_TIMEOUT_S,
            # The server pings every 25 s; the client's own pings would only add traffic.
            ping_interval=None,
            close_timeout=1,
        )
        await self.ws.send(msgpack.packb({"t": "hello", "token": self.token, "since": 0}))
        welcome = msgpack.unpackb(await self.ws.recv(), raw=False)
        if welcome.get("t") != "welcome":
            raise BenchError(f"expected welcome, got {welcome!r}")
        self._reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws: ClientConnection) -> None:
        """Read every frame as it comes: a screen that stops reading is, rightly, closed
        by the server as too slow."""
        now = time.monotonic_ns
        seen = self.seen
        try:
            async for raw in ws:
                t = now()
                frame = msgpack.unpackb(raw, raw=False)
                kind = frame["t"]
                if kind == "ops":
                    self._ops(frame, t)
                elif kind == "tally":
                    dots = sum(item["total"] for item in frame["results"]["items"])
                    seen.tallies.append((t, frame["vote"], frame["seq"], dots))
                elif kind == "mine":
                    placed = sum(d["count"] for d in frame["dots"])
                    seen.mines.append((t, frame["vote"], frame["remaining"], placed))
                elif kind == "ack":
                    seen.acked[frame["id"]] = (frame["seq"], t)
                    self._answer(frame)
                elif kind == "error":
                    if frame.get("id") is not None:
                        seen.refused[frame["id"]] = frame["code"]
                    self._answer(frame)
                elif kind == "snapshot":  # only if the resume window were exceeded
                    seen.cursor = frame["seq"]
                elif kind == "resync":
                    seen.resync = True
        except websockets.ConnectionClosed as exc:
            if not seen.closing:
                seen.close_code = exc.rcvd.code if exc.rcvd else 1006
        if not seen.closing and seen.close_code is None:
            seen.close_code = ws.close_code or 1000

    def _ops(self, frame: dict[str, Any], t: int) -> None:
        """Apply the client checklist of docs/protocol.md: drop seq <= cursor, then move
        the cursor to `upto`, which also covers the seqs this role may not see (dots)."""
        seen = self.seen
        for op in frame["ops"]:
            seq = op["seq"]
            if seq <= seen.cursor:
                seen.dup += 1
                continue
            if seq > frame["upto"]:
                seen.broken += 1
            kind = op["kind"]
            if kind == "note.added":
                seen.notes[seq] = t
                seen.note_rounds.add(op["data"].get("round"))
            elif kind in _DOT_KINDS:
                seen.dot_ops += 1
        seen.cursor = max(seen.cursor, frame["upto"])

    def _answer(self, frame: dict[str, Any]) -> None:
        waiter = self._waiting.pop(frame.get("id") or "", None)
        if waiter is not None and not waiter.done():
            waiter.set_result(frame)

    async def write(self, op_id: str, op: dict[str, Any]) -> None:
        assert self.ws is not None
        self.seen.sent[op_id] = time.monotonic_ns()
        await self.ws.send(msgpack.packb({"t": "write", "id": op_id, "op": op}))

    async def request(self, op_id: str, op: dict[str, Any]) -> int:
        """Write and wait for the ack: the seq the op became. For the facilitator's steps,
        where a refusal means the script (or the server) is wrong."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[op_id] = waiter
        await self.write(op_id, op)
        try:
            async with asyncio.timeout(PHASE_TIMEOUT_S):
                reply = await waiter
        except TimeoutError:
            raise BenchError(f"no reply to {op['kind']} within {PHASE_TIMEOUT_S:.0f} s") from None
        if reply["t"] != "ack":
            raise BenchError(f"{op['kind']} refused: {reply.get('code')}: {reply.get('message')}")
        return int(reply["seq"])

    async def close(self) -> None:
        self.seen.closing = self.seen.close_code is None
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


def satisfied(seen: Seen, what: str, arg: tuple[int, ...]) -> bool:
    """Whether one screen has reached a phase's goal. A screen the server closed never
    will: it counts as a failure in the results, and must not hold up the run."""
    if seen.close_code is not None or seen.resync:
        return True
    if what == "cursor":
        return seen.cursor >= arg[0]
    if what == "tally":  # a tally of vote `arg[0]` with `arg[1]` dots, at seq >= `arg[2]`
        vote, dots, min_seq = arg
        return any(v == vote and d == dots and s >= min_seq for _, v, s, d in seen.tallies)
    if what == "replied":  # every write answered, by an ack or an error
        return len(seen.acked) + len(seen.refused) >= len(seen.sent)
    raise ValueError(what)


async def wait_for(seens: Sequence[Seen], what: str, arg: tuple[int, ...], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not all(satisfied(s, what, arg) for s in seens):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


async def sleep_until(at_ns: int) -> None:
    delay = (at_ns - time.monotonic_ns()) * 1e-9
    if delay > 0:
        await asyncio.sleep(delay)


def pick_dots(rng: random.Random, items: Sequence[int], budget: int, cap: int) -> list[int]:
    """``budget`` random items, none more than ``cap`` times: what a participant who
    respects the vote's rules taps. The server must then accept every one."""
    placed: Counter[int] = Counter()
    picks: list[int] = []
    while len(picks) < budget:
        item = rng.choice(items)
        if placed[item] < cap:
            placed[item] += 1
            picks.append(item)
    return picks


async def post_note(client: Client, index: int, at_ns: int) -> None:
    await sleep_until(at_ns)
    # No `round`: a note goes to the current activity, which is how the app posts.
    await client.write("n0", {"kind": "note.add", "text": note_text(index)})


async def spend_dots(client: Client, vote: int, plan: list[tuple[int, int]]) -> None:
    """Open loop: each dot at its moment, without waiting for the last one's ack, as
    thumbs on a phone would not wait either."""
    for i, (at_ns, item) in enumerate(plan):
        await sleep_until(at_ns)
        await client.write(f"d{i}", {"kind": "dot.add", "vote": vote, "item": item})


# -- receiver processes -------------------------------------------------------------------


def pipe_inbox(conn: Connection) -> asyncio.Queue[tuple[Any, ...]]:
    """Messages from the other end of ``conn`` as an asyncio queue; ("eof",) when it
    closes (the other process gave up or is gone)."""
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    def readable() -> None:
        try:
            inbox.put_nowait(conn.recv())
        except (EOFError, OSError):
            loop.remove_reader(conn.fileno())
            inbox.put_nowait(("eof",))

    loop.add_reader(conn.fileno(), readable)
    return inbox


async def _worker(conn: Connection, url: str, specs: list[tuple[str, str, int]], seed: str) -> None:
    inbox = pipe_inbox(conn)
    clients = [Client(role, token) for role, token, _ in specs]
    indexes = [index for _, _, index in specs]
    participants = [
        (c, i) for c, i in zip(clients, indexes, strict=True) if c.seen.role == "participant"
    ]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def open_one(client: Client) -> None:
        async with gate:
            await client.connect(url)

    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await asyncio.gather(*(open_one(c) for c in clients))
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready",))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    seens = [c.seen for c in clients]
    while True:
        message = await inbox.get()
        match message:
            case ("notes", int(at_ns), float(spread_s)):
                await asyncio.gather(
                    *(
                        post_note(c, i, at_ns + int(_rng(seed, i, "n").uniform(0, spread_s) * 1e9))
                        for c, i in participants
                    )
                )
                ok = await wait_for(seens, "replied", (), PHASE_TIMEOUT_S)
                seqs = [c.seen.acked["n0"][0] for c, _ in participants if "n0" in c.seen.acked]
                conn.send(("done", ok, seqs))
            case ("dots", int(vote), list(items), int(at_ns), float(spread_s), int(budget)):
                plans = []
                for client, i in participants:
                    rng = _rng(seed, i, "d")
                    moments = sorted(
                        at_ns + int(rng.uniform(0, spread_s) * 1e9) for _ in range(budget)
                    )
                    plan = list(zip(moments, pick_dots(rng, items, budget, CAP), strict=True))
                    plans.append(spend_dots(client, vote, plan))
                await asyncio.gather(*plans)
                ok = await wait_for(seens, "replied", (), PHASE_TIMEOUT_S)
                conn.send(("done", ok, []))
            case ("wait", str(what), tuple(arg), float(timeout)):
                conn.send(("done", await wait_for(seens, what, arg, timeout), []))
            case ("report",):
                usage = resource.getrusage(resource.RUSAGE_SELF)
                cpu = usage.ru_utime + usage.ru_stime - cpu_start
                await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
                conn.send(("report", cpu, seens))
                return
            case _:  # ("eof",): the main process gave up
                await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
                return


def _rng(seed: str, index: int, purpose: str) -> random.Random:
    """Each participant's own random stream (string seeds hash the same in every
    process), so a run can be repeated exactly with ``--seed``."""
    return random.Random(f"{seed}:{index}:{purpose}")


def worker_main(conn: Connection, url: str, specs: list[tuple[str, str, int]], seed: str) -> None:
    """Entry point of a receiver process. Ctrl-C is the parent's to handle: it stops us."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        asyncio.run(_worker(conn, url, specs, seed))
    except Exception as exc:
        with contextlib.suppress(Exception):
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))


class Workers:
    """The receiver processes, seen from the main process's event loop."""

    def __init__(self, url: str, shares: list[list[tuple[str, str, int]]], seed: str) -> None:
        ctx = mp.get_context("spawn")
        self.procs: list[mp.process.BaseProcess] = []
        self.pipes: list[Connection] = []
        self.inboxes: list[asyncio.Queue[tuple[Any, ...]]] = []
        for share in shares:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child, url, share, seed))
            proc.start()
            child.close()
            self.procs.append(proc)
            self.pipes.append(parent)
            self.inboxes.append(pipe_inbox(parent))

    async def answers(self, timeout: float) -> list[tuple[Any, ...]]:
        out = []
        for inbox in self.inboxes:
            try:
                async with asyncio.timeout(timeout):
                    message = await inbox.get()
            except TimeoutError:
                raise BenchError("a receiver process did not answer in time") from None
            if message[0] == "eof":
                raise BenchError("a receiver process exited without answering")
            if message[0] == "failed":
                raise BenchError(f"a receiver process failed: {message[1]}")
            out.append(message)
        return out

    async def ask(self, message: tuple[Any, ...], timeout: float) -> list[tuple[Any, ...]]:
        for pipe in self.pipes:
            pipe.send(message)
        return await self.answers(timeout + ANSWER_SLACK_S)

    def stop(self) -> None:
        loop = asyncio.get_running_loop()
        # Closing the pipes tells receivers still waiting (after a failure) to stop.
        for pipe in self.pipes:
            with contextlib.suppress(OSError, ValueError):
                loop.remove_reader(pipe.fileno())
            pipe.close()
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join()


# -- one run ------------------------------------------------------------------------------


@dataclass
class RunResult:
    """One run: one fresh server and database, one room."""

    backend: str
    repeat: int
    participants: int
    observers: int
    # The note burst.
    notes: int = 0  # notes acknowledged
    notes_all_s: float = math.nan  # first note sent -> every screen has every note
    notes_tail_ms: float = math.nan  # last note sent -> every screen has every note
    note_p50_ms: float = math.nan  # per (screen, note): received - sent
    note_p99_ms: float = math.nan
    note_max_ms: float = math.nan
    note_ack_p50_ms: float = math.nan  # note sent -> its ack
    note_ack_p99_ms: float = math.nan
    notes_cpu_s: float = math.nan  # server CPU, burst start -> every screen has every note
    # The vote storm.
    dots: int = 0  # dots sent
    dots_acked: int = 0
    dots_refused: int = 0  # answered with an error (or never answered)
    conflicts: int = 0  # of which `conflict`
    vote_all_s: float = math.nan  # first dot sent -> every screen has the final tally
    vote_tail_ms: float = math.nan  # last dot sent -> every screen has the final tally
    dot_ack_p50_ms: float = math.nan
    dot_ack_p99_ms: float = math.nan
    tally_min: float = math.nan  # tally frames of the vote per screen, open to close
    tally_med: float = math.nan
    tally_max: float = math.nan
    mine_min: float = math.nan  # mine frames per participant
    mine_med: float = math.nan
    mine_max: float = math.nan
    close_ms: float = math.nan  # close sent -> every screen has the closed vote's tally
    vote_cpu_s: float = math.nan  # server CPU, storm start -> every screen has the final tally
    rss_mb: float = math.nan  # server VmRSS at the end
    gen_cpu_s: float = math.nan  # receiver processes' CPU, whole run
    # Failures: each must be 0.
    loss: int = 0  # (screen, note) pairs never received
    dup: int = 0  # ops received twice
    broken: int = 0  # ops frames that break the ordering contract
    misfiled: int = 0  # screens that saw a note outside the round
    note_errors: int = 0  # notes refused or never answered
    dot_ops: int = 0  # individual dots received by any screen
    no_final: int = 0  # screens without a tally of every dot
    no_close: int = 0  # screens without the closed vote's final tally
    mine_wrong: int = 0  # participants whose last mine is not "all placed, 0 left"
    behind: int = 0  # screens whose cursor did not reach the last op
    closed: int = 0  # screens closed by the server or told to resync
    timeouts: int = 0  # phases that did not complete in PHASE_TIMEOUT_S

    @property
    def failures(self) -> int:
        return sum(getattr(self, name) for name in FAILURES)


FAILURES = (
    "loss",
    "dup",
    "broken",
    "misfiled",
    "note_errors",
    "dots_refused",
    "dot_ops",
    "no_final",
    "no_close",
    "mine_wrong",
    "behind",
    "closed",
    "timeouts",
)


def _create_room(server: ServerProcess, args: argparse.Namespace) -> tuple[str, list[Any]]:
    """The event over HTTP: its facilitator token, then one spec per screen."""
    created = post_json(
        server.http_url, "/api/events", {"title": "Room bench", "groups": list(GROUPS)}
    )
    specs: list[tuple[str, str, int]] = []
    for i in range(args.participants):
        joined = post_json(
            server.http_url,
            "/api/join",
            {
                "code": created["code"],
                "name": f"Participant {i + 1}",
                "group": GROUPS[i % len(GROUPS)],
                "table": str(i // TABLE_SIZE + 1),
            },
        )
        specs.append(("participant", joined["token"], i))
    for i in range(args.observers):
        observed = post_json(server.http_url, "/api/observe", {"code": created["code"]})
        specs.append(("observer", observed["token"], args.participants + i))
    return created["facilitator_token"], specs


def receiver_processes(asked: int, clients: int) -> int:
    if asked > 0:
        return min(asked, clients)
    return max(1, min(len(os.sched_getaffinity(0)), math.ceil(clients / CLIENTS_PER_PROC)))


async def _everywhere(
    fac: Client, workers: Workers, what: str, arg: tuple[int, ...], result: RunResult
) -> None:
    """Wait until every screen (the facilitator's here, the rest in the receivers) has
    reached a goal; a timeout is recorded, and the run carries on to report."""
    ask = asyncio.create_task(workers.ask(("wait", what, arg, PHASE_TIMEOUT_S), PHASE_TIMEOUT_S))
    here = await wait_for([fac.seen], what, arg, PHASE_TIMEOUT_S)
    there = await ask
    if not (here and all(answer[1] for answer in there)):
        result.timeouts += 1


async def drive(server: ServerProcess, args: argparse.Namespace, result: RunResult) -> None:
    """The room, from the facilitator's first step to the reports."""
    fac_token, specs = _create_room(server, args)
    procs = receiver_processes(args.procs, len(specs))
    seed = f"{args.seed}:{result.repeat}"
    fac = Client("facilitator", fac_token)
    workers = Workers(server.ws_url, [specs[i::procs] for i in range(procs)], seed)
    try:
        await workers.answers(CONNECT_TIMEOUT_S + ANSWER_SLACK_S)
        await fac.connect(server.ws_url)
        ids = (f"f:{i}" for i in range(1, 1000))

        round_id = await fac.request(
            next(ids), {"kind": "activity.add", "type": "notes", "prompt": "What works today?"}
        )
        await fac.request(
            next(ids), {"kind": "activity.set_status", "activity": round_id, "status": "open"}
        )
        last = await fac.request(next(ids), {"kind": "activity.set_current", "activity": round_id})
        # Every screen shows the open round before the room is told "go".
        await _everywhere(fac, workers, "cursor", (last,), result)

        cpu = cpu_seconds(server.pid)
        go = time.monotonic_ns() + int(GO_AHEAD_S * 1e9)
        answers = await workers.ask(("notes", go, args.burst_s), PHASE_TIMEOUT_S)
        note_seqs = sorted(seq for answer in answers for seq in answer[2])
        result.timeouts += sum(not answer[1] for answer in answers)
        if not note_seqs:
            raise BenchError("no note was accepted")
        await _everywhere(fac, workers, "cursor", (note_seqs[-1],), result)
        result.notes_cpu_s = cpu_seconds(server.pid) - cpu

        vote_spec = {"round": round_id, "budget": BUDGET, "cap": CAP, "results": "live"}
        vote_id = await fac.request(
            next(ids),
            {
                "kind": "activity.add",
                "type": "vote",
                "prompt": "Which matter most?",
                "vote": vote_spec,
            },
        )
        await fac.request(
            next(ids), {"kind": "activity.set_status", "activity": vote_id, "status": "open"}
        )
        last = await fac.request(next(ids), {"kind": "activity.set_current", "activity": vote_id})
        await _everywhere(fac, workers, "cursor", (last,), result)

        # With very few notes there may be fewer than BUDGET places for dots (quick runs).
        budget = min(BUDGET, CAP * len(note_seqs))
        total = budget * args.participants
        cpu = cpu_seconds(server.pid)
        go = time.monotonic_ns() + int(GO_AHEAD_S * 1e9)
        answers = await workers.ask(
            ("dots", vote_id, note_seqs, go, args.storm_s, budget), PHASE_TIMEOUT_S
        )
        result.timeouts += sum(not answer[1] for answer in answers)
        await _everywhere(fac, workers, "tally", (vote_id, total, 0), result)
        result.vote_cpu_s = cpu_seconds(server.pid) - cpu

        close_op = next(ids)
        close_seq = await fac.request(
            close_op, {"kind": "activity.set_status", "activity": vote_id, "status": "closed"}
        )
        await _everywhere(fac, workers, "tally", (vote_id, total, close_seq), result)
        await _everywhere(fac, workers, "cursor", (close_seq,), result)
        result.rss_mb = rss_kb(server.pid) / 1024

        reports = await workers.ask(("report",), PHASE_TIMEOUT_S)
        await fac.close()
        result.gen_cpu_s = sum(answer[1] for answer in reports)
        seens = [fac.seen, *(seen for answer in reports for seen in answer[2])]
        _score(result, seens, round_id, vote_id, total, budget, close_seq, fac.seen.sent[close_op])
    finally:
        await fac.close()
        workers.stop()


def _ms(ns: Sequence[int], p: float) -> float:
    return percentile(sorted(ns), p) * 1e-6


def _score(
    result: RunResult,
    seens: list[Seen],
    round_id: int,
    vote_id: int,
    total: int,
    budget: int,
    close_seq: int,
    close_sent: int,
) -> None:
    participants = [s for s in seens if s.role == "participant"]

    # The burst: which seq each note became, and when it was sent.
    note_sent: dict[int, int] = {}
    note_acks: list[int] = []
    dot_sent: list[int] = []
    dot_acks: list[int] = []
    for s in participants:
        for op_id, sent in s.sent.items():
            answer = s.acked.get(op_id)
            if op_id.startswith("n"):
                if answer is None:
                    result.note_errors += 1
                    continue
                note_sent[answer[0]] = sent
                note_acks.append(answer[1] - sent)
            else:
                result.dots += 1
                dot_sent.append(sent)
                if answer is None:
                    result.dots_refused += 1
                    result.conflicts += s.refused.get(op_id) == "conflict"
                    continue
                result.dots_acked += 1
                dot_acks.append(answer[1] - sent)
    result.notes = len(note_sent)
    latencies: list[int] = []
    last_note_in = 0
    for s in seens:
        result.loss += len(note_sent.keys() - s.notes.keys())
        result.dup += s.dup
        result.broken += s.broken
        result.dot_ops += s.dot_ops
        result.misfiled += not s.note_rounds <= {round_id}
        result.behind += s.cursor < close_seq
        result.closed += s.close_code is not None or s.resync
        for seq, sent in note_sent.items():
            got = s.notes.get(seq)
            if got is not None:
                latencies.append(got - sent)
                last_note_in = max(last_note_in, got)
    if note_sent and not result.loss:
        result.notes_all_s = (last_note_in - min(note_sent.values())) * 1e-9
        result.notes_tail_ms = (last_note_in - max(note_sent.values())) * 1e-6
    result.note_p50_ms = _ms(latencies, 0.50)
    result.note_p99_ms = _ms(latencies, 0.99)
    result.note_max_ms = max(latencies) * 1e-6 if latencies else math.nan
    result.note_ack_p50_ms = _ms(note_acks, 0.50)
    result.note_ack_p99_ms = _ms(note_acks, 0.99)

    # The storm: the first tally of every dot on each screen, and the closed vote's.
    finals: list[int] = []
    closes: list[int] = []
    tallies: list[int] = []
    for s in seens:
        mine = [t for t in s.tallies if t[1] == vote_id]
        tallies.append(len(mine))
        final = next((t for t, _, _, dots in mine if dots == total), None)
        closing = next((t for t, _, seq, dots in mine if dots == total and seq >= close_seq), None)
        if final is None:
            result.no_final += 1
        else:
            finals.append(final)
        if closing is None:
            result.no_close += 1
        else:
            closes.append(closing)
    if dot_sent and not result.no_final:
        result.vote_all_s = (max(finals) - min(dot_sent)) * 1e-9
        result.vote_tail_ms = (max(finals) - max(dot_sent)) * 1e-6
    if closes and not result.no_close:
        result.close_ms = (max(closes) - close_sent) * 1e-6
    result.dot_ack_p50_ms = _ms(dot_acks, 0.50)
    result.dot_ack_p99_ms = _ms(dot_acks, 0.99)
    result.tally_min, result.tally_med, result.tally_max = _spread(tallies)
    mines: list[int] = []
    for s in participants:
        frames = [m for m in s.mines if m[1] == vote_id]
        mines.append(len(frames))
        if not frames or frames[-1][2:] != (0, budget):
            result.mine_wrong += 1
    result.mine_min, result.mine_med, result.mine_max = _spread(mines)


def _spread(counts: list[int]) -> tuple[float, float, float]:
    if not counts:
        return math.nan, math.nan, math.nan
    return float(min(counts)), float(statistics.median(counts)), float(max(counts))


def run_once(backend: str, repeat: int, workdir: Path, args: argparse.Namespace) -> RunResult:
    result = RunResult(backend, repeat, args.participants, args.observers)
    with contextlib.ExitStack() as stack:
        if backend == "pg":
            # A fresh database per run: every run starts from an empty log, as sqlite's
            # fresh data directory does. Dropped after the server has stopped.
            args.pg_database_url = stack.enter_context(pg_database())
        server = start_plenary(backend, workdir, args)
        stack.callback(server.stop)
        try:
            asyncio.run(drive(server, args, result))
        except BenchError as exc:
            raise BenchError(f"{backend}: {exc}\n{server.tail()}") from None
    return result


# -- the whole bench ----------------------------------------------------------------------

NOTE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (header, RunResult attribute, format)
    ("notes", "notes", "{:.0f}"),
    ("all_s", "notes_all_s", "{:.2f}"),
    ("tail_ms", "notes_tail_ms", "{:.0f}"),
    ("p50_ms", "note_p50_ms", "{:.1f}"),
    ("p99_ms", "note_p99_ms", "{:.1f}"),
    ("max_ms", "note_max_ms", "{:.1f}"),
    ("ack_p50_ms", "note_ack_p50_ms", "{:.1f}"),
    ("ack_p99_ms", "note_ack_p99_ms", "{:.1f}"),
    ("loss", "loss", "{:d}"),
    ("dup", "dup", "{:d}"),
    ("cpu_s", "notes_cpu_s", "{:.2f}"),
)
VOTE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("dots", "dots", "{:.0f}"),
    ("acked", "dots_acked", "{:.0f}"),
    ("refused", "dots_refused", "{:d}"),
    ("final_s", "vote_all_s", "{:.2f}"),
    ("tail_ms", "vote_tail_ms", "{:.0f}"),
    ("ack_p50_ms", "dot_ack_p50_ms", "{:.1f}"),
    ("ack_p99_ms", "dot_ack_p99_ms", "{:.1f}"),
    ("tally/screen", "tally", ""),
    ("mine/voter", "mine", ""),
    ("dot_ops", "dot_ops", "{:d}"),
    ("no_final", "no_final", "{:d}"),
    ("close_ms", "close_ms", "{:.0f}"),
    ("cpu_s", "vote_cpu_s", "{:.2f}"),
    ("rss_mb", "rss_mb", "{:.0f}"),
    ("gen_cpu_s", "gen_cpu_s", "{:.2f}"),
)
# Failure counts are summed over repeats (any one fails the bench); the spread of frame
# counts takes the extremes; every other figure is the median over repeats.
SUMMED = set(FAILURES)


def summarise(runs: list[RunResult]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in RunResult.__dataclass_fields__:
        values = [getattr(r, name) for r in runs]
        if not values or not isinstance(values[0], int | float) or name == "repeat":
            continue
        if name in SUMMED:
            summary[name] = sum(values)
        elif name.endswith("_min"):
            summary[name] = min(values)
        elif name.endswith("_max") and not name.endswith("max_ms"):
            summary[name] = max(values)
        else:
            finite = [v for v in values if not math.isnan(v)]
            summary[name] = statistics.median(finite) if finite else math.nan
    return summary


def _cell(summary: dict[str, Any], attr: str, fmt: str) -> str:
    if attr in ("tally", "mine"):
        spread = [summary[f"{attr}_{k}"] for k in ("min", "med", "max")]
        if any(math.isnan(v) for v in spread):
            return "-"
        return "/".join(f"{v:g}" for v in spread)
    value = summary[attr]
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return fmt.format(value)


def format_table(
    title: str,
    columns: tuple[tuple[str, str, str], ...],
    backends: list[str],
    results: list[RunResult],
) -> str:
    header = ["backend", "screens", *[h for h, _, _ in columns]]
    rows = [header]
    for backend in backends:
        runs = [r for r in results if r.backend == backend]
        if not runs:
            continue
        s = summarise(runs)
        screens = runs[0].participants + runs[0].observers + 1
        rows.append([backend, str(screens), *[_cell(s, a, f) for _, a, f in columns]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join([title, *(aligned(r, widths) for r in rows)])


def run_bench(args: argparse.Namespace) -> int:
    limit = raise_open_file_limit()
    needed = 2 * (args.participants + args.observers + 1) + 256
    if limit < needed:
        print(f"room: open-file limit {limit} is below the {needed} needed", file=sys.stderr)
        return 2
    backends = ["sqlite", "pg"] if args.backend == "both" else [args.backend]
    screens = args.participants + args.observers + 1
    started = time.monotonic()
    load_before = os.getloadavg()
    print(
        f"room: {len(os.sched_getaffinity(0))} CPUs, {args.participants} participants + "
        f"{args.observers} observers + 1 facilitator, {receiver_processes(args.procs, screens - 1)}"
        f" receiver process(es), backends {', '.join(backends)}, {args.repeat} repeat(s)",
        flush=True,
    )
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="plenary-room-") as tmp:
        # Interleaved (sqlite, pg, sqlite, pg, ...) so a noisy neighbour lands on both.
        for repeat in range(1, args.repeat + 1):
            for backend in backends:
                result = run_once(backend, repeat, Path(tmp), args)
                results.append(result)
                print(
                    f"  run {repeat}/{args.repeat} {backend:<6}: notes everywhere in "
                    f"{result.notes_all_s:.2f} s (p99 {result.note_p99_ms:.0f} ms), final tally "
                    f"everywhere in {result.vote_all_s:.2f} s, tallies/screen "
                    f"{result.tally_min:g}-{result.tally_max:g}, server cpu "
                    f"{result.notes_cpu_s + result.vote_cpu_s:.2f} s, failures {result.failures}",
                    flush=True,
                )
                if result.failures:
                    print(
                        "    "
                        + ", ".join(
                            f"{n} {getattr(result, n)}" for n in FAILURES if getattr(result, n)
                        ),
                        flush=True,
                    )
    settings = (
        f"{args.participants} participants + {args.observers} observers + 1 facilitator; "
        f"1 note each over {args.burst_s:g} s, then {BUDGET} dots each (cap {CAP}, live "
        f"results) over {args.storm_s:g} s; median of {args.repeat} run(s)"
    )
    print()
    print(f"room: {settings}")
    print()
    print(format_table("note burst", NOTE_COLUMNS, backends, results))
    print()
    print(format_table("vote storm", VOTE_COLUMNS, backends, results))
    print()
    failed = [r for r in results if r.failures]
    totals = Counter({n: sum(getattr(r, n) for r in results) for n in FAILURES})
    print(
        "checks (totals, all must be 0): "
        + ", ".join(f"{n} {totals[n]}" for n in FAILURES)
        + f"; conflicts {sum(r.conflicts for r in results)}"
    )
    # Other work on the machine shows up in every figure: say how busy it was.
    print(
        f"room: {time.monotonic() - started:.0f} s; load average before {load_before[0]:.2f}, "
        f"after {os.getloadavg()[0]:.2f}"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "cpus": len(os.sched_getaffinity(0)),
                    "settings": settings,
                    "runs": [asdict(r) for r in results],
                    "summary": {
                        b: summarise([r for r in results if r.backend == b]) for b in backends
                    },
                },
                indent=2,
            )
        )
    if failed:
        print(f"room: FAILED: {len(failed)} run(s) failed a check", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--participants", type=int, help="participants (default 120; --quick 40)")
    p.add_argument("--observers", type=int, help="observer screens (default 0; --quick 10)")
    p.add_argument("--backend", choices=["sqlite", "pg", "both"], default="both")
    p.add_argument("--repeat", type=int, default=3, help="runs per backend (default 3)")
    p.add_argument(
        "--burst-s", type=float, default=1.0, help="seconds each burst is spread over (default 1)"
    )
    p.add_argument(
        "--storm-s",
        type=float,
        default=0.0,
        help="seconds the vote storm is spread over (default: --burst-s)",
    )
    p.add_argument(
        "--procs",
        type=int,
        default=0,
        help=f"receiver processes (default: one per {CLIENTS_PER_PROC} screens, at most the CPUs)",
    )
    p.add_argument("--tick-ms", type=float, default=10.0, help="PLENARY_TICK_MS (default 10)")
    p.add_argument(
        "--buffer-kb",
        type=int,
        default=0,
        help="PLENARY_CLIENT_BUFFER_KB for the server (default: the server's default)",
    )
    p.add_argument("--seed", default="plenary", help="random seed (default 'plenary')")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: 40 participants, 10 observers, 1 run"
    )
    p.add_argument("--json", metavar="PATH", help="also write every run and the summary here")
    args = p.parse_args(argv)
    if args.quick:
        args.repeat = 1
    if args.participants is None:
        args.participants = 40 if args.quick else 120
    if args.observers is None:
        args.observers = 10 if args.quick else 0
    if args.participants < 1 or args.observers < 0 or args.repeat < 1 or args.burst_s <= 0:
        p.error("--participants, --repeat and --burst-s must be positive")
    if args.storm_s <= 0:
        args.storm_s = args.burst_s
    # What fanout.start_plenary reads; set per run for pg.
    args.pg_database_url = ""
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C and SIGTERM unwind through the finally blocks: receivers and server stopped,
    # temporary database dropped. (SIGINT is set explicitly because a shell starting us
    # in the background hands us SIGINT ignored.)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run_bench(args)
    except BenchError as exc:
        print(f"room: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("room: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
