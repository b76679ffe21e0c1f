"""The websocket handshake: origin check, hello, token, welcome, catch-up."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from plenary.auth import Tokens
from plenary.domain.model import Actor, Role
from plenary.realtime import connection
from websockets.exceptions import InvalidStatus

from .helpers import (
    assert_gapless,
    new_event,
    pack,
    raw_connect,
    raw_hello,
    read_until_closed,
    recv_frame,
)


async def test_participant_gets_welcome_then_catchup(server):
    ev = await new_event(server)
    joined = await ev.join(name="Ann", group="GP")
    c = await server.client(joined["token"])

    welcome = c.welcome
    assert welcome is not None
    assert welcome["event"] == ev.id
    assert welcome["role"] == "participant"
    assert welcome["you"] == joined["participant"]
    assert welcome["seq"] == 2 == joined["seq"]
    assert welcome["resume"] == "ops"
    assert welcome["max_frame"] == server.config.max_frame_bytes
    assert welcome["heartbeat"] == server.config.heartbeat_seconds
    assert abs(welcome["server_time"] - time.time() * 1000) < 60_000

    await c.wait_for_seq(2)
    assert c.frames[0] is welcome
    assert c.frames[1]["t"] == "ops", "the catch-up follows the welcome"
    assert_gapless(c, 1, 2)
    created, join = c.ops
    assert created["kind"] == "event.created"
    assert created["data"] == {
        "title": "Test event",
        "groups": ["GP", "Resident", "Voluntary sector"],
        "code": ev.code,
    }
    assert join["kind"] == "participant.joined"
    assert join["by"] == joined["participant"]
    assert join["data"] == {
        "participant": joined["participant"],
        "name": "Ann",
        "group": "GP",
        "table": "1",
    }
    assert c.snapshot is None
    assert c.errors == []


async def test_facilitator_and_observer_roles(server):
    ev = await new_event(server)
    f = await ev.facilitator()
    o = await ev.observer()
    assert f.welcome is not None and o.welcome is not None
    assert f.welcome["role"] == "facilitator"
    assert f.welcome["you"].startswith("f_")
    assert o.welcome["role"] == "observer"
    assert o.welcome["you"].startswith("o_")
    assert f.welcome["event"] == o.welcome["event"] == ev.id
    for c in (f, o):
        await c.wait_for_seq(1)
        assert_gapless(c, 1, 1)


def _other_secret_token(event_id: str) -> str:
    return Tokens("not-the-server-secret", 3600).issue(event_id, Actor("f_x", Role.FACILITATOR))


def _tampered_token(server: Any, event_id: str) -> str:
    """A real participant token whose payload was edited to claim the facilitator role."""
    token = Tokens(server.config.secret, 3600).issue(event_id, Actor("p_x", Role.PARTICIPANT))
    _payload, timestamp, signature = token.split(".")
    claim = json.dumps({"e": event_id, "a": "p_x", "r": "facilitator"}, separators=(",", ":"))
    forged = base64.urlsafe_b64encode(claim.encode()).rstrip(b"=").decode()
    return f"{forged}.{timestamp}.{signature}"


def _expired_token(server: Any, event_id: str) -> str:
    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 365 * 86400

    serializer = URLSafeTimedSerializer(
        server.config.secret, salt="plenary.access.v1", signer=LongAgo
    )
    return str(serializer.dumps({"e": event_id, "a": "f_old", "r": "facilitator"}))


def _unknown_role_token(server: Any, event_id: str) -> str:
    serializer = URLSafeTimedSerializer(server.config.secret, salt="plenary.access.v1")
    return str(serializer.dumps({"e": event_id, "a": "x_1", "r": "admin"}))


@pytest.mark.parametrize("kind", ["garbage", "other-secret", "tampered", "expired", "bad-role"])
async def test_forged_token_is_refused_with_4001(server, kind):
    ev = await new_event(server)
    token = {
        "garbage": lambda: "not-a-token",
        "other-secret": lambda: _other_secret_token(ev.id),
        "tampered": lambda: _tampered_token(server, ev.id),
        "expired": lambda: _expired_token(server, ev.id),
        "bad-role": lambda: _unknown_role_token(server, ev.id),
    }[kind]()
    ws = await raw_connect(server)
    await ws.send(pack({"t": "hello", "token": token, "since": 0}))
    frames, code = await read_until_closed(ws)
    assert [f["t"] for f in frames] == ["error"]
    assert frames[0]["code"] == "unauthorised"
    assert frames[0]["id"] is None
    assert code == 4001
    assert await ev.seq() == 1, "a refused hello records nothing"


async def test_token_for_an_unknown_event_closes_with_4004(server):
    token = Tokens(server.config.secret, 3600).issue("ev_gone", Actor("p_x", Role.PARTICIPANT))
    ws = await raw_connect(server)
    await ws.send(pack({"t": "hello", "token": token, "since": 0}))
    frames, code = await read_until_closed(ws)
    assert [(f["t"], f["code"]) for f in frames] == [("error", "not_found")]
    assert code == 4004


BAD_FIRST_FRAMES: dict[str, bytes | str] = {
    "ping": pack({"t": "ping", "n": 1}),
    "write": pack({"t": "write", "id": "w1", "op": {"kind": "note.add", "text": "hi"}}),
    "text frame": "hello",
    "garbage": b"\xc1\xc1\xc1",
    "empty": b"",
    "msgpack list": pack(["hello", "token", 0]),
    "unknown type": pack({"t": "howdy"}),
    "hello without token": pack({"t": "hello", "since": 0}),
    "hello negative since": pack({"t": "hello", "token": "x", "since": -1}),
    "hello extra field": pack({"t": "hello", "token": "x", "since": 0, "admin": True}),
    # The frame that froze a process for 5-9 s: 604 KiB, 150,000 ids, no token.
    "a merge of 150,000 notes": pack(
        {"t": "write", "id": "w1", "op": {"kind": "note.merge", "notes": list(range(150_000))}}
    ),
    "hello over 4 KiB": pack({"t": "hello", "token": "x" * 5000, "since": 0}),
}


@pytest.mark.parametrize("name", list(BAD_FIRST_FRAMES))
async def test_first_frame_not_a_valid_hello_closes_with_4002(server, name):
    ev = await new_event(server)
    ws = await raw_connect(server)
    await ws.send(BAD_FIRST_FRAMES[name])
    frames, code = await read_until_closed(ws)
    assert [(f["t"], f["code"]) for f in frames] == [("error", "bad_frame")], frames
    assert frames[0]["message"]
    assert code == 4002
    assert await ev.seq() == 1


async def test_no_hello_in_time_closes_with_4002(server, monkeypatch):
    monkeypatch.setattr(connection, "HELLO_TIMEOUT_S", 0.2)
    ws = await raw_connect(server)
    started = time.monotonic()
    frames, code = await read_until_closed(ws, timeout=5)
    assert frames == []
    assert code == 4002
    assert time.monotonic() - started < 4


async def test_hello_timeout_does_not_affect_a_prompt_client(server, monkeypatch):
    monkeypatch.setattr(connection, "HELLO_TIMEOUT_S", 0.2)
    ev = await new_event(server)
    ws, welcome = await raw_hello(server, ev.facilitator_token)
    assert welcome["role"] == "facilitator"
    await ws.send(pack({"t": "ping", "n": 7}))
    frames = [await recv_frame(ws)]
    while frames[-1]["t"] != "pong":
        frames.append(await recv_frame(ws))
    assert frames[-1]["n"] == 7
    assert ws.close_code is None


async def test_disallowed_origin_is_refused_before_upgrade(server):
    with pytest.raises(InvalidStatus) as refused:
        await raw_connect(server, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as refused:
        # Same host, other port: a different origin.
        await raw_connect(server, origin=f"http://127.0.0.1:{server.port + 1}")
    assert refused.value.response.status_code == 403
    for origin in ("null", f"http://127.0.0.1.evil.example:{server.port}"):
        with pytest.raises(InvalidStatus) as refused:
            await raw_connect(server, origin=origin)
        assert refused.value.response.status_code == 403, origin


async def test_same_origin_and_no_origin_are_accepted(server):
    ev = await new_event(server)
    for origin in (f"http://127.0.0.1:{server.port}", None):
        _ws, welcome = await raw_hello(server, ev.facilitator_token, origin=origin)
        assert welcome["role"] == "facilitator"


async def test_listed_origins_are_accepted_and_others_refused(start):
    server = await start(
        PLENARY_ALLOWED_ORIGINS="https://plenary.example.org, https://projector.example.org"
    )
    ev = await new_event(server)
    own = server.base_url  # the server's own origin stays allowed beside the list
    for origin in ("https://plenary.example.org", "https://projector.example.org", own):
        _, welcome = await raw_hello(server, ev.facilitator_token, origin=origin)
        assert welcome["event"] == ev.id
    for origin in (
        "http://evil.example",
        "https://plenary.example.org.evil.example",
        "http://plenary.example.org",
    ):
        with pytest.raises(InvalidStatus) as refused:
            await raw_connect(server, origin=origin)
        assert refused.value.response.status_code == 403, origin


async def test_wildcard_origin_accepts_any(start):
    server = await start(PLENARY_ALLOWED_ORIGINS="*")
    ev = await new_event(server)
    _, welcome = await raw_hello(server, ev.facilitator_token, origin="http://anywhere.example")
    assert welcome["event"] == ev.id
