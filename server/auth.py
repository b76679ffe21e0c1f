"""Signed access tokens: which event, which actor, which role. Nothing else is trusted."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .domain.model import Actor, Role

_SALT = "plenary.access.v1"


@dataclass(frozen=True)
class Grant:
    """What a verified token allows: acting as ``actor`` in ``event``."""

    event: str
    actor: Actor


class Tokens:
    def __init__(self, secret: str, max_age_seconds: float) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self._max_age = int(max_age_seconds)

    def issue(self, event: str, actor: Actor) -> str:
        token: str = self._serializer.dumps({"e": event, "a": actor.id, "r": actor.role.value})
        return token

    def verify(self, token: str) -> Grant | None:
        """The grant a token carries, or None if it is forged, expired or malformed."""
        try:
            raw = self._serializer.loads(token, max_age=self._max_age)
        except (SignatureExpired, BadSignature):
            return None
        try:
            return Grant(event=str(raw["e"]), actor=Actor(id=str(raw["a"]), role=Role(raw["r"])))
        except (KeyError, TypeError, ValueError):
            return None


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(9)}"


# Join codes are read aloud and typed on phones: no 0/O, 1/I/L, 2/Z, 5/S.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRTUVWXY346789"
CODE_LENGTH = 6


def new_join_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_join_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def new_facilitator_key() -> str:
    return secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)
