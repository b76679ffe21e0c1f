"""Access tokens, join codes and facilitator keys."""

from __future__ import annotations

import hashlib
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from plenary.auth import (
    _CODE_ALPHABET,
    _SALT,
    CODE_LENGTH,
    Grant,
    Tokens,
    derived_id,
    hash_key,
    key_matches,
    new_facilitator_key,
    new_id,
    new_join_code,
    normalise_join_code,
)
from plenary.domain.model import Actor, Role

SECRET = "test-secret-of-reasonable-length"
DAY = 86400
NOW = 1_750_000_000


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The signer's clock, in whole seconds as itsdangerous keeps it; set ``clock[0]``."""
    now = [NOW]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now[0])
    return now


# -- tokens ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_token_round_trip(role: Role) -> None:
    tokens = Tokens(SECRET, 30 * DAY)
    actor = Actor("p_abc", role)
    grant = tokens.verify(tokens.issue("ev_1", actor))
    assert grant == Grant(event="ev_1", actor=actor)
    assert isinstance(grant.actor.role, Role)


def test_token_is_url_safe() -> None:
    token = Tokens(SECRET, DAY).issue("ev_1", Actor("f_1", Role.FACILITATOR))
    assert re.fullmatch(r"[A-Za-z0-9_.\-]+", token)
    assert len(token) <= 2048  # fits the hello frame's token limit


def test_token_from_another_secret_is_refused() -> None:
    token = Tokens("other-secret", DAY).issue("ev_1", Actor("f_1", Role.FACILITATOR))
    assert Tokens(SECRET, DAY).verify(token) is None


def test_token_with_another_salt_is_refused() -> None:
    """A value signed with the same secret for another purpose is not an access token."""
    other = URLSafeTimedSerializer(SECRET, salt="plenary.something-else")
    token = other.dumps({"e": "ev_1", "a": "f_1", "r": "facilitator"})
    assert Tokens(SECRET, DAY).verify(token) is None


def _tamper(token: str, index: int) -> str:
    ch = token[index]
    replacement = "B" if ch != "B" else "C"
    return token[:index] + replacement + token[index + 1 :]


@pytest.mark.parametrize("where", ["payload", "timestamp", "signature"])
def test_tampered_token_is_refused(where: str) -> None:
    tokens = Tokens(SECRET, DAY)
    token = tokens.issue("ev_1", Actor("p_1", Role.PARTICIPANT))
    payload, timestamp, _ = token.split(".")
    index = {
        "payload": 0,
        "timestamp": len(payload) + 1,
        "signature": len(payload) + len(timestamp) + 2,
    }[where]
    assert tokens.verify(_tamper(token, index)) is None


