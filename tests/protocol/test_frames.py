"""Frames: decoding what clients send never raises; what the server sends fits the schema."""

from __future__ import annotations

import time
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from plenary.domain.commands import (
    CLIENT_COMMANDS,
    AddActivity,
    AddDot,
    AddNote,
    DeleteNote,
    EditNote,
    ExplainChange,
    HideNote,
    LinkSpec,
    MergeNotes,
    React,
    RemoveDot,
    SetNoteTheme,
    TableSpec,
    UnhideNote,
    UpdateEvent,
    VoteSpec,
    command_from_wire,
)
from plenary.domain.model import Op
from plenary.errors import Code
from plenary.protocol.frames import (
    ack_frame,
    decode_client_frame,
    encode,
    encode_op,
    error_frame,
    now_ms,
    ops_frame,
    pong_frame,
    resync_frame,
)
from plenary.protocol.schema import (
    client_validators,
    first_error,
    protocol_schema,
    server_validators,
)


def _validator(def_name: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$defs": protocol_schema()["$defs"], "$ref": f"#/$defs/{def_name}"}
    )


CLIENT_FRAME = _validator("ClientFrame")
SERVER_FRAME = _validator("ServerFrame")


def _server_frame(data: bytes) -> dict[str, Any]:
    """Decode a server frame and check it against the ServerFrame union and its own def."""
    frame = msgpack.unpackb(data, raw=False, strict_map_key=True)
    assert isinstance(frame, dict)
    assert first_error(SERVER_FRAME, frame) is None, first_error(SERVER_FRAME, frame)
    tag_error = first_error(server_validators()[frame["t"]], frame)
    assert tag_error is None, tag_error
    return frame


def _refused(result: object) -> str:
    assert isinstance(result, tuple), f"accepted: {result!r}"
    code, message = result
    assert code is Code.BAD_FRAME
    assert isinstance(message, str)
    assert 0 < len(message) <= 300, message
    return message


# -- valid client frames --------------------------------------------------------------------

