"""docs/protocol.md and docs/settings.md, checked against the code and the schemas.

Documentation that is not checked rots. These tests read the two documents and fail when
they drift from what the server declares:

* settings.md has one table row per setting in ``config.SETTINGS``, with the code's own
  default, type and help text, and names no setting that does not exist;
* protocol.md describes every frame type, error code and close code, and the role table
  matches ``domain.rules.PERMISSIONS``;
* every ```json example in protocol.md is checked against ``schemas/`` (see
  ``classify`` for how a block is recognised as a frame, an op, a command or an HTTP
  request body), and every frame type, op kind and command kind has an example;
* numbers the documents quote (defaults, timeouts, sizes) are the code's.

Pure and fast: no server, no database, no network.
"""

from __future__ import annotations

import ast
import html
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from plenary import config
from plenary.bus import redis as redis_bus
from plenary.cli import uvicorn_options
from plenary.domain import drafts
from plenary.domain.commands import CLIENT_COMMANDS
from plenary.domain.model import Role
from plenary.domain.rules import PERMISSIONS
from plenary.errors import HTTP_STATUS, CloseCode, Code
from plenary.protocol import frames
from plenary.realtime import connection, hub
from plenary.web import api

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL_MD = ROOT / "docs" / "protocol.md"
SETTINGS_MD = ROOT / "docs" / "settings.md"
SCHEMAS = ROOT / "schemas"


# -- reading the documents -----------------------------------------------------------------


@cache
def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def flat(path: Path) -> str:
    """The document as one line: no emphasis markers, runs of whitespace as one space,
    so that a phrase is found wherever the text happens to wrap."""
    return re.sub(r"\s+", " ", read(path).replace("**", ""))


@dataclass(frozen=True)
class Block:
    """One fenced code block: its info string's words, first line number, and text."""

    info: tuple[str, ...]
    line: int
    text: str

    @property
    def label(self) -> str | None:
        return self.info[1] if len(self.info) > 1 else None

    def __str__(self) -> str:
        return f"{self.info[0] if self.info else ''} block at line {self.line}"


_FENCE = re.compile(r"^(\s*)```(.*)$")


def fenced_blocks(path: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = read(path).splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent = len(opening.group(1))
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        assert j < len(lines), f"{path.name}: unclosed code block at line {i + 1}"
        blocks.append(Block(tuple(opening.group(2).split()), i + 1, "\n".join(body)))
        i = j + 1
    return blocks


def json_blocks(path: Path) -> list[Block]:
    return [b for b in fenced_blocks(path) if b.info[:1] == ("json",)]


@dataclass(frozen=True)
class Table:
    section: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _cells(line: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in line.strip().strip("|").split("|"))


def tables(path: Path) -> list[Table]:
    """Every Markdown table, with the ``##`` section it is in."""
    found: list[Table] = []
    lines = read(path).splitlines()
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section = line[3:].strip()
        is_table = (
            line.startswith("|")
            and i + 1 < len(lines)
            and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1].strip()) is not None
        )
        if not is_table:
            i += 1
            continue
        header = _cells(line)
        rows = []
        i += 2
        while i < len(lines) and lines[i].startswith("|"):
            row = _cells(lines[i])
            assert len(row) == len(header), f"{path.name} line {i + 1}: {len(row)} cells"
            rows.append(row)
            i += 1
        found.append(Table(section, header, tuple(rows)))
    return found


def table(path: Path, *header: str) -> Table:
    """The one table whose header starts with ``header``."""
    matching = [t for t in tables(path) if t.header[: len(header)] == header]
    assert len(matching) == 1, f"{path.name}: expected one table headed {header}"
    return matching[0]


def unquote(cell: str) -> str:
    """`x` -> x"""
    match = re.fullmatch(r"`([^`]*)`", cell)
    assert match is not None, f"expected a `code` cell, got {cell!r}"
    return match.group(1)


# -- the schemas ----------------------------------------------------------------------------


@cache
def schema(name: str) -> dict[str, Any]:
    """A schema from the top-level ``schemas/`` folder, the single source of truth."""
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(loaded)
    return loaded


@cache
def validator(file: str, def_name: str) -> Draft202012Validator:
    """Built the way ``plenary.protocol.schema`` builds its validators."""
    return Draft202012Validator({"$defs": schema(file)["$defs"], "$ref": f"#/$defs/{def_name}"})


def union(name: str) -> list[str]:
    """$defs names in a oneOf union of protocol.json (ClientFrame, ServerFrame, Op, ...)."""
    defs = schema("protocol.json")["$defs"]
    return [ref["$ref"].rsplit("/", 1)[1] for ref in defs[name]["oneOf"]]


def frame_tags(union_name: str) -> dict[str, str]:
    """Frame tag -> $defs name."""
    defs = schema("protocol.json")["$defs"]
    return {defs[name]["properties"]["t"]["const"]: name for name in union(union_name)}


