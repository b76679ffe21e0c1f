"""Decode what clients send, encode what the server sends. Decoding never raises."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgpack

from ..errors import Code
from .schema import client_bounds, client_validators, command_validators, first_error

Frame = dict[str, Any]


def now_ms() -> int:
    return int(time.time() * 1000)


# A hello is a token (at most 2,048 characters), a seq and a client name: well under 4 KiB.
# Before it, a connection is nobody: it may send that and nothing else, so nothing larger
# is even unpacked.
HELLO_MAX_BYTES = 4096
# Frames larger than this can only be draft saves (a note is at most 16 KB of UTF-8; an
# agenda import with 200 tables is about 6 KB). A save is a flat map with one long string,
# so its shape is checked on the bytes before anything is unpacked: a megabyte of nested
# arrays costs nothing to refuse.
LARGE_FRAME_BYTES = 64 * 1024
# No frame in the protocol nests more than four levels; this leaves room to grow.
MAX_DEPTH = 16


def decode_hello(data: bytes) -> Frame | tuple[Code, str]:
    """The first frame of a connection, which must be a hello: anything else, or anything
    over ``HELLO_MAX_BYTES``, is refused unread."""
    if len(data) > HELLO_MAX_BYTES:
        return Code.BAD_FRAME, f"the first frame must be a hello of at most {HELLO_MAX_BYTES} bytes"
    frame = decode_client_frame(data)
    if not isinstance(frame, tuple) and frame["t"] != "hello":
        return Code.BAD_FRAME, "the first frame must be a hello"
    return frame


def decode_client_frame(data: bytes) -> Frame | tuple[Code, str]:
    """A schema-valid client frame, or (code, reason) saying why it is not one.

    Every step is bounded before the next starts, so the worst frame a client can send
    within the frame limit costs about as much as a valid one (bench/hostile.py): the
    shape of a large frame is checked on its bytes; msgpack refuses lists and maps longer
    than any the schema allows while unpacking; the tree is walked at most
    ``limits().nodes`` values far; the schema stops at its first error.
    """
    bounds = limits()
    if len(data) > LARGE_FRAME_BYTES and not _flat_write(data):
        return Code.BAD_FRAME, (
            f"a frame over {LARGE_FRAME_BYTES // 1024} KiB must be a write of one draft save"
        )
    try:
        frame = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            max_array_len=bounds.items,
            max_map_len=bounds.fields,
        )
    except ValueError as exc:
        if "exceeds max_array_len" in str(exc):
            return Code.BAD_FRAME, f"a list in the frame has more than {bounds.items} items"
        if "exceeds max_map_len" in str(exc):
            return Code.BAD_FRAME, f"a map in the frame has more than {bounds.fields} fields"
        return Code.BAD_FRAME, f"not a msgpack frame ({type(exc).__name__})"
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        return Code.BAD_FRAME, f"not a msgpack frame ({type(exc).__name__})"
    if not isinstance(frame, dict):
        return Code.BAD_FRAME, "a frame must be a msgpack map"
    too_big = too_deep_or_big(frame, MAX_DEPTH, bounds.nodes)
    if too_big is not None:
        # Checked before validating: jsonschema recurses (a kilobyte of nested arrays
        # would exhaust the stack) and visits every item.
        return Code.BAD_FRAME, too_big
    tag = frame.get("t")
    validator = client_validators().get(tag) if isinstance(tag, str) else None
    if validator is None:
        shown = repr(tag)[:40]
        return Code.BAD_FRAME, f"unknown frame type {shown}"
    reason = first_error(validator, frame)
    if reason is not None:
        return Code.BAD_FRAME, f"{tag}: {reason}"
    if tag != "write":
        return frame
    # The envelope is valid, so op is a map with a string kind: checked against that
    # command's schema alone, not against the union of every command (which would visit
    # the op once per command kind).
    op = frame["op"]
    kind = op["kind"]
    command = command_validators().get(kind)
    if command is None:
        return Code.BAD_FRAME, f"write: op/kind: unknown op kind {repr(kind)[:40]}"
    op_reason = first_error(command, op)
    if op_reason is not None:
        return Code.BAD_FRAME, f"write: op/{op_reason}"
    return frame


def too_deep_or_big(value: object, depth_limit: int, node_limit: int) -> str | None:
    """Why a decoded frame or body is too deep or has too many values; None if neither.
    Without recursing: the point is to refuse what would overflow a recursion."""
    stack: list[tuple[object, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > node_limit:
            return f"the frame has more than {node_limit} values"
        if isinstance(item, dict | list):
            if depth > depth_limit:
                return f"the frame is nested deeper than {depth_limit} levels"
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


# msgpack type bytes: fixmap 0x80-0x8f, fixarray 0x90-0x9f, array16/32 0xdc/0xdd,
# map16/32 0xde/0xdf.
_CONTAINERS = frozenset([*range(0x80, 0xA0), 0xDC, 0xDD, 0xDE, 0xDF])


def _fixmap_size(head: int) -> int | None:
    return head - 0x80 if 0x80 <= head <= 0x8F else None


def _flat_write(data: bytes) -> bool:
    """Whether ``data`` has the shape of a draft save: a small map of scalars and one
    small map of scalars (the op). Read from the bytes, one value at a time, so that
    nothing but those few scalars is ever unpacked."""
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=len(data))
    unpacker.feed(data)
    try:
        size = _fixmap_size(data[0])
        if size is None:
            return False
        unpacker.read_map_header()
        for _ in range(size):
            if data[unpacker.tell()] in _CONTAINERS:
                return False
            key = unpacker.unpack()
            head = data[unpacker.tell()]
            if key == "op":
                fields = _fixmap_size(head)
                if fields is None:
                    return False
                unpacker.read_map_header()
                for _ in range(2 * fields):
                    if data[unpacker.tell()] in _CONTAINERS:
                        return False
                    unpacker.skip()
            elif head in _CONTAINERS:
                return False
            else:
                unpacker.skip()
        return bool(unpacker.tell() == len(data))
    except Exception:  # truncated or malformed: the full decode says why
        return False


@dataclass(frozen=True)
class Bounds:
    items: int  # the longest list any client frame may hold
    fields: int  # the most fields any map in a client frame may have
    nodes: int  # more values (maps, lists, scalars) than any valid client frame holds


@cache
def limits() -> Bounds:
    """Read off the schema, so that a command with a longer list raises them."""
    items, fields = client_bounds()
    # The largest valid frame is an event.update with 200 tables (a map of two fields
    # each) and 40 groups: about 700 values. Four times the list bound leaves room and
    # still keeps the walk to a few thousand steps.
    return Bounds(items=items, fields=fields, nodes=max(1024, 4 * 3 * items))


def encode(frame: Frame) -> bytes:
    data: bytes = msgpack.packb(frame, use_bin_type=True)
    return data


def encode_op(op_wire: Frame) -> bytes:
    """An op, encoded once; ``ops_frame`` splices the same bytes into every delivery."""
    return encode(op_wire)


_OPS_HEAD = b"\x83" + msgpack.packb("t") + msgpack.packb("ops") + msgpack.packb("upto")
_OPS_KEY = msgpack.packb("ops")


def ops_frame(encoded_ops: Sequence[bytes], upto: int) -> bytes:
    """``{"t": "ops", "upto": upto, "ops": [...]}`` built from already-encoded ops without
    re-encoding them. ``upto`` is the last seq the frame covers, including seqs whose ops
    this audience does not see.

    A msgpack array is its header followed by its items' bytes, so concatenation is exact.
    """
    packer = msgpack.Packer()
    header: bytes = packer.pack_array_header(len(encoded_ops))
    return b"".join((_OPS_HEAD, packer.pack(upto), _OPS_KEY, header, *encoded_ops))


def error_frame(
    code: Code, message: str, op_id: str | None = None, detail: Frame | None = None
) -> bytes:
    frame: Frame = {"t": "error", "code": code.value, "message": message[:1000], "id": op_id}
    if detail is not None:
        frame["detail"] = detail
    return encode(frame)


def ack_frame(op_id: str, seq: int, dup: bool) -> bytes:
    return encode({"t": "ack", "id": op_id, "seq": seq, "dup": dup})


def resync_frame(reason: str) -> bytes:
    return encode({"t": "resync", "reason": reason[:200]})


def pong_frame(n: int | None) -> bytes:
    frame: Frame = {"t": "pong", "server_time": now_ms()}
    if n is not None:
        frame["n"] = n
    return encode(frame)