VALID_CLIENT_FRAMES: list[dict[str, Any]] = [
    {"t": "hello", "token": "tok.en", "since": 0},
    {"t": "hello", "token": "t" * 2048, "since": 2**53 - 1, "client": "plenary-web/1.0"},
    {"t": "ping"},
    {"t": "ping", "n": 0},
    {"t": "ping", "n": 2**32 - 1},
    {"t": "write", "id": "c1", "op": {"kind": "note.add", "text": "hello"}},
    {"t": "write", "id": "a.b_c:d-9", "op": {"kind": "note.add", "text": "", "colour": None}},
    {
        "t": "write",
        "id": "x" * 64,
        "op": {"kind": "note.add", "text": "é" * 4000, "colour": "pink"},
    },
    {"t": "write", "id": "c2", "op": {"kind": "note.edit", "note": 1, "text": "new"}},
    {"t": "write", "id": "c3", "op": {"kind": "note.delete", "note": 2**53 - 1}},
    {"t": "write", "id": "c4", "op": {"kind": "note.hide", "note": 7}},
    {"t": "write", "id": "c5", "op": {"kind": "note.unhide", "note": 7}},
    {"t": "write", "id": "c6", "op": {"kind": "note.add", "text": "x", "round": 9}},
    {
        "t": "write",
        "id": "r1",
        "op": {
            "kind": "event.update",
            "title": "Park vision",
            "groups": ["Residents", "Council"],
            "tables": [{"number": "1", "name": "Oak"}, {"number": "2"}],
            "anonymity": "facilitators",
        },
    },
    {"t": "write", "id": "r2", "op": {"kind": "activity.add", "type": "notes", "prompt": "Why?"}},
    {
        "t": "write",
        "id": "r3",
        "op": {
            "kind": "activity.add",
            "type": "vote",
            "prompt": "Which?",
            "vote": {"round": 9, "target": "themes", "budget": 5, "cap": 2, "results": "on_close"},
        },
    },
    {"t": "write", "id": "r4", "op": {"kind": "activity.edit", "activity": 9, "prompt": "How?"}},
    {"t": "write", "id": "r5", "op": {"kind": "activity.move", "activity": 9, "position": 0}},
    {
        "t": "write",
        "id": "r6",
        "op": {"kind": "activity.set_status", "activity": 9, "status": "open"},
    },
    {"t": "write", "id": "r7", "op": {"kind": "activity.set_current", "activity": None}},
    {
        "t": "write",
        "id": "r8",
        "op": {"kind": "activity.set_timer", "activity": 9, "seconds": 300},
    },
    {"t": "write", "id": "r9", "op": {"kind": "note.merge", "notes": [3, 4], "text": "both"}},
    {"t": "write", "id": "t1", "op": {"kind": "theme.add", "round": 9, "name": "Transport"}},
    {"t": "write", "id": "t2", "op": {"kind": "theme.rename", "theme": 12, "name": "Travel"}},
    {"t": "write", "id": "t3", "op": {"kind": "theme.delete", "theme": 12}},
    {"t": "write", "id": "t4", "op": {"kind": "note.set_theme", "note": 3, "theme": None}},
    {"t": "write", "id": "d1", "op": {"kind": "dot.add", "vote": 9, "item": 3}},
    {"t": "write", "id": "d2", "op": {"kind": "dot.remove", "vote": 9, "item": 3}},
    {"t": "write", "id": "w1", "op": {"kind": "writer.set", "participant": "p_1", "writer": True}},
    {"t": "write", "id": "r1", "op": {"kind": "participant.remove", "participant": "p_1"}},
    {
        "t": "write",
        "id": "s1",
        "op": {"kind": "draft.save", "activity": 9, "base": 0, "text": "# Plan\n\nBuses.\n"},
    },
    {"t": "write", "id": "s2", "op": {"kind": "draft.publish", "activity": 9, "version": 1}},
    {
        "t": "write",
        "id": "s3",
        "op": {
            "kind": "draft.explain",
            "activity": 9,
            "version": 2,
            "section": "s4",
            "rationale": "You asked for night buses",
            "links": [{"kind": "theme", "id": 7}, {"kind": "vote", "id": 8, "item": 3}],
        },
    },
    {
        "t": "write",
        "id": "r1",
        "op": {
            "kind": "reaction.set",
            "activity": 9,
            "version": 2,
            "section": "s4",
            "reaction": "concern",
            "comment": "what about rural areas?",
        },
    },
]


@pytest.mark.parametrize("frame", VALID_CLIENT_FRAMES, ids=lambda f: f["t"])
def test_valid_client_frames_round_trip(frame: dict[str, Any]) -> None:
    decoded = decode_client_frame(encode(frame))
    assert decoded == frame
    assert first_error(CLIENT_FRAME, decoded) is None


def test_every_client_frame_type_and_command_is_exercised() -> None:
    assert {f["t"] for f in VALID_CLIENT_FRAMES} == set(client_validators())
    kinds = {f["op"]["kind"] for f in VALID_CLIENT_FRAMES if f["t"] == "write"}
    assert kinds == set(CLIENT_COMMANDS)


