"""Fixtures for the multi-node tests: real ``plenary serve`` processes sharing one
Postgres database and one Redis, on free loopback ports.

Each process writes its output to a log file; when a test fails, the tail of every
process's log is attached to the report. Processes are always stopped in teardown (SIGTERM,
then SIGKILL), whatever the test did.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from ..conftest import service_missing
from ..support.wsclient import Client

SECRET = "multinode-test-secret"
# Starting a process imports the app, applies migrations (a no-op on the session's
# migrated database) and connects to Redis: about 2 s here, much more on a loaded machine.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 150

# Log files of every process running now, by name, for failure reports.
RUNNING_LOGS: dict[str, Path] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        for name, path in RUNNING_LOGS.items():
            report.sections.append((f"log of {name} ({path})", tail(path)))
    return report


# -- server processes --------------------------------------------------------------------


@dataclass
class Node:
    """One ``plenary serve`` process."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]
    clients: list[Client] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def log(self) -> str:
        return tail(self.log_path)

    def assert_running(self) -> None:
        code = self.proc.poll()
        assert code is None, f"node {self.name} exited with {code}:\n{self.log()}"

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as http:
            return await http.get(path)

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as http:
            response = await http.post(path, json=body)
        assert response.status_code in (200, 201), f"{self.name} {path}: {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def create_event(self, title: str = "Multi-node event") -> dict[str, Any]:
        return await self.post("/api/events", {"title": title, "groups": ["GP", "Resident"]})

    async def join(self, code: str, name: str) -> dict[str, Any]:
        return await self.post("/api/join", {"code": code, "name": name, "group": "GP"})

    async def observer_token(self, code: str) -> str:
        return str((await self.post("/api/observe", {"code": code}))["token"])

    async def client(self, token: str, since: int = 0) -> Client:
        client = Client(self.ws_url, token, since=since)
        self.clients.append(client)
        return await client.connect()

    async def participant(self, code: str, name: str) -> Client:
        return await self.client((await self.join(code, name))["token"])

    async def observer(self, code: str, since: int = 0) -> Client:
        return await self.client(await self.observer_token(code), since=since)

    async def wait_status(self, path: str, status: int, timeout: float = 30) -> httpx.Response:
        """Poll ``path`` until it answers ``status`` (the process has no event to wait on)."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            self.assert_running()
            try:
                response = await self.get(path)
                if response.status_code == status:
                    return response
                last = f"{response.status_code} {response.text}"
            except httpx.HTTPError as exc:
                last = exc
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} {path} not {status} after {timeout}s (last: {last})")

    async def close_clients(self) -> None:
        while self.clients:
            client = self.clients.pop()
            try:
                await asyncio.wait_for(client.close(), 5)
            except Exception as exc:  # teardown: one stuck client must not hide the rest
                print(f"closing a client of {self.name} failed: {exc!r}", file=sys.stderr)

    def kill(self) -> None:
        """End the process at once, as a crash would: nothing it held in memory survives."""
        self.proc.kill()
        self.proc.wait(STOP_TIMEOUT_S)

    def stop(self) -> None:
        RUNNING_LOGS.pop(self.name, None)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)


def _wait_port(proc: subprocess.Popen[bytes], port_file: Path) -> int | None:
    """The port the process bound, from its ``--port-file``; None if it exited first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(port_file.read_text())
        time.sleep(0.05)
    return None


def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> bool:
    """True once /readyz answers 200; False if the process exited first. The port is the
    process's own from the start (it listens before it migrates), so nothing else can
    answer here; requests made while it migrates wait in its backlog."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                if http.get("/readyz").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    return False


def start_node(
    name: str, workdir: Path, database_url: str | None = None, redis_url: str | None = None
) -> Node:
    """Start ``plenary serve`` on a port of its choosing and wait until it is ready: on
    Postgres and Redis when given, else on the embedded default (SQLite in ``workdir``,
    in-process bus)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PLENARY_") and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    env.update(
        PLENARY_SECRET=SECRET,
        PLENARY_DATA_DIR=str(workdir / "data"),
        PLENARY_LOG_LEVEL="info",
    )
    # Port 0 and --port-file: the server binds a free port itself and says which, so no
    # other process can take it between a probe and the bind. A node restarted in the
    # same workdir writes a new file.
    port_file = workdir / f"{name}.port"
    port_file.unlink(missing_ok=True)
    log_path = workdir / f"{name}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "plenary",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--port-file",
                str(port_file),
            ],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    RUNNING_LOGS[name] = log_path
    port = _wait_port(proc, port_file)
    node = Node(name, port or 0, proc, log_path, env)
    if port is None or not _wait_ready(proc, port):
        node.stop()
        raise AssertionError(f"node {name} did not become ready:\n{tail(log_path)}")
    return node


class Cluster:
    """Server processes a test starts; all are stopped when it ends."""

    def __init__(self, workdir: Path, database_url: str, redis_url: str) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.redis_url = redis_url
        self.nodes: list[Node] = []

    def start(self, name: str, redis_url: str | None = None) -> Node:
        node = start_node(name, self.workdir / name, self.database_url, redis_url or self.redis_url)
        self.nodes.append(node)
        return node

    async def close_clients(self) -> None:
        for node in self.nodes:
            await node.close_clients()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.nodes.clear()


@pytest.fixture
async def cluster(tmp_path: Path, pg_database_url: str, redis_url: str) -> AsyncIterator[Cluster]:
    """Start nodes with ``cluster.start("A")``; they share Postgres and Redis."""
    running = Cluster(tmp_path, pg_database_url, redis_url)
    try:
        yield running
    finally:
        await running.close_clients()
        running.stop()


# -- a private Redis that a test may kill ------------------------------------------------


class RedisServer:
    """A ``redis-server`` of our own, on its own port, keeping nothing on disk."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        self.starts += 1
        log_path = self.workdir / f"redis-{self.starts}.log"
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        RUNNING_LOGS["redis"] = log_path
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"redis-server exited:\n{tail(log_path)}"
            if self.ping():
                return
            time.sleep(0.05)
        raise AssertionError(f"redis-server did not answer on {self.port}:\n{tail(log_path)}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        service_missing("the redis-server program")
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.kill()
        RUNNING_LOGS.pop("redis", None)


# -- the log, read straight from Postgres --------------------------------------------------


def _read_log(database_url: str, event_id: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT seq, kind, actor, client_op_id, data FROM ops WHERE event_id = %s ORDER BY seq",
            (event_id,),
        ).fetchall()
    return [
        {"seq": seq, "kind": kind, "by": actor, "client_op_id": op_id, "data": data}
        for seq, kind, actor, op_id, data in rows
    ]


async def read_log(database_url: str, event_id: str) -> list[dict[str, Any]]:
    """Every op of the event in the shared database, in seq order."""
    return await asyncio.to_thread(_read_log, database_url, event_id)


def same_ops(client_ops: list[dict[str, Any]], log: list[dict[str, Any]]) -> bool:
    """Whether what a client received is the log (seq, kind, author and data)."""

    def strip(op: dict[str, Any]) -> tuple[Any, ...]:
        return (op["seq"], op["kind"], op["by"], op["data"])

    return [strip(op) for op in client_ops] == [strip(op) for op in log]
