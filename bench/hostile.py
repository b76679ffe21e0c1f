"""Hostile-client benchmark: what the worst a client can send costs, and what it costs
everybody else.

Four phases, each printing figures beside a peer measured in the same run:

* **frames**: CPU per decode (``time.process_time``, median of --runs) of the worst
  frames one can build within the 1 MiB frame limit, beside the decoder as it was before
  issue 12 (the whole union of commands walked, every error collected: the *peer*), and
  beside an ordinary note write.
* **first frame**: through a real server, the wall time from sending a 604 KiB first
  frame (a merge of 150,000 notes, no token) to the close 4002 arriving.
* **flood**: the write ack latency of honest clients (--honest of them, one note every
  --interval seconds each) on one event, alone (the peer) and while one connection of another
  participant floods writes, then pings, at full speed from its own process.
* **draft**: the same honest clients' ack latency while a writer on *another* event saves
  the worst drafts it may (--draft-sections headings, alternating combining marks), beside
  the honest clients alone.

    .venv/bin/python bench/hostile.py
    .venv/bin/python bench/hostile.py --quick          # a smoke run (tests/test_bench.py)

Exit status: 0 when every honest write was acknowledged; 1 otherwise; 2 when a server
could not be started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgpack
import websockets
from fanout import (
    ServerProcess,
    _http_ok,
    free_port,
    percentile,
    plenary_env,
    post_json,
)
from jsonschema.exceptions import best_match
from plenary.protocol.frames import decode_client_frame
from plenary.protocol.schema import Validator, protocol_schema

MAX_FRAME = 1024 * 1024
SERVER_CPU, CLIENT_CPU = 0, 1
PIN = hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


# -- frames ----------------------------------------------------------------------------


def _largest(shape: Callable[[int], dict[str, Any]], limit: int = MAX_FRAME) -> bytes:
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(msgpack.packb(shape(mid))) <= limit:
            lo = mid
        else:
            hi = mid - 1
    data: bytes = msgpack.packb(shape(lo))
    return data


def hostile_frames() -> dict[str, bytes]:
    def merge(n: int) -> dict[str, Any]:
        return {"t": "write", "id": "m", "op": {"kind": "note.merge", "notes": list(range(n))}}

    def tables(n: int) -> dict[str, Any]:
        return {"t": "write", "id": "t", "op": {"kind": "event.update", "tables": [{}] * n}}

    def nested(n: int) -> dict[str, Any]:
        return {"t": "write", "id": "x", "op": {"kind": "event.update", "tables": [[0] * 150] * n}}

    return {
        "note.add (ordinary)": msgpack.packb(
            {"t": "write", "id": "a1", "op": {"kind": "note.add", "text": "More buses at night"}}
        ),
        "merge of 150,000 ids": msgpack.packb(merge(150_000)),
        "merge, ids to 1 MiB": _largest(merge),
        "1 MiB of empty tables": _largest(tables),
        "1 MiB of nested lists": _largest(nested),
        "64 KiB of nested lists": _largest(nested, 64 * 1024),
        "list nested 1M deep": b"\x82\xa1t\xa4ping\xa1n" + b"\x91" * (MAX_FRAME - 20) + b"\x00",
        "1 MiB id": msgpack.packb(
            {"t": "write", "id": "x" * (MAX_FRAME - 100), "op": {"kind": "note.add"}}
        ),
        "1 MiB note text": msgpack.packb(
            {"t": "write", "id": "n", "op": {"kind": "note.add", "text": "y" * (MAX_FRAME - 100)}}
        ),
    }


def _before_decoder() -> Callable[[bytes], object]:
    """The decoder before issue 12: unbounded unpacking, a full depth walk, the write frame
    checked against the union of every command, every error collected for best_match."""
    defs = protocol_schema()["$defs"]
    validators = {
        t: Validator({"$defs": defs, "$ref": f"#/$defs/{name}"})
        for t, name in (("hello", "Hello"), ("write", "Write"), ("ping", "Ping"))
    }

    def deeper_than(value: object, limit: int) -> bool:
        stack: list[tuple[object, int]] = [(value, 1)]
        while stack:
            item, depth = stack.pop()
            if isinstance(item, dict | list):
                if depth > limit:
                    return True
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, depth + 1) for child in children)
        return False

    def decode(data: bytes) -> object:
        try:
            frame = msgpack.unpackb(data, raw=False, strict_map_key=True)
        except Exception:
            return None
        if not isinstance(frame, dict) or deeper_than(frame, 16):
            return None
        validator = validators.get(frame.get("t"))  # type: ignore[arg-type]
        return None if validator is None else best_match(validator.iter_errors(frame))

    return decode


def cpu_ms(fn: Callable[[], object], runs: int, budget_s: float = 30.0) -> float:
    """Median CPU milliseconds of ``fn``; fewer runs when one takes long."""
    samples = []
    spent = 0.0
    for _ in range(runs):
        start = time.process_time()
        fn()
        took = time.process_time() - start
        samples.append(took * 1000)
        spent += took
        if spent > budget_s:
            break
    return statistics.median(samples)


def frames_phase(runs: int, skip_before: bool) -> list[dict[str, Any]]:
    before = _before_decoder()
    rows = []
    print("\n== frames: CPU per decode (median ms)")
    print(f"{'frame':26} {'bytes':>9} {'now':>9} {'before':>10} {'before/now':>11}")
    for name, data in hostile_frames().items():
        now = cpu_ms(lambda d=data: decode_client_frame(d), runs)
        old = None if skip_before else cpu_ms(lambda d=data: before(d), max(1, runs // 5))
        ratio = f"{old / now:,.0f}x" if old is not None else "-"
        shown = f"{old:,.2f}" if old is not None else "-"
        print(f"{name:26} {len(data):>9,} {now:>9.3f} {shown:>10} {ratio:>11}")
        rows.append({"frame": name, "bytes": len(data), "now_ms": now, "before_ms": old})
    worst = max(r["now_ms"] for r in rows)
    print(f"worst frame now: {worst:.3f} ms of CPU")
    return rows


# -- servers ---------------------------------------------------------------------------


def start_server(workdir: Path, extra: dict[str, str] | None = None) -> ServerProcess:
    port = free_port()
    env = plenary_env(workdir, port)
    # The honest clients and the attacker all come from 127.0.0.1; the per-token and
    # per-connection shares are the defaults, which is what is measured.
    for key in ("PLENARY_WRITE_RATE", "PLENARY_WRITE_BURST"):
        env.pop(key, None)
    env.update(extra or {})
    argv = [sys.executable, "-m", "plenary", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess("plenary", argv, env, workdir / f"plenary-{port}.log")
    server.wait_ready(lambda: _http_ok(server.http_url + "/healthz"))
    if PIN:
        # The server on one CPU, everything that loads it on the other: the flood's own
        # CPU then costs the honest clients nothing, and what is measured is the server.
        # (The draft worker, a child of the server, is started later and stays on CPU 0
        # too: the loop and the worker share a core, the worst case for the loop.)
        os.sched_setaffinity(server.pid, {SERVER_CPU})
        os.sched_setaffinity(0, {CLIENT_CPU})
    return server


def new_event(server: ServerProcess, title: str) -> dict[str, Any]:
    return post_json(server.http_url, "/api/events", {"title": title})


def join(server: ServerProcess, code: str, name: str) -> str:
    token: str = post_json(server.http_url, "/api/join", {"code": code, "name": name})["token"]
    return token


async def _connect(url: str, token: str) -> Any:
    ws = await websockets.connect(url, max_size=None, compression=None)
    await ws.send(msgpack.packb({"t": "hello", "token": token, "since": 2**40}))
    return ws


async def honest_writers(
    url: str, tokens: list[str], seconds: float, interval: float = 1.0
) -> list[float]:
    """Each token writes a note every ``interval`` seconds; the ack latencies, in ms."""
    latencies: list[float] = []
    ids = itertools.count()

    async def one(token: str) -> None:
        ws = await _connect(url, token)
        pending: dict[str, float] = {}
        answered = asyncio.Event()

        async def read() -> None:
            async for raw in ws:
                frame = msgpack.unpackb(raw, raw=False)
                if frame.get("t") in ("ack", "error") and frame.get("id") in pending:
                    if frame["t"] == "error":
                        raise RuntimeError(f"honest write refused: {frame}")
                    latencies.append((time.perf_counter() - pending.pop(frame["id"])) * 1000)
                    if not pending:
                        answered.set()

        reader = asyncio.create_task(read())
        # People do not type in step: each writer starts somewhere in its first interval.
        await asyncio.sleep(random.random() * interval)
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            op_id = f"h{next(ids)}"
            pending[op_id] = time.perf_counter()
            note = {"kind": "note.add", "text": f"honest {op_id}"}
            await ws.send(msgpack.packb({"t": "write", "id": op_id, "op": note}))
            await asyncio.sleep(interval)
        if pending:
            answered.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answered.wait(), 30)
        reader.cancel()
        await ws.close()
        if pending:
            raise RuntimeError(f"{len(pending)} honest writes never acknowledged")

    await asyncio.gather(*(one(t) for t in tokens))
    return latencies


def _flooder(url: str, token: str, kind: str, seconds: float, sent: Any) -> None:
    """In its own process: one connection sending ``kind`` frames as fast as it can,
    reconnecting when it is closed, for ``seconds``."""

    async def run() -> None:
        end = time.perf_counter() + seconds
        ids = itertools.count()
        while time.perf_counter() < end:
            try:
                ws = await _connect(url, token)
                while time.perf_counter() < end:
                    if kind == "writes":
                        op = {"kind": "note.add", "text": "flood"}
                        frame = {"t": "write", "id": f"f{next(ids)}", "op": op}
                    else:
                        frame = {"t": "ping", "n": next(ids) % 1000}
                    await ws.send(msgpack.packb(frame))
                    sent.value += 1
            except (websockets.ConnectionClosed, OSError):
                await asyncio.sleep(0.05)

    asyncio.run(run())


def _drafter(url: str, token: str, activity: int, text: str, seconds: float, sent: Any) -> None:
    async def run() -> None:
        ws = await _connect(url, token)
        end = time.perf_counter() + seconds
        base = 0
        ids = itertools.count()
        draft = text
        while time.perf_counter() < end:
            op_id = f"d{next(ids)}"
            save = {"kind": "draft.save", "activity": activity, "base": base, "text": draft}
            await ws.send(msgpack.packb({"t": "write", "id": op_id, "op": save}))
            while True:
                frame = msgpack.unpackb(await ws.recv(), raw=False)
                if frame.get("id") == op_id:
                    break
            sent.value += 1
            if frame.get("code") == "rate_limited":
                # A writer past its share waits as it is told (the client does too).
                await asyncio.sleep(frame["detail"]["retry_after_ms"] / 1000)
            elif frame["t"] == "ack":
                base += 1
                draft = draft + "\n\nOne more line.\n"

    asyncio.run(run())


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (Linux /proc)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{parent}/task").iterdir():
                found = [int(c) for c in (task / "children").read_text().split()]
                out.extend(found)
                todo.extend(found)
    return out


def hostile_draft(sections: int, chars: int = 290_000) -> str:
    """The worst draft a writer may save: as many sections as allowed, filling the
    character limit with paragraphs of distinct words, and marks stacked to the cap."""
    per = max(1, chars // sections)
    body = []
    for i in range(sections - 1):  # and the title's own section
        words = " ".join(f"w{i}x{j}" for j in range(per // 9))
        paragraphs = "\n\n".join(words[k : k + 400] for k in range(0, len(words), 400))
        body.append(f"## Section {i}\n\n{paragraphs}")
    marks = ("a" + "\u0301\u0323" * 8 + " ") * 200
    return f"# Worst case\n\n{marks}\n\n" + "\n\n".join(body) + "\n"


def summary(name: str, latencies: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    row = {
        "phase": name,
        "acks": len(ordered),
        "p50_ms": percentile(ordered, 0.5),  # type: ignore[arg-type]
        "p99_ms": percentile(ordered, 0.99),  # type: ignore[arg-type]
        "max_ms": ordered[-1] if ordered else float("nan"),
    }
    figures = f"{row['p50_ms']:>9.1f} {row['p99_ms']:>9.1f} {row['max_ms']:>9.1f}"
    print(f"{name:34} {row['acks']:>6} {figures}")
    return row


def server_phases(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    server = start_server(workdir)
    rows: list[dict[str, Any]] = []
    try:
        url = server.ws_url

        def fresh_room(name: str) -> tuple[list[str], str]:
            """Each phase on an event of its own, so that none inherits the notes (and the
            catch-ups) of the phases before it: the honest tokens and the attacker's."""
            room = new_event(server, name)
            honest = [join(server, room["code"], f"P{i}") for i in range(args.honest)]
            return honest, join(server, room["code"], "Flood")

        print("\n== first frame: 604 KiB, no token -> bad_frame, close 4002 (wall ms)")
        first = msgpack.packb(
            {"t": "write", "id": "w", "op": {"kind": "note.merge", "notes": list(range(150_000))}}
        )

        async def refusals() -> list[float]:
            """From the frame sent to the refusal (its error frame) received; the close
            that follows then waits on the client's TCP delayed ack, not on the server."""
            out = []
            for _ in range(args.first_frames):
                ws = await websockets.connect(url, max_size=None, compression=None)
                start = time.perf_counter()
                await ws.send(first)
                refusal = msgpack.unpackb(await ws.recv(), raw=False)
                out.append((time.perf_counter() - start) * 1000)
                assert refusal["code"] == "bad_frame", refusal
                with contextlib.suppress(websockets.ConnectionClosed):
                    async for _frame in ws:
                        pass
                assert ws.close_code == 4002, ws.close_code
            return out

        took = sorted(asyncio.run(refusals()))
        print(f"median {statistics.median(took):.2f} ms, max {took[-1]:.2f} ms over {len(took)}")
        rows.append({"phase": "first frame", "median_ms": statistics.median(took)})

        print(
            f"\n== flood: {args.honest} honest writers, a note every {args.interval:g} s each"
            " (ack ms)"
        )
        print(f"{'phase':34} {'acks':>6} {'p50':>9} {'p99':>9} {'max':>9}")
        honest, _ = fresh_room("Alone")
        alone = asyncio.run(honest_writers(url, honest, args.seconds, args.interval))
        rows.append(summary("honest alone (peer)", alone))
        for kind in ("writes", "pings"):
            honest, attacker = fresh_room(f"A flood of {kind}")
            sent = multiprocessing.Value("q", 0)
            flood = multiprocessing.Process(
                target=_flooder, args=(url, attacker, kind, args.seconds + 1, sent)
            )
            flood.start()
            try:
                under = asyncio.run(honest_writers(url, honest, args.seconds, args.interval))
            finally:
                flood.join()
            row = summary(f"honest + a flood of {kind}", under)
            row["flood_frames"] = sent.value
            print(f"{'':34} the flood sent {sent.value:,} frames")
            rows.append(row)

        honest, _ = fresh_room("Alone again")
        again = asyncio.run(honest_writers(url, honest, args.seconds, args.interval))
        rows.append(summary("honest alone again (peer)", again))

        print(f"\n== draft: a writer on another event saves {args.draft_sections} headings")
        honest, _ = fresh_room("Beside the writing team")
        other = new_event(server, "The writing team")
        grant = other["facilitator_token"]
        activity = asyncio.run(_add_draft(url, grant))
        text = hostile_draft(args.draft_sections)
        sent = multiprocessing.Value("q", 0)
        drafter = multiprocessing.Process(
            target=_drafter, args=(url, grant, activity, text, args.seconds + 1, sent)
        )
        drafter.start()
        try:
            if PIN:
                # The worker process the first save starts is the server's child and
                # inherits its CPU; on its own core it is what a two-core server has.
                deadline = time.monotonic() + 60
                while sent.value == 0 and time.monotonic() < deadline:
                    time.sleep(0.05)
                for child in children(server.pid):
                    with contextlib.suppress(OSError):
                        os.sched_setaffinity(child, {CLIENT_CPU})
            under = asyncio.run(honest_writers(url, honest, args.seconds, args.interval))
        finally:
            drafter.join()
        row = summary("honest + worst draft saves", under)
        row["saves"] = sent.value
        print(f"{'':34} {sent.value} saves answered ({len(text):,} characters each)")
        rows.append(row)
    finally:
        server.stop()
    return rows