@pytest.mark.parametrize(
    ("op", "command"),
    [
        ({"kind": "note.add", "text": "hi"}, AddNote("hi")),
        ({"kind": "note.add", "text": "hi", "colour": "blue"}, AddNote("hi", "blue")),
        ({"kind": "note.edit", "note": 3, "text": "x"}, EditNote(3, "x")),
        ({"kind": "note.delete", "note": 3}, DeleteNote(3)),
        ({"kind": "note.hide", "note": 3}, HideNote(3)),
        ({"kind": "note.unhide", "note": 3}, UnhideNote(3)),
        ({"kind": "note.add", "text": "hi", "round": 9}, AddNote("hi", None, 9)),
        (
            {"kind": "event.update", "groups": ["A"], "tables": [{"number": "1"}]},
            UpdateEvent(groups=("A",), tables=(TableSpec("1"),)),
        ),
        (
            {"kind": "activity.add", "type": "vote", "prompt": "p", "vote": {"round": 9}},
            AddActivity("vote", "p", VoteSpec(9)),
        ),
        ({"kind": "note.merge", "notes": [3, 4], "text": "t"}, MergeNotes((3, 4), "t")),
        ({"kind": "note.set_theme", "note": 3, "theme": None}, SetNoteTheme(3, None)),
        ({"kind": "dot.add", "vote": 9, "item": 3}, AddDot(9, 3)),
        ({"kind": "dot.remove", "vote": 9, "item": 3}, RemoveDot(9, 3)),
        (
            {
                "kind": "draft.explain",
                "activity": 9,
                "version": 2,
                "section": "s4",
                "rationale": "r",
                "links": [{"kind": "vote", "id": 8, "item": 3}],
            },
            ExplainChange(9, 2, "s4", "r", (LinkSpec("vote", 8, 3),)),
        ),
        (
            {
                "kind": "draft.explain",
                "activity": 9,
                "version": 2,
                "section": "s4",
                "rationale": "r",
            },
            ExplainChange(9, 2, "s4", "r"),
        ),
        (
            {
                "kind": "reaction.set",
                "activity": 9,
                "version": 2,
                "section": "s4",
                "reaction": None,
            },
            React(9, 2, "s4", None),
        ),
        (
            {"kind": "activity.add", "type": "draft", "prompt": "p", "reactions": "live"},
            AddActivity("draft", "p", reactions="live"),
        ),
    ],
)
def test_write_frames_become_commands(op: dict[str, Any], command: object) -> None:
    frame = decode_client_frame(encode({"t": "write", "id": "c1", "op": op}))
    assert isinstance(frame, dict)
    assert command_from_wire(frame["op"]) == command


# -- refused client frames ------------------------------------------------------------------

_DEEP = b"\x91" * 1030 + b"\x00"  # deeper than msgpack's own unpacking stack

_OK_OP = {"kind": "note.hide", "note": 1}

