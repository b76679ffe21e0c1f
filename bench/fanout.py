"""Fan-out benchmark: N websocket clients on one event, one writer posting notes.

Prints delivery latency (p50/p90/p99/max), delivered ops/s and frames/s, loss and
duplicates, server memory per connection and server CPU, for Plenary on each backend and
for a *peer* measured in the same run: a bare ``websockets`` broadcast server that speaks
the same frames with the same payload and does nothing else (no database, no log, no
delivery tick). Plenary's figures are quoted as a ratio to the peer's, because these
machines are noisy and a ratio measured side by side survives the noise better than an
absolute number.

Every server runs as its own subprocess on a free loopback port, so its CPU is separate
from the load generator's; the receiving clients are spread over several processes.

    .venv/bin/python bench/fanout.py --quick
    .venv/bin/python bench/fanout.py                       # both backends, 100 and 1,000
    .venv/bin/python bench/fanout.py --backend pg --clients 1000 --repeat 5 --json out.json

Exit status: 0 when every client got every op exactly once and in order; 1 when anything
was lost, duplicated, reordered or a client was closed; 2 when a server or a client
could not be started.

See bench/README.md for what each column means and figures measured so far.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgpack
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection, broadcast, serve

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("PLENARY_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PLENARY_BENCH_REDIS", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-not-for-production"

# A sticky note is a line or two; 80 characters is a typical one and well under the
# 280-character limit. The peer sends the same text, so both push the same bytes.
NOTE_CHARS = 80
# Starting a server: Plenary imports, migrates and (on pg) connects to Postgres and
# Redis; a cold Postgres migration takes a few seconds on a busy machine.
START_TIMEOUT_S = 60.0
# Opening the clients: 1,000 websocket handshakes against one Python process take a few
# seconds; past a minute something is wrong.
CONNECT_TIMEOUT_S = 60.0
# Concurrent handshakes per receiver process: enough to open 1,000 sockets quickly
# without filling the server's listen backlog (uvicorn's is 2048) with half-opens.
CONNECT_CONCURRENCY = 64
# After the last ack, how long every client gets to receive the last op. A server
# that keeps up needs milliseconds; one that falls behind shows up as loss, not a hang.
DRAIN_TIMEOUT_S = 20.0
# How long the writer waits for the ack of its last write.
ACK_TIMEOUT_S = 30.0
# How often a receiver checks whether all its clients have the last op.
DRAIN_POLL_S = 0.02
# A server gets this long to exit after SIGTERM before it is killed.
STOP_TIMEOUT_S = 5.0


# -- results -----------------------------------------------------------------------------


@dataclass
class RunResult:
    """One measured run: one server, one event, N clients, one writer."""

    target: str  # "plenary-sqlite", "plenary-pg" or "peer"
    clients: int
    notes: int
    rate: float
    repeat: int
    p50_ms: float = math.nan
    p90_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    ack_p50_ms: float = math.nan  # write sent → its ack received, median
    ops_per_s: float = math.nan  # note ops delivered, summed over clients, per second
    frames_per_s: float = math.nan  # websocket frames carrying them, per second
    duration_s: float = math.nan  # first write sent → last delivery received
    loss: int = 0  # (client, note op) pairs never received
    dup: int = 0  # ops a client received more than once
    ooo: int = 0  # ops a client received after a later one (out of order)
    closed: int = 0  # clients the server closed during the run (4008 = too slow)
    close_codes: dict[str, int] = field(default_factory=dict)
    write_errors: int = 0  # writes answered with an error or never acknowledged
    rss_kb_per_conn: float = math.nan
    rss_mb_after: float = math.nan
    cpu_s: float = math.nan  # server CPU (user + system) from first write to last delivery
    gen_cpu_s: float = math.nan  # receiver processes' CPU over the same stretch

    @property
    def failures(self) -> int:
        return self.loss + self.dup + self.ooo + self.closed + self.write_errors


class BenchError(RuntimeError):
    """A server or a client could not be started: the run measured nothing (exit 2)."""


# -- /proc readings ----------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` in KB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used by ``pid`` so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def raise_open_file_limit() -> int:
    """Lift the soft open-file limit to the hard one: 1,000 clients are 1,000 sockets
    here and 1,000 more in the server (which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return int(soft)


# -- servers under test ------------------------------------------------------------------


class ServerProcess:
    """A server under test in its own process (and session, so Ctrl-C reaches us only and
    we stop it in order)."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        log_path: Path,
        *,
        control: bool = False,
    ) -> None:
        """With ``control``, the server's stdin and stdout are text pipes for the bench to
        talk to it (its log then holds stderr only)."""
        self.name = name
        self.port = int(argv[argv.index("--port") + 1])
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE if control else subprocess.DEVNULL,
            stdout=subprocess.PIPE if control else self._log,
            stderr=self._log if control else subprocess.STDOUT,
            text=control,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode}\n{self.tail()}")
            with contextlib.suppress(OSError):
                if ready():
                    return
            time.sleep(0.05)
        raise BenchError(f"{self.name} not ready after {START_TIMEOUT_S:.0f} s\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join("    " + line for line in text[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=1) as response:
        return bool(response.status == 200)


def _tcp_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def post_json(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def plenary_env(workdir: Path, port: int, database_url: str | None = None) -> dict[str, str]:
    """A server's environment: this one's, without any Plenary setting of the caller's,
    plus its own data directory and the bench's secret; Postgres + Redis when given a
    database URL, else the embedded default."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLENARY_", "DATABASE_URL"))}
    env.pop("REDIS_URL", None)
    env.update(
        {
            "PLENARY_DATA_DIR": str(workdir / f"data-{port}"),
            "PLENARY_SECRET": SECRET,
            "PLENARY_LOG_LEVEL": "warning",
            # Every simulated phone and screen comes from 127.0.0.1: the per-address
            # limits, sized for one venue's NAT, would refuse a city's worth of them.
            "PLENARY_ADDRESS_JOINS_PER_MINUTE": "10000000",
            "PLENARY_ADDRESS_LOOKUPS_PER_MINUTE": "10000000",
            "PLENARY_ADDRESS_CONNECTIONS": "10000000",
            # The benchmarks' writers post flat out from one token: far past a person's
            # fair share, which is what they measure.
            "PLENARY_WRITE_RATE": "10000000",
            "PLENARY_WRITE_BURST": "10000000",
        }
    )
    if database_url is not None:
        env["DATABASE_URL"] = database_url
        env["REDIS_URL"] = REDIS_URL
    return env


