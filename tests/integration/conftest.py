"""Fixtures for the integration tests (``make_config`` and the parent ``server`` come from
tests/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from ..conftest import RunningServer, start_server
from ..support.wsclient import Client
from . import helpers

StartServer = Callable[..., Awaitable[RunningServer]]


@pytest.fixture(autouse=True)
async def _track_connections(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Register every test client so it is closed even when the test fails."""
    original = Client.connect

    async def connect(self: Client) -> Client:
        helpers.OPEN_CLIENTS.append(self)
        return await original(self)

    monkeypatch.setattr(Client, "connect", connect)
    yield
    await helpers.close_all()


@pytest.fixture
async def server(server: RunningServer) -> AsyncIterator[RunningServer]:
    """The parent ``server``, with this test's connections closed before it stops."""
    yield server
    await helpers.close_all()


class Servers:
    """Servers a test starts with its own settings; all are stopped when the test ends."""

    def __init__(self, make_config: Any) -> None:
        self._make_config = make_config
        self._running: dict[int, tuple[Any, asyncio.Task[None], httpx.AsyncClient]] = {}

    async def start(self, **env: str) -> RunningServer:
        """A server on this test's backend and data directory, with extra variables."""
        config = self._make_config(**env)
        srv, task, port, runtime = await start_server(config)
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
        self._running[port] = (srv, task, http)
        return RunningServer(config, runtime, port, http)

    async def stop(self, server: RunningServer) -> None:
        """Stop one server the way the ``server`` fixture does (its data stays)."""
        srv, task, http = self._running.pop(server.port)
        await http.aclose()
        srv.should_exit = True
        await asyncio.wait_for(task, 15)

    async def stop_all(self) -> None:
        await helpers.close_all()
        for port in reversed(list(self._running)):
            srv, task, http = self._running.pop(port)
            await http.aclose()
            srv.should_exit = True
            await asyncio.wait_for(task, 15)


@pytest.fixture
async def servers(make_config: Any) -> AsyncIterator[Servers]:
    running = Servers(make_config)
    yield running
    await running.stop_all()


@pytest.fixture
def start(servers: Servers) -> StartServer:
    """``await start(PLENARY_X="1")``: a server with extra settings (see ``Servers``)."""
    return servers.start
