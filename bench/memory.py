"""What one idle connection costs Plenary in memory, and what that memory is made of.

    .venv/bin/python bench/memory.py                 # 2,000 idle observers
    .venv/bin/python bench/memory.py --clients 5000 --sites 20

Two runs of the same server (uvicorn with ``plenary serve``'s options, the embedded
default), each with N observers held open and idle by ``loadgen`` (bench/loadgen.c):

1. **RSS**: the server's resident memory after the clients are connected and have had
   their welcome, minus before, divided by N. This is the figure to quote.
2. **Breakdown**: the same with ``tracemalloc`` on (which inflates RSS, so it is a run of
   its own): the Python memory allocated for the connections, each allocation charged to
   the innermost frame of its traceback that is not the standard library. An
   ``asyncio.Queue`` created by uvicorn counts as uvicorn's; a coroutine frame of our
   handler as Plenary's. What tracemalloc cannot see (the kernel's socket buffers, which
   are not in RSS either, and allocator slack) is the gap between the two figures.
"""

from __future__ import annotations

import argparse
import linecache
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import (
    SECRET,
    BenchError,
    ServerProcess,
    _http_ok,
    free_port,
    plenary_env,
    post_json,
    raise_open_file_limit,
    rss_kb,
)
from loadgen import LoadGen, build

ROOT = Path(__file__).resolve().parent.parent
SETTLE_S = 1.0
FRAMES = 40  # traceback depth: deep enough to reach out of asyncio into who called it


def serve(port: int, trace: bool) -> None:
    """The server under test, in this process; ``snap PATH`` on stdin dumps a snapshot."""
    import uvicorn
    from plenary.app import create_app
    from plenary.cli import uvicorn_options
    from plenary.config import load

    if trace:
        tracemalloc.start(FRAMES)

    def control() -> None:
        for line in sys.stdin:
            cmd, _, arg = line.strip().partition(" ")
            if cmd == "snap" and trace:
                tracemalloc.take_snapshot().dump(arg)
            print("ok", flush=True)

    threading.Thread(target=control, daemon=True).start()
    config = load()
    options = uvicorn_options(config, "127.0.0.1", port)
    options["log_level"] = "warning"
    uvicorn.run(create_app(config), **options)


def _owner(frames: Sequence[tracemalloc.Frame]) -> tuple[str, str]:
    """(package, site) of the innermost frame that is not the standard library."""
    stdlib = os.path.dirname(os.__file__)
    for frame in reversed(frames):  # a Traceback runs oldest first
        name = frame.filename
        if (name.startswith(stdlib) and "site-packages" not in name) or name == __file__:
            continue
        if "site-packages" in name:
            package = name.split("site-packages/", 1)[1].split("/", 1)[0]
        elif "/server/" in name:
            package = "plenary"
        else:
            package = Path(name).name
        line = linecache.getline(name, frame.lineno).strip()
        return package, f"{Path(name).name}:{frame.lineno} {line[:70]}"
    innermost = frames[-1]
    return "stdlib only", f"{Path(innermost.filename).name}:{innermost.lineno}"


def start_server(workdir: Path, trace: bool) -> ServerProcess:
    """The server in its own process, with a pipe to ask it for snapshots."""
    port = free_port()
    argv = [sys.executable, __file__, "--serve", "--port", str(port)]
    if trace:
        argv.append("--trace")
    server = ServerProcess(
        "plenary", argv, plenary_env(workdir, port), workdir / f"server-{port}.log", control=True
    )
    server.wait_ready(lambda: _http_ok(server.http_url + "/healthz"))
    return server


def snap(server: ServerProcess, path: Path) -> None:
    stdin, stdout = server.proc.stdin, server.proc.stdout
    assert stdin is not None and stdout is not None
    stdin.write(f"snap {path}\n")
    stdin.flush()
    if stdout.readline().strip() != "ok":
        raise BenchError("the server did not take its snapshot")


