"""Publishing a long draft: the time until every connected screen has the new version.

A writer has saved version 2 of a ~20,000-word strategy (an overnight redraft of version
1, from ``draftgen``); N observers are connected; the writer publishes. Measured: from
the publish write leaving the writer to the ``draft.published`` op (carrying the whole
text, ~140 KB of msgpack) arriving at each client — p50/p99/max, and when the last one
got it — plus server CPU, the frame size, and the first (cold) and a repeated (cached)
``GET …/diff`` of the two versions right afterwards.

The peer, measured in the same run, is a bare ``websockets`` server that broadcasts the
same number of bytes in one frame to every client the moment it receives the write:
no database, no log, no diff, no views. Plenary is quoted as a ratio to it.

    .venv/bin/python bench/publish.py --quick
    .venv/bin/python bench/publish.py                   # both backends, 1,000 clients
    .venv/bin/python bench/publish.py --backend sqlite --clients 1000 --repeat 5

Exit status: 0 when every client got the publication exactly once; 1 otherwise; 2 when a
server or a client could not be started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import websockets
from draftgen import document, redraft
from fanout import (
    BenchError,
    Receivers,
    ServerProcess,
    _tcp_open,
    cpu_seconds,
    free_port,
    percentile,
    pg_database,
    post_json,
    raise_open_file_limit,
    start_plenary,
)
from websockets.asyncio.server import ServerConnection, broadcast, serve

ACK_TIMEOUT_S = 60.0


@dataclass
class RunResult:
    target: str
    clients: int
    repeat: int
    words: int = 0
    frame_kb: float = math.nan  # the publication as one client receives it
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan  # the last client to get it: "everyone has it" after this
    ack_ms: float = math.nan  # publish sent → its ack
    cpu_s: float = math.nan  # server CPU from the publish to the last delivery
    gen_cpu_s: float = math.nan  # the receiving processes' CPU over the same stretch
    diff_cold_ms: float = math.nan  # GET …/diff, first time (computed)
    diff_warm_ms: float = math.nan  # the same again (cached), median of 5
    summary: str = ""
    missing: int = 0  # clients that never got it
    dup: int = 0  # clients that got it more than once
    closed: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return self.missing + self.dup + sum(self.closed.values())


# -- the peer ------------------------------------------------------------------------------


async def peer_server(port: int) -> None:
    """Answers hello; broadcasts each write's text, once encoded, as an ops frame shaped
    like Plenary's publication."""
    clients: set[ServerConnection] = set()
    seq = 0

    async def handle(ws: ServerConnection) -> None:
        nonlocal seq
        hello = msgpack.unpackb(await ws.recv(), raw=False)
        if hello.get("t") != "hello":
            return
        await ws.send(msgpack.packb({"t": "welcome", "seq": seq, "you": uuid.uuid4().hex}))
        clients.add(ws)
        try:
            async for raw in ws:
                frame = msgpack.unpackb(raw, raw=False)
                if frame.get("t") != "write":
                    continue
                seq += 1
                op = {
                    "seq": seq,
                    "kind": "draft.published",
                    "by": "peer",
                    "at": int(time.time() * 1000),
                    "data": frame["op"],
                }
                broadcast(clients, msgpack.packb({"t": "ops", "upto": seq, "ops": [op]}))
                await ws.send(msgpack.packb({"t": "ack", "id": frame["id"], "seq": seq}))
        finally:
            clients.discard(ws)

    async with serve(handle, "127.0.0.1", port, compression=None, max_size=None):
        await asyncio.Future()


def start_peer(workdir: Path) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--peer-server", "--port", str(port)]
    server = ServerProcess("peer", argv, dict(os.environ), workdir / f"peer-{port}.log")
    server.wait_ready(lambda: _tcp_open(port))
    return server


# -- the writer ----------------------------------------------------------------------------


