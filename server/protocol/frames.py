"""Decode what clients send, encode what the server sends. Decoding never raises."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import msgpack

from ..errors import Code
from .schema import client_validators, command_validators, first_error

Frame = dict[str, Any]


def now_ms() -> int:
    return int(time.time() * 1000)


def decode_client_frame(data: bytes) -> Frame | tuple[Code, str]:
    """A schema-valid client frame, or (code, reason) saying why it is not one."""
    try:
        frame = msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        return Code.BAD_FRAME, f"not a msgpack frame ({type(exc).__name__})"
    if not isinstance(frame, dict):
        return Code.BAD_FRAME, "a frame must be a msgpack map"
    if _deeper_than(frame, MAX_DEPTH):
        # Checked before validating: jsonschema recurses, and a kilobyte of nested
        # arrays would exhaust the stack.
        return Code.BAD_FRAME, f"the frame is nested deeper than {MAX_DEPTH} levels"
    tag = frame.get("t")
    validator = client_validators().get(tag) if isinstance(tag, str) else None
    if validator is None:
        shown = repr(tag)[:40]
        return Code.BAD_FRAME, f"unknown frame type {shown}"
    reason = first_error(validator, frame)
    if reason is None:
        return frame
    op = frame.get("op")
    if tag == "write" and reason.startswith("op") and isinstance(op, dict):
        kind = op.get("kind")
        command = command_validators().get(kind) if isinstance(kind, str) else None
        if command is None:
            return Code.BAD_FRAME, f"write: op/kind: unknown op kind {repr(kind)[:40]}"
        op_reason = first_error(command, op)
        if op_reason is not None:
            return Code.BAD_FRAME, f"write: op/{op_reason}"
    return Code.BAD_FRAME, f"{tag}: {reason}"


# No frame in the protocol nests more than four levels; this leaves room to grow.
MAX_DEPTH = 16


def _deeper_than(value: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


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