def start_plenary(backend: str, workdir: Path, args: argparse.Namespace) -> ServerProcess:
    port = free_port()
    env = plenary_env(workdir, port, args.pg_database_url if backend == "pg" else None)
    env["PLENARY_TICK_MS"] = str(args.tick_ms)
    if args.buffer_kb:
        env["PLENARY_CLIENT_BUFFER_KB"] = str(args.buffer_kb)
    argv = [sys.executable, "-m", "plenary", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess(f"plenary ({backend})", argv, env, workdir / f"plenary-{port}.log")
    server.wait_ready(lambda: _http_ok(server.http_url + "/healthz"))
    return server


def start_peer(workdir: Path) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--peer-server", "--port", str(port)]
    server = ServerProcess("peer", argv, dict(os.environ), workdir / f"peer-{port}.log")
    server.wait_ready(lambda: _tcp_open(port))
    return server


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty Postgres database for this bench run, dropped afterwards (also on
    Ctrl-C). The server migrates it on start."""
    import psycopg

    name = f"plenary_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise BenchError(f"cannot create a Postgres database via {PG_ADMIN_URL}: {exc}") from exc
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the peer: a bare websockets broadcast server ----------------------------------------


async def peer_server(port: int) -> None:
    """The transport floor: answers hello, acks writes, and broadcasts each note as an
    ``ops`` frame shaped exactly like Plenary's, encoded once, to every client at once.
    Nothing is stored, validated or batched; ``broadcast`` has no backpressure."""
    clients: set[ServerConnection] = set()
    seq = 0

    async def handle(ws: ServerConnection) -> None:
        nonlocal seq
        hello = msgpack.unpackb(await ws.recv(), raw=False)
        if hello.get("t") != "hello":
            return
        you = f"p_{uuid.uuid4().hex[:12]}"
        await ws.send(msgpack.packb({"t": "welcome", "seq": seq, "you": you}))
        clients.add(ws)
        try:
            async for raw in ws:
                frame = msgpack.unpackb(raw, raw=False)
                if frame.get("t") != "write":
                    continue
                seq += 1
                op = {
                    "seq": seq,
                    "kind": "note.added",
                    "by": you,
                    "at": int(time.time() * 1000),
                    "data": {"text": frame["op"]["text"], "colour": frame["op"].get("colour")},
                }
                broadcast(clients, msgpack.packb({"t": "ops", "upto": op["seq"], "ops": [op]}))
                await ws.send(msgpack.packb({"t": "ack", "id": frame["id"], "seq": seq}))
        finally:
            clients.discard(ws)

    # Plenary's transport settings: no compression, 64 KB frames (pings every 20 s here,
    # 25 s there: no run lasts that long).
    async with serve(handle, "127.0.0.1", port, compression=None, max_size=65536):
        await asyncio.Future()


# -- the receivers: N/P clients in each of P processes -----------------------------------


@dataclass
class Received:
    """What one client got: the seq and arrival time (CLOCK_MONOTONIC ns, which Linux
    shares across processes) of every op, in arrival order."""

    seqs: array.array[int] = field(default_factory=lambda: array.array("q"))
    times: array.array[int] = field(default_factory=lambda: array.array("q"))
    live_frames: int = 0  # ops frames after the catch-up
    welcome_seq: int = 0
    close_code: int | None = None
    resync: bool = False
    closing: bool = False  # set when we close it: a close after this is ours

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else self.welcome_seq


async def _open_client(url: str, token: str, got: Received) -> ClientConnection:
    ws = await websockets.connect(
        url,
        compression=None,
        max_size=None,
        open_timeout=CONNECT_TIMEOUT_S,
        # The server pings every 25 s; the client's own pings would only add traffic.
        ping_interval=None,
        close_timeout=1,
    )
    await ws.send(msgpack.packb({"t": "hello", "token": token, "since": 0}))
    first = msgpack.unpackb(await ws.recv(), raw=False)
    if first.get("t") != "welcome":
        await ws.close()
        raise BenchError(f"expected welcome, got {first!r}")
    got.welcome_seq = int(first["seq"])
    return ws


async def _read_client(ws: ClientConnection, got: Received) -> None:
    """Read every frame as it comes: a client that stops reading is, rightly, closed by
    the server as too slow."""
    now = time.monotonic_ns
    unpack = msgpack.unpackb
    try:
        async for raw in ws:
            t = now()
            frame = unpack(raw, raw=False)
            kind = frame.get("t")
            if kind == "ops":
                ops = frame["ops"]
                # A frame may carry no ops, only a new cursor (ops this screen may not see).
                if frame["upto"] > got.welcome_seq:
                    got.live_frames += 1
                for op in ops:
                    got.seqs.append(op["seq"])
                    got.times.append(t)
            elif kind == "resync":
                got.resync = True
    except websockets.ConnectionClosed as exc:
        if not got.closing:
            got.close_code = exc.rcvd.code if exc.rcvd else 1006
    if not got.closing and got.close_code is None:
        got.close_code = ws.close_code or 1000


async def _receiver(conn: Connection, url: str, tokens: list[str]) -> None:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    def from_parent() -> None:
        try:
            inbox.put_nowait(conn.recv())
        except EOFError:  # the parent is gone or gave up: stop
            loop.remove_reader(conn.fileno())
            inbox.put_nowait(("eof",))

    loop.add_reader(conn.fileno(), from_parent)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    clients = [Received() for _ in tokens]

    async def open_one(token: str, got: Received) -> ClientConnection:
        async with gate:
            return await _open_client(url, token, got)

    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            sockets = await asyncio.gather(
                *(open_one(tok, got) for tok, got in zip(tokens, clients, strict=True))
            )
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    readers = [
        asyncio.create_task(_read_client(ws, got)) for ws, got in zip(sockets, clients, strict=True)
    ]
    conn.send(("ready", len(sockets)))
    # "go" when the writer starts, "expect" with the last seq once it is done.
    message = await inbox.get()
    if message[0] != "go":
        return
    usage_start = resource.getrusage(resource.RUSAGE_SELF)
    message = await inbox.get()
    if message[0] != "expect":
        return
    _, last_seq = message
    # Wait until every client has the last op or was closed; loss shows up afterwards.
    deadline = loop.time() + DRAIN_TIMEOUT_S
    while loop.time() < deadline:
        if all(c.last_seq >= last_seq or c.close_code is not None for c in clients):
            break
        await asyncio.sleep(DRAIN_POLL_S)
    usage_end = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage_end.ru_utime + usage_end.ru_stime) - (usage_start.ru_utime + usage_start.ru_stime)
    for got in clients:
        got.closing = got.close_code is None
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    await asyncio.gather(*readers, return_exceptions=True)
    conn.send(
        (
            "result",
            cpu,
            [
                (c.seqs.tobytes(), c.times.tobytes(), c.live_frames, c.close_code, c.resync)
                for c in clients
            ],
        )
    )


def receiver_main(conn: Connection, url: str, tokens: list[str]) -> None:
    """Entry point of a receiver process. Ctrl-C is the parent's to handle: it stops us."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        asyncio.run(_receiver(conn, url, tokens))
    except Exception as exc:
        with contextlib.suppress(Exception):
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))