def test_forged_role_is_refused() -> None:
    """Re-encoding the payload with a better role breaks the signature."""
    import base64
    import json

    tokens = Tokens(SECRET, DAY)
    token = tokens.issue("ev_1", Actor("p_1", Role.PARTICIPANT))
    _, timestamp, signature = token.split(".")
    forged = {"e": "ev_1", "a": "p_1", "r": "facilitator"}
    raw = json.dumps(forged, separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert tokens.verify(f"{payload}.{timestamp}.{signature}") is None


@pytest.mark.parametrize(
    "payload",
    [
        {"e": "ev_1", "a": "p_1", "r": "admin"},
        {"e": "ev_1", "a": "p_1"},
        {"a": "p_1", "r": "participant"},
        ["ev_1", "p_1", "participant"],
        "ev_1",
        None,
        42,
    ],
)
def test_correctly_signed_but_malformed_payload_is_refused(payload: object) -> None:
    token = URLSafeTimedSerializer(SECRET, salt=_SALT).dumps(payload)
    assert Tokens(SECRET, DAY).verify(token) is None


@pytest.mark.parametrize(
    "token",
    ["", ".", "..", "abc", "a.b.c", "not a token at all", "é.é.é", "x" * 5000],
)
def test_garbage_is_refused(token: str) -> None:
    assert Tokens(SECRET, DAY).verify(token) is None


@settings(max_examples=200, deadline=None)
@given(token=st.text(max_size=200) | st.from_regex(r"[A-Za-z0-9_\-]{0,40}\.[A-Za-z0-9_\-]{0,8}"))
def test_verify_never_raises(token: str) -> None:
    assert Tokens(SECRET, DAY).verify(token) is None


def test_token_expires_after_max_age(clock: list[int]) -> None:
    tokens = Tokens(SECRET, 30 * DAY)
    actor = Actor("p_1", Role.PARTICIPANT)
    token = tokens.issue("ev_1", actor)
    clock[0] = NOW + 30 * DAY
    assert tokens.verify(token) == Grant("ev_1", actor)
    clock[0] = NOW + 30 * DAY + 1
    assert tokens.verify(token) is None


def test_fractional_max_age_is_whole_seconds(clock: list[int]) -> None:
    tokens = Tokens(SECRET, 10.9)
    token = tokens.issue("ev_1", Actor("p_1", Role.PARTICIPANT))
    clock[0] = NOW + 10
    assert tokens.verify(token) is not None
    clock[0] = NOW + 11
    assert tokens.verify(token) is None


def test_token_stamped_at_a_given_time_is_the_same_token_every_time(clock: list[int]) -> None:
    """A join retried after its reply was lost gets the very token of the first reply."""
    tokens = Tokens(SECRET, 30 * DAY)
    actor = Actor("p_1", Role.PARTICIPANT)
    first = tokens.issue("ev_1", actor, at=NOW - 5)
    clock[0] = NOW + 3600
    assert tokens.issue("ev_1", actor, at=NOW - 5) == first
    assert tokens.issue("ev_1", actor) != first
    assert tokens.verify(first) == Grant("ev_1", actor)
    clock[0] = NOW - 5
    assert tokens.issue("ev_1", actor) == first, "the same token as one issued at that time"


def test_token_stamped_in_the_past_still_expires(clock: list[int]) -> None:
    tokens = Tokens(SECRET, 30 * DAY)
    token = tokens.issue("ev_1", Actor("p_1", Role.PARTICIPANT), at=NOW - 30 * DAY - 1)
    assert tokens.verify(token) is None


def test_derived_ids_are_stable_and_keyed_by_the_secret() -> None:
    one = derived_id("p", SECRET, "ev_1", "join-id-123")
    assert re.fullmatch(r"p_[A-Za-z0-9_\-]{12}", one)
    assert derived_id("p", SECRET, "ev_1", "join-id-123") == one
    assert derived_id("p", SECRET, "ev_2", "join-id-123") != one
    assert derived_id("p", SECRET, "ev_1", "join-id-124") != one
    assert derived_id("p", "another-secret-entirely", "ev_1", "join-id-123") != one
    assert derived_id("o", SECRET, "ev_1", "join-id-123")[2:] != one[2:]
    # The parts are kept apart: ("ev_1", "x") and ("ev_1\x00x",) cannot be made to meet
    # by a client choosing its join id, since the event id is the server's.
    assert derived_id("p", SECRET, "ev", "1x") != derived_id("p", SECRET, "ev1", "x")


def test_token_from_a_node_with_a_slightly_later_clock_is_accepted(clock: list[int]) -> None:
    tokens = Tokens(SECRET, 30 * DAY)
    actor = Actor("p_1", Role.PARTICIPANT)
    clock[0] = NOW + 1  # issuing node: 1 ms past the second boundary
    token = tokens.issue("ev_1", actor)
    clock[0] = NOW  # verifying node: 1 ms before it
    assert tokens.verify(token) == Grant("ev_1", actor)


# -- ids ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["ev", "p", "f"])
def test_new_id(prefix: str) -> None:
    ids = {new_id(prefix) for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        assert re.fullmatch(rf"{prefix}_[A-Za-z0-9_\-]{{12}}", value)
        assert len(value) <= 64  # ActorId maxLength in the protocol schema


# -- join codes ----------------------------------------------------------------------------------


def test_join_code_alphabet_has_no_confusable_characters() -> None:
    assert CODE_LENGTH == 8  # 27**8 = 2.8e11: guessing takes years (docs/protocol.md)
    assert len(set(_CODE_ALPHABET)) == len(_CODE_ALPHABET)
    assert set(_CODE_ALPHABET) <= set(string.ascii_uppercase + string.digits)
    assert not set(_CODE_ALPHABET) & set("0O1IL2Z5S")


def test_new_join_codes() -> None:
    codes = [new_join_code() for _ in range(500)]
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert set(code) <= set(_CODE_ALPHABET)
        assert normalise_join_code(code) == code
    assert len(set(codes)) > 490  # 27**8 = 282 billion codes: collisions are rare
    assert set("".join(codes)) == set(_CODE_ALPHABET)  # every letter is used


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("abc346", "ABC346"),
        ("AbC 346", "ABC346"),
        (" abc-346 ", "ABC346"),
        ("ab.c3/46\n", "ABC346"),
        ("ABC346", "ABC346"),
        ("", ""),
    ],
)
def test_normalise_join_code(typed: str, expected: str) -> None:
    assert normalise_join_code(typed) == expected


def test_confusables_never_normalise_to_a_valid_code() -> None:
    """Confusable characters are not mapped; since no code contains them, a code typed with
    one cannot reach someone else's event by accident."""
    typed = normalise_join_code("o0i1l2z5s")
    assert typed == "O0I1L2Z5S"
    assert not set(typed) & set(_CODE_ALPHABET)


@settings(max_examples=200, deadline=None)
@given(typed=st.text(max_size=30))
def test_normalise_join_code_is_idempotent(typed: str) -> None:
    once = normalise_join_code(typed)
    assert normalise_join_code(once) == once
    assert all(ch.isalnum() for ch in once)


# -- facilitator keys ------------------------------------------------------------------------------


def test_facilitator_key_is_long_and_unique() -> None:
    keys = {new_facilitator_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(k) >= 32 and re.fullmatch(r"[A-Za-z0-9_\-]+", k) for k in keys)


def test_hash_key_is_sha256_hex() -> None:
    assert hash_key("abc") == hashlib.sha256(b"abc").hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", hash_key(new_facilitator_key()))


def test_key_matches_only_the_right_key() -> None:
    key = new_facilitator_key()
    stored = hash_key(key)
    assert key_matches(key, stored)
    assert not key_matches(key + "x", stored)
    assert not key_matches(key[:-1], stored)
    assert not key_matches("", stored)
    assert not key_matches(new_facilitator_key(), stored)
    assert not key_matches(stored, stored)  # the hash is not the key
    assert not key_matches(key, stored.upper())


def test_key_matches_non_ascii_keys() -> None:
    assert key_matches("schlüssel", hash_key("schlüssel"))
    assert not key_matches("schlussel", hash_key("schlüssel"))