def kinds(union_name: str) -> set[str]:
    """The ``kind`` consts of a union of ops or commands."""
    defs = schema("protocol.json")["$defs"]
    return {defs[name]["properties"]["kind"]["const"] for name in union(union_name)}


def schema_error(v: Draft202012Validator, instance: object) -> str | None:
    error = best_match(v.iter_errors(instance))
    if error is None:
        return None
    return f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"


# -- examples: which schema each ```json block is checked against ----------------------------


def classify(block: Block) -> tuple[str, str] | None:
    """(schema file, $defs name) that a ```json block must satisfy, or None.

    * ```json http:<Def>``` -- an HTTP request body, checked against http.json's <Def>;
    * an object with "t" -- a frame, checked against the frame definition its tag names
      (an unknown tag fails);
    * an object with "seq" and "kind" -- an op; with "kind" only -- a command;
    * anything else (an HTTP response) is only required to be valid JSON.
    """
    value = json.loads(block.text)
    if block.label is not None:
        assert block.label.startswith("http:"), f"{block}: unknown label {block.label!r}"
        return "http.json", block.label.removeprefix("http:")
    if not isinstance(value, dict):
        return None
    if "t" in value:
        tags = frame_tags("ClientFrame") | frame_tags("ServerFrame")
        assert value["t"] in tags, f"{block}: no frame type {value['t']!r} in the schema"
        return "protocol.json", tags[value["t"]]
    if "kind" in value:
        return "protocol.json", "Op" if "seq" in value else "Command"
    return None


def protocol_examples() -> list[Block]:
    return json_blocks(PROTOCOL_MD)


@pytest.mark.parametrize("block", protocol_examples(), ids=str)
def test_every_json_example_is_valid_json(block: Block) -> None:
    try:
        json.loads(block.text)
    except ValueError as exc:
        pytest.fail(f"docs/protocol.md {block}: not JSON: {exc}")


@pytest.mark.parametrize("block", protocol_examples(), ids=str)
def test_every_example_conforms_to_the_schema(block: Block) -> None:
    target = classify(block)
    if target is None:
        return
    file, def_name = target
    assert def_name in schema(file)["$defs"], f"{block}: {file} has no {def_name}"
    reason = schema_error(validator(file, def_name), json.loads(block.text))
    assert reason is None, f"docs/protocol.md {block} breaks {file}#{def_name}: {reason}"


def _examples_of(def_name: str) -> list[dict[str, Any]]:
    return [
        json.loads(b.text) for b in protocol_examples() if (classify(b) or ("", ""))[1] == def_name
    ]


def test_every_frame_type_has_an_example() -> None:
    shown = {json.loads(b.text).get("t") for b in protocol_examples() if classify(b)}
    for union_name in ("ClientFrame", "ServerFrame"):
        missing = set(frame_tags(union_name)) - shown
        assert not missing, f"docs/protocol.md has no example of {union_name} {sorted(missing)}"


def test_every_op_kind_and_command_has_an_example() -> None:
    ops = _examples_of("Op") + [op for frame in _examples_of("Ops") for op in frame["ops"]]
    missing = kinds("Op") - {op["kind"] for op in ops}
    assert not missing, f"docs/protocol.md shows no op of kind {sorted(missing)}"
    commands = _examples_of("Command") + [w["op"] for w in _examples_of("Write")]
    missing = kinds("Command") - {c["kind"] for c in commands}
    assert not missing, f"docs/protocol.md shows no write of {sorted(missing)}"


def test_every_http_request_body_has_an_example() -> None:
    shown = {b.label.removeprefix("http:") for b in protocol_examples() if b.label}
    missing = set(schema("http.json")["$defs"]) - shown
    assert not missing, f"docs/protocol.md has no ```json http:<Def> example of {missing}"


def test_welcome_example_shows_the_default_settings() -> None:
    defaults = config.load({"PLENARY_SECRET": "only-so-that-nothing-is-generated"})
    (welcome,) = _examples_of("Welcome")
    assert welcome["heartbeat"] == defaults.heartbeat_seconds
    assert welcome["max_frame"] == defaults.max_frame_bytes


# -- protocol.md: frame types, errors, close codes, roles, routes ---------------------------


def test_frame_type_table_lists_every_frame() -> None:
    t = table(PROTOCOL_MD, "sent by", "`t`")
    documented = {(row[0], unquote(row[1])) for row in t.rows}
    declared = {("client", tag) for tag in frame_tags("ClientFrame")} | {
        ("server", tag) for tag in frame_tags("ServerFrame")
    }
    assert documented == declared


