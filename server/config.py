"""Configuration: read once from the environment, cast, validated, documented.

Every setting is declared in ``SETTINGS`` with its environment variable, default and help
text; ``plenary settings`` prints the table and ``docs/settings.md`` is checked against it.
"""

from __future__ import annotations

import math
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    env: str
    attr: str
    default: str
    help: str
    cast: Callable[[str], Any] = str
    secret: bool = False


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"expected a positive integer, got {raw!r}")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"expected a positive number, got {raw!r}")
    return value


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "PLENARY_DATA_DIR",
        "data_dir",
        "./.data",
        "Directory for the embedded SQLite database and the generated secret.",
    ),
    Setting(
        "DATABASE_URL",
        "database_url",
        "",
        "SQLAlchemy URL of the database. Empty: a SQLite file in the data directory. "
        "postgres://, postgresql:// and sqlite:/// URLs are accepted as given.",
        secret=True,
    ),
    Setting(
        "REDIS_URL",
        "redis_url",
        "",
        "Redis URL for fan-out between server processes. Empty: an in-process bus "
        "(one server process only).",
        secret=True,
    ),
    Setting(
        "PLENARY_SECRET",
        "secret",
        "",
        "Key that signs access tokens. Empty: generated once and stored in the data "
        "directory. Several server processes must share one value.",
        secret=True,
    ),
    Setting(
        "PLENARY_PUBLIC_URL",
        "public_url",
        "",
        "Base URL people use to reach this server (for join links and QR codes). "
        "Empty: http://<host>:<port> of the running server.",
    ),
    Setting(
        "PLENARY_ALLOWED_ORIGINS",
        "allowed_origins",
        "",
        "Comma-separated origins, besides the server's own, allowed to open a websocket and "
        "call the HTTP API from a browser (e.g. https://projector.example.org). "
        "'*' allows any origin.",
        _csv,
    ),
    Setting(
        "PLENARY_CREATE_KEY",
        "create_key",
        "",
        "If set, creating an event over HTTP needs 'Authorization: Bearer <key>'. "
        "Empty: anyone who can reach the server may create events.",
        secret=True,
    ),
    Setting(
        "PLENARY_MIGRATE_ON_START",
        "migrate_on_start",
        "true",
        "Apply database migrations when the server starts (serialised across processes).",
        _bool,
    ),
    Setting(
        "PLENARY_MAX_FRAME_BYTES",
        "max_frame_bytes",
        "1048576",
        "Largest websocket frame a client may send; larger frames close the connection (1009). "
        "The default fits a saved draft of the longest length allowed (300,000 characters).",
        _positive_int,
    ),
    Setting(
        "PLENARY_NOTE_MAX_CHARS",
        "note_max_chars",
        "280",
        "Longest sticky note, in characters (a sticky note, not an essay).",
        _positive_int,
    ),
    Setting(
        "PLENARY_CLIENT_BUFFER_KB",
        "client_buffer_kb",
        "1024",
        "KiB of frames held per connection, beyond the kernel's socket buffer, before a client "
        "that stopped reading is told to resync and closed (it resumes where it was).",
        _positive_int,
    ),
    Setting(
        "PLENARY_DIRECT_WRITES",
        "direct_writes",
        "true",
        "Write broadcast frames straight into uvicorn's transport (fast); false forces the "
        "plain ASGI path, which any server supports.",
        _bool,
    ),
    Setting(
        "PLENARY_RESUME_WINDOW_OPS",
        "resume_window_ops",
        "2048",
        "Recent ops kept in memory per event so reconnecting clients resume without the database; "
        "a client further behind gets a snapshot.",
        _positive_int,
    ),
    Setting(
        "PLENARY_TICK_MS",
        "tick_ms",
        "10",
        "Delivery tick: ops of one event arriving within this many ms go out as one frame.",
        _positive_float,
    ),
    Setting(
        "PLENARY_HEARTBEAT_SECONDS",
        "heartbeat_seconds",
        "25",
        "Websocket ping interval. Phones on venue wifi lose idle NAT mappings at about 30 s, "
        "so traffic every 25 s keeps them open.",
        _positive_float,
    ),
    Setting(
        "PLENARY_TOKEN_MAX_AGE_DAYS",
        "token_max_age_days",
        "30",
        "How long an access token stays valid (an event plus its follow-up weeks).",
        _positive_float,
    ),
    Setting(
        "PLENARY_WRITE_RATE",
        "write_rate",
        "20",
        "Writes per second one connection (and one token across its connections) may keep up; "
        "past it and the burst, writes are answered rate_limited with a retry hint.",
        _positive_float,
    ),
    Setting(
        "PLENARY_WRITE_BURST",
        "write_burst",
        "100",
        "Writes one connection may send at once before the rate applies: a phone replaying "
        "an offline queue of 50 notes, or a console importing an agenda, passes.",
        _positive_int,
    ),
    Setting(
        "PLENARY_PING_RATE",
        "ping_rate",
        "2",
        "Pings per second a connection may send (burst ten times that); the client's own "
        "heartbeat is one every 25 s. Pings past it go unanswered and count as refused.",
        _positive_float,
    ),
    Setting(
        "PLENARY_REFUSED_RATE",
        "refused_rate",
        "2",
        "Refused frames per second (bad frames, frames past a rate limit) a connection may keep "
        "up, with a burst of 20 times that; past it the connection is closed (4029).",
        _positive_float,
    ),
    Setting(
        "PLENARY_ADDRESS_CONNECTIONS",
        "address_connections",
        "1000",
        "Open websocket connections from one client address. A whole room sits behind one venue "
        "NAT: 250 phones, a projector and some observers must fit.",
        _positive_int,
    ),
    Setting(
        "PLENARY_ADDRESS_JOINS_PER_MINUTE",
        "address_joins_per_minute",
        "600",
        "Joins, observes and facilitator sign-ins per minute from one address (the burst too): "
        "a room of 250 joining in its first minute, twice over for retries, passes. Past it: 429.",
        _positive_int,
    ),
    Setting(
        "PLENARY_ADDRESS_LOOKUPS_PER_MINUTE",
        "address_lookups_per_minute",
        "600",
        "Join-code look-ups per minute from one address (the burst too). Past it: 429.",
        _positive_int,
    ),
    Setting(
        "PLENARY_ADDRESS_MISSES_PER_MINUTE",
        "address_misses_per_minute",
        "20",
        "Join codes that match no event, per minute from one address (the burst too), on any "
        "route; past it every code from that address is answered 429. This is what makes "
        "guessing codes take years (docs/protocol.md).",
        _positive_int,
    ),
    Setting(
        "PLENARY_GROUP_MIN_SIZE",
        "group_min_size",
        "3",
        "Smallest stakeholder group whose figures (tallies, reactions) participants, observers "
        "and the projector see on its own; smaller groups are folded together, so that no "
        "one's dots can be read off a group of one or two. Facilitators see every group.",
        _positive_int,
    ),
    Setting(
        "PLENARY_DRAFT_WORK_SECONDS",
        "draft_work_seconds",
        "5",
        "Time budget for the heavy work of one draft save or publication (normalising, "
        "matching sections, diffing), done off the event loop; past it the write is refused.",
        _positive_float,
    ),
    Setting(
        "PLENARY_LOG_LEVEL",
        "log_level",
        "info",
        "Log level: debug, info, warning, error.",
    ),
)


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str
    redis_url: str
    secret: str
    public_url: str
    allowed_origins: tuple[str, ...]
    create_key: str
    migrate_on_start: bool
    max_frame_bytes: int
    note_max_chars: int
    client_buffer_kb: int
    direct_writes: bool
    resume_window_ops: int
    tick_ms: float
    heartbeat_seconds: float
    token_max_age_days: float
    write_rate: float
    write_burst: int
    ping_rate: float
    refused_rate: float
    address_connections: int
    address_joins_per_minute: int
    address_lookups_per_minute: int
    address_misses_per_minute: int
    group_min_size: int
    draft_work_seconds: float
    log_level: str
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def describe(self) -> list[tuple[str, str, str, str]]:
        """(variable, value shown, source, help) per setting; secrets are masked."""
        rows = []
        for s in SETTINGS:
            value = getattr(self, s.attr)
            if isinstance(value, tuple):
                value = ",".join(value)
            shown = str(value)
            if s.secret and shown:
                shown = _mask_secret(shown)
            rows.append((s.env, shown, self.sources.get(s.env, "default"), s.help))
        return rows


