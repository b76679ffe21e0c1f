"""What the HTTP API refuses before it does anything: writes from other sites' pages,
bodies not declared JSON, bodies nested too deep, and too much from one address."""

from __future__ import annotations

import asyncio
import json

import pytest
from plenary.auth import CODE_LENGTH

from .helpers import log_count, new_event
from .test_http import assert_error

JSON = {"content-type": "application/json"}
EVIL = "https://evil.example"


def _posts(code: str, event: str = "ev_x") -> list[tuple[str, dict[str, object]]]:
    return [
        ("/api/events", {"title": "Drive-by"}),
        ("/api/join", {"code": code, "group": "GP"}),
        ("/api/observe", {"code": code}),
        ("/api/facilitate", {"event": event, "key": "k"}),
    ]


async def test_writes_from_another_sites_page_are_403(server):
    ev = await new_event(server)
    before = await log_count(server.runtime, ev.id)
    for path, body in _posts(ev.code, ev.id):
        for headers in (
            {"origin": EVIL},
            {"origin": "null"},  # a sandboxed frame or a file:// page
            {"origin": f"http://127.0.0.1:{server.port}.evil.example"},
            {"sec-fetch-site": "cross-site"},  # a browser that withheld the Origin
        ):
            # As a form would send it (no preflight), and as JSON.
            for content_type in ("text/plain", "application/json"):
                response = await server.http.post(
                    path,
                    content=json.dumps(body).encode(),
                    headers={**headers, "content-type": content_type},
                )
                assert_error(response, 403, "forbidden")
    assert await log_count(server.runtime, ev.id) == before, "nothing was joined"


async def test_writes_from_the_servers_own_pages_and_from_non_browsers_pass(server):
    own = {"origin": server.base_url, "sec-fetch-site": "same-origin"}
    created = await server.http.post("/api/events", json={"title": "Own page"}, headers=own)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    joined = await server.http.post("/api/join", json={"code": code}, headers=own)
    assert joined.status_code == 201, joined.text
    # curl, the bench, native apps: no Origin, no Sec-Fetch-Site.
    assert (await server.http.post("/api/observe", json={"code": code})).status_code == 200
    same_site = {"sec-fetch-site": "same-site"}
    assert (
        await server.http.post("/api/observe", json={"code": code}, headers=same_site)
    ).status_code == 200


async def test_listed_origins_may_write(start):
    server = await start(PLENARY_ALLOWED_ORIGINS="https://projector.example.org")
    ev = await new_event(server)
    listed = {"origin": "https://projector.example.org", "sec-fetch-site": "cross-site"}
    observed = await server.http.post("/api/observe", json={"code": ev.code}, headers=listed)
    assert observed.status_code == 200, observed.text
    refused = await server.http.post(
        "/api/observe", json={"code": ev.code}, headers={"origin": EVIL}
    )
    assert_error(refused, 403, "forbidden")


async def test_bodies_must_be_declared_json(server):
    ev = await new_event(server)
    before = await log_count(server.runtime, ev.id)
    for path, body in _posts(ev.code, ev.id):
        for content_type in (None, "text/plain", "application/x-www-form-urlencoded", "text/json"):
            headers = {} if content_type is None else {"content-type": content_type}
            response = await server.http.post(
                path, content=json.dumps(body).encode(), headers=headers
            )
            assert_error(response, 415, "bad_frame")
    assert await log_count(server.runtime, ev.id) == before
    with_charset = {"content-type": "Application/JSON; charset=utf-8"}
    response = await server.http.post(
        "/api/observe", content=json.dumps({"code": ev.code}).encode(), headers=with_charset
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 16_000,  # under the 16 KiB limit: json.loads meets a RecursionError
        b"{" + b'"a":{' * 3000,
        b'{"title": "T", "groups": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
async def test_deeply_nested_json_is_400_not_500(server, content):
    for path in ("/api/events", "/api/join", "/api/observe", "/api/facilitate"):
        response = await server.http.post(path, content=content, headers=JSON)
        assert_error(response, 400, "bad_frame")


@pytest.mark.parametrize(
    "body",
    [
        {"title": "T", "groups": [[[[[[[["deep"]]]]]]]]},
        {"title": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]},
        json.loads("[" * 900 + "]" * 900),
    ],
)
async def test_nesting_is_refused_before_the_schema_walks_it(server, body):
    response = await server.http.post("/api/events", json=body)
    message = assert_error(response, 400, "bad_frame")
    assert message == "the request body nests deeper than 8"


