"""Configuration: defaults, environment overrides, clear errors, the stored secret, masking."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from plenary.config import SETTINGS, Config, ConfigError, load, normalise_database_url


def _load(tmp_path: Path, **env: str) -> Config:
    """Load with an explicit environment whose data directory is under ``tmp_path``."""
    return load({"PLENARY_DATA_DIR": str(tmp_path / "data"), **env})


# -- defaults -----------------------------------------------------------------------------


def test_defaults_with_an_empty_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load({})
    data_dir = (tmp_path / ".data").resolve()
    assert config.data_dir == data_dir
    assert config.database_url == f"sqlite+aiosqlite:///{data_dir / 'plenary.sqlite3'}"
    assert config.is_sqlite
    assert config.redis_url == ""  # no Redis: the in-process bus
    assert config.allowed_origins == ()
    assert config.create_key == ""
    assert config.migrate_on_start is True
    assert config.max_frame_bytes == 1048576
    assert config.note_max_chars == 280
    assert config.client_buffer_kb == 1024
    assert config.direct_writes is True
    assert config.resume_window_ops == 2048
    assert config.tick_ms == 10.0
    assert config.heartbeat_seconds == 25.0
    assert config.token_max_age_days == 30.0
    assert config.log_level == "info"
    assert config.public_url == ""
    assert (data_dir / "secret.key").exists()


def test_load_reads_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for s in SETTINGS:
        monkeypatch.delenv(s.env, raising=False)
    monkeypatch.setenv("PLENARY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PLENARY_NOTE_MAX_CHARS", "99")
    config = load()
    assert config.note_max_chars == 99
    assert config.data_dir == tmp_path.resolve()


def test_every_setting_maps_to_a_config_field() -> None:
    fields = set(Config.__dataclass_fields__) - {"sources"}
    assert {s.attr for s in SETTINGS} == fields
    assert len({s.env for s in SETTINGS}) == len(SETTINGS)
    assert all(s.help.strip() for s in SETTINGS)


def test_every_default_is_valid(tmp_path: Path) -> None:
    """Casting each declared default must succeed (a typo in SETTINGS fails here)."""
    for s in SETTINGS:
        s.cast(s.default)
    _load(tmp_path)


# -- overrides ----------------------------------------------------------------------------


def test_environment_overrides(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        DATABASE_URL="postgresql://u:pw@db.example:5432/plenary",
        REDIS_URL="redis://cache:6379/0",
        PLENARY_SECRET="s3cret-value",
        PLENARY_PUBLIC_URL="https://plenary.example.org",
        PLENARY_ALLOWED_ORIGINS=" https://a.example , ,https://b.example,",
        PLENARY_CREATE_KEY="create-me",
        PLENARY_MIGRATE_ON_START="off",
        PLENARY_MAX_FRAME_BYTES="1024",
        PLENARY_NOTE_MAX_CHARS="140",
        PLENARY_CLIENT_BUFFER_KB="8",
        PLENARY_DIRECT_WRITES="off",
        PLENARY_RESUME_WINDOW_OPS="16",
        PLENARY_TICK_MS="2.5",
        PLENARY_HEARTBEAT_SECONDS="10",
        PLENARY_TOKEN_MAX_AGE_DAYS="0.5",
        PLENARY_LOG_LEVEL="WARNING",
    )
    assert config.database_url == "postgresql+psycopg://u:pw@db.example:5432/plenary"
    assert not config.is_sqlite
    assert config.redis_url == "redis://cache:6379/0"
    assert config.secret == "s3cret-value"
    assert config.public_url == "https://plenary.example.org"
    assert config.allowed_origins == ("https://a.example", "https://b.example")
    assert config.create_key == "create-me"
    assert config.migrate_on_start is False
    assert config.max_frame_bytes == 1024
    assert config.note_max_chars == 140
    assert config.client_buffer_kb == 8
    assert config.direct_writes is False
    assert config.resume_window_ops == 16
    assert config.tick_ms == 2.5
    assert config.heartbeat_seconds == 10.0
    assert config.token_max_age_days == 0.5
    assert config.log_level == "warning"
    assert not (tmp_path / "data" / "secret.key").exists()  # a given secret is not stored


def test_sources_say_where_each_value_came_from(tmp_path: Path) -> None:
    config = _load(tmp_path, PLENARY_TICK_MS="5", REDIS_URL="")
    assert config.sources["PLENARY_TICK_MS"] == "environment"
    assert config.sources["PLENARY_DATA_DIR"] == "environment"
    assert config.sources["REDIS_URL"] == "default"  # empty counts as unset
    assert config.sources["DATABASE_URL"] == "default"
    assert config.sources["PLENARY_SECRET"].startswith("generated (")
    assert str(tmp_path / "data" / "secret.key") in config.sources["PLENARY_SECRET"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        (" Yes ", True),
        ("ON", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
    ],
)
def test_booleans(tmp_path: Path, raw: str, expected: bool) -> None:
    assert _load(tmp_path, PLENARY_MIGRATE_ON_START=raw).migrate_on_start is expected


def test_allowed_origins_star(tmp_path: Path) -> None:
    assert _load(tmp_path, PLENARY_ALLOWED_ORIGINS="*").allowed_origins == ("*",)


def test_data_dir_is_resolved_and_user_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load({"PLENARY_DATA_DIR": "~/plenary-data/../plenary-data"})
    assert config.data_dir == (tmp_path / "plenary-data").resolve()
    assert config.data_dir.is_absolute()


# -- invalid values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "raw", "fragment"),
    [
        ("PLENARY_MAX_FRAME_BYTES", "0", "expected a positive integer, got '0'"),
        ("PLENARY_MAX_FRAME_BYTES", "-5", "expected a positive integer, got '-5'"),
        ("PLENARY_NOTE_MAX_CHARS", "lots", "invalid literal for int()"),
        ("PLENARY_CLIENT_BUFFER_KB", "2.5", "invalid literal for int()"),
        ("PLENARY_RESUME_WINDOW_OPS", "0", "positive integer"),
        ("PLENARY_TICK_MS", "0", "expected a positive number, got '0'"),
        ("PLENARY_TICK_MS", "-1", "expected a positive number"),
        ("PLENARY_HEARTBEAT_SECONDS", "soon", "could not convert string to float"),
        ("PLENARY_TOKEN_MAX_AGE_DAYS", "-30", "positive number"),
        ("PLENARY_MIGRATE_ON_START", "maybe", "expected true/false, got 'maybe'"),
        ("PLENARY_LOG_LEVEL", "verbose", "unknown level 'verbose'"),
    ],
)
def test_invalid_values_name_the_variable(
    tmp_path: Path, env: str, raw: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, **{env: raw})
    message = str(info.value)
    assert message.startswith(f"{env}: ")
    assert fragment in message
    assert info.value.__cause__ is None  # raised `from None`: one clear line, no chain


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize(
    ("env", "raw"),
    [
        ("PLENARY_TICK_MS", "nan"),
        ("PLENARY_HEARTBEAT_SECONDS", "inf"),
        ("PLENARY_TOKEN_MAX_AGE_DAYS", "1e400"),
    ],
)
def test_non_finite_numbers_are_refused(tmp_path: Path, env: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=env):
        _load(tmp_path, **{env: raw})


# -- the stored secret -----------------------------------------------------------------------


def test_secret_is_generated_stored_private_and_reused(tmp_path: Path) -> None:
    first = _load(tmp_path)
    path = tmp_path / "data" / "secret.key"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first.secret
    assert len(first.secret) >= 32
    second = _load(tmp_path)
    assert second.secret == first.secret
    other = load({"PLENARY_DATA_DIR": str(tmp_path / "elsewhere")})
    assert other.secret != first.secret


def test_data_dir_is_created(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b" / "c"
    config = load({"PLENARY_DATA_DIR": str(nested)})
    assert nested.is_dir()
    assert (nested / "secret.key").read_text().strip() == config.secret


def test_existing_secret_file_is_used(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret.key").write_text("kept-from-last-time\n")
    assert _load(tmp_path).secret == "kept-from-last-time"


def test_given_secret_wins_over_the_stored_one(tmp_path: Path) -> None:
    _load(tmp_path)
    assert _load(tmp_path, PLENARY_SECRET="shared").secret == "shared"


def test_empty_stored_secret_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret.key").write_text("")
    try:
        config = _load(tmp_path)
    except ConfigError:
        return
    assert config.secret != ""


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_secret_file_is_not_world_readable_even_with_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        _load(tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "data" / "secret.key").stat().st_mode) == 0o600


# -- database URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql://u:p@h/db?sslmode=require", "postgresql+psycopg://u:p@h/db?sslmode=require"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///relative.db", "sqlite+aiosqlite:///relative.db"),
        ("sqlite:////abs/path/plenary.db", "sqlite+aiosqlite:////abs/path/plenary.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("sqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_normalise_database_url(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected
    assert normalise_database_url(expected) == expected  # idempotent


def test_database_url_from_environment_is_normalised(tmp_path: Path) -> None:
    config = _load(tmp_path, DATABASE_URL="sqlite:///" + str(tmp_path / "x.db"))
    assert config.database_url == f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert config.is_sqlite


# -- describe() ----------------------------------------------------------------------------------


def _described(config: Config) -> dict[str, tuple[str, str, str]]:
    return {env: (shown, source, help_) for env, shown, source, help_ in config.describe()}


def test_describe_lists_every_setting_with_help(tmp_path: Path) -> None:
    rows = _load(tmp_path).describe()
    assert [row[0] for row in rows] == [s.env for s in SETTINGS]
    assert all(row[3] for row in rows)


def test_describe_masks_secrets_and_passwords(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        DATABASE_URL="postgresql://plenary:hunter2@db.example:5432/plenary",
        REDIS_URL="redis://:redispw@cache.example:6379/0",
        PLENARY_SECRET="token-signing-key",
        PLENARY_CREATE_KEY="create-key-value",
    )
    rows = _described(config)
    everything = repr(config.describe())
    for secret in ("hunter2", "redispw", "token-signing-key", "create-key-value"):
        assert secret not in everything
    assert rows["DATABASE_URL"][0] == "postgresql+psycopg://plenary:***@db.example:5432/plenary"
    assert rows["REDIS_URL"][0] == "redis://:***@cache.example:6379/0"
    assert rows["PLENARY_SECRET"][0] == "***"
    assert rows["PLENARY_CREATE_KEY"][0] == "***"
    assert rows["PLENARY_SECRET"][1] == "environment"


def test_describe_masks_a_password_containing_at_and_colon(tmp_path: Path) -> None:
    config = _load(tmp_path, DATABASE_URL="postgresql://me:p@ss:w0rd@db/plenary")
    shown = _described(config)["DATABASE_URL"][0]
    assert shown == "postgresql+psycopg://me:***@db/plenary"
    assert "w0rd" not in shown


def test_describe_masks_the_generated_secret(tmp_path: Path) -> None:
    config = _load(tmp_path)
    rows = _described(config)
    assert rows["PLENARY_SECRET"][0] == "***"
    assert config.secret not in repr(config.describe())
    assert rows["PLENARY_SECRET"][1].startswith("generated")


def test_describe_shows_plain_values_and_urls_without_credentials(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        REDIS_URL="redis://cache:6379/0",
        PLENARY_ALLOWED_ORIGINS="https://a.example,https://b.example",
    )
    rows = _described(config)
    assert rows["REDIS_URL"][0] == "redis://cache:6379/0"
    assert rows["PLENARY_ALLOWED_ORIGINS"][0] == "https://a.example,https://b.example"
    assert rows["PLENARY_NOTE_MAX_CHARS"][0] == "280"
    assert rows["PLENARY_CREATE_KEY"][0] == ""  # empty secrets stay visibly empty
    assert rows["DATABASE_URL"][0].startswith("sqlite+aiosqlite:///")


def test_looking_at_the_settings_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    looked = load({"PLENARY_DATA_DIR": str(data)}, create_secret=False)
    assert not data.exists()
    assert looked.secret == ""
    assert looked.sources["PLENARY_SECRET"].startswith("not generated yet")
    started = load({"PLENARY_DATA_DIR": str(data)})
    again = load({"PLENARY_DATA_DIR": str(data)}, create_secret=False)
    assert again.secret == started.secret != ""
    assert again.sources["PLENARY_SECRET"].startswith("stored (")


def test_a_password_in_the_query_string_is_masked(tmp_path: Path) -> None:
    cfg = load(
        {
            "PLENARY_DATA_DIR": str(tmp_path),
            "PLENARY_SECRET": "s" * 20,
            "DATABASE_URL": "postgresql://db.internal/plenary?password=hunter2",
        }
    )
    shown = dict((env, value) for env, value, _, _ in cfg.describe())
    assert "hunter2" not in shown["DATABASE_URL"]
    assert shown["DATABASE_URL"].endswith("?***")
