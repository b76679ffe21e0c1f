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
    return {tag: _validator_for(name) for tag, name in _tags("ClientFrame").items()}


@cache
def server_validators() -> dict[str, Draft202012Validator]:
    return {tag: _validator_for(name) for tag, name in _tags("ServerFrame").items()}


def first_error(validator: Draft202012Validator, instance: object) -> str | None:
    """A short, readable reason the instance breaks the schema, or None if it conforms."""
    error = best_match(validator.iter_errors(instance))
    if error is None:
        return None
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
