"""Speed and scale: Plenary's fan-out beside python-socketio and the raw ceiling, one command.

    .venv/bin/python bench/scale.py --quick        # ~2 min: 1,000 clients, short phases
    .venv/bin/python bench/scale.py                # the full run (~15 min): see docs/performance.md

What runs, each against a fresh server process:

* **targets**: ``plenary`` (one node, the embedded default: SQLite + in-process bus),
  ``plenary-pg`` (one node on Postgres + Redis), ``plenary-2n`` (two nodes on Postgres +
  Redis, clients split between them, the writer on the first), ``socketio``
  (python-socketio, ASGI under uvicorn, with its Redis manager: what a Python team would
  otherwise pick) and ``raw`` (the ceiling: a pre-built frame written to every transport,
  no application logic). All in ``bench/peers.py`` except Plenary itself.
* **(a) steady fan-out**: N observers (1,000 / 5,000 / 10,000) held open by ``loadgen``
  (a C epoll client, ``bench/loadgen.c``), one writer posting notes at 10/s and 50/s;
  plus a flat-out phase (the writer as fast as the server acks) for the ceiling.
* **(b) room burst**: 1,000 observers; 120 participants each post one note at a random
  moment within 1 s.
* **(c) vote storm** and **(d) a 20,000-word draft published to 1,000 clients** are run by
  ``room.py`` and ``publish.py`` (they check tallies and long frames in detail); their
  figures are folded into the summary.

Latency is note sent (the writer stamps ``time.monotonic_ns()`` into the note) → op
received by the client, so it includes the write path (decide, commit) as well as the
fan-out. Servers are pinned to CPU 0 and the load generator and writers to CPU 1 (except
the two-node target, which needs both CPUs for its servers): "ops per CPU-second" is what
one server core delivers. Exit status 0 when nothing was lost or duplicated on Plenary's
targets, 1 otherwise, 2 when something could not be started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
from fanout import (
    REDIS_URL,
    SECRET,
    BenchError,
    ServerProcess,
    _http_ok,
    _tcp_open,
    cpu_seconds,
    free_port,
    pg_database,
    plenary_env,
    post_json,
    raise_open_file_limit,
    rss_kb,
)
from loadgen import LoadGen, LoadGenError, build

ROOT = Path(__file__).resolve().parent.parent
PLENARY_TARGETS = ("plenary", "plenary-pg", "plenary-2n")
ALL_TARGETS = (*PLENARY_TARGETS, "socketio", "raw")
SERVER_CPU = 0
CLIENT_CPU = 1
# After the writer's last note, how long every client gets to receive everything. A
# server that keeps up needs milliseconds; a peer that cannot keep up shows as "late".
DRAIN_S = 60.0
# Idle connections settle (their handshakes' garbage collected) before RSS is read.
SETTLE_S = 1.0
BURST_PARTICIPANTS = 120
BURST_OBSERVERS = 1000


# -- servers -----------------------------------------------------------------------------


def _pinned(argv: list[str], pin: bool, cpu: int = SERVER_CPU) -> list[str]:
    return ["taskset", "-c", str(cpu), *argv] if pin else argv


@dataclass
class Target:
    """The server processes of one target, and what the clients need to reach them."""

    name: str
    servers: list[ServerProcess]
    path: str  # the websocket path
    proto: str  # the loadgen protocol
    event: str = ""
    writer_token: str = ""
    writer_since: int = 0
    code: str = ""

    @property
    def pids(self) -> list[int]:
        return [s.pid for s in self.servers]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def rss_kb(self) -> int:
        return sum(rss_kb(pid) for pid in self.pids)

    def ws_url(self, node: int = 0) -> str:
        return f"ws://127.0.0.1:{self.servers[node].port}{self.path}"

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@contextlib.contextmanager
def start_target(name: str, workdir: Path, pin: bool) -> Iterator[Target]:
    with contextlib.ExitStack() as stack:
        if name in ("plenary-pg", "plenary-2n"):
            db_url: str | None = stack.enter_context(pg_database())
        else:
            db_url = None
        servers: list[ServerProcess] = []
        target = Target(name, servers, "/ws", "plenary")
        stack.callback(target.stop)
        py = sys.executable
        if name.startswith("plenary"):
            nodes = 2 if name == "plenary-2n" else 1
            for node in range(nodes):
                port = free_port()
                argv = [py, "-m", "plenary", "serve", "--host", "127.0.0.1", "--port", str(port)]
                # Two nodes share the machine's two CPUs; one node has CPU 0 to itself.
                argv = _pinned(argv, pin and nodes == 1)
                env = plenary_env(workdir, port, db_url)
                server = ServerProcess(f"{name}#{node}", argv, env, workdir / f"{name}-{port}.log")
                servers.append(server)
                server.wait_ready(lambda s=server: _http_ok(s.http_url + "/healthz"))
            _create_event(target)
        else:
            port = free_port()
            argv = [py, str(ROOT / "bench" / "peers.py"), name, "--port", str(port)]
            if name == "socketio":
                argv += ["--redis", REDIS_URL]
                target.path = "/socket.io/?EIO=4&transport=websocket"
                target.proto = "socketio"
            server = ServerProcess(
                name, _pinned(argv, pin), dict(os.environ), workdir / f"{name}-{port}.log"
            )
            servers.append(server)
            server.wait_ready(lambda: _tcp_open(port))
            target.writer_token = "peer"
        yield target


def _create_event(target: Target) -> None:
    base = target.servers[0].http_url
    created = post_json(base, "/api/events", {"title": "Scale bench", "groups": ["Bench"]})
    target.event, target.code = created["event"], created["code"]
    joined = post_json(
        base, "/api/join", {"code": target.code, "name": "Writer", "group": "Bench", "table": "1"}
    )
    target.writer_token, target.writer_since = joined["token"], int(joined["seq"])


def observer_hellos(target: Target, n: int) -> list[bytes] | None:
    """One observer token per client, signed here with the bench's secret exactly as
    ``POST /api/observe`` signs them (observers take no place in the log), so that 10,000
    of them cost no HTTP round trips."""
    if target.proto == "socketio":
        return None
    if not target.name.startswith("plenary"):
        return [msgpack.packb({"t": "hello", "token": "peer", "since": 0})] * n
    from plenary.auth import Tokens
    from plenary.domain.model import Actor, Role

    tokens = Tokens(SECRET, max_age_seconds=86400)
    return [
        msgpack.packb(
            {
                "t": "hello",
                "token": tokens.issue(target.event, Actor(f"o_bench{i:06d}", Role.OBSERVER)),
                "since": 0,
            }
        )
        for i in range(n)
    ]


# -- one phase ---------------------------------------------------------------------------


@dataclass
class Row:
    workload: str
    target: str
    clients: int
    rate: float
    notes: int
    ready: int = 0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    tail_ms: float = math.nan  # last note sent -> every client has every note
    ops_s: float = math.nan  # ops received by all clients per wall second
    ops_cpu_s: float = math.nan  # ops received per server CPU-second
    cpu_pct: float = math.nan  # server CPU over the phase, % of one core
    rss_conn_kib: float = math.nan
    ack_p50_ms: float = math.nan
    lost: int = 0
    dup: int = 0
    failed: int = 0  # writes not acknowledged
    closed: int = 0
    gen_cpu_pct: float = math.nan  # the load generator's CPU, % of one core
    notes_extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return self.lost + self.dup + self.failed + self.closed


def _loadgen(binary: Path, target: Target, n: int, workdir: Path, pin: bool) -> LoadGen:
    targets = [("127.0.0.1", s.port) for s in target.servers]
    gen = LoadGen(binary, targets, target.path, target.proto, n, observer_hellos(target, n))
    gen.start(workdir / "loadgen.log")
    if pin:
        os.sched_setaffinity(gen.pid, {CLIENT_CPU})
    return gen


def _score(
    row: Row,
    result: dict[str, Any],
    sent: dict[int, int],
    cpu_s: float,
    wall_s: float,
    gen_cpu_s: float,
    expect: int,
) -> None:
    lat = result["lat_us"]
    row.p50_ms, row.p99_ms, row.max_ms = lat["p50"] / 1e3, lat["p99"] / 1e3, lat["max"] / 1e3
    received = int(result["received"])
    row.lost = max(0, expect * int(result["ready"]) - received)
    row.dup = int(result["dup"])
    row.closed = int(result["closed"])
    if sent and result["last_recv_ns"]:
        row.tail_ms = (result["last_recv_ns"] - max(sent.values())) / 1e6
        span = (result["last_recv_ns"] - min(sent.values())) / 1e9
        row.ops_s = received / span if span > 0 else math.nan
    row.ops_cpu_s = received / cpu_s if cpu_s > 0 else math.nan
    row.cpu_pct = 100 * cpu_s / wall_s if wall_s > 0 else math.nan
    row.gen_cpu_pct = 100 * gen_cpu_s / wall_s if wall_s > 0 else math.nan


async def _write(target: Target, count: int, rate: float) -> peers.Written:
    if target.proto == "socketio":
        return await peers.write_socketio(target.ws_url(), peers.stamped, count, rate)
    token, since = target.writer_token, target.writer_since
    if target.name.startswith("plenary"):
        # A fresh participant per phase: the writer's op ids restart at n0, and the same
        # writer repeating an op id is (rightly) acknowledged as a duplicate, not written.
        joined = post_json(
            target.servers[0].http_url,
            "/api/join",
            {"code": target.code, "name": "Writer", "group": "Bench", "table": "1"},
        )
        token, since = joined["token"], int(joined["seq"])
    return await peers.write_raw(target.ws_url(), peers.stamped, count, rate, token, since)


def _measured_phase(
    target: Target, gen: LoadGen, row: Row, count: int, rate: float
) -> tuple[dict[str, Any], peers.Written]:
    """One writer posts ``count`` stamped notes at ``rate``; every reading client must
    get them all. Scores ``row`` and returns loadgen's result and the writer's record."""
    gen.reset()
    cpu0, gen0, t0 = target.cpu(), gen.cpu_seconds(), time.monotonic()
    written = asyncio.run(_write(target, count, rate))
    result = gen.wait(count - written.failed, DRAIN_S)
    wall = time.monotonic() - t0
    _score(
        row,
        result,
        written.sent_at,
        target.cpu() - cpu0,
        wall,
        gen.cpu_seconds() - gen0,
        count - written.failed,
    )
    row.ack_p50_ms = statistics.median(written.ack_ms) if written.ack_ms else math.nan
    if result["timed_out"]:
        row.notes_extra["late"] = True
    return result, written


def steady(
    target: Target,
    binary: Path,
    n: int,
    rates: Sequence[float],
    seconds: float,
    flat_notes: int,
    workdir: Path,
    pin: bool,
) -> list[Row]:
    rss_before = target.rss_kb()
    gen = _loadgen(binary, target, n, workdir, pin)
    rows: list[Row] = []
    try:
        ready = gen.wait_ready(120)
        time.sleep(SETTLE_S)
        rss_conn = (target.rss_kb() - rss_before) / max(1, ready["ready"])
        phases = [(r, max(1, round(r * seconds))) for r in rates]
        if flat_notes:
            # python-socketio cannot take a long flat-out run: uvicorn closes the writer
            # when its pong waits behind unread notes for 20 s (see bench/peers.py).
            phases.append((0.0, min(flat_notes, 300) if target.proto == "socketio" else flat_notes))
        for rate, count in phases:
            row = Row("steady" if rate else "flat-out", target.name, n, rate, count)
            row.ready, row.rss_conn_kib = int(ready["ready"]), rss_conn
            row.failed = n - row.ready
            written = _measured_phase(target, gen, row, count, rate)[1]
            row.failed += written.failed
            rows.append(row)
            print("  " + _line(row), flush=True)
    finally:
        gen.stop()
    return rows


def slow_consumers(
    target: Target,
    binary: Path,
    n: int,
    rate: float,
    seconds: float,
    repeat: int,
    workdir: Path,
    pin: bool,
) -> list[Row]:
    """The same N readers, with and without 5 % more clients that never read, in turn
    (ABAB..., ``repeat`` pairs): so the readers' figures are compared on the same
    connections and the same server, and no phase is always the later one.

    The stalled clients are a second loadgen: connected, welcomed, then never read
    from again, like phones locked in pockets; between pairs they hang up."""
    gen = _loadgen(binary, target, n, workdir, pin)
    stalled_n = max(1, round(n * 5 / 95))
    rows: list[Row] = []
    try:
        ready = int(gen.wait_ready(120)["ready"])
        time.sleep(SETTLE_S)
        for _ in range(repeat):
            for share in (0, 5):
                stalled = None
                if share:
                    stalled = _loadgen(binary, target, stalled_n, workdir, pin)
                    stalled.wait_ready(60)
                    stalled.stall(1)
                count = max(1, round(rate * seconds))
                row = Row(f"slow-{share}%", target.name, n, rate, count, ready=ready)
                rss0 = target.rss_kb()
                try:
                    _measured_phase(target, gen, row, count, rate)
                finally:
                    if stalled is not None:
                        stalled.stop()
                row.notes_extra["stalled"] = stalled_n if share else 0
                row.notes_extra["rss_growth_kib"] = target.rss_kb() - rss0
                rows.append(row)
                print(
                    f"  {_line(row)} stalled={row.notes_extra['stalled']} "
                    f"rss_growth_kib={row.notes_extra['rss_growth_kib']}",
                    flush=True,
                )
    finally:
        gen.stop()
    return rows


# -- (b) the room burst --------------------------------------------------------------------


async def _participant(target: Target, token: str) -> Any:
    ws = await websockets.connect(
        target.ws_url(hash(token) % len(target.servers)),
        compression=None,
        max_size=None,
        ping_interval=None,
        proxy=None,
        max_queue=None,
    )
    if target.proto == "socketio":
        await peers.socketio_join(ws)
    else:
        await ws.send(msgpack.packb({"t": "hello", "token": token, "since": 0}))
        while True:
            frame = msgpack.unpackb(await ws.recv())
            if frame.get("t") == "welcome":
                break
    return ws


async def _burst_writers(
    target: Target, tokens: list[str], window_s: float, seed: int
) -> tuple[dict[int, int], int]:
    """Each participant posts one stamped note at a random moment in the window; returns
    send times by participant index and the number of writes not acknowledged."""
    conns = await asyncio.gather(*(_participant(target, t) for t in tokens))
    acked: set[int] = set()
    all_acked = asyncio.Event()

    def ack(i: int) -> None:
        acked.add(i)
        if len(acked) == len(conns):
            all_acked.set()

    async def drain(i: int, ws: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in ws:
                if isinstance(message, str):
                    if message == "2":
                        await ws.send("3")
                    elif message.startswith("43"):
                        ack(i)
                else:
                    frame = msgpack.unpackb(message)
                    if frame.get("t") == "ack":
                        ack(i)

    readers = [asyncio.create_task(drain(i, ws)) for i, ws in enumerate(conns)]
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    go = loop.time() + 0.2
    sent: dict[int, int] = {}

    async def post(i: int, ws: Any) -> None:
        await asyncio.sleep(max(0.0, go + rng.random() * window_s - loop.time()))
        text = peers.stamped(i)
        sent[i] = time.monotonic_ns()
        if target.proto == "socketio":
            await ws.send(f"42{i}" + json.dumps(["note", {"text": text}], separators=(",", ":")))
        else:
            await ws.send(
                msgpack.packb(
                    {"t": "write", "id": f"n{i}", "op": {"kind": "note.add", "text": text}}
                )
            )

    await asyncio.gather(*(post(i, ws) for i, ws in enumerate(conns)))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_acked.wait(), 30)
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
    return sent, len(conns) - len(acked)


def burst(target: Target, binary: Path, workdir: Path, pin: bool, seed: int) -> Row:
    n = BURST_OBSERVERS
    if target.name.startswith("plenary"):
        base = target.servers[0].http_url
        tokens = [
            post_json(
                base,
                "/api/join",
                {"code": target.code, "name": f"P{i}", "group": "Bench", "table": str(i % 12 + 1)},
            )["token"]
            for i in range(BURST_PARTICIPANTS)
        ]
    else:
        tokens = [f"peer{i}" for i in range(BURST_PARTICIPANTS)]
    rss_before = target.rss_kb()
    gen = _loadgen(binary, target, n, workdir, pin)
    row = Row("burst", target.name, n + BURST_PARTICIPANTS, 0, BURST_PARTICIPANTS)
    try:
        ready = gen.wait_ready(120)
        time.sleep(SETTLE_S)
        row.ready = int(ready["ready"])
        row.rss_conn_kib = (target.rss_kb() - rss_before) / max(1, row.ready)
        gen.reset()
        cpu0, gen0, t0 = target.cpu(), gen.cpu_seconds(), time.monotonic()
        sent, failed = asyncio.run(_burst_writers(target, tokens, 1.0, seed))
        result = gen.wait(BURST_PARTICIPANTS - failed, DRAIN_S)
        wall = time.monotonic() - t0
        by_seq = dict(enumerate(sent.values()))
        _score(
            row,
            result,
            by_seq,
            target.cpu() - cpu0,
            wall,
            gen.cpu_seconds() - gen0,
            BURST_PARTICIPANTS - failed,
        )
        row.failed = failed + (n - row.ready)
        if result["timed_out"]:
            row.notes_extra["late"] = True
        print("  " + _line(row), flush=True)
    finally:
        gen.stop()
    return row


# -- (c) and (d): room.py and publish.py ----------------------------------------------------


def _sub_bench(script: str, args: list[str], workdir: Path, json_out: bool) -> dict[str, Any]:
    out = workdir / f"{script}.json"
    cmd = [sys.executable, str(ROOT / "bench" / script), *args]
    if json_out:
        cmd += ["--json", str(out)]
    print(f"  $ {' '.join(cmd[1:])}", flush=True)
    every_cpu = os.sched_getaffinity(0) | set(range(os.cpu_count() or 1))
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        # Not pinned: they run their own servers and receivers, and pin nothing.
        preexec_fn=lambda: os.sched_setaffinity(0, every_cpu),
    )
    for line in done.stdout.splitlines():
        print("    " + line)
    if done.returncode != 0:
        print(f"    ({script} exited {done.returncode})\n{done.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(out.read_text()) if json_out and out.exists() else {}
    data["returncode"] = done.returncode
    data["stdout"] = done.stdout
    return data


# -- output ---------------------------------------------------------------------------------

COLUMNS = [
    ("workload", "workload", "{}"),
    ("target", "target", "{}"),
    ("clients", "clients", "{}"),
    ("rate", "rate", "{:g}"),
    ("notes", "notes", "{}"),
    ("p50_ms", "p50_ms", "{:.1f}"),
    ("p99_ms", "p99_ms", "{:.1f}"),
    ("max_ms", "max_ms", "{:.1f}"),
    ("tail_ms", "tail_ms", "{:.0f}"),
    ("ops_s", "ops/s", "{:,.0f}"),
    ("ops_cpu_s", "ops/cpu-s", "{:,.0f}"),
    ("cpu_pct", "cpu%", "{:.0f}"),
    ("rss_conn_kib", "KiB/conn", "{:.1f}"),
    ("ack_p50_ms", "ack_p50", "{:.1f}"),
    ("lost", "lost", "{}"),
    ("dup", "dup", "{}"),
    ("failed", "failed", "{}"),
    ("closed", "closed", "{}"),
    ("gen_cpu_pct", "gen%", "{:.0f}"),
]


def _cell(row: Row, attr: str, fmt: str) -> str:
    value = getattr(row, attr)
    if isinstance(value, float) and math.isnan(value):
        return "-"
    text = fmt.format(value)
    if attr == "lost" and row.notes_extra.get("late"):
        text += "*"
    return text


def _line(row: Row) -> str:
    return " ".join(f"{title}={_cell(row, attr, fmt)}" for attr, title, fmt in COLUMNS[2:])


def table(rows: list[Row]) -> str:
    cells = [[title for _, title, _ in COLUMNS]]
    cells += [[_cell(r, attr, fmt) for attr, _, fmt in COLUMNS] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    )


def ratios(rows: list[Row]) -> list[str]:
    """Plenary against the peers on the same workload and size."""
    by = {(r.workload, r.clients, r.rate, r.target): r for r in rows}
    out = []
    for (workload, clients, rate, name), row in sorted(by.items()):
        if name != "plenary":
            continue
        for peer in ("socketio", "raw", "plenary-2n", "plenary-pg", "slow-0%"):
            other = by.get((workload, clients, rate, peer))
            if other is None:
                continue
            cap = row.ops_cpu_s / other.ops_cpu_s if other.ops_cpu_s else math.nan
            p99 = row.p99_ms / other.p99_ms if other.p99_ms else math.nan
            wall = row.ops_s / other.ops_s if other.ops_s else math.nan
            out.append(
                f"{workload:9} {clients:>6} @{rate:g}/s  plenary vs {peer:10}  "
                f"ops/cpu-s {cap:6.2f}x   ops/s {wall:6.2f}x   p99 {p99:6.2f}x"
            )
    return out


def slow_summary(rows: list[Row]) -> list[str]:
    """The readers' medians with 5 % of clients stalled, against all reading."""
    out = []
    for name in PLENARY_TARGETS:
        base = [r for r in rows if r.target == name and r.workload == "slow-0%"]
        slow = [r for r in rows if r.target == name and r.workload == "slow-5%"]
        if not base or not slow:
            continue
        parts = []
        for attr in ("p50_ms", "p99_ms", "ops_cpu_s"):
            b = statistics.median(getattr(r, attr) for r in base)
            s = statistics.median(getattr(r, attr) for r in slow)
            parts.append(f"{attr} {b:,.1f} -> {s:,.1f} ({s / b:.2f}x)")
        out.append(
            f"slow consumers, {name}, readers' medians over {len(base)} phases each: "
            + "; ".join(parts)
        )
    return out


