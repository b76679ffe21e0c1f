"""The ASGI application: routes and the lifespan that starts and stops a Runtime."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from . import config as config_module
from .config import Config
from .realtime import connection
from .realtime.direct import CaptureTransport
from .runtime import Runtime
from .web import api, drafts, exports
from .web.client import client_dir, page, service_worker
from .web.headers import SecurityHeaders

log = logging.getLogger("plenary")


def create_app(config: Config | None = None, *, demo_base_url: str | None = None) -> Starlette:
    """The app. With ``demo_base_url``, a demo event is created at start-up and its links
    (join code, QR, facilitator link) are printed."""
    cfg = config if config is not None else config_module.load()
    runtime = Runtime.build(cfg)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if cfg.migrate_on_start:
            from .db.migrate import upgrade_async

            await upgrade_async(cfg.database_url)
        await runtime.start()
        if demo_base_url is not None:
            await _create_demo(runtime, demo_base_url)
        log.info(
            "plenary ready: database %s, bus %s", runtime.db.engine.dialect.name, runtime.bus.name
        )
        try:
            yield
        finally:
            await runtime.stop()

    # A partial, not a wrapper coroutine: one frame less on every open connection's stack.
    websocket = functools.partial(connection.serve, rt=runtime)

    routes = [
        Route("/healthz", api.healthz),
        Route("/readyz", api.readyz),
        Route("/api/events", api.create_event, methods=["POST"]),
        Route("/api/join", api.join, methods=["POST"]),
        Route("/api/observe", api.observe, methods=["POST"]),
        Route("/api/facilitate", api.facilitate, methods=["POST"]),
        Route("/api/codes/{code}", api.lookup),
        Route("/api/events/{event}/archive", exports.event_archive),
        Route("/api/events/{event}/activities/{activity:int}.csv", exports.activity_csv),
        Route("/api/events/{event}/drafts/{activity:int}/versions", drafts.versions),
        Route("/api/events/{event}/drafts/{activity:int}/versions/{version:int}", drafts.version),
        Route(
            "/api/events/{event}/drafts/{activity:int}/versions/{version:int}/report",
            drafts.report,
        ),
        Route("/api/events/{event}/drafts/{activity:int}/diff", drafts.diff),
        Route("/api/events/{event}/drafts/{activity:int}/reactions", drafts.compare),
        WebSocketRoute("/ws", websocket),
        Route("/sw.js", service_worker),
        Route("/", page),
        Route("/j/{code}", page),
        Route("/o/{code}", page),
        Route("/p/{code}", page),
        Route("/f/{event}", page),
    ]
    built = client_dir()
    if built is not None and (built / "assets").exists():
        routes.append(Mount("/assets", StaticFiles(directory=built / "assets"), name="assets"))
    # First, so that it sees the server's own ``send`` before any middleware wraps it; it
    # also serves /ws itself (the WebSocketRoute above stays for anything mounted below).
    middleware = [
        Middleware(CaptureTransport, enabled=cfg.direct_writes, path="/ws", endpoint=websocket),
        # After it, so that it never sees /ws; it passes websocket scopes through anyway.
        Middleware(SecurityHeaders, allowed_origins=cfg.allowed_origins),
    ]
    if cfg.allowed_origins:
        # The listed origins (a projector page, an organisation's own site) may call the
        # HTTP API from a browser too, not only open the websocket.
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cfg.allowed_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["content-type", "authorization"],
            )
        )
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=middleware,
        exception_handlers={HTTPException: api.http_error, Exception: api.unexpected_error},
    )
    app.state.runtime = runtime
    return app


async def _create_demo(runtime: Runtime, base: str) -> None:
    from .cli import DEMO_GROUPS, DEMO_TITLE, print_demo

    created = await api.create_event_record(runtime, DEMO_TITLE, DEMO_GROUPS)
    if isinstance(created, dict):
        await _demo_agenda(runtime, created)
        print_demo(api.links(base, created))


DEMO_STRATEGY = """# Urgent and emergency care strategy 2026-2030

A first draft for the room to react to, section by section.

## Getting help out of hours

Residents should reach a GP or a nurse by phone within an hour, any day of the week.

## Waiting in emergency departments

No one should wait more than four hours to be seen, treated and admitted or sent home.

## Care closer to home

More urgent care in community pharmacies and walk-in centres, open until 10 pm.
"""


async def _demo_agenda(runtime: Runtime, created: dict[str, str]) -> None:
    """A demo event that shows what Plenary does: tables, a notes round running, a vote
    waiting for it, and a first draft of the strategy published for reactions."""
    from .domain.commands import (
        AddActivity,
        Command,
        PublishDraft,
        SaveDraft,
        SetActivityStatus,
        SetCurrentActivity,
        TableSpec,
        UpdateEvent,
        VoteSpec,
    )
    from .errors import Rejection

    grant = runtime.tokens.verify(created["facilitator_token"])
    hub = await runtime.hubs.get(created["event"])
    if grant is None or hub is None:
        return

    async def do(command: Command) -> int:
        result = await hub.write(grant.actor, command, None)
        if isinstance(result, Rejection):
            raise RuntimeError(f"demo: {command} refused: {result.message}")
        return result.seq

    await do(UpdateEvent(tables=tuple(TableSpec(str(n)) for n in range(1, 13))))
    round_ = await do(AddActivity("notes", "What works well in urgent care today?"))
    await do(SetActivityStatus(round_, "open"))
    await do(SetCurrentActivity(round_))
    await do(AddActivity("vote", "Which matter most?", VoteSpec(round_, budget=5, cap=2)))
    draft = await do(AddActivity("draft", "The strategy, first draft", reactions="live"))
    await do(SetActivityStatus(draft, "open"))
    await do(SaveDraft(draft, 0, DEMO_STRATEGY))
    await do(PublishDraft(draft, 1))
