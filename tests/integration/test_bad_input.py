"""Bad frames after the handshake cost one error frame each, never the connection."""

from __future__ import annotations

import msgpack
import pytest

from .helpers import (
    assert_gapless,
    assert_log_matches_state,
    log_count,
    new_event,
    pack,
    read_until_closed,
    wait_frames,
)

# name -> (raw frame, the id the error frame must carry)
BAD_FRAMES: dict[str, tuple[bytes | str, str | None]] = {
    "never-used msgpack byte": (b"\xc1", None),
    "truncated msgpack": (pack({"t": "write", "id": "cut", "op": {"kind": "note.add"}})[:-4], None),
    "empty frame": (b"", None),
    "trailing bytes": (pack({"t": "ping"}) + b"\x00", None),
    "deeply nested": (b"\x91" * 60_000 + b"\xc0", None),
    "msgpack list": (pack([1, 2, 3]), None),
    "msgpack string": (pack("write"), None),
    "msgpack int": (pack(42), None),
    "msgpack nil": (pack(None), None),
    "non-string keys": (pack({1: "write", 2: "x"}), None),
    "map without t": (pack({"id": "no-t", "op": {"kind": "note.add", "text": "x"}}), "no-t"),
    "t not a string": (pack({"t": 7, "id": "t7"}), "t7"),
    "unknown t": (pack({"t": "shout", "id": "u1"}), "u1"),
    "text frame": ("not msgpack at all", None),
    "write without op": (pack({"t": "write", "id": "s1"}), "s1"),
    "write without id": (pack({"t": "write", "op": {"kind": "note.add", "text": "x"}}), None),
    "unknown op kind": (pack({"t": "write", "id": "s2", "op": {"kind": "note.explode"}}), "s2"),
    "text not a string": (
        pack({"t": "write", "id": "s3", "op": {"kind": "note.add", "text": 5}}),
        "s3",
    ),
    "text as bytes": (
        msgpack.packb(
            {"t": "write", "id": "s4", "op": {"kind": "note.add", "text": b"x"}}, use_bin_type=True
        ),
        "s4",
    ),
    "text not valid utf-8": (
        pack(
            {"t": "write", "id": "s13", "op": {"kind": "note.add", "text": "\x01\x02\x03"}}
        ).replace(b"\xa3\x01\x02\x03", b"\xa3\xed\xa0\x80"),
        None,
    ),
    "text over the schema limit": (
        pack({"t": "write", "id": "s5", "op": {"kind": "note.add", "text": "x" * 4001}}),
        "s5",
    ),
    "bad colour": (
        pack({"t": "write", "id": "s6", "op": {"kind": "note.add", "text": "x", "colour": "red"}}),
        "s6",
    ),
    "note id zero": (
        pack({"t": "write", "id": "s7", "op": {"kind": "note.delete", "note": 0}}),
        "s7",
    ),
    "note id string": (
        pack({"t": "write", "id": "s8", "op": {"kind": "note.hide", "note": "3"}}),
        "s8",
    ),
    "note id too big": (
        pack({"t": "write", "id": "s9", "op": {"kind": "note.hide", "note": 2**63}}),
        "s9",
    ),
    "extra field in write": (
        pack({"t": "write", "id": "s10", "op": {"kind": "note.add", "text": "x"}, "as": "f_1"}),
        "s10",
    ),
    "extra field in op": (
        pack({"t": "write", "id": "s11", "op": {"kind": "note.add", "text": "x", "by": "f_1"}}),
        "s11",
    ),
    "op id with bad characters": (
        pack({"t": "write", "id": "bad id!", "op": {"kind": "note.add", "text": "x"}}),
        "bad id!",
    ),
    "op id too long": (
        pack({"t": "write", "id": "x" * 65, "op": {"kind": "note.add", "text": "x"}}),
        None,
    ),
    "ext type": (pack({"t": "write", "id": "s12", "op": msgpack.ExtType(1, b"boom")}), "s12"),
    "ping with negative n": (pack({"t": "ping", "n": -1}), None),
    "ping with float n": (pack({"t": "ping", "n": 1.5}), None),
    "second hello": (pack({"t": "hello", "token": "whatever", "since": 0}), None),
    "second hello without token": (pack({"t": "hello"}), None),
}