REFUSED: list[tuple[str, bytes, str]] = [
    # (id, bytes, a fragment of the reason)
    ("empty", b"", "not a msgpack frame"),
    ("reserved byte", b"\xc1", "not a msgpack frame (FormatError)"),
    ("truncated", encode({"t": "ping"})[:-2], "not a msgpack frame"),
    ("trailing data", encode({"t": "ping"}) + b"\x00", "not a msgpack frame (ExtraData)"),
    ("invalid utf-8", b"\x81\xa1t\xa4p\xff\xfeg", "not a msgpack frame (UnicodeDecodeError)"),
    ("too deep for msgpack", b"\x82\xa1t\xa4ping\xa1n" + _DEEP, "not a msgpack frame"),
    ("int key", encode({"t": "ping", 1: 2}), "not a msgpack frame"),
    ("nil key", encode({"t": "ping", None: 2}), "not a msgpack frame"),
    ("array", encode(["ping"]), "a frame must be a msgpack map"),
    ("string", encode("ping"), "a frame must be a msgpack map"),
    ("nil", encode(None), "a frame must be a msgpack map"),
    ("integer", encode(7), "a frame must be a msgpack map"),
    ("ext top level", msgpack.packb(msgpack.ExtType(5, b"\x00")), "a frame must be a msgpack map"),
    ("no tag", encode({"token": "x", "since": 0}), "unknown frame type None"),
    ("bytes tag key", encode({b"t": "ping"}), "unknown frame type None"),
    ("unknown tag", encode({"t": "shout"}), "unknown frame type 'shout'"),
    ("server tag", encode({"t": "welcome"}), "unknown frame type 'welcome'"),
    ("non-str tag", encode({"t": 5}), "unknown frame type 5"),
    ("list tag", encode({"t": ["hello"]}), "unknown frame type ['hello']"),
    ("bytes tag", encode({"t": b"ping"}), "unknown frame type b'ping'"),
    ("missing since", encode({"t": "hello", "token": "x"}), "hello: 'since' is a required"),
    ("missing token", encode({"t": "hello", "since": 0}), "hello: 'token' is a required"),
    ("missing id", encode({"t": "write", "op": {}}), "write: 'id' is a required property"),
    ("missing op", encode({"t": "write", "id": "c1"}), "write: 'op' is a required property"),
    (
        "extra field",
        encode({"t": "hello", "token": "x", "since": 0, "admin": True}),
        "hello: Additional properties are not allowed ('admin' was unexpected)",
    ),
    ("extra on ping", encode({"t": "ping", "x": 1}), "ping: Additional properties"),
    ("bytes extra key", encode({"t": "ping", b"x": 1}), "ping: Additional properties"),
    (
        "extra in op",
        encode({"t": "write", "id": "c1", "op": {"kind": "note.add", "text": "x", "by": "f"}}),
        "write: op/Additional properties are not allowed ('by' was unexpected)",
    ),
    (
        "unknown command",
        encode({"t": "write", "id": "c", "op": {"kind": "x"}}),
        "write: op/kind: unknown op kind 'x'",
    ),
    (
        "op missing note",
        encode({"t": "write", "id": "c", "op": {"kind": "note.hide"}}),
        "write: op/'note' is a required property",
    ),
    (
        "long id",
        encode({"t": "write", "id": "c" * 65, "op": _OK_OP}),
        "write: id: longer than 64 characters",
    ),
    (
        "long client",
        encode({"t": "hello", "token": "x", "since": 0, "client": "c" * 65}),
        "hello: client: longer than 64 characters",
    ),
    ("empty token", encode({"t": "hello", "token": "", "since": 0}), "token: '' should be non"),
    (
        "empty id",
        encode({"t": "write", "id": "", "op": _OK_OP}),
        "write: id: '' should be non-empty",
    ),
    ("id with space", encode({"t": "write", "id": "a b", "op": _OK_OP}), "does not match"),
    ("str since", encode({"t": "hello", "token": "x", "since": "0"}), "not of type 'integer'"),
    ("negative since", encode({"t": "hello", "token": "x", "since": -1}), "less than the min"),
    ("huge since", encode({"t": "hello", "token": "x", "since": 2**53}), "greater than the max"),
    ("fraction since", encode({"t": "hello", "token": "x", "since": 1.5}), "not of type 'int"),
    ("bool n", encode({"t": "ping", "n": True}), "ping: n: True is not of type 'integer'"),
    ("big n", encode({"t": "ping", "n": 2**32}), "greater than the maximum of 4294967295"),
    ("bin token", encode({"t": "hello", "token": b"x", "since": 0}), "not of type 'string'"),
    ("nil token", encode({"t": "hello", "token": None, "since": 0}), "not of type 'string'"),
    ("map op", encode({"t": "write", "id": "c", "op": []}), "write: op: "),
    (
        "ext in field",
        encode({"t": "ping", "n": msgpack.ExtType(3, b"ab")}),
        "ping: n: ExtType(code=3, data=b'ab') is not of type 'integer'",
    ),
    (
        "timestamp in field",
        msgpack.packb({"t": "ping", "n": msgpack.Timestamp(1, 0)}),
        "ping: n: Timestamp(seconds=1, nanoseconds=0) is not of type 'integer'",
    ),
    (
        "colour not allowed",
        encode({"t": "write", "id": "c", "op": {"kind": "note.add", "text": "x", "colour": "red"}}),
        "write: op/colour: 'red' is not one of ['yellow', 'pink'",
    ),
    (
        "note id zero",
        encode({"t": "write", "id": "c", "op": {"kind": "note.delete", "note": 0}}),
        "write: op/note: 0 is less than the minimum of 1",
    ),
]


