"""Errors as values the protocol can carry.

The tree::

    PlenaryError            code, message; becomes an ``error`` frame or an HTTP error
    ├── BadFrame            the frame is not valid msgpack or breaks the schema      (bad_frame)
    ├── Unauthorised        the token is missing, forged or expired                  (unauthorised)
    ├── Forbidden           the role may not make this write                         (forbidden)
    ├── NotFound            the event or item does not exist                         (not_found)
    ├── Invalid             the write breaks a domain rule (e.g. note too long)      (invalid)
    └── Conflict            the write clashes with the current state                 (conflict)

Domain rules return ``Rejection`` values rather than raising, so the pure core never
needs try/except; the shell turns them into error frames with the same codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Code(StrEnum):
    BAD_FRAME = "bad_frame"
    UNAUTHORISED = "unauthorised"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    CONFLICT = "conflict"
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


HTTP_STATUS: dict[Code, int] = {
    Code.BAD_FRAME: 400,
    Code.UNAUTHORISED: 401,
    Code.FORBIDDEN: 403,
    Code.NOT_FOUND: 404,
    Code.INVALID: 422,
    Code.CONFLICT: 409,
    Code.UNAVAILABLE: 503,
    Code.INTERNAL: 500,
}


@dataclass(frozen=True)
class Rejection:
    """A write the domain refused: carried back to the client as an ``error`` frame."""

    code: Code
    message: str


class PlenaryError(Exception):
    code: Code = Code.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def rejection(self) -> Rejection:
        return Rejection(self.code, self.message)


class BadFrame(PlenaryError):
    code = Code.BAD_FRAME


class Unauthorised(PlenaryError):
    code = Code.UNAUTHORISED


class Forbidden(PlenaryError):
    code = Code.FORBIDDEN


class NotFound(PlenaryError):
    code = Code.NOT_FOUND


class Invalid(PlenaryError):
    code = Code.INVALID


class Conflict(PlenaryError):
    code = Code.CONFLICT