# -- the run ----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    raise_open_file_limit()
    pin = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    if pin:
        os.sched_setaffinity(0, {CLIENT_CPU})
    workdir = Path(tempfile.mkdtemp(prefix="plenary-scale-"))
    binary = build(workdir)
    rows: list[Row] = []
    extra: dict[str, Any] = {}
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    print(
        f"scale: targets {', '.join(args.targets)}; clients {args.clients}; rates {args.rates}/s "
        f"for {args.seconds:g} s; pinned {'server CPU 0, clients CPU 1' if pin else 'no'}"
    )
    for name in args.targets:
        if "steady" in args.workloads:
            for n in args.clients:
                print(f"[{name}] steady fan-out, {n} clients", flush=True)
                with start_target(name, workdir, pin) as target:
                    rows += steady(
                        target,
                        binary,
                        n,
                        args.rates,
                        args.seconds,
                        args.flat_notes if n == args.clients[0] else 0,
                        workdir,
                        pin,
                    )
        if "slow" in args.workloads and name.startswith("plenary"):
            print(f"[{name}] slow consumers: 5 % of {args.clients[0]} clients stop reading")
            with start_target(name, workdir, pin) as target:
                rows += slow_consumers(
                    target,
                    binary,
                    args.clients[0],
                    max(args.rates),
                    args.seconds,
                    args.slow_repeat,
                    workdir,
                    pin,
                )
        if "burst" in args.workloads:
            print(
                f"[{name}] room burst: {BURST_PARTICIPANTS} notes within 1 s, "
                f"{BURST_OBSERVERS} observers",
                flush=True,
            )
            with start_target(name, workdir, pin) as target:
                rows.append(burst(target, binary, workdir, pin, args.seed))
    if "storm" in args.workloads:
        print("[plenary] vote storm (bench/room.py)", flush=True)
        extra["storm"] = _sub_bench(
            "room.py",
            [
                "--participants",
                "120",
                "--observers",
                str(args.storm_observers),
                "--storm-s",
                "10",
                "--repeat",
                "1",
                "--backend",
                "sqlite",
            ],
            workdir,
            json_out=True,
        )
    if "publish" in args.workloads:
        print("[plenary] 20,000-word draft published (bench/publish.py)", flush=True)
        extra["publish"] = _sub_bench(
            "publish.py",
            ["--clients", str(args.publish_clients), "--repeat", "1", "--backend", "sqlite"],
            workdir,
            json_out=False,
        )
    print()
    print(table(rows))
    print(
        "(* late: not every client had every note within "
        f"{DRAIN_S:.0f} s of the last; counted as lost)"
    )
    print()
    for line in ratios(rows):
        print(line)
    for line in slow_summary(rows):
        print(line)
    failures = sum(r.failures for r in rows if r.target in PLENARY_TARGETS)
    failures += sum(1 for v in extra.values() if v.get("returncode"))
    print(
        f"\nscale: {time.monotonic() - started:.0f} s; load average before {load_before:.2f}, "
        f"after {os.getloadavg()[0]:.2f}; Plenary failures (lost+dup+failed+closed): {failures}"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"rows": [asdict(r) for r in rows], "extra": extra, "args": vars(args)},
                indent=1,
                default=str,
            )
        )
    return 0 if failures == 0 else 1