@pytest.mark.parametrize(
    ("data", "fragment"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_bad_frames_are_refused_with_a_reason(data: bytes, fragment: str) -> None:
    message = _refused(decode_client_frame(data))
    assert fragment in message


def test_long_unknown_tag_is_shortened_in_the_reason() -> None:
    message = _refused(decode_client_frame(encode({"t": "x" * 10_000})))
    assert message.startswith("unknown frame type 'xxx")
    assert len(message) < 80


def test_long_note_text_is_refused() -> None:
    frame = {"t": "write", "id": "c", "op": {"kind": "note.add", "text": "x" * 4001}}
    message = _refused(decode_client_frame(encode(frame)))
    assert message == "write: op/text: longer than 4000 characters"


@pytest.mark.parametrize(
    "frame",
    [
        {"t": "hello", "token": "t" * 2049, "since": 0},
        {"t": "write", "id": "c", "op": {"kind": "note.add", "text": "x" * 4001}},
    ],
    ids=["token", "note text"],
)
def test_over_long_strings_say_too_long(frame: dict[str, Any]) -> None:
    message = _refused(decode_client_frame(encode(frame)))
    assert "longer than" in message and len(message) < 100


def test_deeply_nested_field_is_refused_not_raised() -> None:
    nested = b"\x91" * 1010 + b"\x00"
    data = b"\x82\xa1t\xa4ping\xa1n" + nested
    assert "nested deeper than" in _refused(decode_client_frame(data))


@pytest.mark.parametrize(
    "frame",
    [
        {"t": "hello", "token": "x", "since": 2.0},
        {"t": "ping", "n": 1.0},
        {"t": "write", "id": "c", "op": {"kind": "note.delete", "note": 3.0}},
    ],
    ids=["since", "ping n", "note id"],
)
def test_floats_are_not_integers(frame: dict[str, Any]) -> None:
    assert "is not of type 'integer'" in _refused(decode_client_frame(encode(frame)))


# -- decoding never raises ------------------------------------------------------------------


def _check_decoded(result: object) -> None:
    if isinstance(result, dict):
        assert result["t"] in client_validators()
        assert first_error(CLIENT_FRAME, result) is None
    else:
        _refused(result)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=512))
def test_decode_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    _check_decoded(decode_client_frame(data))


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=20)
    | st.sampled_from(["hello", "write", "ping", "t", "op", "kind", "note.add", "id", "since"])
    | st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=8))
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.binary(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)
_KEYS = st.sampled_from(["t", "id", "op", "token", "since", "client", "n", "kind", "text", "x"])


@st.composite
def _frame_like(draw: st.DrawFn) -> dict[Any, Any]:
    """Maps that look like frames: a real tag and plausible keys with arbitrary values."""
    frame: dict[Any, Any] = draw(st.dictionaries(_KEYS, _VALUES, max_size=4))
    frame["t"] = draw(st.sampled_from(["hello", "write", "ping", "ops", "", None]))
    if draw(st.booleans()):
        frame["op"] = draw(
            st.dictionaries(_KEYS, _VALUES, max_size=3).map(
                lambda op: {**op, "kind": draw(st.sampled_from([*CLIENT_COMMANDS, "x"]))}
            )
        )
    return frame


@settings(max_examples=300, deadline=None)
@given(value=_VALUES | _frame_like())
def test_decode_never_raises_on_msgpack_values(value: Any) -> None:
    _check_decoded(decode_client_frame(msgpack.packb(value, use_bin_type=True)))


# -- server frames --------------------------------------------------------------------------


@pytest.mark.parametrize("dup", [False, True])
def test_ack_frame(dup: bool) -> None:
    frame = _server_frame(ack_frame("c-1", 42, dup))
    assert frame == {"t": "ack", "id": "c-1", "seq": 42, "dup": dup}


@pytest.mark.parametrize("code", list(Code))
@pytest.mark.parametrize("op_id", [None, "c-1"])
def test_error_frame_for_every_code(code: Code, op_id: str | None) -> None:
    frame = _server_frame(error_frame(code, "what went wrong", op_id))
    assert frame == {"t": "error", "code": code.value, "message": "what went wrong", "id": op_id}