class Writer:
    """The facilitator's connection: writes one op at a time and waits for its ack."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.n = 0
        self.published_bytes = 0

    @classmethod
    async def open(cls, url: str, token: str) -> Writer:
        ws = await websockets.connect(url, compression=None, max_size=None, ping_interval=None)
        await ws.send(msgpack.packb({"t": "hello", "token": token, "since": 0}))
        while msgpack.unpackb(await ws.recv(), raw=False).get("t") != "welcome":
            pass
        return cls(ws)

    async def write(self, op: dict[str, Any]) -> int:
        self.n += 1
        op_id = f"w{self.n}"
        await self.ws.send(msgpack.packb({"t": "write", "id": op_id, "op": op}))
        async with asyncio.timeout(ACK_TIMEOUT_S):
            while True:
                raw = await self.ws.recv()
                frame = msgpack.unpackb(raw, raw=False)
                if frame.get("t") == "ops" and b"draft.published" in raw:
                    self.published_bytes = len(raw)
                if frame.get("t") == "error" and frame.get("id") == op_id:
                    raise BenchError(f"write {op['kind']} refused: {frame['message']}")
                if frame.get("t") == "ack" and frame.get("id") == op_id:
                    return int(frame["seq"])


async def prepare(url: str, token: str, v1: str, v2: str) -> tuple[Writer, int]:
    """A draft with version 1 published and version 2 saved; returns the activity id."""
    writer = await Writer.open(url, token)
    draft = await writer.write({"kind": "activity.add", "type": "draft", "prompt": "Strategy"})
    await writer.write({"kind": "activity.set_status", "activity": draft, "status": "open"})
    await writer.write({"kind": "activity.set_current", "activity": draft})
    await writer.write({"kind": "draft.save", "activity": draft, "base": 0, "text": v1})
    await writer.write({"kind": "draft.publish", "activity": draft, "version": 1})
    await writer.write({"kind": "draft.save", "activity": draft, "base": 1, "text": v2})
    return writer, draft


def http_get(url: str, token: str) -> tuple[float, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        body: bytes = response.read()
    return (time.perf_counter() - start) * 1000, body


# -- one run ------------------------------------------------------------------------------


def run_once(
    target: str, server: ServerProcess, clients: int, repeat: int, v1: str, v2: str, procs: int
) -> RunResult:
    result = RunResult(target, clients, repeat, words=len(v2.split()))
    loop = asyncio.new_event_loop()
    writer: Writer | None = None
    draft = 0
    event = ""
    if target == "peer":
        tokens = ["peer"] * clients
        facilitator = "peer"
    else:
        created = post_json(server.http_url, "/api/events", {"title": "Publish bench"})
        facilitator = created["facilitator_token"]
        event = created["event"]
        writer, draft = loop.run_until_complete(prepare(server.ws_url, facilitator, v1, v2))
        tokens = [
            post_json(server.http_url, "/api/observe", {"code": created["code"]})["token"]
            for _ in range(clients)
        ]
    receivers = Receivers(target, server.ws_url, tokens, procs)
    try:
        receivers.wait_ready()
        if writer is None:
            writer = loop.run_until_complete(Writer.open(server.ws_url, facilitator))
        cpu_start = cpu_seconds(server.pid)
        receivers.send("go")
        publish: dict[str, Any] = (
            {"kind": "draft.publish", "activity": draft, "version": 2}
            if target != "peer"
            else {"kind": "draft.publish", "text": v2}
        )
        sent = time.monotonic_ns()
        seq = loop.run_until_complete(writer.write(publish))
        result.ack_ms = (time.monotonic_ns() - sent) / 1e6
        receivers.send("expect", seq)
        result.gen_cpu_s, per_client = receivers.results()
        result.cpu_s = cpu_seconds(server.pid) - cpu_start
        if target != "peer":
            url = f"{server.http_url}/api/events/{event}/drafts/{draft}/diff?from=1&to=2"
            result.diff_cold_ms, body = http_get(url, facilitator)
            result.summary = json.loads(body)["summary"]["text"]
            result.diff_warm_ms = statistics.median(http_get(url, facilitator)[0] for _ in range(5))
        loop.run_until_complete(writer.ws.close())
    finally:
        receivers.stop()
        loop.close()
    result.frame_kb = writer.published_bytes / 1024 if writer.published_bytes else math.nan
    latencies = []
    for seqs_raw, times_raw, _frames, close_code, _resync in per_client:
        seqs, times = array("q"), array("q")
        seqs.frombytes(seqs_raw)
        times.frombytes(times_raw)
        got = [t for s, t in zip(seqs, times, strict=True) if s == seq]
        if not got:
            result.missing += 1
        elif len(got) > 1:
            result.dup += 1
        if got:
            latencies.append(got[0] - sent)
        if close_code is not None:
            result.closed[str(close_code)] = result.closed.get(str(close_code), 0) + 1
    latencies.sort()
    if latencies:
        result.p50_ms = percentile(latencies, 0.5) / 1e6
        result.p99_ms = percentile(latencies, 0.99) / 1e6
        result.max_ms = latencies[-1] / 1e6
    return result


def median_of(runs: list[RunResult], attr: str) -> float:
    values = [getattr(r, attr) for r in runs if not math.isnan(getattr(r, attr))]
    return statistics.median(values) if values else math.nan


def run_bench(args: argparse.Namespace) -> int:
    raise_open_file_limit()
    v1 = document(args.words, seed=1)
    v2 = redraft(v1, seed=2)
    backends = ["sqlite", "pg"] if args.backend == "both" else [args.backend]
    targets = ["peer", *[f"plenary-{b}" for b in backends]]
    print(
        f"publish: {len(os.sched_getaffinity(0))} CPUs, {args.clients} clients, "
        f"a {len(v2.split()):,}-word version ({len(v2.encode()) // 1024} KB of Markdown), "
        f"targets {', '.join(targets)}, {args.repeat} repeat(s)",
        flush=True,
    )
    results: list[RunResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="plenary-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(tmp)
        if "pg" in backends:
            args.pg_database_url = stack.enter_context(pg_database())
        for repeat in range(1, args.repeat + 1):
            for target in targets:
                if target == "peer":
                    server = start_peer(workdir)
                else:
                    server = start_plenary(target.removeprefix("plenary-"), workdir, args)
                try:
                    result = run_once(target, server, args.clients, repeat, v1, v2, args.procs)
                finally:
                    server.stop()
                results.append(result)
                print(
                    f"  run {repeat}/{args.repeat} {target:<15} frame {result.frame_kb:6.1f} KB  "
                    f"p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  "
                    f"all {result.max_ms:7.1f} ms  cpu {result.cpu_s:.2f} s "
                    f"(receivers {result.gen_cpu_s:.2f} s)  "
                    f"diff cold {result.diff_cold_ms:6.1f} ms warm {result.diff_warm_ms:5.1f} ms  "
                    f"missing {result.missing} dup {result.dup} closed {result.closed}",
                    flush=True,
                )
    print()
    peer = [r for r in results if r.target == "peer"]
    peer_all = median_of(peer, "max_ms")
    print(f"{'target':<16}{'all received (median)':>24}{'p50':>10}{'vs peer':>10}{'diff cold':>12}")
    for target in targets:
        runs = [r for r in results if r.target == target]
        everyone = median_of(runs, "max_ms")
        ratio = everyone / peer_all if peer_all else math.nan
        print(
            f"{target:<16}{everyone:>21.1f} ms{median_of(runs, 'p50_ms'):>7.1f} ms"
            f"{ratio:>9.2f}x{median_of(runs, 'diff_cold_ms'):>9.1f} ms"
        )
    summaries = {r.summary for r in results if r.summary}
    if summaries:
        print(f"\nthe redraft: {'; '.join(sorted(summaries))}")
    failed = [r for r in results if r.failures]
    if failed:
        print(f"publish: FAILED: {len(failed)} run(s) missed, doubled or closed", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--words", type=int, default=20_000)
    p.add_argument("--backend", choices=["sqlite", "pg", "both"], default="both")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--procs", type=int, default=0, help="receiver processes (default: auto)")
    p.add_argument("--tick-ms", type=float, default=10.0, help="PLENARY_TICK_MS (default 10)")
    p.add_argument("--quick", action="store_true", help="smoke run: 100 clients, 1 repeat")
    p.add_argument("--peer-server", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.clients, args.repeat = 100, 1
    # What fanout.start_plenary reads.
    args.buffer_kb = 0
    args.pg_database_url = ""
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.peer_server:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(peer_server(args.port))
        return 0
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return run_bench(args)
    except BenchError as exc:
        print(f"publish: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
