"""The HTTP API: create, join, observe, facilitate, health."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from plenary.auth import _CODE_ALPHABET, CODE_LENGTH

from .helpers import assert_log_matches_state, live_state, log_count, new_event


def assert_error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    return message


async def test_create_event(server):
    response = await server.http.post(
        "/api/events", json={"title": "  City strategy  ", "groups": ["GP", " Resident "]}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "event",
        "code",
        "facilitator_key",
        "facilitator_token",
        "join_url",
        "facilitator_url",
        "observer_url",
        "projector_url",
    }
    code = body["code"]
    assert len(code) == CODE_LENGTH and set(code) <= set(_CODE_ALPHABET)
    base = server.base_url
    assert body["join_url"] == f"{base}/j/{code}"
    assert body["observer_url"] == f"{base}/o/{code}"
    assert body["projector_url"] == f"{base}/p/{code}"
    assert body["facilitator_url"] == f"{base}/f/{body['event']}#key={body['facilitator_key']}"

    state = await live_state(server.runtime, body["event"])
    assert state.seq == 1
    assert state.title == "City strategy"
    assert state.groups == ("GP", "Resident")
    assert state.code == code

    fac = await server.client(body["facilitator_token"])
    assert fac.welcome is not None
    assert (fac.welcome["role"], fac.welcome["event"]) == ("facilitator", body["event"])


async def test_create_event_without_groups(server):
    response = await server.http.post("/api/events", json={"title": "Open floor"})
    assert response.status_code == 201, response.text
    code = response.json()["code"]
    joined = await server.http.post("/api/join", json={"code": code, "name": "Ann"})
    assert joined.status_code == 201, joined.text
    with_group = await server.http.post("/api/join", json={"code": code, "group": "GP"})
    assert_error(with_group, 422, "invalid")


async def test_public_url_is_used_for_links(start):
    server = await start(PLENARY_PUBLIC_URL="https://plenary.example.org/")
    body = (await server.http.post("/api/events", json={"title": "T"})).json()
    assert body["join_url"] == f"https://plenary.example.org/j/{body['code']}"


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"null",
        b"[]",
        b'"a title"',
        b"{}",
        json.dumps({"title": ""}).encode(),
        json.dumps({"title": 7}).encode(),
        json.dumps({"title": "x" * 201}).encode(),
        json.dumps({"title": "T", "extra": 1}).encode(),
        json.dumps({"title": "T", "groups": "GP"}).encode(),
        json.dumps({"title": "T", "groups": [""]}).encode(),
        json.dumps({"title": "T", "groups": ["g"] * 41}).encode(),
        json.dumps({"title": "T", "groups": ["x" * 61]}).encode(),
        b"\xff\xfe not utf-8",
    ],
)
async def test_create_event_bad_requests_are_400(server, content):
    response = await server.http.post(
        "/api/events", content=content, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "bad_frame")


async def test_create_event_body_over_the_limit_is_413(server):
    content = json.dumps({"title": "T" * 100, "pad": "x" * 17_000}).encode()
    response = await server.http.post(
        "/api/events", content=content, headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "bad_frame")


@pytest.mark.parametrize(
    "body",
    [
        {"title": "   "},
        {"title": "T", "groups": ["GP", "gp"]},
        {"title": "T", "groups": ["GP", "  "]},
    ],
)
async def test_create_event_domain_violations_are_422(server, body):
    response = await server.http.post("/api/events", json=body)
    assert_error(response, 422, "invalid")


async def test_create_key_is_required_when_set(start):
    server = await start(PLENARY_CREATE_KEY="let-me-in")
    body = {"title": "Guarded"}
    assert_error(await server.http.post("/api/events", json=body), 401, "unauthorised")
    for header in ("Bearer wrong", "Bearer", "Basic let-me-in", "Bearer let-me-in-too"):
        response = await server.http.post(
            "/api/events", json=body, headers={"Authorization": header}
        )
        assert_error(response, 401, "unauthorised")
    ok = await server.http.post(
        "/api/events", json=body, headers={"Authorization": "Bearer let-me-in"}
    )
    assert ok.status_code == 201, ok.text
    # Joining and observing need no create key.
    code = ok.json()["code"]
    assert (await server.http.post("/api/join", json={"code": code})).status_code == 201
    assert (await server.http.post("/api/observe", json={"code": code})).status_code == 200


async def test_join(server):
    ev = await new_event(server, "Joinable")
    response = await server.http.post(
        "/api/join", json={"code": ev.code, "name": " Ann ", "group": "GP", "table": " 4 "}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"event", "title", "participant", "token", "seq"}
    assert (body["event"], body["title"], body["seq"]) == (ev.id, "Joinable", 2)
    state = await live_state(server.runtime, ev.id)
    p = state.participants[body["participant"]]
    assert (p.name, p.group, p.table, p.joined_seq) == ("Ann", "GP", "4", 2)

    c = await server.client(body["token"])
    assert c.welcome is not None
    assert (c.welcome["role"], c.welcome["you"]) == ("participant", body["participant"])
    ack = await c.add_note("hello from table 4")
    note = (await live_state(server.runtime, ev.id)).notes[ack["seq"]]
    assert (note.group, note.table, note.author) == ("GP", "4", body["participant"])


async def test_anonymous_join(server):
    ev = await new_event(server)
    response = await server.http.post(
        "/api/join", json={"code": ev.code, "name": None, "group": "Resident", "table": None}
    )
    assert response.status_code == 201, response.text
    p = (await live_state(server.runtime, ev.id)).participants[response.json()["participant"]]
    assert (p.name, p.table) == (None, None)


async def test_join_codes_are_case_insensitive(server):
    ev = await new_event(server)
    for code in (ev.code.lower(), f" {ev.code[:3]}-{ev.code[3:].lower()} "):
        response = await server.http.post("/api/join", json={"code": code, "group": "GP"})
        assert response.status_code == 201, (code, response.text)
        assert response.json()["event"] == ev.id


async def test_join_errors(server):
    ev = await new_event(server)
    before = await log_count(server.runtime, ev.id)
    assert_error(
        await server.http.post("/api/join", json={"code": "ZZZZZZ", "group": "GP"}),
        404,
        "not_found",
    )
    message = assert_error(
        await server.http.post("/api/join", json={"code": ev.code, "group": "Dentist"}),
        422,
        "invalid",
    )
    assert "GP" in message
    assert_error(
        await server.http.post("/api/join", json={"code": ev.code, "group": None}), 422, "invalid"
    )
    for body in (
        {"group": "GP"},
        {"code": ""},
        {"code": ev.code, "name": "n" * 61},
        {"code": ev.code, "table": "t" * 21},
        {"code": ev.code, "group": "GP", "role": "facilitator"},
    ):
        assert_error(await server.http.post("/api/join", json=body), 400, "bad_frame")
    json_type = {"content-type": "application/json"}
    assert_error(
        await server.http.post("/api/join", content=b"nope", headers=json_type), 400, "bad_frame"
    )
    assert await log_count(server.runtime, ev.id) == before, "refused joins record nothing"


async def test_observe(server):
    ev = await new_event(server, "Watched")
    before = await log_count(server.runtime, ev.id)
    response = await server.http.post("/api/observe", json={"code": ev.code.lower()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"event", "title", "token"}
    assert (body["event"], body["title"]) == (ev.id, "Watched")
    c = await server.client(body["token"])
    assert c.welcome is not None and c.welcome["role"] == "observer"
    assert await log_count(server.runtime, ev.id) == before, "observers are not in the log"

    assert_error(await server.http.post("/api/observe", json={"code": "ZZZZZZ"}), 404, "not_found")
    assert_error(await server.http.post("/api/observe", json={}), 400, "bad_frame")


async def test_facilitate(server):
    ev = await new_event(server, "Run it")
    key = ev.created["facilitator_key"]
    response = await server.http.post("/api/facilitate", json={"event": ev.id, "key": key})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["event"], body["title"]) == (ev.id, "Run it")
    c = await server.client(body["token"])
    assert c.welcome is not None and c.welcome["role"] == "facilitator"
    ann = await ev.participant()
    note = (await ann.add_note("hide me"))["seq"]
    assert (await c.write({"kind": "note.hide", "note": note}))["t"] == "ack"

    for wrong in ({"event": ev.id, "key": key + "x"}, {"event": "ev_nope", "key": key}):
        assert_error(await server.http.post("/api/facilitate", json=wrong), 401, "unauthorised")
    for bad in ({"event": ev.id}, {"key": key}, {"event": ev.id, "key": ""}):
        assert_error(await server.http.post("/api/facilitate", json=bad), 400, "bad_frame")


async def test_health(server):
    health = await server.http.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = await server.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    bus = "redis" if server.config.redis_url else "memory"
    assert ready.json() == {"status": "ready", "database": "ok", "bus": f"{bus}: ok"}


async def _events_without_ops(server) -> int:
    from plenary.db import store
    from sqlalchemy import func, select

    async with server.runtime.db.read() as conn:
        found = await conn.execute(
            select(func.count()).select_from(store.events).where(store.events.c.last_seq == 0)
        )
        return int(found.scalar_one())


@pytest.mark.parametrize(
    "raw_title",
    [b'"nul \\u0000 inside"', b'"lone \\ud800 surrogate"', b'"bell \\u0007"'],
    ids=["nul", "lone-surrogate", "bell"],
)
async def test_odd_characters_in_a_title_get_an_answer_not_a_500(server, raw_title):
    """JSON allows these escapes; the server must accept them or refuse them in its error
    shape, and must not leave half-created events behind."""
    orphans = await _events_without_ops(server)
    response = await server.http.post(
        "/api/events",
        content=b'{"title": ' + raw_title + b"}",
        headers={"content-type": "application/json"},
    )
    left_behind = await _events_without_ops(server) - orphans
    answered = response.status_code == 201 or 400 <= response.status_code < 500
    assert answered and not left_behind, (
        f"HTTP {response.status_code} {response.text[:80]!r}; "
        f"event rows without ops left behind: {left_behind}"
    )
    if response.status_code != 201:
        assert_error(response, response.status_code, response.json()["error"]["code"])


@pytest.mark.parametrize("field", ["name", "table"])
async def test_nul_in_join_fields_gets_an_answer_not_a_500(server, field):
    ev = await new_event(server)
    body = {"code": ev.code, "group": "GP", field: "a\u0000b"}
    response = await server.http.post("/api/join", json=body)
    if response.status_code != 201:
        assert 400 <= response.status_code < 500, f"HTTP {response.status_code} {response.text!r}"
        assert_error(response, response.status_code, response.json()["error"]["code"])
    await assert_log_matches_state(server.runtime, ev.id)


async def test_oversized_body_is_refused_without_reading_it_all(server):
    """MAX_BODY_BYTES is 16 KB: a client declaring 100 MB is answered once it has sent
    more than that, rather than the server buffering whatever it sends."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(
            b"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
            + b'{"title": "'
            + b"x" * 40_000
        )
        await writer.drain()
        try:
            status_line = await asyncio.wait_for(reader.readline(), 5)
        except TimeoutError:
            pytest.fail("no answer after 40 KB of a 100 MB body: the server buffers it all")
        status = int(status_line.split()[1])
        assert status in {400, 413}, status_line
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def test_unknown_paths_and_methods_get_the_error_shape(server):
    assert_error(await server.http.get("/api/nothing-here"), 404, "not_found")
    assert_error(await server.http.get("/api/join"), 405, "bad_frame")


