"""Fixtures: a running Plenary on each backend.

``backend`` is parametrised over ``sqlite`` (SQLite file + in-process bus, the embedded
default) and ``pg`` (Postgres + Redis, the scale-out configuration). Tests that take
``server`` run once per backend. Without Postgres or Redis the ``pg`` runs are skipped
locally and FAIL in CI (CI=true): a missing service is never a silent pass.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from plenary.app import create_app
from plenary.cli import uvicorn_options
from plenary.config import Config, load
from plenary.runtime import Runtime

from .support.wsclient import Client

PG_ADMIN_URL = os.environ.get("PLENARY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("PLENARY_TEST_REDIS", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_missing(what: str) -> None:
    """Fail in CI, skip (loudly, with the reason) elsewhere."""
    message = f"{what} is not reachable"
    if IN_CI:
        pytest.fail(f"{message}; CI must run the Postgres + Redis suite", pytrace=False)
    pytest.skip(message)


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh Postgres database for this test session, migrated, dropped afterwards."""
    import psycopg

    if not _reachable(PG_ADMIN_URL, 5432):
        service_missing(f"PostgreSQL at {PG_ADMIN_URL}")
    name = f"plenary_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    from plenary.db.migrate import upgrade

    upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not _reachable(REDIS_TEST_URL, 6379):
        service_missing(f"Redis at {REDIS_TEST_URL}")
    return REDIS_TEST_URL


@pytest.fixture(params=["sqlite", "pg"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "pg":
        request.getfixturevalue("pg_database_url")
        request.getfixturevalue("redis_url")
    return str(request.param)


@pytest.fixture
def make_config(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Any:
    """Build a Config for this backend; keyword arguments set further variables."""

    def build(**env: str) -> Config:
        environ = {
            "PLENARY_DATA_DIR": str(tmp_path / "data"),
            "PLENARY_SECRET": "test-secret-not-for-production",
            "PLENARY_LOG_LEVEL": "warning",
        }
        if backend == "pg":
            environ["DATABASE_URL"] = request.getfixturevalue("pg_database_url")
            environ["REDIS_URL"] = request.getfixturevalue("redis_url")
        environ.update(env)
        return load(environ)

    return build


@dataclass
class RunningServer:
    """A real uvicorn server in this test's event loop, on a free loopback port."""

    config: Config
    runtime: Runtime
    port: int
    http: httpx.AsyncClient

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def create_event(
        self, title: str = "Test event", groups: list[str] | None = None
    ) -> dict[str, Any]:
        groups = ["GP", "Resident", "Voluntary sector"] if groups is None else groups
        response = await self.http.post("/api/events", json={"title": title, "groups": groups})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def join(
        self, code: str, name: str | None = "Ann", group: str | None = "GP", table: str | None = "1"
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/api/join", json={"code": code, "name": name, "group": group, "table": table}
        )
        assert response.status_code == 201, response.text
        joined: dict[str, Any] = response.json()
        return joined

    async def observer_token(self, code: str) -> str:
        response = await self.http.post("/api/observe", json={"code": code})
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    async def client(self, token: str, since: int = 0) -> Client:
        return await Client(self.ws_url, token, since=since).connect()


async def start_server(config: Config) -> tuple[uvicorn.Server, asyncio.Task[None], int, Runtime]:
    app = create_app(config)
    options = uvicorn_options(config, "127.0.0.1", 0)
    options["log_level"] = "warning"
    server = uvicorn.Server(uvicorn.Config(app, **options))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port, app.state.runtime


@pytest.fixture
async def server(make_config: Any) -> AsyncIterator[RunningServer]:
    config = make_config()
    srv, task, port, runtime = await start_server(config)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        yield RunningServer(config, runtime, port, http)
    srv.should_exit = True
    await asyncio.wait_for(task, 15)
