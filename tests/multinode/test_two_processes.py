"""Two real ``plenary serve`` processes sharing Postgres and Redis serve one event: every
client on either node sees the same gapless sequence, once each, whoever wrote where."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ..support.wsclient import Client
from .conftest import Cluster, read_log, same_ops

pytestmark = [pytest.mark.multiprocess, pytest.mark.pg, pytest.mark.timeout(300)]

WRITERS_PER_NODE = 3
NOTES_PER_WRITER = 30
WATCHERS_PER_NODE = 2
# Generous: two processes, Postgres and Redis share two cores with the test itself.
DELIVERY_TIMEOUT_S = 60.0


def assert_gapless(client: Client, first: int, last: int) -> None:
    assert client.seqs == list(range(first, last + 1)), (
        f"expected seqs {first}..{last} once each, got {client.seqs}"
    )


async def test_concurrent_writers_on_both_nodes_agree(cluster: Cluster) -> None:
    a = cluster.start("A")
    b = cluster.start("B")
    ev = await a.create_event()
    code = ev["code"]
    writers = [
        await node.participant(code, f"{node.name}{i}")
        for node in (a, b)
        for i in range(WRITERS_PER_NODE)
    ]
    watchers = [await node.observer(code) for node in (a, b) for _ in range(WATCHERS_PER_NODE)]
    # The facilitator's token was issued by A; B verifies it with the shared secret.
    facilitator_on_b = await b.client(ev["facilitator_token"])
    clients = [*writers, *watchers, facilitator_on_b]
    base = 1 + len(writers)  # event.created, then one join per writer
    for c in clients:
        await c.wait_for_seq(base, DELIVERY_TIMEOUT_S)

    async def write(writer: Client, text: str) -> tuple[str, dict[str, Any]]:
        return text, await writer.add_note(text)

    results = await asyncio.gather(
        *(write(w, f"{i}/{j}") for i, w in enumerate(writers) for j in range(NOTES_PER_WRITER))
    )
    acks = [ack for _, ack in results]
    assert all(ack["t"] == "ack" and not ack["dup"] for ack in acks), acks
    acked = {ack["seq"]: text for text, ack in results}
    assert len(acked) == len(results), "two writes were acknowledged with one seq"

    final = base + len(results)
    for c in clients:
        await c.wait_for_seq(final, DELIVERY_TIMEOUT_S)
    reference = watchers[0].ops
    for c in clients:
        assert_gapless(c, 1, final)
        assert c.ops == reference
    # Acks name exactly the notes, each at the seq where its text is.
    notes = {op["seq"]: op["data"]["text"] for op in reference if op["kind"] == "note.added"}
    assert notes == acked
    # Both nodes' writers interleaved in one order: not all of A's notes before B's.
    authors = [op["by"] for op in reference if op["kind"] == "note.added"]
    assert len(set(authors)) == len(writers)
    # What the clients saw is the log.
    log = await read_log(cluster.database_url, ev["event"])
    assert same_ops(reference, log)

    # One more op after everything: nothing late (a duplicate, a stray) arrived before it.
    last = await writers[-1].add_note("last")
    assert last["seq"] == final + 1
    for c in clients:
        await c.wait_for_seq(final + 1, DELIVERY_TIMEOUT_S)
        assert_gapless(c, 1, final + 1)
    for node in (a, b):
        node.assert_running()


async def test_same_client_op_id_on_both_nodes_is_recorded_once(cluster: Cluster) -> None:
    a = cluster.start("A")
    b = cluster.start("B")
    ev = await a.create_event()
    code = ev["code"]
    joined = await a.join(code, "Twin")
    # One identity on two devices, one on each node, retrying the same write at once.
    on_a = await a.client(joined["token"])
    on_b = await b.client(joined["token"])
    watchers = [await a.observer(code), await b.observer(code)]
    rounds = 12
    for i in range(rounds):
        op_id = f"twin-{i}"
        ack_a, ack_b = await asyncio.gather(
            on_a.add_note(f"twin {i}", op_id), on_b.add_note(f"twin {i}", op_id)
        )
        assert ack_a["t"] == ack_b["t"] == "ack", (ack_a, ack_b)
        assert ack_a["seq"] == ack_b["seq"], (ack_a, ack_b)
        assert sorted([ack_a["dup"], ack_b["dup"]]) == [False, True], (ack_a, ack_b)

    log = await read_log(cluster.database_url, ev["event"])
    for i in range(rounds):
        assert [op["client_op_id"] for op in log].count(f"twin-{i}") == 1
    assert [op["data"]["text"] for op in log if op["kind"] == "note.added"] == [
        f"twin {i}" for i in range(rounds)
    ]
    final = log[-1]["seq"]
    clients = [on_a, on_b, *watchers]
    for c in clients:
        await c.wait_for_seq(final, DELIVERY_TIMEOUT_S)
        assert_gapless(c, 1, final)
        assert same_ops(c.ops, log)


async def test_a_join_retried_on_the_other_node_is_the_same_join(cluster: Cluster) -> None:
    """The reply to a join on A was lost; the phone retries and the balancer sends it to
    B, which never saw the first: B answers with the same participant and token."""
    a = cluster.start("A")
    b = cluster.start("B")
    ev = await a.create_event()
    body = {"code": ev["code"], "name": "Ann", "group": "GP", "join_id": "lost-on-venue-wifi"}
    first, retried = await a.post("/api/join", body), await b.post("/api/join", body)
    assert retried == first
    joins = [
        op
        for op in await read_log(cluster.database_url, ev["event"])
        if op["kind"] == "participant.joined"
    ]
    assert [op["by"] for op in joins] == [first["participant"]]
    client = await b.client(retried["token"])
    assert client.welcome is not None and client.welcome["you"] == first["participant"]


@pytest.mark.parametrize("b_loaded", [True, False], ids=["b-live", "b-cold"])
async def test_client_of_a_resumes_on_b(cluster: Cluster, b_loaded: bool) -> None:
    """A client that was on A reconnects to B with ``since`` and gets exactly what it
    missed, while writes continue on A. ``b-cold``: B has no hub for the event until the
    client arrives, so it loads it from the log."""
    a = cluster.start("A")
    b = cluster.start("B")
    ev = await a.create_event()
    code = ev["code"]
    writer_a = await a.participant(code, "Writer A")
    writer_b = await b.participant(code, "Writer B") if b_loaded else None

    first = await a.observer(code)
    for i in range(5):
        await writer_a.add_note(f"before {i}")
    seen = (await read_log(cluster.database_url, ev["event"]))[-1]["seq"]
    await first.wait_for_seq(seen, DELIVERY_TIMEOUT_S)
    await first.close()
    assert first.seqs == list(range(1, seen + 1))

    # While it is away: writes on both nodes (on A only when B must stay cold).
    away = [writer_a.add_note(f"away A {i}") for i in range(5)]
    if writer_b is not None:
        away += [writer_b.add_note(f"away B {i}") for i in range(5)]
    assert all(ack["t"] == "ack" for ack in await asyncio.gather(*away))

    async def keep_writing() -> list[dict[str, Any]]:
        return [await writer_a.add_note(f"during {i}") for i in range(10)]

    during = asyncio.create_task(keep_writing())
    resumed = await b.client(first.token, since=first.last_seq)
    acks = await during
    final = max(ack["seq"] for ack in acks)
    await resumed.wait_for_seq(final, DELIVERY_TIMEOUT_S)

    assert resumed.welcome is not None and resumed.welcome["resume"] == "ops"
    assert resumed.snapshot is None
    assert resumed.seqs == list(range(seen + 1, final + 1))
    log = await read_log(cluster.database_url, ev["event"])
    assert len(log) == final
    assert same_ops(first.ops + resumed.ops, log)


async def test_one_voter_on_two_nodes_at_once_stays_within_budget(cluster: Cluster) -> None:
    """A participant's phone on A and laptop on B spend dots at the same moment: the event
    row lock makes the two processes take turns, so the budget and cap hold exactly, and
    both nodes send the same final tally."""
    a = cluster.start("A")
    b = cluster.start("B")
    ev = await a.create_event()
    code = ev["code"]
    fac = await a.client(ev["facilitator_token"])
    author = await a.participant(code, "Author")
    joined = await b.join(code, "Voter")
    phone, laptop = await a.client(joined["token"]), await b.client(joined["token"])
    watchers = [await a.observer(code), await b.observer(code)]

    async def ok(client: Client, op: dict[str, Any]) -> int:
        reply = await client.write(op)
        assert reply["t"] == "ack", (op, reply)
        return int(reply["seq"])

    round_ = await ok(fac, {"kind": "activity.add", "type": "notes", "prompt": "Ideas?"})
    await ok(fac, {"kind": "activity.set_status", "activity": round_, "status": "open"})
    items = [
        await ok(author, {"kind": "note.add", "text": f"idea {i}", "round": round_})
        for i in range(3)
    ]
    spec = {"round": round_, "budget": 4, "cap": 2, "results": "live"}
    vote = await ok(fac, {"kind": "activity.add", "type": "vote", "prompt": "Top?", "vote": spec})
    await ok(fac, {"kind": "activity.set_status", "activity": vote, "status": "open"})

    attempts = [
        device.write({"kind": "dot.add", "vote": vote, "item": item})
        for _ in range(3)
        for device in (phone, laptop)
        for item in items
    ]
    replies = await asyncio.gather(*attempts)
    assert sum(r["t"] == "ack" for r in replies) == 4, replies
    assert all(r["code"] == "conflict" for r in replies if r["t"] == "error")

    log = await read_log(cluster.database_url, ev["event"])
    dots: dict[int, int] = {}
    for op in log:
        if op["kind"] == "dot.added":
            dots[op["data"]["item"]] = dots.get(op["data"]["item"], 0) + 1
    assert sum(dots.values()) == 4 and max(dots.values()) <= 2, dots

    async def final_tally(client: Client) -> dict[str, Any]:
        async def reached() -> dict[str, Any]:
            while True:
                tallies = [f for f in client.frames if f["t"] == "tally"]
                if tallies and sum(i["total"] for i in tallies[-1]["results"]["items"]) == 4:
                    return tallies[-1]
                await asyncio.sleep(0.05)  # frames arrive on the client's reader task

        return await asyncio.wait_for(reached(), DELIVERY_TIMEOUT_S)

    on_a, on_b = await final_tally(watchers[0]), await final_tally(watchers[1])
    assert on_a["results"] == on_b["results"]
    for device in (phone, laptop):
        assert not [op for op in device.ops if op["kind"].startswith("dot.")]


async def test_two_writers_on_two_nodes_and_a_publication_seen_on_both(cluster: Cluster) -> None:
    """The writing team works on A and B at once: saves on one base conflict across
    processes exactly as on one, the publication reaches observers on both nodes whole,
    and a reaction made on B is counted on A."""
    a = cluster.start("A")
    b = cluster.start("B")
    ev = await a.create_event()
    code = ev["code"]
    fac_a = await a.client(ev["facilitator_token"])
    fac_b = await b.client(ev["facilitator_token"])
    watchers = [await a.observer(code), await b.observer(code)]
    voter = await b.participant(code, "Reader")

    async def ok(client: Client, op: dict[str, Any]) -> int:
        reply = await client.write(op)
        assert reply["t"] == "ack", (op, reply)
        return int(reply["seq"])

    draft = await ok(fac_a, {"kind": "activity.add", "type": "draft", "prompt": "Plan"})
    await ok(fac_a, {"kind": "activity.edit", "activity": draft, "reactions": "live"})
    await ok(fac_a, {"kind": "activity.set_status", "activity": draft, "status": "open"})
    base = "# Plan\n\n## Buses\n\nMore buses.\n\n## Homes\n\nMore homes.\n"
    await ok(fac_a, {"kind": "draft.save", "activity": draft, "base": 0, "text": base})
    ours = base.replace("More buses.", "More buses at night.")
    theirs = base.replace("More homes.", "More homes near the station.")
    replies = await asyncio.gather(
        fac_a.write({"kind": "draft.save", "activity": draft, "base": 1, "text": ours}),
        fac_b.write({"kind": "draft.save", "activity": draft, "base": 1, "text": theirs}),
    )
    assert sorted(r["t"] for r in replies) == ["ack", "error"], replies
    refused = next(r for r in replies if r["t"] == "error")
    assert refused["code"] == "conflict"
    merged = refused["detail"]["merged"]
    assert merged["clean"] and "at night" in merged["text"] and "station" in merged["text"]
    writer = fac_a if refused is replies[0] else fac_b
    version = 3
    await ok(writer, {"kind": "draft.save", "activity": draft, "base": 2, "text": merged["text"]})
    published = await ok(writer, {"kind": "draft.publish", "activity": draft, "version": version})

    async def publication(client: Client) -> dict[str, Any]:
        async def arrived() -> dict[str, Any]:
            while True:
                for op in client.ops:
                    if op["kind"] == "draft.published":
                        return op
                await asyncio.sleep(0.05)

        return await asyncio.wait_for(arrived(), DELIVERY_TIMEOUT_S)

    on_a, on_b = await publication(watchers[0]), await publication(watchers[1])
    assert on_a == on_b
    assert on_a["seq"] == published and on_a["data"]["text"] == merged["text"]
    for watcher in watchers:
        assert not [op for op in watcher.ops if op["kind"] == "draft.saved"]

    section = on_a["data"]["sections"][1]
    await publication(voter)
    await ok(
        voter,
        {
            "kind": "reaction.set",
            "activity": draft,
            "version": version,
            "section": section,
            "reaction": "support",
        },
    )

    async def counted(client: Client) -> dict[str, Any]:
        async def reached() -> dict[str, Any]:
            while True:
                for f in reversed(client.frames):
                    if f["t"] == "reactions" and f["total"]["support"] == 1:
                        return f
                await asyncio.sleep(0.05)

        return await asyncio.wait_for(reached(), DELIVERY_TIMEOUT_S)

    seen_a, seen_b = await counted(fac_a), await counted(watchers[1])
    assert seen_a["sections"][1]["counts"]["support"] == 1
    assert "comments" in seen_a["sections"][1] and "comments" not in seen_b["sections"][1]
