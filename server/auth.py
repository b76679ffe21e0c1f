"""Signed access tokens: which event, which actor, which role. Nothing else is trusted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from .domain.model import Actor, Role

_SALT = "plenary.access.v1"
# Nodes behind one load balancer should agree on the time, but rarely to the second.
CLOCK_SKEW_S = 30


@dataclass(frozen=True)
class Grant:
    """What a verified token allows: acting as ``actor`` in ``event``."""

    event: str
    actor: Actor


class _StampedSigner(TimestampSigner):
    """A TimestampSigner whose clock is stopped at ``stamp`` (whole Unix seconds)."""

    stamp = 0

    def get_timestamp(self) -> int:
        return self.stamp


class Tokens:
    def __init__(self, secret: str, max_age_seconds: float) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self._max_age = int(max_age_seconds)

    def issue(self, event: str, actor: Actor, *, at: int | None = None) -> str:
        """A token for ``actor`` in ``event``, stamped now or at ``at`` (Unix seconds).
        The same three give the same token, byte for byte: a join retried after its
        reply was lost gets the token it missed, not merely an equivalent one."""
        claims = {"e": event, "a": actor.id, "r": actor.role.value}
        if at is None:
            token: str = self._serializer.dumps(claims)
            return token
        signer = _StampedSigner(self._serializer.secret_keys, salt=_SALT)
        signer.stamp = at
        return signer.sign(self._serializer.dump_payload(claims)).decode("ascii")

    def verify(self, token: str) -> Grant | None:
        """The grant a token carries, or None if it is forged, expired or malformed."""
        try:
            raw, issued = self._serializer.loads(token, return_timestamp=True)
        except BadSignature:
            return None
        # Checked here rather than by itsdangerous, which refuses a token stamped even a
        # second in the future: a node whose clock is a little behind the issuing node's
        # would turn away a phone that just joined.
        signer = self._serializer.make_signer()
        assert isinstance(signer, TimestampSigner)
        age = signer.get_timestamp() - issued.timestamp()
        if age > self._max_age or age < -CLOCK_SKEW_S:
            return None
        try:
            return Grant(event=str(raw["e"]), actor=Actor(id=str(raw["a"]), role=Role(raw["r"])))
        except (KeyError, TypeError, ValueError):
            return None


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(9)}"


def derived_id(prefix: str, secret: str, *parts: str) -> str:
    """An id like ``new_id``'s, but the same for the same ``parts``: an HMAC under the
    server's secret, so a client that chose the parts cannot choose or predict the id of
    anyone else. 9 bytes (72 bits), as ``new_id``."""
    mac = hmac.new(secret.encode(), "\x00".join((prefix, *parts)).encode(), hashlib.sha256)
    return f"{prefix}_{base64.urlsafe_b64encode(mac.digest()[:9]).decode('ascii')}"


# Join codes are read aloud and typed on phones: no 0/O, 1/I/L, 2/Z, 5/S.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRTUVWXY346789"
# 27^8 = 2.8e11 codes (38 bits): at the default 20 misses a minute per address, finding
# any of 10,000 live events takes an address 2.7 years of guessing on average. Six
# characters (3.9e8, 28.5 bits) and no throttle took about a minute at 595 look-ups a
# second; codes made then still work (codes are read whatever their length).
CODE_LENGTH = 8


def new_join_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_join_code(raw: str) -> str:
    # NFKC first: some phone keyboards type full-width letters and digits.
    return "".join(ch for ch in unicodedata.normalize("NFKC", raw).upper() if ch.isalnum())


def new_facilitator_key() -> str:
    return secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)
