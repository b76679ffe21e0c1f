"""The wire contract itself: valid JSON Schema, closed frames, bounded strings, and the
same names and limits as the code that produces and consumes it."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from plenary.domain.commands import CLIENT_COMMANDS, NOTE_COLOURS, Command
from plenary.domain.fold import UnknownOp, apply
from plenary.domain.model import EventState, Op
from plenary.domain.rules import (
    GROUP_NAME_MAX,
    GROUPS_MAX,
    NAME_MAX,
    TABLE_MAX,
    TITLE_MAX,
    Limits,
)
from plenary.errors import Code
from plenary.protocol import schema as schema_module
from plenary.protocol.schema import (
    client_validators,
    http_schema,
    http_validator,
    protocol_schema,
    server_validators,
)

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILES = ("protocol.json", "http.json")
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def _read(name: str) -> dict[str, Any]:
    with (REPO / "schemas" / name).open() as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


def _defs() -> dict[str, Any]:
    defs: dict[str, Any] = protocol_schema()["$defs"]
    return defs


def _union(name: str) -> list[str]:
    return [ref["$ref"].rsplit("/", 1)[1] for ref in _defs()[name]["oneOf"]]


def _strings(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema that admits a string (by ``type``), with its JSON pointer."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "string" or (isinstance(kind, list) and "string" in kind):
            yield path, node
        for key, value in node.items():
            yield from _strings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}/{i}")


def _reachable(def_name: str) -> set[str]:
    """The $defs a def refers to, transitively (itself included)."""
    seen: set[str] = set()
    todo = [def_name]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        text = json.dumps(_defs()[name])
        for part in text.split('"#/$defs/')[1:]:
            todo.append(part.split('"', 1)[0])
    return seen


# -- the files -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_file_is_valid_json_schema_2020_12(name: str) -> None:
    schema = _read(name)
    assert schema["$schema"] == DRAFT_2020_12
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_packaged_copy_is_the_top_level_file(name: str) -> None:
    """server/schemas is what the wheel carries; it must be the single source, not a fork."""
    packaged = REPO / "server" / "schemas" / name
    assert json.loads(packaged.read_text()) == _read(name)
    assert (schema_module.schema_dir() / name).read_text() == (REPO / "schemas" / name).read_text()


def test_loaders_return_the_files() -> None:
    assert protocol_schema() == _read("protocol.json")
    assert http_schema() == _read("http.json")


def test_check_schema_refuses_a_broken_schema() -> None:
    """The self-check above can fail: a wrong keyword type is caught."""
    from jsonschema.exceptions import SchemaError

    with pytest.raises(SchemaError):
        Draft202012Validator.check_schema({"type": "object", "maxProperties": "three"})


# -- frames are closed and tagged ----------------------------------------------------------


FRAME_DEFS = [*_union("ClientFrame"), *_union("ServerFrame")]


@pytest.mark.parametrize("name", FRAME_DEFS)
def test_frame_def_has_a_literal_tag_and_no_unknown_fields(name: str) -> None:
    frame = _defs()[name]
    assert frame["type"] == "object"
    assert isinstance(frame["properties"]["t"]["const"], str)
    assert list(frame["properties"]["t"]) == ["const"]
    assert "t" in frame["required"]
    assert frame["additionalProperties"] is False
    assert set(frame["required"]) <= set(frame["properties"])


def test_frame_tags_are_unique_and_known() -> None:
    tags = [_defs()[name]["properties"]["t"]["const"] for name in FRAME_DEFS]
    assert len(tags) == len(set(tags))
    assert set(client_validators()) == {"hello", "write", "ping"}
    assert set(server_validators()) == {
        "welcome",
        "ops",
        "snapshot",
        "ack",
        "error",
        "resync",
        "pong",
        "tally",
        "mine",
        "reactions",
        "reacted",
    }


@pytest.mark.parametrize("name", _union("Command"))
def test_command_def_is_closed_and_tagged(name: str) -> None:
    command = _defs()[name]
    assert command["additionalProperties"] is False
    assert "kind" in command["required"]
    assert isinstance(command["properties"]["kind"]["const"], str)


def test_commands_in_the_schema_are_the_commands_the_server_builds() -> None:
    kinds = {_defs()[name]["properties"]["kind"]["const"] for name in _union("Command")}
    assert kinds == set(CLIENT_COMMANDS)


@pytest.mark.parametrize("name", _union("Op"))
def test_op_def_is_closed(name: str) -> None:
    op = _defs()[name]
    assert op["unevaluatedProperties"] is False
    assert op["allOf"] == [{"$ref": "#/$defs/OpBase"}]
    assert set(op["properties"]) == {"seq", "by", "at", "kind", "data"}


def test_op_kinds_in_the_schema_are_the_kinds_fold_applies() -> None:
    kinds = {_defs()[name]["properties"]["kind"]["const"] for name in _union("Op")}
    assert len(kinds) == len(_union("Op"))
    for kind in kinds:
        state = EventState(id="ev", seq=0)
        op = Op(1, kind, "x", 0, {})
        # every schema kind is known to apply: it may fail on the missing data, never on
        # the kind
        try:
            apply(state, op)
        except UnknownOp:
            pytest.fail(f"the schema has op kind {kind!r}, which fold does not apply")
        except (KeyError, TypeError, ValueError):
            pass


def test_op_schema_refuses_an_extra_top_level_field() -> None:
    validator = Draft202012Validator({"$defs": _defs(), "$ref": "#/$defs/Op"})
    op = {"seq": 1, "kind": "note.deleted", "by": "p_1", "at": 0, "data": {"note": 1}}
    assert validator.is_valid(op)
    assert not validator.is_valid({**op, "extra": 1})
    assert not validator.is_valid({**op, "data": {"note": 1, "extra": 1}})


# -- the schema agrees with the code -------------------------------------------------------


def test_error_codes_are_the_code_enum() -> None:
    assert _defs()["Error"]["properties"]["code"]["enum"] == [c.value for c in Code]


def test_colours_are_the_note_colours() -> None:
    assert _defs()["Colour"]["enum"] == [*NOTE_COLOURS, None]


def test_roles_in_the_schema() -> None:
    from plenary.domain.model import Role

    assert _defs()["Role"]["enum"] == [r.value for r in Role]


def test_limits_agree_with_the_domain() -> None:
    defs, http = _defs(), http_schema()["$defs"]
    created = defs["EventCreated"]["properties"]["data"]["properties"]
    assert created["title"] == {"$ref": "#/$defs/Title"}
    assert defs["Title"]["maxLength"] == TITLE_MAX
    assert created["groups"]["items"] == {"$ref": "#/$defs/GroupName"}
    assert created["groups"]["maxItems"] == GROUPS_MAX
    assert defs["GroupName"]["maxLength"] == GROUP_NAME_MAX
    assert http["CreateEvent"]["properties"]["title"]["maxLength"] == TITLE_MAX
    assert http["CreateEvent"]["properties"]["groups"]["maxItems"] == GROUPS_MAX
    assert http["CreateEvent"]["properties"]["groups"]["items"]["maxLength"] == GROUP_NAME_MAX
    assert http["Join"]["properties"]["name"]["maxLength"] == NAME_MAX
    assert http["Join"]["properties"]["table"]["maxLength"] == TABLE_MAX
    assert defs["ShortText"]["maxLength"] >= max(NAME_MAX, TABLE_MAX, GROUP_NAME_MAX)
    assert defs["NoteText"]["maxLength"] >= Limits().note_max_chars


def test_every_command_type_has_a_wire_name_or_is_http_only() -> None:
    http_only = {"CreateEvent", "Join"}
    names = {cls.__name__ for cls in typing.get_args(Command)}
    assert names - {cls.__name__ for cls in CLIENT_COMMANDS.values()} == http_only


@pytest.mark.parametrize(
    ("def_name", "body", "valid"),
    [
        ("CreateEvent", {"title": "T"}, True),
        ("CreateEvent", {"title": "T", "groups": ["A"]}, True),
        ("CreateEvent", {"title": ""}, False),
        ("CreateEvent", {"title": "T", "groups": [""]}, False),
        ("CreateEvent", {"title": "T", "extra": 1}, False),
        ("Join", {"code": "ABC346", "name": None, "group": None, "table": None}, True),
        ("Join", {"code": ""}, False),
        ("Join", {"code": "ABC346", "table": "t" * 21}, False),
        ("Observe", {"code": "ABC346"}, True),
        ("Facilitate", {"event": "ev_1", "key": "k"}, True),
        ("Facilitate", {"event": "ev_1"}, False),
    ],
)
def test_http_bodies(def_name: str, body: dict[str, Any], valid: bool) -> None:
    assert http_validator(def_name).is_valid(body) is valid


# -- every string is bounded ---------------------------------------------------------------


def test_the_string_walker_finds_unbounded_strings() -> None:
    found = dict(_strings({"a": {"type": "string"}, "b": [{"type": ["string", "null"]}]}))
    assert set(found) == {"#/a", "#/b/0"}


@pytest.mark.parametrize("union", ["ClientFrame"])
def test_every_string_a_client_sends_has_a_max_length(union: str) -> None:
    defs = _defs()
    unbounded = [
        path
        for name in sorted(_reachable(union))
        for path, node in _strings(defs[name], f"#/$defs/{name}")
        if "maxLength" not in node
    ]
    assert unbounded == []


def test_every_string_in_the_http_schema_has_a_max_length() -> None:
    unbounded = [path for path, node in _strings(http_schema()) if "maxLength" not in node]
    assert unbounded == []


def test_every_string_in_the_protocol_schema_has_a_max_length() -> None:
    unbounded = [path for path, node in _strings(protocol_schema()) if "maxLength" not in node]
    assert unbounded == []