def test_error_table_lists_every_code_with_its_http_status() -> None:
    t = table(PROTOCOL_MD, "`code`", "HTTP")
    documented = {unquote(row[0]): row[1] for row in t.rows}
    assert len(documented) == len(t.rows), "a code is listed twice"
    assert set(documented) == {c.value for c in Code}
    for code in Code:
        status = re.match(r"\d{3}", documented[code.value])
        assert status is not None and int(status.group()) == HTTP_STATUS[code], code
    # The table documents the codes an error frame may carry: the schema's enum.
    enum = schema("protocol.json")["$defs"]["Error"]["properties"]["code"]["enum"]
    assert set(enum) == set(documented)


def test_close_code_table_lists_every_close_code() -> None:
    t = table(PROTOCOL_MD, "close code")
    documented = [int(row[0]) for row in t.rows]
    assert sorted(documented) == sorted(int(c) for c in CloseCode)


def test_role_table_matches_the_permissions() -> None:
    t = table(PROTOCOL_MD, "command", "facilitator", "participant", "observer")
    roles = [Role(name) for name in t.header[1:]]
    documented = {unquote(row[0]) for row in t.rows}
    assert documented == set(CLIENT_COMMANDS) == kinds("Command")
    for row in t.rows:
        allowed = PERMISSIONS[CLIENT_COMMANDS[unquote(row[0])]]
        for role, cell in zip(roles, row[1:], strict=True):
            assert (cell != "no") == (role in allowed), f"{row[0]} for a {role}: {cell!r}"