@pytest.mark.parametrize("name", list(BAD_FRAMES))
async def test_bad_frame_gets_an_error_and_the_connection_survives(server, name):
    raw, expected_id = BAD_FRAMES[name]
    ev = await new_event(server)
    ann = await ev.participant()
    obs = await ev.observer()
    before = await log_count(server.runtime, ev.id)

    await ann.send_raw(raw)
    (error,) = await wait_frames(ann, lambda f: f["t"] == "error")
    assert error["code"] == "bad_frame", error
    assert error["id"] == expected_id, error
    assert error["message"]
    assert await log_count(server.runtime, ev.id) == before

    # The same connection still works: a ping, then a write.
    await ann.send({"t": "ping", "n": 42})
    (pong,) = await wait_frames(ann, lambda f: f["t"] == "pong")
    assert pong["n"] == 42
    ack = await ann.add_note("still here")
    assert (ack["t"], ack["seq"]) == ("ack", before + 1)
    for c in (ann, obs):
        await c.wait_for_seq(ack["seq"])
        assert_gapless(c, 1, ack["seq"])
    assert ann.close_code is None
    assert len(ann.errors) == 1


async def test_many_bad_frames_in_a_row_on_one_connection(server):
    ev = await new_event(server)
    ann = await ev.participant()
    for raw, _ in BAD_FRAMES.values():
        await ann.send_raw(raw)
    errors = await wait_frames(ann, lambda f: f["t"] == "error", count=len(BAD_FRAMES))
    assert [e["id"] for e in errors] == [expected for _, expected in BAD_FRAMES.values()]
    assert {e["code"] for e in errors} == {"bad_frame"}
    ack = await ann.add_note("survived them all")
    assert ack["t"] == "ack"
    await ann.wait_for_seq(ack["seq"])
    await assert_log_matches_state(server.runtime, ev.id)


async def test_domain_errors_carry_the_op_id_and_the_connection_survives(server):
    ev = await new_event(server)
    ann = await ev.participant()
    for command, code in (
        ({"kind": "note.edit", "note": 999, "text": "x"}, "not_found"),
        ({"kind": "note.hide", "note": 1}, "forbidden"),
        ({"kind": "note.add", "text": " "}, "invalid"),
    ):
        reply = await ann.write(command, op_id=f"dom-{code}")
        assert (reply["t"], reply["code"], reply["id"]) == ("error", code, f"dom-{code}")
    assert (await ann.add_note("ok"))["t"] == "ack"


@pytest.mark.parametrize("text", ["nul \x00 inside", "\x00", "bell \x07 and escape \x1b"])
async def test_control_characters_in_a_note_are_not_a_server_failure(server, text):
    """Whatever the server makes of control characters, it must decide: an ack or a
    refusal, the same on every backend. "unavailable" tells the client to retry a write
    that can never succeed."""
    ev = await new_event(server)
    ann = await ev.participant()
    reply = await ann.add_note(text, op_id="ctrl-1")
    assert reply["t"] == "ack" or reply["code"] in {"invalid", "bad_frame"}, reply
    retry = await ann.add_note(text, op_id="ctrl-1")
    assert retry["t"] == reply["t"], (reply, retry)
    await assert_log_matches_state(server.runtime, ev.id)


async def test_oversized_frame_closes_only_that_connection(start):
    server = await start(PLENARY_MAX_FRAME_BYTES="2048")
    ev = await new_event(server)
    victim_token = (await ev.join("Vic"))["token"]
    victim = await server.client(victim_token)
    other = await ev.participant("Oz")
    obs = await ev.observer()
    assert victim.welcome is not None and victim.welcome["max_frame"] == 2048

    # Just under the limit is an ordinary frame (here: a note over the length limit).
    near = pack({"t": "write", "id": "near", "op": {"kind": "note.add", "text": "n" * 1900}})
    assert len(near) <= 2048
    await victim.send_raw(near)
    (refused,) = await wait_frames(victim, lambda f: f["t"] == "error")
    assert (refused["code"], refused["id"]) == ("invalid", "near")

    big = pack({"t": "write", "id": "big", "op": {"kind": "note.add", "text": "b" * 3000}})
    await victim.send_raw(big)
    assert await victim.wait_closed() == 1009

    ack = await other.add_note("the event carries on")
    assert ack["t"] == "ack"
    for c in (other, obs):
        await c.wait_for_seq(ack["seq"])
        assert_gapless(c, 1, ack["seq"])
        assert c.close_code is None
    # The closed connection was detached, and its owner can come back.
    hub = await server.runtime.hubs.get(ev.id)
    assert hub is not None and len(hub.outboxes) == 2
    back = await server.client(victim_token, since=victim.last_seq)
    again = await back.add_note("back")
    assert again["seq"] == ack["seq"] + 1
    await back.wait_for_seq(again["seq"])
    assert_gapless(back, victim.last_seq + 1, again["seq"])
    await assert_log_matches_state(server.runtime, ev.id)


async def test_oversized_hello_closes_with_1009(start):
    server = await start(PLENARY_MAX_FRAME_BYTES="1024")
    from .helpers import raw_connect

    ws = await raw_connect(server)
    await ws.send(pack({"t": "hello", "token": "t" * 2000, "since": 0}))
    frames, code = await read_until_closed(ws)
    assert frames == []
    assert code == 1009