# -- the writer --------------------------------------------------------------------------


def note_text(i: int) -> str:
    return f"bench note {i:06d} ".ljust(NOTE_CHARS, "x")


@dataclass
class Written:
    sent_at: dict[int, int]  # seq → CLOCK_MONOTONIC ns when its write was sent
    ack_ms: list[float]  # write → ack, per acknowledged write: the write path alone
    failed: int  # writes refused or never acknowledged


async def write_notes(url: str, token: str, since: int, notes: int, rate: float) -> Written:
    """Post ``notes`` notes at a fixed rate, open loop: the next write does not wait for
    the last ack, as a room of people would not."""
    ws = await websockets.connect(url, compression=None, max_size=None, ping_interval=None)
    await ws.send(msgpack.packb({"t": "hello", "token": token, "since": since}))
    welcome = msgpack.unpackb(await ws.recv(), raw=False)
    if welcome.get("t") != "welcome":
        raise BenchError(f"writer: expected welcome, got {welcome!r}")
    sent_at: dict[str, int] = {}
    seq_of: dict[str, int] = {}
    acked_at: dict[str, int] = {}
    errors: list[Any] = []
    all_acked = asyncio.Event()

    async def read_acks() -> None:
        # The writer's own copy of the ops is read (and dropped) too, or it would lag.
        async for raw in ws:
            frame = msgpack.unpackb(raw, raw=False)
            if frame.get("t") == "ack":
                acked_at[frame["id"]] = time.monotonic_ns()
                seq_of[frame["id"]] = frame["seq"]
            elif frame.get("t") == "error":
                errors.append(frame)
            if len(seq_of) + len(errors) >= notes:
                all_acked.set()

    reader = asyncio.create_task(read_acks())
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(notes):
        # Fixed schedule, not fixed gaps: a late send does not push the later ones back.
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        op_id = f"b{i}"
        sent_at[op_id] = time.monotonic_ns()
        await ws.send(
            msgpack.packb(
                {"t": "write", "id": op_id, "op": {"kind": "note.add", "text": note_text(i)}}
            )
        )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_acked.wait(), ACK_TIMEOUT_S)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    await ws.close()
    by_seq = {seq_of[op_id]: t for op_id, t in sent_at.items() if op_id in seq_of}
    ack_ms = [(acked_at[op_id] - sent_at[op_id]) * 1e-6 for op_id in acked_at]
    return Written(by_seq, ack_ms, notes - len(by_seq))


