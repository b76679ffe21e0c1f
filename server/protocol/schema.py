"""Load the protocol schema (the single source of truth) and build one validator per frame."""

from __future__ import annotations

import json
import reprlib
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.validators import extend

# JSON Schema counts 2.0 as an integer; msgpack keeps floats and ints apart, and a float
# seq or note id must not reach the log.
_STRICT_TYPES = Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, x: isinstance(x, int) and not isinstance(x, bool)
)
Validator = extend(Draft202012Validator, type_checker=_STRICT_TYPES)  # type: ignore[no-untyped-call]

SCHEMA_FILE = "protocol.json"
HTTP_SCHEMA_FILE = "http.json"


def schema_dir() -> Path:
    """The installed copy (inside the wheel) or, in a source checkout, the top-level folder."""
    packaged = Path(__file__).resolve().parent.parent / "schemas"
    if (packaged / SCHEMA_FILE).exists():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@cache
def _load(name: str) -> dict[str, Any]:
    with (schema_dir() / name).open() as fh:
        schema: dict[str, Any] = json.load(fh)
    Draft202012Validator.check_schema(schema)
    return schema


def protocol_schema() -> dict[str, Any]:
    return _load(SCHEMA_FILE)


def http_schema() -> dict[str, Any]:
    return _load(HTTP_SCHEMA_FILE)


def _validator_for(def_name: str, root: dict[str, Any] | None = None) -> Draft202012Validator:
    root = protocol_schema() if root is None else root
    validator: Draft202012Validator = Validator(
        {"$defs": root["$defs"], "$ref": f"#/$defs/{def_name}"}
    )
    return validator


@cache
def http_validator(def_name: str) -> Draft202012Validator:
    return _validator_for(def_name, http_schema())


def _tags(union: str) -> dict[str, str]:
    """Frame tag -> $defs name, read from the ClientFrame / ServerFrame unions."""
    defs = protocol_schema()["$defs"]
    out = {}
    for ref in defs[union]["oneOf"]:
        name = ref["$ref"].rsplit("/", 1)[1]
        out[defs[name]["properties"]["t"]["const"]] = name
    return out


def _kinds(union: str) -> dict[str, str]:
    """Command kind -> $defs name, read from the Command union."""
    defs = protocol_schema()["$defs"]
    out = {}
    for ref in defs[union]["oneOf"]:
        name = ref["$ref"].rsplit("/", 1)[1]
        out[defs[name]["properties"]["kind"]["const"]] = name
    return out


@cache
def command_validators() -> dict[str, Draft202012Validator]:
    """One validator per command kind: a refusal names what is wrong with *that* command
    rather than "not valid under any of the given schemas"."""
    return {kind: _validator_for(name) for kind, name in _kinds("Command").items()}


@cache
def client_validators() -> dict[str, Draft202012Validator]:
    """One validator per client frame type. A write's envelope is checked with its op
    as any map with a kind; ``decode_client_frame`` then checks the op against that
    kind's own schema, so a write is walked once, not once per command in the union."""
    out = {tag: _validator_for(name) for tag, name in _tags("ClientFrame").items()}
    defs = protocol_schema()["$defs"]
    write = {tag: name for tag, name in _tags("ClientFrame").items()}["write"]
    envelope = json.loads(json.dumps(defs[write]))
    envelope["properties"]["op"] = {
        "type": "object",
        "properties": {"kind": {"type": "string", "maxLength": 40}},
        "required": ["kind"],
    }
    # Missing fields first: "there is no id" says more than what is wrong inside the op.
    envelope = {"required": envelope.pop("required"), **envelope}
    out["write"] = Validator({"$defs": defs, **envelope})
    return out


def _reachable(root: str) -> set[str]:
    """The $defs a definition refers to, directly or not, itself included."""
    defs = protocol_schema()["$defs"]
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        text = json.dumps(defs[name])
        todo.extend(ref.split('"')[0] for ref in text.split('"$ref": "#/$defs/')[1:])
    return seen


@cache
def client_bounds() -> tuple[int, int]:
    """(the longest list, the most properties of any map) that a valid client frame can
    have, read off the schema: msgpack refuses anything longer before it is unpacked."""
    defs = protocol_schema()["$defs"]
    items, fields = 1, 1
    stack: list[object] = [defs[name] for name in _reachable("ClientFrame")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            items = max(items, int(node.get("maxItems", 0)))
            properties = node.get("properties")
            if isinstance(properties, dict):
                fields = max(fields, len(properties))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return items, fields


@cache
def server_validators() -> dict[str, Draft202012Validator]:
    return {tag: _validator_for(name) for tag, name in _tags("ServerFrame").items()}


def first_error(validator: Draft202012Validator, instance: object) -> str | None:
    """A short, readable reason the instance breaks the schema, or None if it conforms.

    The first error only: collecting every error to pick the best one visits every item
    of a list even after its ``maxItems`` has failed (150,000 note ids took 5-9 s), and one
    reason is all a client needs. Under a ``oneOf`` the most relevant one is picked among
    those of the first failing keyword."""
    error = next(iter(validator.iter_errors(instance)), None)
    if error is None:
        return None
    if error.context:
        error = best_match(error.context) or error
    where = "/".join(str(p) for p in error.absolute_path)
    message = _message(error)
    return f"{where}: {message}" if where else message


_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40


def _message(error: ValidationError) -> str:
    """jsonschema's message with the offending value shortened: the reason must survive
    even when the value is a 4,000-character note."""
    match error.validator:
        case "maxLength":
            return f"longer than {error.validator_value} characters"
        case "maxItems":
            return f"more than {error.validator_value} items"
        case "maxProperties":
            return f"more than {error.validator_value} fields"
    message = error.message.replace(repr(error.instance), _short.repr(error.instance), 1)
    return message if len(message) <= 200 else message[:197] + "..."