def test_error_frame_message_is_bounded() -> None:
    frame = _server_frame(error_frame(Code.INVALID, "é" * 5000))
    assert frame["message"] == "é" * 1000


def test_error_frame_carries_a_decode_reason() -> None:
    result = decode_client_frame(encode({"t": "shout"}))
    assert isinstance(result, tuple)
    frame = _server_frame(error_frame(*result))
    assert frame["code"] == "bad_frame"
    assert frame["message"] == "unknown frame type 'shout'"


@pytest.mark.parametrize("n", [None, 0, 7, 2**32 - 1])
def test_pong_frame(n: int | None) -> None:
    before = now_ms()
    frame = _server_frame(pong_frame(n))
    after = now_ms()
    assert before <= frame["server_time"] <= after
    assert frame.get("n") == n
    assert ("n" in frame) is (n is not None)


def test_now_ms_is_wall_clock_milliseconds() -> None:
    assert abs(now_ms() - time.time() * 1000) < 1000


def test_resync_frame() -> None:
    reason = "you fell behind; reconnect and resume"
    assert _server_frame(resync_frame(reason)) == {"t": "resync", "reason": reason}


def test_welcome_as_the_connection_builds_it() -> None:
    welcome = {
        "t": "welcome",
        "event": "ev_1",
        "role": "participant",
        "you": "p_1",
        "seq": 12,
        "resume": "snapshot",
        "heartbeat": 25.0,
        "max_frame": 65536,
        "server_time": now_ms(),
    }
    assert _server_frame(encode(welcome)) == welcome


def _op(seq: int) -> Op:
    return Op(
        seq, "note.added", "p_1", 1_700_000_000_000 + seq, {"text": f"n{seq}", "colour": None}
    )


@pytest.mark.parametrize("count", [1, 2, 15, 16, 17, 255, 65535, 65536])
def test_ops_frame_splices_the_same_bytes_as_encoding_directly(count: int) -> None:
    """Array headers change size at 16 and 65536 items: the splice must follow."""
    ops = [_op(seq) for seq in range(1, min(count, 300) + 1)]
    ops += [ops[-1]] * (count - len(ops))  # beyond 300, repeats: only the header matters
    spliced = ops_frame([encode_op(op.to_wire()) for op in ops], ops[-1].seq)
    direct = encode({"t": "ops", "upto": ops[-1].seq, "ops": [op.to_wire() for op in ops]})
    assert spliced == direct
    frame = msgpack.unpackb(spliced, raw=False)
    assert len(frame["ops"]) == count
    assert [Op.from_wire(raw) for raw in frame["ops"][:300]] == ops[:300]


def test_ops_frame_validates() -> None:
    ops = [_op(1), _op(2)]
    frame = _server_frame(ops_frame([encode_op(op.to_wire()) for op in ops], 2))
    assert frame["ops"] == [op.to_wire() for op in ops]
    assert frame["upto"] == 2


@pytest.mark.parametrize("upto", [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32, 2**53 - 1])
def test_ops_frame_carries_any_cursor_and_may_have_no_ops(upto: int) -> None:
    """A tick of only ops this audience may not see still moves its cursor."""
    frame = _server_frame(ops_frame([], upto))
    assert (frame["upto"], frame["ops"]) == (upto, [])


@settings(max_examples=50, deadline=None)
@given(
    texts=st.lists(st.text(max_size=50), min_size=1, max_size=10),
    colour=st.sampled_from(["yellow", None]),
)
def test_ops_frame_decodes_like_a_directly_encoded_frame(
    texts: list[str], colour: str | None
) -> None:
    wires = [
        Op(i, "note.added", "p_1", i, {"text": text, "colour": colour}).to_wire()
        for i, text in enumerate(texts, start=1)
    ]
    spliced = msgpack.unpackb(ops_frame([encode_op(w) for w in wires], len(wires)), raw=False)
    assert spliced == {"t": "ops", "upto": len(wires), "ops": wires}
    assert first_error(server_validators()["ops"], spliced) is None