def _mask_secret(value: str) -> str:
    if "://" in value and "?" in value:
        # Drivers take passwords in the query too (``?password=``); show none of it.
        value = value.split("?", 1)[0] + "?***"
    if "://" in value and "@" in value:
        scheme, rest = value.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    if "://" in value:
        return value
    return "***"


def normalise_database_url(url: str) -> str:
    """Pick the async driver for the given database URL."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


def load(environ: Mapping[str, str] | None = None, *, create_secret: bool = True) -> Config:
    """Read every setting from ``environ`` (default: the process environment).

    ``create_secret=False`` only looks: a missing stored secret stays empty, so that
    checking the settings of a deployment does not write into it."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for s in SETTINGS:
        raw = env.get(s.env)
        sources[s.env] = "environment" if raw not in (None, "") else "default"
        if raw in (None, ""):
            raw = s.default
        try:
            values[s.attr] = s.cast(raw)
        except ValueError as exc:
            raise ConfigError(f"{s.env}: {exc}") from None
    data_dir = Path(values["data_dir"]).expanduser().resolve()
    values["data_dir"] = data_dir
    if not values["database_url"]:
        values["database_url"] = f"sqlite+aiosqlite:///{data_dir / 'plenary.sqlite3'}"
        sources["DATABASE_URL"] = "default"
    values["database_url"] = normalise_database_url(values["database_url"])
    stored = data_dir / "secret.key"
    if not values["secret"] and (create_secret or stored.exists()):
        values["secret"], how = _stored_secret(data_dir)
        sources["PLENARY_SECRET"] = f"{how} ({stored})"
    elif not values["secret"]:
        sources["PLENARY_SECRET"] = f"not generated yet; the first start writes {stored}"
    values["log_level"] = values["log_level"].lower()
    if values["log_level"] not in {"debug", "info", "warning", "error"}:
        raise ConfigError(f"PLENARY_LOG_LEVEL: unknown level {values['log_level']!r}")
    return Config(**values, sources=sources)


def _stored_secret(data_dir: Path) -> tuple[str, str]:
    """The signing key kept in the data directory, created on first use (mode 0600), and
    whether it was "generated" or "stored"."""
    path = data_dir / "secret.key"
    if path.exists():
        return _read_secret(path), "stored"
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    # Written whole, then linked into place: a process starting alongside never reads a
    # half-written (or empty) key, and two processes never end up with different keys.
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".secret-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    except FileExistsError:  # another process got there first: use theirs
        return _read_secret(path), "stored"
    finally:
        os.unlink(tmp)
    return value, "generated"


_MIN_SECRET_CHARS = 16


def _read_secret(path: Path) -> str:
    value = path.read_text().strip()
    if len(value) < _MIN_SECRET_CHARS:
        # An empty key would let anyone sign tokens; refuse to start rather than use it.
        raise ConfigError(
            f"{path} holds no usable secret (under {_MIN_SECRET_CHARS} characters); "
            "delete it to generate a new one (signed-in phones will have to join again) "
            "or set PLENARY_SECRET"
        )
    return value