def _ints(raw: str) -> list[int]:
    return [int(x) for x in raw.split(",") if x]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--targets",
        default=",".join(ALL_TARGETS),
        help=f"comma-separated, from {','.join(ALL_TARGETS)} (default: all)",
    )
    p.add_argument("--workloads", default="steady,slow,burst,storm,publish")
    p.add_argument("--clients", type=_ints, default=[1000, 5000, 10000])
    p.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")], default=[10, 50])
    p.add_argument("--seconds", type=float, default=10.0, help="steady phase length (default 10)")
    p.add_argument(
        "--flat-notes",
        type=int,
        default=1000,
        help="notes in the flat-out phase, at the first size (0: none)",
    )
    # The room's own screens only, by default: 1,000 more would be 1,000 Python clients
    # parsing tallies, and the load generator, not the server, would be measured.
    p.add_argument("--storm-observers", type=int, default=0)
    p.add_argument("--publish-clients", type=int, default=1000)
    p.add_argument("--slow-repeat", type=int, default=3, help="slow-consumer pairs (default 3)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-pin", action="store_true", help="do not pin servers and clients to CPUs")
    p.add_argument(
        "--quick",
        action="store_true",
        help="1,000 clients, 3 s phases, 300 flat-out notes, 100 storm observers",
    )
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    args.targets = [t for t in args.targets.split(",") if t]
    args.workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(args.targets) - set(ALL_TARGETS)
    if unknown:
        p.error(f"unknown targets {sorted(unknown)}")
    if args.quick:
        args.clients, args.seconds, args.flat_notes = [1000], 3.0, 300
        args.storm_observers, args.publish_clients, args.slow_repeat = 0, 100, 1
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run(args)
    except (BenchError, LoadGenError, peers.PeerError) as exc:
        print(f"scale: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
