"""Fair shares on the websocket: per connection and per token first, per address only as
a cap a full room behind one venue NAT never reaches. Small limits are set per test so
that a handful of frames shows each limit; nothing here waits a guessed time."""

from __future__ import annotations

import asyncio

from .helpers import (
    assert_gapless,
    assert_log_matches_state,
    new_event,
    pack,
    raw_connect,
    read_until_closed,
    wait_frames,
    wait_until,
)


async def _send_writes(client, texts: list[str], prefix: str) -> list[dict]:
    """Send every write at once, as an offline queue replays, and gather the replies."""
    loop = asyncio.get_running_loop()
    futures = []
    for i, text in enumerate(texts):
        fut = loop.create_future()
        client._replies[f"{prefix}{i}"] = fut
        futures.append(fut)
        await client.send(
            {"t": "write", "id": f"{prefix}{i}", "op": {"kind": "note.add", "text": text}}
        )
    return list(await asyncio.wait_for(asyncio.gather(*futures), 60))


async def test_an_offline_queue_of_fifty_writes_passes_at_the_defaults(server):
    ev = await new_event(server)
    ann = await ev.participant()
    replies = await _send_writes(ann, [f"queued {i}" for i in range(50)], "q")
    assert [r["t"] for r in replies] == ["ack"] * 50
    seqs = [r["seq"] for r in replies]
    assert seqs == sorted(seqs)
    await ann.wait_for_seq(seqs[-1])
    assert_gapless(ann, 1, seqs[-1])


async def test_writes_past_the_burst_are_refused_with_a_retry_hint(start):
    server = await start(PLENARY_WRITE_BURST="5", PLENARY_WRITE_RATE="0.5")
    ev = await new_event(server)
    ann = await ev.participant()
    replies = await _send_writes(ann, [f"flood {i}" for i in range(12)], "f")
    acked = [r for r in replies if r["t"] == "ack"]
    limited = [r for r in replies if r["t"] == "error"]
    # The burst passes; the rest is refused, never queued, and says when to come back.
    assert len(acked) >= 5
    assert limited, replies
    assert {r["code"] for r in limited} == {"rate_limited"}
    assert all(r["detail"]["retry_after_ms"] > 0 for r in limited)
    assert ann.close_code is None
    # Sent again with the same id once the hint has passed, each is recorded once.
    retry = limited[0]
    while True:
        await asyncio.sleep(retry["detail"]["retry_after_ms"] / 1000)
        retry = await ann.write({"kind": "note.add", "text": "flood again"}, op_id=retry["id"])
        if retry["t"] == "ack":
            break
        assert retry["code"] == "rate_limited"
    state = await assert_log_matches_state(server.runtime, ev.id)
    assert len(state.notes) == len(acked) + 1


async def test_a_token_shares_its_write_rate_across_its_connections(start):
    server = await start(PLENARY_WRITE_BURST="6", PLENARY_WRITE_RATE="0.001")
    ev = await new_event(server)
    token = (await ev.join("Ann"))["token"]
    phone, laptop = await server.client(token), await server.client(token)
    first = await _send_writes(phone, [f"phone {i}" for i in range(4)], "p")
    second = await _send_writes(laptop, [f"laptop {i}" for i in range(4)], "l")
    replies = first + second
    assert sum(r["t"] == "ack" for r in replies) == 6
    assert sum(r.get("code") == "rate_limited" for r in replies) == 2
    # Another participant's share is their own.
    other = await ev.participant("Bo")
    assert (await other.add_note("mine"))["t"] == "ack"


async def test_a_ping_flood_is_not_answered_and_ends_that_connection(start):
    server = await start(PLENARY_PING_RATE="1", PLENARY_REFUSED_RATE="1")
    ev = await new_event(server)
    flooder = await ev.participant("Flo")
    honest = await ev.participant("Ann")
    for n in range(300):
        await flooder.send({"t": "ping", "n": n})
    assert await flooder.wait_closed() == 4029
    pongs = [f for f in flooder.frames if f["t"] == "pong"]
    # The burst (ten times the rate) and what refilled while the flood was read.
    assert 1 <= len(pongs) < 100, len(pongs)
    (last,) = [f for f in flooder.frames if f["t"] == "error"]
    assert last["code"] == "rate_limited" and last["detail"]["retry_after_ms"] > 0
    ack = await honest.add_note("the room carries on")
    assert ack["t"] == "ack"
    await honest.wait_for_seq(ack["seq"])
    assert honest.close_code is None
    # Coming straight back with the same token is refused at the handshake, cheaply,
    # until the backoff is over.
    ws = await raw_connect(server)
    await ws.send(pack({"t": "hello", "token": flooder.token, "since": 0}))
    frames, code = await read_until_closed(ws)
    assert code == 4029
    (refused,) = frames
    assert refused["code"] == "rate_limited"
    assert 0 < refused["detail"]["retry_after_ms"] <= 10_000


async def test_bad_frames_past_the_refused_rate_end_that_connection(start):
    server = await start(PLENARY_REFUSED_RATE="1")
    ev = await new_event(server)
    bad = await ev.participant("Bad")
    for _ in range(100):
        await bad.send_raw(b"\xc1")
    assert await bad.wait_closed() == 4029
    refused = [f for f in bad.frames if f["t"] == "error" and f["code"] == "bad_frame"]
    # The burst (twenty times the rate) and what refilled while the flood was read.
    assert 20 <= len(refused) < 100, len(refused)
    assert bad.frames[-1]["code"] == "rate_limited"


async def test_connections_per_address_are_capped_with_a_reason(start):
    server = await start(PLENARY_ADDRESS_CONNECTIONS="3")
    ev = await new_event(server)
    token = (await ev.join("Ann"))["token"]
    held = [await server.client(token) for _ in range(3)]
    # Refused without waiting for a hello: the socket is the cost being capped.
    ws = await raw_connect(server)
    frames, code = await read_until_closed(ws)
    assert code == 4029
    assert [f["code"] for f in frames] == ["rate_limited"]
    # A closed connection frees its place.
    await held.pop().close()
    await wait_until(lambda: server.runtime.guard.connections.count("127.0.0.1") == 2)
    again = await server.client(token)
    assert again.welcome is not None
    await wait_frames(again, lambda f: f["t"] == "ops" or f["t"] == "snapshot")
