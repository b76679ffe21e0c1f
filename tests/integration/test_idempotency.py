"""A client op id is recorded once per writer: retries are acknowledged, never re-applied."""

from __future__ import annotations

import asyncio

from plenary.db import store

from .helpers import assert_gapless, assert_log_matches_state, live_state, new_event, wait_frames


async def ops_with_client_id(server, event_id: str, actor: str, op_id: str) -> int:
    async with server.runtime.db.read() as conn:
        seq = await store.find_client_op(conn, event_id, actor, op_id)
        ops = await store.read_ops(conn, event_id, 0)
    return sum(1 for op in ops if op.seq == seq)


def notes_with_text(state, text: str) -> list:
    return [n for n in state.notes.values() if n.text == text]


async def test_same_op_id_twice_is_recorded_once(server):
    ev = await new_event(server)
    ann = await ev.participant()
    obs = await ev.observer()
    first = await ann.add_note("only once", op_id="retry-1")
    second = await ann.add_note("only once", op_id="retry-1")
    assert first == {"t": "ack", "id": "retry-1", "seq": first["seq"], "dup": False}
    assert second == {"t": "ack", "id": "retry-1", "seq": first["seq"], "dup": True}

    marker = await ann.add_note("marker")
    assert marker["seq"] == first["seq"] + 1, "the retry did not use a seq"
    await obs.wait_for_seq(marker["seq"])
    assert_gapless(obs, 1, marker["seq"])
    assert [op["data"].get("text") for op in obs.ops].count("only once") == 1

    state = await live_state(server.runtime, ev.id)
    assert len(notes_with_text(state, "only once")) == 1
    author = ev.participants[0]["participant"]
    assert await ops_with_client_id(server, ev.id, author, "retry-1") == 1
    await assert_log_matches_state(server.runtime, ev.id)


async def test_a_retry_with_other_content_keeps_the_original(server):
    ev = await new_event(server)
    ann = await ev.participant()
    first = await ann.add_note("original", op_id="same-id")
    second = await ann.add_note("changed my mind", op_id="same-id")
    assert (second["seq"], second["dup"]) == (first["seq"], True)
    state = await live_state(server.runtime, ev.id)
    assert state.notes[first["seq"]].text == "original"
    assert notes_with_text(state, "changed my mind") == []


async def test_same_op_id_pipelined_on_one_socket(server):
    ev = await new_event(server)
    ann = await ev.participant()
    frame = {"t": "write", "id": "pipelined", "op": {"kind": "note.add", "text": "pipelined"}}
    await asyncio.gather(ann.send(frame), ann.send(frame), ann.send(frame))
    acks = await wait_frames(ann, lambda f: f["t"] == "ack" and f["id"] == "pipelined", count=3)
    assert len({a["seq"] for a in acks}) == 1
    assert sorted(a["dup"] for a in acks) == [False, True, True]
    state = await live_state(server.runtime, ev.id)
    assert len(notes_with_text(state, "pipelined")) == 1
    assert state.seq == acks[0]["seq"]


async def test_same_op_id_concurrently_from_two_sockets(server):
    """A phone retrying on a new socket while the old one's write is still in flight."""
    ev = await new_event(server)
    joined = await ev.join()
    sockets = [await server.client(joined["token"]) for _ in range(5)]
    replies = await asyncio.gather(*(c.add_note("raced", op_id="race-1") for c in sockets))
    assert {r["t"] for r in replies} == {"ack"}, replies
    assert len({r["seq"] for r in replies}) == 1
    assert [r["dup"] for r in replies].count(False) == 1
    seq = replies[0]["seq"]
    assert await ev.seq() == seq
    for c in sockets:
        await c.wait_for_seq(seq)
        assert_gapless(c, 1, seq)
    state = await live_state(server.runtime, ev.id)
    assert len(notes_with_text(state, "raced")) == 1
    assert await ops_with_client_id(server, ev.id, joined["participant"], "race-1") == 1
    await assert_log_matches_state(server.runtime, ev.id)


async def test_same_op_id_after_reconnecting(server):
    ev = await new_event(server)
    joined = await ev.join()
    first_socket = await server.client(joined["token"])
    first = await first_socket.add_note("before the wifi dropped", op_id="phone-7")
    await first_socket.wait_for_seq(first["seq"])
    await first_socket.close()

    second_socket = await server.client(joined["token"], since=first["seq"])
    again = await second_socket.add_note("before the wifi dropped", op_id="phone-7")
    assert (again["seq"], again["dup"]) == (first["seq"], True)
    marker = await second_socket.add_note("after")
    await second_socket.wait_for_seq(marker["seq"])
    assert second_socket.seqs == [first["seq"] + 1], "the retry delivered nothing new"
    state = await live_state(server.runtime, ev.id)
    assert len(notes_with_text(state, "before the wifi dropped")) == 1
    assert await ops_with_client_id(server, ev.id, joined["participant"], "phone-7") == 1


async def test_op_ids_are_per_writer(server):
    ev = await new_event(server)
    ann = await ev.participant("Ann")
    bob = await ev.participant("Bob")
    a = await ann.add_note("ann's", op_id="n1")
    b = await bob.add_note("bob's", op_id="n1")
    assert (a["dup"], b["dup"]) == (False, False)
    assert b["seq"] == a["seq"] + 1
    state = await live_state(server.runtime, ev.id)
    assert {state.notes[a["seq"]].text, state.notes[b["seq"]].text} == {"ann's", "bob's"}


async def test_a_refused_write_does_not_consume_its_op_id(server):
    ev = await new_event(server)
    ann = await ev.participant()
    refused = await ann.add_note("x" * 300, op_id="fixme")
    assert (refused["t"], refused["code"], refused["id"]) == ("error", "invalid", "fixme")
    fixed = await ann.add_note("x" * 200, op_id="fixme")
    assert (fixed["t"], fixed["dup"]) == ("ack", False)
    assert (await ann.add_note("x" * 200, op_id="fixme"))["dup"] is True
