"""The HTTP API: create an event, join it, watch it, facilitate it.

Errors have one shape: ``{"error": {"code": ..., "message": ...}}`` with the status from
``errors.HTTP_STATUS``.
"""

from __future__ import annotations

import json
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..auth import (
    hash_key,
    key_matches,
    new_facilitator_key,
    new_id,
    new_join_code,
    normalise_join_code,
)
from ..db import store
from ..domain.commands import CreateEvent, Join
from ..domain.model import Actor, Role
from ..errors import HTTP_STATUS, Code, Rejection
from ..protocol.frames import now_ms
from ..protocol.schema import first_error, http_validator
from ..runtime import Runtime

# Request bodies are small JSON documents; anything bigger is a mistake or an attack.
MAX_BODY_BYTES = 16 * 1024


def error(code: Code, message: str, status: int | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code.value, "message": message}}, status or HTTP_STATUS[code]
    )


def _too_large() -> JSONResponse:
    return error(Code.BAD_FRAME, f"the request body is over {MAX_BODY_BYTES} bytes", 413)


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None as soon as it passes MAX_BODY_BYTES: never buffer more."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def _body(request: Request, schema: str) -> dict[str, Any] | JSONResponse:
    raw = await _read_capped(request)
    if raw is None:
        return _too_large()
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return error(Code.BAD_FRAME, "the request body is not JSON")
    try:
        # JSON may spell lone surrogates ("\\ud800"), which are not text and which no
        # database will store: refuse them here rather than fail on the insert.
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return error(Code.BAD_FRAME, "the request body has text that is not valid Unicode")
    reason = first_error(http_validator(schema), body)
    if reason is not None:
        return error(Code.BAD_FRAME, reason)
    assert isinstance(body, dict)
    return body


def public_base(request: Request) -> str:
    configured = _rt(request).config.public_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


async def create_event(request: Request) -> Response:
    rt = _rt(request)
    if rt.config.create_key:
        supplied = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not key_matches(supplied, hash_key(rt.config.create_key)):
            return error(Code.UNAUTHORISED, "creating events needs the server's create key")
    body = await _body(request, "CreateEvent")
    if isinstance(body, JSONResponse):
        return body
    created = await create_event_record(rt, body["title"], body.get("groups", []))
    if isinstance(created, Rejection):
        return error(created.code, created.message)
    return JSONResponse(links(public_base(request), created), status_code=201)


async def create_event_record(
    rt: Runtime, title: str, groups: list[str]
) -> dict[str, str] | Rejection:
    """Insert an event and append its first op (``event.created``, seq 1)."""
    event_id = new_id("ev")
    key = new_facilitator_key()
    async with rt.db.write() as conn:
        code = new_join_code()
        while await store.code_taken(conn, code):
            code = new_join_code()
        await store.insert_event(
            conn, event_id=event_id, code=code, key_hash=hash_key(key), created_at=now_ms()
        )
    try:
        hub = await rt.hubs.get(event_id)
        assert hub is not None
        result = await hub.write(None, CreateEvent(title, tuple(groups), code), None)
    except BaseException:
        # No half-created event (a row with no log) may outlive a failed first op.
        async with rt.db.write() as conn:
            await store.delete_event(conn, event_id)
        raise
    if isinstance(result, Rejection):
        async with rt.db.write() as conn:
            await store.delete_event(conn, event_id)
        return result
    facilitator = Actor(new_id("f"), Role.FACILITATOR)
    return {
        "event": event_id,
        "code": code,
        "facilitator_key": key,
        "facilitator_token": rt.tokens.issue(event_id, facilitator),
    }


def links(base: str, created: dict[str, str]) -> dict[str, str]:
    return {
        **created,
        "join_url": f"{base}/j/{created['code']}",
        "facilitator_url": f"{base}/f/{created['event']}#key={created['facilitator_key']}",
        "observer_url": f"{base}/o/{created['code']}",
        "projector_url": f"{base}/p/{created['code']}",
    }