# -- per-address limits ------------------------------------------------------------------


async def test_a_room_of_250_joins_from_one_address_at_the_defaults(server):
    ev = await new_event(server)
    joins = [
        server.http.post("/api/join", json={"code": ev.code, "group": "GP"}) for _ in range(250)
    ]
    answers = await asyncio.gather(*joins)
    assert [r.status_code for r in answers] == [201] * 250
    assert len({r.json()["participant"] for r in answers}) == 250


async def test_joins_past_the_limit_are_429_with_retry_after(start):
    server = await start(PLENARY_ADDRESS_JOINS_PER_MINUTE="3")
    ev = await new_event(server)
    for _ in range(3):
        assert (
            await server.http.post("/api/join", json={"code": ev.code, "group": "GP"})
        ).is_success
    before = await log_count(server.runtime, ev.id)
    for path, body in (
        ("/api/join", {"code": ev.code, "group": "GP"}),
        ("/api/observe", {"code": ev.code}),
        ("/api/facilitate", {"event": ev.id, "key": ev.created["facilitator_key"]}),
    ):
        response = await server.http.post(path, json=body)
        assert_error(response, 429, "rate_limited")
        assert response.headers["retry-after"] == "20"  # 3 a minute: the next in 20 s
    assert await log_count(server.runtime, ev.id) == before
    # Look-ups have their own bucket.
    assert (await server.http.get(f"/api/codes/{ev.code}")).status_code == 200


async def test_lookups_past_the_limit_are_429(start):
    server = await start(PLENARY_ADDRESS_LOOKUPS_PER_MINUTE="2")
    ev = await new_event(server)
    for _ in range(2):
        assert (await server.http.get(f"/api/codes/{ev.code}")).status_code == 200
    response = await server.http.get(f"/api/codes/{ev.code}")
    assert_error(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "30"
    assert (await server.http.post("/api/observe", json={"code": ev.code})).status_code == 200


async def test_once_the_misses_are_spent_every_code_is_429(start):
    server = await start(PLENARY_ADDRESS_MISSES_PER_MINUTE="3")
    ev = await new_event(server)
    wrong = "Q" * CODE_LENGTH
    misses = [
        server.http.get(f"/api/codes/{wrong}"),
        server.http.post("/api/join", json={"code": wrong}),
        server.http.post("/api/observe", json={"code": wrong}),
    ]
    for miss in misses:
        assert_error(await miss, 404, "not_found")
    # The right code too: a guesser learns nothing from a hit until the bucket refills.
    for response in (
        await server.http.get(f"/api/codes/{ev.code}"),
        await server.http.post("/api/join", json={"code": ev.code, "group": "GP"}),
        await server.http.post("/api/observe", json={"code": ev.code}),
        await server.http.get(f"/api/codes/{wrong}"),
    ):
        assert_error(response, 429, "rate_limited")
        assert response.headers["retry-after"] == "20"
    # Facilitators sign in with the event id and key, not a code.
    signed_in = await server.http.post(
        "/api/facilitate", json={"event": ev.id, "key": ev.created["facilitator_key"]}
    )
    assert signed_in.status_code == 200, signed_in.text


async def test_limits_are_per_address(start):
    """Per client address as the proxy reports it (uvicorn trusts X-Forwarded-For from
    127.0.0.1, FORWARDED_ALLOW_IPS' default): one address's misses lock out no other."""
    server = await start(PLENARY_ADDRESS_MISSES_PER_MINUTE="1")
    ev = await new_event(server)
    guesser = {"x-forwarded-for": "203.0.113.7"}
    assert_error(await server.http.get("/api/codes/QQQQQQQQ", headers=guesser), 404, "not_found")
    assert_error(
        await server.http.get(f"/api/codes/{ev.code}", headers=guesser), 429, "rate_limited"
    )
    venue = {"x-forwarded-for": "198.51.100.20"}
    assert (await server.http.get(f"/api/codes/{ev.code}", headers=venue)).status_code == 200
    assert (await server.http.get(f"/api/codes/{ev.code}")).status_code == 200
