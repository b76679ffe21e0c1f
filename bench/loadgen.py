"""Drives ``loadgen``, the C load generator in ``loadgen.c``: N websocket clients in one
thread on one epoll set, so that the clients cost a small, known fraction of a core and the
server under test stays the bottleneck.

    binary = build(Path("/tmp/bench"))
    gen = LoadGen(binary, [("127.0.0.1", 8001)], "/ws", "plenary", 2000, hellos)
    gen.start(Path("/tmp/bench/loadgen.log"))
    gen.wait_ready(60)          # {"event":"ready","clients":..,"ready":..,"failed":..}
    gen.reset()                 # measure from here
    ...                         # send N stamped ops ("~<CLOCK_MONOTONIC ns>~...")
    result = gen.wait(N, 30)    # every open client has N, or 30 s passed
    gen.stop()

The command line of the binary:

    loadgen --targets HOST:PORT[,HOST:PORT...] --path PATH --proto plenary|socketio
            --clients N [--hellos FILE] [--concurrency 64] [--handshake-timeout 10]

Control: one command a line on stdin (``reset``, ``wait K SECONDS``, ``stall N``,
``quit``), one JSON
line on stdout for each (``quit`` has none), plus ``{"event":"ready",...}`` once every
client is connected or has failed. Diagnostics go to stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

SOURCE = Path(__file__).with_name("loadgen.c")
PROTOS = ("plenary", "socketio")
REPLY_GRACE_S = 30.0  # beyond a wait's own timeout: sorting tens of millions of samples


class LoadGenError(RuntimeError):
    """The load generator could not be built, started, or stopped answering."""


def build(out_dir: Path, source: Path = SOURCE) -> Path:
    """Compiles ``source`` to ``out_dir/loadgen`` unless that binary is newer than it."""
    binary = out_dir / "loadgen"
    if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
        return binary
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise LoadGenError(
            f"no C compiler: {cc!r} is not on PATH (apt-get install gcc), needed to build {source}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    # Built aside and renamed, so a concurrent run never executes a half-written binary.
    tmp = out_dir / f".loadgen.{os.getpid()}.tmp"
    proc = subprocess.run(
        [cc, "-O2", "-Wall", "-Wextra", "-o", str(tmp), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise LoadGenError(f"compiling {source} failed:\n{proc.stderr}")
    os.replace(tmp, binary)
    return binary


class LoadGen:
    """One loadgen process; every method that talks to it has a timeout, so a hung
    loadgen raises ``LoadGenError`` instead of blocking the benchmark forever."""

    def __init__(
        self,
        binary: Path,
        targets: list[tuple[str, int]],
        path: str,
        proto: str,
        clients: int,
        hellos: list[bytes] | None,
        concurrency: int = 64,
    ) -> None:
        if proto not in PROTOS:
            raise ValueError(f"proto must be one of {PROTOS}, not {proto!r}")
        if not targets:
            raise ValueError("at least one target is needed")
        if hellos is not None and len(hellos) != clients:
            raise ValueError(f"{len(hellos)} hellos for {clients} clients")
        self.binary = binary
        self.targets = targets
        self.path = path
        self.proto = proto
        self.clients = clients
        self.hellos = hellos
        self.concurrency = concurrency
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._log: IO[bytes] | None = None
        self._hellos_file: Path | None = None
        self._replies: queue.Queue[bytes | None] = queue.Queue()
        self._early: dict[str, dict[str, Any]] = {}  # replies that came before asked for
        self._reader: threading.Thread | None = None

    def __enter__(self) -> LoadGen:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise LoadGenError("loadgen is not started")
        return self._proc.pid

    def command(self) -> list[str]:
        cmd = [
            str(self.binary),
            "--targets",
            ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.targets),
            "--path",
            self.path,
            "--proto",
            self.proto,
            "--clients",
            str(self.clients),
            "--concurrency",
            str(self.concurrency),
        ]
        if self._hellos_file is not None:
            cmd += ["--hellos", str(self._hellos_file)]
        return cmd

    def start(self, log: Path) -> None:
        """Spawns loadgen; its stderr is appended to ``log``."""
        if self._proc is not None:
            raise LoadGenError("loadgen is already started")
        if self.hellos is not None:
            fd, name = tempfile.mkstemp(prefix="loadgen-hellos-", suffix=".bin")
            with os.fdopen(fd, "wb") as f:
                for hello in self.hellos:
                    f.write(struct.pack(">I", len(hello)))
                    f.write(hello)
            self._hellos_file = Path(name)
        self._log_path = log
        self._log = open(log, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        try:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
            )
        except OSError as e:
            self._cleanup()
            raise LoadGenError(f"cannot start {self.binary}: {e}") from e
        self._reader = threading.Thread(target=self._read, name="loadgen-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def _log_tail(self, limit: int = 2000) -> str:
        if self._log_path is None:
            return ""
        try:
            with open(self._log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - limit))
                tail = f.read().decode(errors="replace").strip()
        except OSError:
            return ""
        return f"\n--- {self._log_path} (end) ---\n{tail}" if tail else ""

    def _send(self, line: str) -> None:
        if self._proc is None or self._proc.stdin is None:
            raise LoadGenError("loadgen is not started")
        try:
            self._proc.stdin.write(line.encode() + b"\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise LoadGenError(f"loadgen has exited, cannot send {line!r}{self._log_tail()}") from e

    def _expect(self, event: str, timeout: float, what: str) -> dict[str, Any]:
        if event in self._early:
            return self._early.pop(event)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                raw = self._replies.get(timeout=max(0.0, left))
            except queue.Empty:
                raise LoadGenError(
                    f"loadgen (pid {self.pid}) did not answer {what} within {timeout:g} s"
                    f"{self._log_tail()}"
                ) from None
            if raw is None:
                self._replies.put(None)  # later calls see the exit too
                code = self._proc.wait() if self._proc is not None else None
                raise LoadGenError(
                    f"loadgen exited (status {code}) while waiting for {what}{self._log_tail()}"
                )
            try:
                msg: dict[str, Any] = json.loads(raw)
            except ValueError as e:
                raise LoadGenError(f"loadgen printed a line that is not JSON: {raw!r}") from e
            got = msg.get("event")
            if got == event:
                return msg
            if got == "error":
                raise LoadGenError(f"loadgen refused {what}: {msg.get('message')}")
            self._early[str(got)] = msg

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """Until every client is connected (ready) or has failed."""
        return self._expect("ready", timeout, "the ready event")

    def reset(self, timeout: float = 30.0) -> None:
        """Zeroes counters, latency samples and the CPU baseline (cursors are kept)."""
        self._send("reset")
        self._expect("reset", timeout, "reset")

    def stall(self, every: int, timeout: float = 30.0) -> int:
        """Every ``every``-th ready client stops reading for good (``every`` = 20: 5 %);
        they no longer count towards ``wait``. Returns how many are stalled."""
        self._send(f"stall {int(every)}")
        return int(self._expect("stalled", timeout, "stall")["stalled"])

    def wait(self, expect: int, timeout: float) -> dict[str, Any]:
        """Until every ready, open client has ``expect`` stamped ops since the last reset,
        or ``timeout`` seconds pass (then ``timed_out`` is true)."""
        self._send(f"wait {int(expect)} {float(timeout):.3f}")
        return self._expect("result", timeout + REPLY_GRACE_S, f"wait {expect}")

    def cpu_seconds(self) -> float:
        """The process's user + system CPU so far, from /proc/<pid>/stat."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError as e:
            raise LoadGenError(f"cannot read the CPU time of loadgen: {e}") from e
        # Fields after the command name, which may hold spaces: utime and stime are 14, 15.
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 10.0) -> int | None:
        """Sends ``quit`` and waits; kills loadgen if it does not exit. Returns its status."""
        proc = self._proc
        code: int | None = None
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(LoadGenError):
                    self._send("quit")
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            if proc.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.close()
            if self._reader is not None:
                self._reader.join(timeout)
            if proc.stdout is not None:
                proc.stdout.close()
        self._cleanup()
        return code

    def _cleanup(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._hellos_file is not None:
            self._hellos_file.unlink(missing_ok=True)
            self._hellos_file = None