async def join(request: Request) -> Response:
    rt = _rt(request)
    found = await _body_and_event(request, "Join")
    if isinstance(found, JSONResponse):
        return found
    body, event = found
    hub = await rt.hubs.get(event["id"])
    if hub is None:
        return error(Code.NOT_FOUND, "no event has that code")
    participant = new_id("p")
    command = Join(participant, body.get("name"), body.get("group"), body.get("table"))
    result = await hub.write(None, command, None, by=participant)
    if isinstance(result, Rejection):
        return error(result.code, result.message)
    actor = Actor(participant, Role.PARTICIPANT)
    return JSONResponse(
        {
            "event": event["id"],
            "title": hub.state.title,
            "participant": participant,
            "token": rt.tokens.issue(event["id"], actor),
            "seq": result.seq,
        },
        status_code=201,
    )


async def observe(request: Request) -> Response:
    rt = _rt(request)
    found = await _body_and_event(request, "Observe")
    if isinstance(found, JSONResponse):
        return found
    _, event = found
    # Observers can be thousands: they get a token, not a place in the log.
    actor = Actor(new_id("o"), Role.OBSERVER)
    return JSONResponse(
        {
            "event": event["id"],
            "title": event["title"],
            "token": rt.tokens.issue(event["id"], actor),
        }
    )


async def lookup(request: Request) -> Response:
    """What a join screen shows before anyone joins: the event's title and the
    stakeholder groups and tables to pick from. Anyone with the code may ask; the code
    is printed on the tables."""
    rt = _rt(request)
    raw = request.path_params["code"]
    if len(raw) > 20:
        return error(Code.NOT_FOUND, "no event has that code")
    async with rt.db.read() as conn:
        event = await store.event_by_code(conn, normalise_join_code(raw))
    if event is None:
        return error(Code.NOT_FOUND, "no event has that code")
    hub = await rt.hubs.get(event["id"])
    if hub is None:
        return error(Code.NOT_FOUND, "no event has that code")
    state = hub.state
    return JSONResponse(
        {
            "event": state.id,
            "code": state.code,
            "title": state.title,
            "groups": list(state.groups),
            "tables": [t.to_wire() for t in state.tables],
            "anonymity": state.anonymity.value,
        }
    )


async def facilitate(request: Request) -> Response:
    rt = _rt(request)
    body = await _body(request, "Facilitate")
    if isinstance(body, JSONResponse):
        return body
    async with rt.db.read() as conn:
        event = await store.event_by_id(conn, body["event"])
    if event is None or not key_matches(body["key"], event["facilitator_key_hash"]):
        return error(Code.UNAUTHORISED, "that facilitator key does not open this event")
    actor = Actor(new_id("f"), Role.FACILITATOR)
    return JSONResponse(
        {
            "event": event["id"],
            "title": event["title"],
            "token": rt.tokens.issue(event["id"], actor),
        }
    )


async def _body_and_event(
    request: Request, schema: str
) -> tuple[dict[str, Any], dict[str, Any]] | JSONResponse:
    """The validated body and the event its join code names."""
    body = await _body(request, schema)
    if isinstance(body, JSONResponse):
        return body
    async with _rt(request).db.read() as conn:
        event = await store.event_by_code(conn, normalise_join_code(body["code"]))
    if event is None:
        return error(Code.NOT_FOUND, "no event has that code")
    return body, event


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown path, wrong method) in our one error shape."""
    assert isinstance(exc, HTTPException)
    code = _STATUS_CODES.get(exc.status_code, Code.BAD_FRAME)
    return error(code, str(exc.detail), exc.status_code)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """A failure below us reaches the client as our error shape; the traceback is logged
    by the server. Storage and bus failures are worth a retry, anything else is a bug."""
    if isinstance(exc, DBAPIError | RedisError | OSError):
        return error(Code.UNAVAILABLE, "the server cannot reach its database or bus; retry")
    return error(Code.INTERNAL, "something went wrong on the server")


_STATUS_CODES = {status: code for code, status in HTTP_STATUS.items()}


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    rt = _rt(request)
    database = await rt.db.ping()
    bus = rt.bus.healthy() and await rt.bus.ping()
    ready = database and bus
    return JSONResponse(
        {
            "status": "ready" if ready else "not ready",
            "database": "ok" if database else "unreachable",
            "bus": f"{rt.bus.name}: {'ok' if bus else 'unreachable'}",
        },
        status_code=200 if ready else 503,
    )