async def _add_draft(url: str, token: str) -> int:
    ws = await _connect(url, token)
    add = {"kind": "activity.add", "type": "draft", "prompt": "The strategy"}
    await ws.send(msgpack.packb({"t": "write", "id": "a1", "op": add}))
    while True:
        frame = msgpack.unpackb(await ws.recv(), raw=False)
        if frame.get("id") == "a1":
            break
    assert frame["t"] == "ack", frame
    activity: int = frame["seq"]
    opened = {"kind": "activity.set_status", "activity": activity, "status": "open"}
    await ws.send(msgpack.packb({"t": "write", "id": "a2", "op": opened}))
    await ws.close()
    return activity


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--runs", type=int, default=21, help="decodes per frame (default 21)")
    p.add_argument("--honest", type=int, default=20, help="honest writers (default 20)")
    p.add_argument("--seconds", type=float, default=20.0, help="per phase (default 20)")
    p.add_argument(
        "--interval", type=float, default=1.0, help="seconds between an honest writer's notes (1)"
    )
    p.add_argument("--first-frames", type=int, default=20, help="hostile first frames (20)")
    p.add_argument(
        "--draft-sections", type=int, default=500, help="headings (default 500, the cap)"
    )
    p.add_argument("--quick", action="store_true", help="a smoke run: small and short")
    p.add_argument("--frames-only", action="store_true", help="only the frames phase")
    p.add_argument(
        "--no-before", action="store_true", help="skip the old decoder (a minute of CPU)"
    )
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.honest, args.seconds, args.first_frames = 3, 3, 1.0, 2
        args.interval = 0.1
        args.draft_sections = 50
    # In a child process: the old decoder's gigabytes of garbage would otherwise stay in
    # the process the honest clients then run in.
    child = multiprocessing.get_context("fork").Process(
        target=frames_phase, args=(args.runs, args.quick or args.no_before)
    )
    child.start()
    child.join()
    if args.frames_only:
        return 0
    with tempfile.TemporaryDirectory(prefix="plenary-hostile-") as tmp:
        try:
            server_phases(args, Path(tmp))
        except RuntimeError as exc:
            print(f"FAILED: {exc}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
