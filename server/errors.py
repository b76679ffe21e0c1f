"""Errors as values the protocol can carry.

The codes::

    bad_frame      the frame or body is not valid msgpack/JSON or breaks the schema
    unauthorised   the token or key is missing, forged or expired
    forbidden      the role may not make this write (or, over HTTP, another site's page sent it)
    not_found      the event or item does not exist
    invalid        the write breaks a domain rule (e.g. note too long)
    conflict       the write clashes with the current state
    rate_limited   too much, too fast from one connection, token or address: wait the
                   retry hint (detail.retry_after_ms, or HTTP Retry-After) and retry
    unavailable    the database or bus failed; retry (with the same op id)
    internal       a bug on our side: retrying the same write will fail the same way

Domain rules return ``Rejection`` values rather than raising, so the pure core never
needs try/except; the shell turns them into error frames or HTTP errors with the same
codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any


class Code(StrEnum):
    BAD_FRAME = "bad_frame"
    UNAUTHORISED = "unauthorised"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class CloseCode(IntEnum):
    """Websocket close codes. 1000-1015 are the RFC 6455 ones; 4000-4999 are ours."""

    NORMAL = 1000
    GOING_AWAY = 1001  # server shutting down: reconnect to another node
    POLICY = 1008  # origin not allowed
    TOO_BIG = 1009  # frame larger than PLENARY_MAX_FRAME_BYTES
    INTERNAL = 1011
    UNAUTHORISED = 4001  # token missing, forged or expired: do not retry with it
    NO_HELLO = 4002  # the first frame was not a valid hello in time
    EVENT_GONE = 4004  # the event no longer exists
    TOO_SLOW = 4008  # the client fell too far behind: reconnect and resume
    RATE_LIMITED = 4029  # refused frames past the limit, or too many sockets from one address


HTTP_STATUS: dict[Code, int] = {
    Code.BAD_FRAME: 400,
    Code.UNAUTHORISED: 401,
    Code.FORBIDDEN: 403,
    Code.NOT_FOUND: 404,
    Code.INVALID: 422,
    Code.CONFLICT: 409,
    Code.RATE_LIMITED: 429,
    Code.UNAVAILABLE: 503,
    Code.INTERNAL: 500,
}


@dataclass(frozen=True)
class Rejection:
    """A write the domain refused: carried back to the client as an ``error`` frame."""

    code: Code
    message: str
    # What a client needs to act on the refusal, e.g. both texts of a draft conflict.
    detail: dict[str, Any] | None = None