# -- one run -----------------------------------------------------------------------------


def percentile(ordered: Sequence[int], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return math.nan
    return float(ordered[max(0, math.ceil(p * len(ordered)) - 1)])


def _create_event(server: ServerProcess, target: str) -> tuple[str, str, int]:
    """Create the event; returns the join code, the writer's token and its join seq."""
    if target == "peer":
        return "", "peer", 0
    created = post_json(
        server.http_url, "/api/events", {"title": "Fan-out bench", "groups": ["Bench"]}
    )
    joined = post_json(
        server.http_url,
        "/api/join",
        {"code": created["code"], "name": "Bench writer", "group": "Bench", "table": "1"},
    )
    return created["code"], joined["token"], int(joined["seq"])


def _observer_tokens(server: ServerProcess, target: str, code: str, clients: int) -> list[str]:
    """One observer token per client, as each phone or screen would have its own."""
    if target == "peer":
        return ["peer"] * clients
    return [
        post_json(server.http_url, "/api/observe", {"code": code})["token"] for _ in range(clients)
    ]


def receiver_processes(asked: int, clients: int) -> int:
    """One receiver process per 250 clients, at most one per CPU. A Python process
    reads and unpacks roughly 15-25k small frames per CPU-second here (the peer's 50k
    frames/s at 1,000 clients cost the receivers ~3.3 CPU-s in 4 s)."""
    if asked > 0:
        return min(asked, clients)
    return max(1, min(len(os.sched_getaffinity(0)), math.ceil(clients / 250)))


class Receivers:
    """The receiver processes of one run: started with their share of the tokens, told
    "go" and "expect", their results collected, and always stopped."""

    def __init__(self, target: str, url: str, tokens: list[str], procs: int) -> None:
        self.target = target
        ctx = mp.get_context("spawn")
        n = receiver_processes(procs, len(tokens))
        self.pipes: list[Connection] = []
        self.procs: list[mp.process.BaseProcess] = []
        for share in (tokens[i::n] for i in range(n)):
            parent, child = ctx.Pipe()
            receiver = ctx.Process(target=receiver_main, args=(child, url, share))
            receiver.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(receiver)

    def wait_ready(self) -> None:
        for pipe in self.pipes:
            if not pipe.poll(CONNECT_TIMEOUT_S + 30):
                raise BenchError(f"{self.target}: a receiver did not report in time")
            message = pipe.recv()
            if message[0] != "ready":
                raise BenchError(f"{self.target}: a receiver failed to connect: {message[1]}")

    def send(self, *message: Any) -> None:
        for pipe in self.pipes:
            pipe.send(message)

    def results(self) -> tuple[float, list[tuple[bytes, bytes, int, int | None, bool]]]:
        """The receivers' CPU seconds and what every client got."""
        cpu = 0.0
        per_client: list[tuple[bytes, bytes, int, int | None, bool]] = []
        for pipe in self.pipes:
            if not pipe.poll(DRAIN_TIMEOUT_S + 30):
                raise BenchError(f"{self.target}: a receiver did not report its results")
            message = pipe.recv()
            if message[0] != "result":
                raise BenchError(f"{self.target}: a receiver failed: {message[1]}")
            cpu += message[1]
            per_client.extend(message[2])
        return cpu, per_client

    def stop(self) -> None:
        # Closing the pipes tells receivers still waiting (after a failure) to stop.
        for pipe in self.pipes:
            pipe.close()
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join()


def run_once(
    target: str, server: ServerProcess, clients: int, repeat: int, args: argparse.Namespace
) -> RunResult:
    result = RunResult(target, clients, args.notes, args.rate, repeat)
    code, writer_token, writer_seq = _create_event(server, target)
    tokens = _observer_tokens(server, target, code, clients)
    # The writer connects after the receivers' RSS is read, so the growth measured
    # across their connecting is theirs alone.
    rss_before = rss_kb(server.pid)
    receivers = Receivers(target, server.ws_url, tokens, args.procs)
    try:
        receivers.wait_ready()
        rss_after = rss_kb(server.pid)
        result.rss_kb_per_conn = (rss_after - rss_before) / clients
        result.rss_mb_after = rss_after / 1024

        cpu_start = cpu_seconds(server.pid)
        receivers.send("go")
        written = asyncio.run(
            write_notes(server.ws_url, writer_token, writer_seq, args.notes, args.rate)
        )
        sent_at = written.sent_at
        result.write_errors = written.failed
        result.ack_p50_ms = statistics.median(written.ack_ms) if written.ack_ms else math.nan
        last_seq = max(sent_at) if sent_at else 0
        receivers.send("expect", last_seq)
        result.gen_cpu_s, per_client = receivers.results()
        result.cpu_s = cpu_seconds(server.pid) - cpu_start
    finally:
        receivers.stop()

    _score(result, sent_at, per_client)
    return result


def _score(
    result: RunResult,
    sent_at: dict[int, int],
    per_client: list[tuple[bytes, bytes, int, int | None, bool]],
) -> None:
    """Latency, throughput, loss, duplicates and order from what every client got."""
    expected = set(sent_at)
    first_sent = min(sent_at.values()) if sent_at else 0
    latencies: list[int] = []
    last_received = first_sent
    frames = 0
    for raw_seqs, raw_times, live_frames, close_code, resync in per_client:
        seqs, times = array.array("q"), array.array("q")
        seqs.frombytes(raw_seqs)
        times.frombytes(raw_times)
        frames += live_frames
        if close_code is not None or resync:
            result.closed += 1
            key = str(close_code) + (" (resync)" if resync else "")
            result.close_codes[key] = result.close_codes.get(key, 0) + 1
        seen: set[int] = set()
        previous = 0
        for seq, t in zip(seqs, times, strict=True):
            if seq in seen:
                result.dup += 1
                continue
            seen.add(seq)
            if seq < previous:
                result.ooo += 1
            previous = max(previous, seq)
            sent = sent_at.get(seq)
            if sent is not None:
                latencies.append(t - sent)
                last_received = max(last_received, t)
        result.loss += len(expected - seen)
    latencies.sort()
    ms = 1e-6
    result.p50_ms = percentile(latencies, 0.50) * ms
    result.p90_ms = percentile(latencies, 0.90) * ms
    result.p99_ms = percentile(latencies, 0.99) * ms
    result.max_ms = latencies[-1] * ms if latencies else math.nan
    result.duration_s = (last_received - first_sent) * 1e-9
    if result.duration_s > 0:
        result.ops_per_s = len(latencies) / result.duration_s
        result.frames_per_s = frames / result.duration_s


# -- the whole bench ---------------------------------------------------------------------

COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (header, RunResult attribute, format)
    ("p50_ms", "p50_ms", "{:.1f}"),
    ("p90_ms", "p90_ms", "{:.1f}"),
    ("p99_ms", "p99_ms", "{:.1f}"),
    ("max_ms", "max_ms", "{:.1f}"),
    ("ack_ms", "ack_p50_ms", "{:.1f}"),
    ("ops/s", "ops_per_s", "{:.0f}"),
    ("frames/s", "frames_per_s", "{:.0f}"),
    ("dur_s", "duration_s", "{:.2f}"),
    ("loss", "loss", "{:d}"),
    ("dup", "dup", "{:d}"),
    ("ooo", "ooo", "{:d}"),
    ("closed", "closed", "{:d}"),
    ("rss_kb/conn", "rss_kb_per_conn", "{:.1f}"),
    ("cpu_s", "cpu_s", "{:.2f}"),
    ("gen_cpu_s", "gen_cpu_s", "{:.2f}"),
)
# Counts are summed over repeats (any one is a failure); figures are medians.
SUMMED = {"loss", "dup", "ooo", "closed"}
# The ratio rows: how many times the peer's figure Plenary's is.
RATIO_COLUMNS = {"p50_ms", "p90_ms", "p99_ms", "max_ms", "ack_p50_ms", "rss_kb_per_conn", "cpu_s"}


