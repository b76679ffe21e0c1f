"""What a hostile frame costs: every step of decoding is bounded before the next one
starts. These tests count the work (values unpacked, schema walks), never time it; the
CPU figures are printed by bench/hostile.py."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from plenary.errors import Code
from plenary.protocol import frames
from plenary.protocol.frames import (
    HELLO_MAX_BYTES,
    LARGE_FRAME_BYTES,
    decode_client_frame,
    decode_hello,
    encode,
    limits,
)
from plenary.protocol.schema import client_validators

MAX_FRAME = 1024 * 1024


def _refused(result: Any) -> str:
    assert isinstance(result, tuple), f"accepted: {str(result)[:200]}"
    code, reason = result
    assert code is Code.BAD_FRAME
    return str(reason)


def _fill(frame_of_n: Any, limit: int = MAX_FRAME) -> bytes:
    """The largest frame of this shape within the frame limit."""
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(encode(frame_of_n(mid))) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return encode(frame_of_n(lo))


def _merge(n: int) -> dict[str, Any]:
    return {"t": "write", "id": "m", "op": {"kind": "note.merge", "notes": list(range(n))}}


HOSTILE = {
    # The frame of the issue: 150,000 ids in a merge, as a connection's first frame.
    "150,000 ids": encode(_merge(150_000)),
    "ids to the limit": _fill(_merge),
    "nested lists": _fill(lambda n: {"t": "write", "id": "x", "op": [[0] * 150] * n}),
    "lists of maps": _fill(
        lambda n: {"t": "write", "id": "x", "op": {"kind": "event.update", "tables": [{}] * n}}
    ),
    # A ping whose n is a list nested a million deep, as raw msgpack (fixarray of one).
    "deep lists": b"\x82\xa1t\xa4ping\xa1n" + b"\x91" * (MAX_FRAME - 20) + b"\x00",
    "deep maps": b"\x82\xa1t\xa4ping\xa1n" + b"\x81\xa1k" * ((MAX_FRAME - 20) // 3) + b"\x00",
    "wide small frame": _fill(
        lambda n: {
            "t": "write",
            "id": "x",
            "op": {"kind": "event.update", "tables": [[1] * 150] * n},
        },
        LARGE_FRAME_BYTES,
    ),
    "long id": encode({"t": "write", "id": "x" * (MAX_FRAME - 100), "op": {"kind": "note.add"}}),
    "long text in a flat map": encode(
        {"t": "write", "id": "x", "op": {"kind": "note.add", "text": "y" * (MAX_FRAME - 100)}}
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_frames_are_refused_with_a_reason(name: str) -> None:
    data = HOSTILE[name]
    assert len(data) <= MAX_FRAME
    assert _refused(decode_client_frame(data))


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_frames_never_walk_more_than_the_bound(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Count what decoding unpacks and what the schema visits: a bounded number of values,
    whatever the frame holds."""
    unpacked: list[int] = []
    real_unpackb = msgpack.unpackb

    def counting_unpackb(data: bytes, **kwargs: Any) -> Any:
        value = real_unpackb(data, **kwargs)
        unpacked.append(_count(value))
        return value

    monkeypatch.setattr(frames.msgpack, "unpackb", counting_unpackb)
    visited = _count_schema_visits(monkeypatch)
    decode_client_frame(HOSTILE[name])
    bound = limits()
    # What msgpack builds is bounded by its length limits for small frames, and a large
    # frame is a flat map or is refused before unpacking.
    assert sum(unpacked) <= LARGE_FRAME_BYTES, unpacked
    assert visited[0] <= bound.nodes * 4, visited


def test_frames_over_the_large_frame_size_must_be_one_flat_write() -> None:
    big_save = {
        "t": "write",
        "id": "w1",
        "op": {
            "kind": "draft.save",
            "activity": 3,
            "base": 0,
            "text": "# Plan\n\n" + "x" * 200_000,
        },
    }
    data = encode(big_save)
    assert len(data) > LARGE_FRAME_BYTES
    assert decode_client_frame(data) == big_save
    nested = encode({**big_save, "op": {**big_save["op"], "extra": [1, 2, 3]}})
    assert "draft save" in _refused(decode_client_frame(nested))


def test_lists_longer_than_any_in_the_schema_are_refused_while_unpacking() -> None:
    assert limits().items == 200  # event.update's 200 tables
    reason = _refused(decode_client_frame(encode(_merge(201))))
    assert "more than 200 items" in reason
    # Within the unpacking bound, the schema's own limit for that list speaks.
    assert "more than 50 items" in _refused(decode_client_frame(encode(_merge(51))))


def test_the_largest_valid_frame_is_within_every_bound() -> None:
    """An agenda import as large as the schema allows passes: the bounds refuse only what
    no valid frame can be."""
    frame = {
        "t": "write",
        "id": "f1:1",
        "op": {
            "kind": "event.update",
            "title": "T" * 200,
            "groups": [f"group {i}" for i in range(40)],
            "tables": [{"number": str(i), "name": "N" * 60} for i in range(200)],
        },
    }
    data = encode(frame)
    assert len(data) < LARGE_FRAME_BYTES
    assert decode_client_frame(data) == frame


def test_too_many_values_are_refused_before_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    bound = limits()
    frame = {
        "t": "write",
        "id": "x",
        "op": {"kind": "event.update", "tables": [[[0] * 20] * 20] * 20},
    }
    assert bound.nodes < 20 * 20 * 20
    visited = _count_schema_visits(monkeypatch)
    assert "more than" in _refused(decode_client_frame(encode(frame)))
    assert visited[0] == 0


def test_a_hello_over_the_hello_limit_is_not_even_unpacked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("unpacked")

    data = HOSTILE["150,000 ids"]
    monkeypatch.setattr(frames.msgpack, "unpackb", refuse)
    assert str(HELLO_MAX_BYTES) in _refused(decode_hello(data))


def test_only_a_hello_opens_a_connection() -> None:
    hello = {"t": "hello", "token": "t" * 2048, "since": 2**40, "client": "c" * 64}
    assert len(encode(hello)) < HELLO_MAX_BYTES
    assert decode_hello(encode(hello)) == hello
    assert "must be a hello" in _refused(decode_hello(encode({"t": "ping"})))
    write = {"t": "write", "id": "a", "op": {"kind": "note.add", "text": "x"}}
    assert "must be a hello" in _refused(decode_hello(encode(write)))


def _count(value: Any) -> int:
    stack, n = [value], 0
    while stack:
        item = stack.pop()
        n += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return n


def _count_schema_visits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many (instance, subschema) pairs jsonschema descends into from now on."""
    visited = [0]
    validator_class = type(client_validators()["write"])
    real_descend = validator_class.descend

    def descend(self: Any, *args: Any, **kwargs: Any) -> Any:
        visited[0] += 1
        return real_descend(self, *args, **kwargs)

    monkeypatch.setattr(validator_class, "descend", descend)
    return visited
