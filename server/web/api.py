"""The HTTP API: create an event, join it, watch it, facilitate it.

Errors have one shape: ``{"error": {"code": ..., "message": ...}}`` with the status from
``errors.HTTP_STATUS``.

Every POST is refused (403) when it comes from another site's page, and its body must be
declared JSON (415): a ``text/plain`` form post needs no CORS preflight, so without both
any web page could join or create events in its visitors' browsers. Sign-ins and code
look-ups are counted per client address (``guard.py``), and so are codes that name no
event.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..auth import (
    derived_id,
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
from ..protocol.frames import now_ms, too_deep_or_big
from ..protocol.schema import first_error, http_validator
from ..runtime import Runtime
from ..throttle import retry_after_header
from .guard import Ask
from .origins import cross_site_write

# Request bodies are small JSON documents; anything bigger is a mistake or an attack.
MAX_BODY_BYTES = 16 * 1024
# Our bodies nest two deep (an object holding a list of group names). Deeper is refused
# before anything walks it: 16 KiB of "[" is 16,384 levels, which json.loads meets with
# a RecursionError, and a few hundred levels would still cost the schema walk, the
# Unicode check and the error message a recursion each.
MAX_BODY_DEPTH = 8
# Observer tokens are stamped to the hour (see ``observe``): a retry within the hour
# gets the same token, and a token loses at most an hour of its 30 days.
OBSERVE_STAMP_S = 3600


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


def _address(request: Request) -> str:
    # uvicorn has applied X-Forwarded-For from FORWARDED_ALLOW_IPS proxies already.
    return request.client.host if request.client is not None else "unknown"


def _limited(wait_s: float) -> JSONResponse:
    after = retry_after_header(wait_s)
    response = error(Code.RATE_LIMITED, f"too many requests from your network; retry in {after} s")
    response.headers["retry-after"] = after
    return response


def _admit(request: Request, ask: Ask, *, code: bool) -> JSONResponse | None:
    """429 when this address has spent its share of ``ask`` (or, for a request naming a
    join code, its misses); None when it may go ahead."""
    wait = _rt(request).guard.admit(_address(request), ask, code=code)
    return _limited(wait) if wait > 0 else None


def _no_such_code(request: Request) -> JSONResponse:
    """The answer to a code that names no event, counted against the address."""
    _rt(request).guard.missed(_address(request))
    return error(Code.NOT_FOUND, "no event has that code")


def _foreign(request: Request) -> JSONResponse | None:
    """403 for a write from another site's page (see the module docstring)."""
    headers = request.headers
    if cross_site_write(
        headers.get("origin"),
        headers.get("host"),
        headers.get("sec-fetch-site"),
        _rt(request).config.allowed_origins,
    ):
        return error(Code.FORBIDDEN, "requests from other sites' pages are not accepted")
    return None


async def _body(request: Request, schema: str) -> dict[str, Any] | JSONResponse:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        return error(Code.BAD_FRAME, "send the body as Content-Type: application/json", 415)
    raw = await _read_capped(request)
    if raw is None:
        return _too_large()
    try:
        body = json.loads(raw or b"null")
    except RecursionError:
        return error(Code.BAD_FRAME, f"the request body nests deeper than {MAX_BODY_DEPTH}")
    except ValueError:
        return error(Code.BAD_FRAME, "the request body is not JSON")
    if too_deep_or_big(body, MAX_BODY_DEPTH, MAX_BODY_BYTES) is not None:
        # A 16 KiB body has fewer than 16,384 values: only the depth can be refused here.
        return error(Code.BAD_FRAME, f"the request body nests deeper than {MAX_BODY_DEPTH}")
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
    if (foreign := _foreign(request)) is not None:
        return foreign
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
    """A new participant; with a ``join_id``, the same one for every retry.

    The participant id is derived from (secret, event, join id), and the join is written
    with the join id as its client op id: the hub's exactly-once check (per writer and op
    id, read from the log under the event's lock, so on every process alike) finds the
    first join and records nothing. The token is stamped with the join op's time, so the
    retry gets the very token the first reply carried. A retry's name, group and table
    are not looked at: it is the first join, as it was."""
    rt = _rt(request)
    found = await _body_and_event(request, "Join", Ask.SIGN_IN)
    if isinstance(found, JSONResponse):
        return found
    body, event = found
    hub = await rt.hubs.get(event["id"])
    if hub is None:
        return error(Code.NOT_FOUND, "no event has that code")
    join_id: str | None = body.get("join_id")
    participant = (
        new_id("p") if join_id is None else derived_id("p", rt.config.secret, event["id"], join_id)
    )
    command = Join(participant, body.get("name"), body.get("group"), body.get("table"))
    result = await hub.write(None, command, join_id, by=participant)
    if isinstance(result, Rejection):
        return error(result.code, result.message)
    actor = Actor(participant, Role.PARTICIPANT)
    async with rt.db.read() as conn:
        joined = await store.read_ops(conn, event["id"], result.seq - 1, result.seq)
    return JSONResponse(
        {
            "event": event["id"],
            "title": hub.state.title,
            "participant": participant,
            "token": rt.tokens.issue(event["id"], actor, at=joined[0].at // 1000),
            "seq": result.seq,
        },
        status_code=201,
    )


async def observe(request: Request) -> Response:
    """An observer token; with an ``observe_id``, the same observer for every retry."""
    rt = _rt(request)
    found = await _body_and_event(request, "Observe", Ask.SIGN_IN)
    if isinstance(found, JSONResponse):
        return found
    body, event = found
    # Observers can be thousands: they get a token, not a place in the log. So there is
    # no recorded time to stamp a retry's token with; the hour stands in for it.
    observe_id: str | None = body.get("observe_id")
    if observe_id is None:
        actor = Actor(new_id("o"), Role.OBSERVER)
        token = rt.tokens.issue(event["id"], actor)
    else:
        actor = Actor(derived_id("o", rt.config.secret, event["id"], observe_id), Role.OBSERVER)
        hour = int(time.time()) // OBSERVE_STAMP_S * OBSERVE_STAMP_S
        token = rt.tokens.issue(event["id"], actor, at=hour)
    return JSONResponse({"event": event["id"], "title": event["title"], "token": token})


async def lookup(request: Request) -> Response:
    """What a join screen shows before anyone joins: the event's title and the
    stakeholder groups and tables to pick from. Anyone with the code may ask; the code
    is printed on the tables."""
    rt = _rt(request)
    if (limited := _admit(request, Ask.LOOKUP, code=True)) is not None:
        return limited
    raw = request.path_params["code"]
    if len(raw) > 20:
        return _no_such_code(request)
    async with rt.db.read() as conn:
        event = await store.event_by_code(conn, normalise_join_code(raw))
    if event is None:
        return _no_such_code(request)
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
    if (refused := _foreign(request) or _admit(request, Ask.SIGN_IN, code=False)) is not None:
        return refused
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
    request: Request, schema: str, ask: Ask
) -> tuple[dict[str, Any], dict[str, Any]] | JSONResponse:
    """The validated body and the event its join code names, once the request has passed
    the origin check and its address's limits."""
    if (refused := _foreign(request) or _admit(request, ask, code=True)) is not None:
        return refused
    body = await _body(request, schema)
    if isinstance(body, JSONResponse):
        return body
    async with _rt(request).db.read() as conn:
        event = await store.event_by_code(conn, normalise_join_code(body["code"]))
    if event is None:
        return _no_such_code(request)
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