def measure(workdir: Path, binary: Path, clients: int, trace: bool) -> dict[str, object]:
    import msgpack
    from plenary.auth import Tokens
    from plenary.domain.model import Actor, Role

    server = start_server(workdir, trace)
    try:
        base = server.http_url
        created = post_json(base, "/api/events", {"title": "Memory", "groups": ["Bench"]})
        tokens = Tokens(SECRET, max_age_seconds=86400)

        def hellos(n: int, start: int) -> list[bytes]:
            return [
                msgpack.packb(
                    {
                        "t": "hello",
                        "token": tokens.issue(
                            created["event"], Actor(f"o_mem{start + i:06d}", Role.OBSERVER)
                        ),
                        "since": 0,
                    }
                )
                for i in range(n)
            ]

        targets = [("127.0.0.1", server.port)]
        # A few connections first, so that what every process pays once (the hub, the
        # event's state, imports made on first use) is not charged to the N.
        warm = LoadGen(binary, targets, "/ws", "plenary", 20, hellos(20, 0))
        warm.start(workdir / "loadgen.log")
        warm.wait_ready(60)
        time.sleep(SETTLE_S)
        before_path = workdir / "before.snap"
        if trace:
            snap(server, before_path)
        rss0 = rss_kb(server.pid)
        gen = LoadGen(binary, targets, "/ws", "plenary", clients, hellos(clients, 20))
        gen.start(workdir / "loadgen.log")
        ready = int(gen.wait_ready(120)["ready"])
        time.sleep(SETTLE_S)
        rss1 = rss_kb(server.pid)
        out: dict[str, object] = {"clients": ready, "rss_kib_per_conn": (rss1 - rss0) / ready}
        if trace:
            after_path = workdir / "after.snap"
            snap(server, after_path)
            before = tracemalloc.Snapshot.load(str(before_path))
            after = tracemalloc.Snapshot.load(str(after_path))
            by_package: Counter[str] = Counter()
            by_site: Counter[str] = Counter()
            for diff in after.compare_to(before, "traceback"):
                package, site = _owner(diff.traceback)
                by_package[package] += diff.size_diff
                by_site[f"{package:10} {site}"] += diff.size_diff
            out["traced_kib_per_conn"] = sum(by_package.values()) / ready / 1024
            out["by_package"] = {k: v / ready / 1024 for k, v in by_package.most_common()}
            out["by_site"] = {k: v / ready / 1024 for k, v in by_site.most_common()}
        gen.stop()
        warm.stop()
        return out
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--clients", type=int, default=2000)
    p.add_argument("--sites", type=int, default=15, help="allocation sites to list")
    p.add_argument(
        "--trace-clients",
        type=int,
        default=2000,
        help="clients in the tracemalloc run, which slows the server several times (default 2000)",
    )
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args.port, args.trace)
        return 0
    raise_open_file_limit()
    workdir = Path(tempfile.mkdtemp(prefix="plenary-memory-"))
    binary = build(workdir)
    plain = measure(workdir, binary, args.clients, trace=False)
    traced = measure(workdir, binary, min(args.clients, args.trace_clients), trace=True)
    print(f"{plain['clients']} idle observers (welcome and snapshot received)")
    print(f"RSS per connection:            {plain['rss_kib_per_conn']:6.1f} KiB")
    print(
        f"Python heap per connection:    {traced['traced_kib_per_conn']:6.1f} KiB "
        f"(tracemalloc, {traced['clients']} observers)"
    )
    print("\nby owner (innermost frame outside the standard library), KiB per connection:")
    for name, kib in traced["by_package"].items():  # type: ignore[union-attr]
        if abs(kib) >= 0.05:
            print(f"  {kib:6.2f}  {name}")
    print(f"\nlargest allocation sites, KiB per connection (top {args.sites}):")
    for site, kib in list(traced["by_site"].items())[: args.sites]:  # type: ignore[union-attr]
        print(f"  {kib:6.2f}  {site}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