def summarise(runs: list[RunResult]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for _, attr, _ in COLUMNS:
        values = [getattr(r, attr) for r in runs]
        if attr in SUMMED:
            summary[attr] = sum(values)
        else:
            finite = [v for v in values if not math.isnan(v)]
            summary[attr] = statistics.median(finite) if finite else math.nan
    return summary


def format_table(
    clients: int, targets: list[str], results: list[RunResult], args: argparse.Namespace
) -> str:
    by_target = {t: summarise([r for r in results if r.target == t]) for t in targets}
    header = ["target", "clients", *[h for h, _, _ in COLUMNS]]
    rows: list[list[str]] = []
    for target in targets:
        s = by_target[target]
        cells = [target, str(clients)]
        for _, attr, fmt in COLUMNS:
            value = s[attr]
            cells.append(
                "-" if isinstance(value, float) and math.isnan(value) else fmt.format(value)
            )
        rows.append(cells)
    peer = by_target.get("peer")
    for target in targets:
        if target == "peer" or peer is None:
            continue
        cells = [f"{target}/peer", str(clients)]
        for _, attr, _ in COLUMNS:
            ours, theirs = by_target[target][attr], peer[attr]
            if attr in RATIO_COLUMNS and theirs and not math.isnan(theirs) and theirs > 0:
                cells.append(f"{ours / theirs:.1f}x")
            else:
                cells.append("")
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        f"{clients} clients, {args.notes} notes at {args.rate:g}/s, tick {args.tick_ms:g} ms, "
        f"median of {args.repeat} run(s) (loss/dup/ooo/closed: total)",
        *(aligned(r, widths) for r in [header, *rows]),
    ]
    return "\n".join(lines)