def _routes() -> list[tuple[str, str]]:
    """(method, path) of every route in server/app.py, read from its source."""
    tree = ast.parse((ROOT / "server" / "app.py").read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id not in {"Route", "WebSocketRoute"} or not node.args:
            continue
        path = node.args[0]
        assert isinstance(path, ast.Constant) and isinstance(path.value, str)
        methods = ["GET"]
        for kw in node.keywords:
            if kw.arg == "methods":
                methods = ast.literal_eval(kw.value)
        method = "WS" if node.func.id == "WebSocketRoute" else methods[0]
        # A path converter ({activity:int}) is documented as the plain parameter.
        found.append((method, re.sub(r"\{(\w+):\w+\}", r"{\1}", path.value)))
    assert found, "no routes found in server/app.py"
    return found


def test_every_route_is_documented() -> None:
    text = flat(PROTOCOL_MD)
    for method, path in _routes():
        if method == "POST":
            assert f"`POST {path}`" in text, f"POST {path} is not in docs/protocol.md"
        elif method == "WS":
            assert f"`{path}`" in text, f"the websocket at {path} is not in docs/protocol.md"
        else:
            assert f"`{method} {path}`" in text or f"`{path}`" in text, (
                f"{method} {path} is not in docs/protocol.md"
            )


def test_client_op_id_rule_is_the_schema_pattern() -> None:
    op_id = schema("protocol.json")["$defs"]["ClientOpId"]
    text = flat(PROTOCOL_MD)
    assert f"`{op_id['pattern']}`" in text
    assert f"{op_id['minLength']}\u2013{op_id['maxLength']} characters"  # an en dash in text


def test_quoted_constants_are_the_codes() -> None:
    """Closed world: every "within N s" (and the like) in protocol.md is one of the code's
    constants, and each constant is quoted; a wrong number anywhere fails."""
    text = flat(PROTOCOL_MD)
    opts = uvicorn_options(config.load({"PLENARY_SECRET": "x"}), "127.0.0.1", 0)
    assert opts["ws_per_message_deflate"] is False, "protocol.md says: no compression"
    phrases = {
        r"within (\d+) s\b": {
            connection.HELLO_TIMEOUT_S,
            connection.LAGGED_GOODBYE_S,
            opts["ws_ping_timeout"],
        },
        r"up to (\d+) ops": {hub.CATCHUP_CHUNK},
        r"after (\d+) s\b": {hub.Hubs.IDLE_EVICT_S},
        r"over (\d+) bytes": {api.MAX_BODY_BYTES},
    }
    for pattern, constants in phrases.items():
        quoted = {float(n) for n in re.findall(pattern, text)}
        assert quoted == {float(c) for c in constants}, (
            f"docs/protocol.md quotes {pattern!r} as {sorted(quoted)}; "
            f"the code says {sorted(constants)}"
        )


SETTING_NAMES = {s.env for s in config.SETTINGS}


@pytest.mark.parametrize("path", [PROTOCOL_MD, SETTINGS_MD], ids=lambda p: p.name)
def test_named_settings_exist(path: Path) -> None:
    named = set(re.findall(r"`(PLENARY_[A-Z0-9_]+)", read(path)))
    assert named, f"{path.name} names no setting"
    unknown = named - SETTING_NAMES
    assert not unknown, f"{path.name} names settings that do not exist: {sorted(unknown)}"


def test_defaults_quoted_in_protocol_md() -> None:
    """Every "`PLENARY_X` ... N by default" in protocol.md has the right N."""
    defaults = {s.env: s.default for s in config.SETTINGS}
    quoted = re.findall(
        r"`(PLENARY_[A-Z0-9_]+)`[^`]{0,40}?\b(\d+)\b[^`\d]{0,12}?by default", flat(PROTOCOL_MD)
    )
    assert len(quoted) >= 5, quoted
    for env, value in quoted:
        assert float(value) == float(defaults[env]), f"{env} defaults to {defaults[env]}"


# -- settings.md ----------------------------------------------------------------------------

TYPE_NAMES = {
    "str": "text",
    "_csv": "list",
    "_bool": "boolean",
    "_positive_int": "integer > 0",
    "_positive_float": "number > 0",
}


def settings_rows() -> dict[str, tuple[str, ...]]:
    rows: dict[str, tuple[str, ...]] = {}
    for t in tables(SETTINGS_MD):
        if t.header != ("variable", "default", "type", "what it does"):
            continue
        for row in t.rows:
            env = unquote(row[0])
            assert env not in rows, f"{env} is listed twice in docs/settings.md"
            rows[env] = row
    return rows


def test_settings_md_lists_exactly_the_settings() -> None:
    documented = settings_rows()
    missing = SETTING_NAMES - set(documented)
    assert not missing, f"docs/settings.md lacks {sorted(missing)}"
    stale = set(documented) - SETTING_NAMES
    assert not stale, f"docs/settings.md lists settings that do not exist: {sorted(stale)}"


@pytest.mark.parametrize("setting", config.SETTINGS, ids=lambda s: s.env)
def test_settings_md_row_is_the_codes(setting: config.Setting) -> None:
    row = settings_rows().get(setting.env)
    assert row is not None, f"docs/settings.md has no row for {setting.env}"
    _, default, type_name, help_text = row
    assert default == (f"`{setting.default}`" if setting.default else "(empty)"), setting.env
    cast = getattr(setting.cast, "__name__", repr(setting.cast))
    assert cast in TYPE_NAMES, f"a new kind of setting ({cast}): describe it in settings.md"
    assert type_name == TYPE_NAMES[cast], setting.env
    assert html.unescape(help_text) == setting.help, f"{setting.env}: help differs from config.py"


def test_settings_md_names_the_masked_settings_and_the_command() -> None:
    text = flat(SETTINGS_MD)
    assert "plenary settings" in text
    masked = re.search(r"Masked by `plenary settings`: ([^(]*)\(", text)
    assert masked is not None
    assert set(re.findall(r"`([A-Z0-9_]+)`", masked.group(1))) == {
        s.env for s in config.SETTINGS if s.secret
    }


def test_fixed_constants_table_is_the_codes() -> None:
    opts = uvicorn_options(config.load({"PLENARY_SECRET": "x"}), "127.0.0.1", 0)
    expected = {
        "HELLO_TIMEOUT_S": f"{connection.HELLO_TIMEOUT_S:g} s",
        "LAGGED_GOODBYE_S": f"{connection.LAGGED_GOODBYE_S:g} s",
        "ws_ping_timeout": f"{opts['ws_ping_timeout']:g} s",
        "ws_per_message_deflate": "on" if opts["ws_per_message_deflate"] else "off",
        "CATCHUP_CHUNK": f"{hub.CATCHUP_CHUNK} ops",
        "GAP_WAIT_S": f"{hub.GAP_WAIT_S * 1000:g} ms",
        "Hubs.IDLE_EVICT_S": f"{hub.Hubs.IDLE_EVICT_S:g} s",
        "MAX_BODY_BYTES": f"{api.MAX_BODY_BYTES} bytes",
        "RECONNECT_MAX_S": f"{redis_bus.RECONNECT_MAX_S:g} s",
        "HELLO_MAX_BYTES": f"{frames.HELLO_MAX_BYTES} bytes",
        "LARGE_FRAME_BYTES": f"{frames.LARGE_FRAME_BYTES} bytes",
        "MAX_WRITES_IN_FLIGHT": f"{connection.MAX_WRITES_IN_FLIGHT} writes",
        "ABUSE_BACKOFF_MS": f"{connection.ABUSE_BACKOFF_MS / 1000:g} s",
        "WORK_SHARE": f"{hub.WORK_SHARE.rate:g} s per s",
        "SECTIONS_MAX": f"{drafts.SECTIONS_MAX} sections",
        "PARAGRAPHS_MAX": f"{drafts.PARAGRAPHS_MAX} paragraphs",
        "MARKS_RUN_MAX": f"{drafts.MARKS_RUN_MAX} marks",
    }
    t = table(SETTINGS_MD, "constant", "value")
    assert {unquote(row[0]): row[1] for row in t.rows} == expected