async def test_listed_origins_may_call_the_api_from_a_browser(start):
    server = await start(PLENARY_ALLOWED_ORIGINS="https://projector.example.org")
    ev = await new_event(server)
    preflight = {"access-control-request-method": "POST"}
    allowed = await server.http.options(
        "/api/observe", headers={"origin": "https://projector.example.org", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://projector.example.org"
    refused = await server.http.options(
        "/api/observe", headers={"origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in refused.headers
    observed = await server.http.post(
        "/api/observe", json={"code": ev.code}, headers={"origin": "https://projector.example.org"}
    )
    assert observed.status_code == 200
    assert observed.headers["access-control-allow-origin"] == "https://projector.example.org"


async def test_without_listed_origins_there_are_no_cors_headers(server):
    ev = await new_event(server)
    looked_up = await server.http.get(
        f"/api/codes/{ev.code}", headers={"origin": "https://elsewhere.example"}
    )
    assert looked_up.status_code == 200
    assert "access-control-allow-origin" not in looked_up.headers
    observed = await server.http.post(
        "/api/observe", json={"code": ev.code}, headers={"origin": "https://elsewhere.example"}
    )
    assert_error(observed, 403, "forbidden")
    assert "access-control-allow-origin" not in observed.headers


async def test_blank_join_fields_mean_not_given(server):
    ev = await new_event(server)
    response = await server.http.post(
        "/api/join", json={"code": ev.code, "name": "  ", "group": " GP ", "table": "   "}
    )
    assert response.status_code == 201, response.text
    p = (await live_state(server.runtime, ev.id)).participants[response.json()["participant"]]
    assert (p.name, p.group, p.table) == (None, "GP", None)


async def test_a_database_failure_is_a_503_in_the_error_shape(server, monkeypatch):
    from plenary.db import store
    from sqlalchemy.exc import OperationalError

    async def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database down"))

    ev = await new_event(server)
    monkeypatch.setattr(store, "event_by_code", down)
    assert_error(await server.http.post("/api/join", json={"code": ev.code}), 503, "unavailable")


async def test_a_join_screen_looks_the_event_up_by_its_code(server):
    response = await server.http.post("/api/events", json={"title": "Lookup", "groups": ["A"]})
    created = response.json()
    code = created["code"]
    spelled = f"{code[:3].lower()}-{code[3:].lower()}"
    found = await server.http.get(f"/api/codes/{spelled}")
    assert found.status_code == 200, found.text
    assert found.json() == {
        "event": created["event"],
        "code": code,
        "title": "Lookup",
        "groups": ["A"],
        "tables": [],
        "anonymity": "everyone",
    }
    for missing in ("ZZZZZZ", "x" * 40):
        gone = await server.http.get(f"/api/codes/{missing}")
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "not_found"