def aligned(cells: list[str], widths: list[int]) -> str:
    """The first column left-aligned, figures right-aligned."""
    rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
    return "  ".join([cells[0].ljust(widths[0]), *rest])


def run_bench(args: argparse.Namespace) -> int:
    limit = raise_open_file_limit()
    needed = 2 * max(args.clients) + 256
    if limit < needed:
        print(f"fanout: open-file limit {limit} is below the {needed} needed", file=sys.stderr)
        return 2
    backends = ["sqlite", "pg"] if args.backend == "both" else [args.backend]
    targets = ["peer", *[f"plenary-{b}" for b in backends]]
    results: list[RunResult] = []
    started = time.monotonic()
    load_before = os.getloadavg()
    print(
        f"fanout: {len(os.sched_getaffinity(0))} CPUs, receiver processes "
        f"{[receiver_processes(args.procs, n) for n in args.clients]}, "
        f"targets {', '.join(targets)}, clients {args.clients}, {args.repeat} repeat(s)",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="plenary-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(tmp)
        if "pg" in backends:
            args.pg_database_url = stack.enter_context(pg_database())
        # Interleaved (peer, sqlite, pg, peer, sqlite, pg, ...) so a noisy neighbour or
        # a thermal dip lands on every target alike and the ratios stay honest.
        for repeat in range(1, args.repeat + 1):
            for clients in args.clients:
                for target in targets:
                    if target == "peer":
                        server = start_peer(workdir)
                    else:
                        server = start_plenary(target.removeprefix("plenary-"), workdir, args)
                    try:
                        result = run_once(target, server, clients, repeat, args)
                    finally:
                        server.stop()
                    results.append(result)
                    print(
                        f"  run {repeat}/{args.repeat} {target:<15} {clients:>5} clients: "
                        f"p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  "
                        f"{result.ops_per_s:8.0f} ops/s  loss {result.loss}  dup {result.dup}  "
                        f"closed {result.closed}  cpu {result.cpu_s:.2f} s",
                        flush=True,
                    )
                    if result.close_codes:
                        print(f"    closed by the server: {result.close_codes}", flush=True)
                    if result.write_errors:
                        print(f"    {result.write_errors} writes failed", flush=True)
    print()
    for clients in args.clients:
        print(format_table(clients, targets, [r for r in results if r.clients == clients], args))
        print()
    # Other work on the machine shows up in every figure: say how busy it was.
    print(
        f"fanout: {time.monotonic() - started:.0f} s; load average before "
        f"{load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} "
        f"(the bench itself adds about 1.5 on a 2-CPU machine)"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "cpus": len(os.sched_getaffinity(0)),
                    "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg(),
                    "settings": {
                        "notes": args.notes,
                        "rate": args.rate,
                        "tick_ms": args.tick_ms,
                        "procs": args.procs,
                        "buffer_kb": args.buffer_kb,
                    },
                    "runs": [asdict(r) for r in results],
                    "summary": {
                        f"{t}/{n}": summarise(
                            [r for r in results if r.target == t and r.clients == n]
                        )
                        for t in targets
                        for n in args.clients
                    },
                },
                indent=2,
            )
        )
    failed = [r for r in results if r.failures]
    if failed:
        print(
            f"fanout: FAILED: {len(failed)} run(s) lost, duplicated or reordered ops, or "
            "had clients closed",
            file=sys.stderr,
        )
        return 1
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--clients",
        default="100,1000",
        help="comma-separated numbers of clients on the event (default 100,1000)",
    )
    p.add_argument("--notes", type=int, default=200, help="notes the writer posts (default 200)")
    p.add_argument("--rate", type=float, default=50.0, help="notes per second (default 50)")
    p.add_argument("--backend", choices=["sqlite", "pg", "both"], default="both")
    p.add_argument("--repeat", type=int, default=3, help="runs per figure (default 3)")
    p.add_argument(
        "--procs",
        type=int,
        default=0,
        help="receiver processes (default: one per 250 clients, at most the CPU count)",
    )
    p.add_argument("--tick-ms", type=float, default=10.0, help="PLENARY_TICK_MS (default 10)")
    p.add_argument(
        "--buffer-kb",
        type=int,
        default=0,
        help="PLENARY_CLIENT_BUFFER_KB for the server (default: the server's default)",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 100 clients, 1 repeat")
    p.add_argument("--json", metavar="PATH", help="also write every run and the summary here")
    p.add_argument("--peer-server", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.clients, args.repeat = "100", 1
    args.clients = [int(n) for n in str(args.clients).split(",") if n.strip()]
    if not args.clients or min(args.clients) < 1 or args.notes < 1 or args.rate <= 0:
        p.error("--clients, --notes and --rate must be positive")
    args.pg_database_url = ""
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.peer_server:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(peer_server(args.port))
        return 0
    # Ctrl-C and SIGTERM unwind through the finally blocks: servers and receivers
    # stopped, temporary database dropped. (SIGINT is set explicitly because a shell
    # starting us in the background hands us SIGINT ignored.)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run_bench(args)
    except BenchError as exc:
        print(f"fanout: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fanout: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
