"""Joining and observing are idempotent under a client-chosen id: a reply lost on venue
wifi, retried, gets the same participant and the same token, and the log one join."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from plenary.auth import CODE_LENGTH

from .helpers import assert_log_matches_state, live_state, log_ops, new_event
from .test_http import assert_error

JOIN_ID = "Zq3_x-9aLmN0pQrStUvWx"


async def joins_in_log(server, event_id: str) -> list[str]:
    return [
        op.by for op in await log_ops(server.runtime, event_id) if op.kind == "participant.joined"
    ]


async def test_a_retried_join_is_the_first_join(server):
    ev = await new_event(server)
    body = {"code": ev.code, "name": "Ann", "group": "GP", "table": "4", "join_id": JOIN_ID}
    first = await server.http.post("/api/join", json=body)
    assert first.status_code == 201, first.text
    again = await server.http.post("/api/join", json={**body, "code": ev.code.lower()})
    assert again.status_code == 201, again.text
    assert again.json() == first.json(), "same participant, token and seq"
    assert await joins_in_log(server, ev.id) == [first.json()["participant"]]
    client = await server.client(again.json()["token"])
    assert client.welcome is not None and client.welcome["you"] == first.json()["participant"]
    await assert_log_matches_state(server.runtime, ev.id)


async def test_a_retry_with_other_fields_is_still_the_first_participant(server):
    ev = await new_event(server)
    first = await server.http.post(
        "/api/join", json={"code": ev.code, "name": "Ann", "group": "GP", "join_id": JOIN_ID}
    )
    changed = await server.http.post(
        "/api/join",
        json={"code": ev.code, "name": "Bob", "group": "Resident", "join_id": JOIN_ID},
    )
    assert changed.json() == first.json()
    p = (await live_state(server.runtime, ev.id)).participants[first.json()["participant"]]
    assert (p.name, p.group) == ("Ann", "GP")


async def test_retries_racing_the_first_join_record_one(server):
    ev = await new_event(server)
    body = {"code": ev.code, "group": "GP", "join_id": JOIN_ID}
    answers = await asyncio.gather(*(server.http.post("/api/join", json=body) for _ in range(8)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.text for r in answers}) == 1
    assert len(await joins_in_log(server, ev.id)) == 1


async def test_join_ids_are_per_event_and_distinct_ids_are_distinct_people(server):
    one, two = await new_event(server), await new_event(server)
    a = await server.http.post(
        "/api/join", json={"code": one.code, "group": "GP", "join_id": JOIN_ID}
    )
    b = await server.http.post(
        "/api/join", json={"code": two.code, "group": "GP", "join_id": JOIN_ID}
    )
    c = await server.http.post(
        "/api/join", json={"code": one.code, "group": "GP", "join_id": JOIN_ID + "2"}
    )
    d = await server.http.post("/api/join", json={"code": one.code, "group": "GP"})
    ids = [r.json()["participant"] for r in (a, b, c, d)]
    assert len(set(ids)) == 4
    assert JOIN_ID not in "".join(ids), "the id is derived, not the client's own"


async def test_a_refused_join_can_be_retried_with_the_same_id(server):
    ev = await new_event(server)
    refused = await server.http.post(
        "/api/join", json={"code": ev.code, "group": "Dentist", "join_id": JOIN_ID}
    )
    assert_error(refused, 422, "invalid")
    fixed = await server.http.post(
        "/api/join", json={"code": ev.code, "group": "GP", "join_id": JOIN_ID}
    )
    assert fixed.status_code == 201, fixed.text
    assert len(await joins_in_log(server, ev.id)) == 1


async def test_bad_join_ids_are_400(server):
    ev = await new_event(server)
    for bad in ("short", "x" * 65, "has space1", "slash/in/it", "dots.in.it", 12345678, None):
        response = await server.http.post(
            "/api/join", json={"code": ev.code, "group": "GP", "join_id": bad}
        )
        assert_error(response, 400, "bad_frame")


async def test_a_retried_join_survives_a_restart(start, servers):
    """The log is the source of truth: a server that never saw the first join (it was
    restarted in between, or is another node) answers the retry the same."""
    server = await start()
    ev = await new_event(server)
    body = {"code": ev.code, "group": "GP", "join_id": JOIN_ID}
    first = (await server.http.post("/api/join", json=body)).json()
    await servers.stop(server)
    restarted = await start()
    again = await restarted.http.post("/api/join", json=body)
    assert again.status_code == 201, again.text
    assert again.json() == first
    assert len(await joins_in_log(restarted, ev.id)) == 1


async def test_a_retried_observe_is_the_same_observer(server, monkeypatch):
    from plenary.web import api

    ev = await new_event(server)
    hour = int(time.time()) // 3600 * 3600
    clock = [hour + 1.0]
    monkeypatch.setattr(api, "time", SimpleNamespace(time=lambda: clock[0]))
    body = {"code": ev.code, "observe_id": JOIN_ID}
    first = await server.http.post("/api/observe", json=body)
    clock[0] = hour + 3599.0  # the same hour: tokens are stamped to the hour
    again = await server.http.post("/api/observe", json=body)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json(), "the same observer, and the same token"
    grant = server.runtime.tokens.verify(first.json()["token"])
    assert grant is not None and grant.actor.id.startswith("o_")
    c = await server.client(first.json()["token"])
    assert c.welcome is not None and c.welcome["you"] == grant.actor.id
    clock[0] = hour + 3600.0  # the next hour: an equivalent token, the same observer
    later = await server.http.post("/api/observe", json=body)
    assert later.json()["token"] != first.json()["token"]
    claims = [r.json()["token"].split(".")[0] for r in (first, later)]
    assert claims[0] == claims[1], "the same event, observer and role; another stamp"
    clock[0] = hour + 2.0
    other = await server.http.post(
        "/api/observe", json={"code": ev.code, "observe_id": "another-id"}
    )
    other_grant = server.runtime.tokens.verify(other.json()["token"])
    assert other_grant is not None and other_grant.actor != grant.actor


async def test_new_codes_are_8_characters_and_old_6_character_codes_still_work(server, monkeypatch):
    ev = await new_event(server)
    assert len(ev.code) == CODE_LENGTH == 8
    from plenary.web import api

    monkeypatch.setattr(api, "new_join_code", lambda: "C4GHTN")
    old = await new_event(server, "Made before codes grew")
    assert old.code == "C4GHTN"
    assert (await server.http.get("/api/codes/c4g-htn")).status_code == 200
    joined = await server.http.post("/api/join", json={"code": "c4g htn", "group": "GP"})
    assert joined.status_code == 201, joined.text
    assert (await server.http.post("/api/observe", json={"code": "C4GHTN"})).status_code == 200
