"""Migrations apply cleanly to an empty database — SQLite and Postgres — through the
``plenary migrate`` command, twice without harm, and leave exactly the schema the models
declare; downgrading to nothing and upgrading again works too."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from plenary.config import normalise_database_url
from plenary.db import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from plenary.db.migrate import alembic_config, sync_url
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

from .conftest import PG_ADMIN_URL, _reachable, service_missing

TABLES = {"events", "ops", "participants", "notes"}


@pytest.fixture(params=["sqlite", "pg"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it, as a user would set DATABASE_URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty' / 'plenary.sqlite3'}"
        return
    if not _reachable(PG_ADMIN_URL, 5432):
        service_missing(f"PostgreSQL at {PG_ADMIN_URL}")
    name = f"plenary_migrate_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def plenary_migrate(database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLENARY_")}
    env.update(
        DATABASE_URL=database_url,
        PLENARY_DATA_DIR=str(cwd / "data"),
        PLENARY_SECRET="migrate-test",
        PLENARY_LOG_LEVEL="info",
    )
    result = subprocess.run(
        [sys.executable, "-m", "plenary", "migrate"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"plenary migrate failed:\n{result.stdout}\n{result.stderr}"
    return result


def schema_of(database_url: str) -> dict[str, Any]:
    """Tables with their columns, indexes and constraints, as the database reports them."""
    engine = create_engine(sync_url(normalise_database_url(database_url)))
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            return {
                table: {
                    "columns": [(c["name"], str(c["type"])) for c in insp.get_columns(table)],
                    "pk": insp.get_pk_constraint(table)["constrained_columns"],
                    "indexes": sorted(str(i) for i in insp.get_indexes(table)),
                    "unique": sorted(str(u) for u in insp.get_unique_constraints(table)),
                    "fks": sorted(str(f) for f in insp.get_foreign_keys(table)),
                }
                for table in sorted(insp.get_table_names())
            }
    finally:
        engine.dispose()


def differences(database_url: str) -> list[Any]:
    """What autogenerate would change to make the database match the models."""
    engine = create_engine(sync_url(normalise_database_url(database_url)))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff: list[Any] = compare_metadata(context, SQLModel.metadata)
            return diff
    finally:
        engine.dispose()


def test_migrate_command_on_an_empty_database(empty_database: str, tmp_path: Path) -> None:
    first = plenary_migrate(empty_database, tmp_path)
    assert f"database at revision {head_revision()}" in first.stdout
    assert "Running upgrade  -> 0001" in first.stderr, first.stderr
    schema = schema_of(empty_database)
    assert set(schema) >= TABLES, schema.keys()

    # Again: nothing to do, nothing changed.
    second = plenary_migrate(empty_database, tmp_path)
    assert f"database at revision {head_revision()}" in second.stdout
    assert "Running upgrade" not in second.stderr, second.stderr
    assert schema_of(empty_database) == schema


def test_migrated_schema_is_what_the_models_declare(empty_database: str, tmp_path: Path) -> None:
    plenary_migrate(empty_database, tmp_path)
    assert differences(empty_database) == []


def test_downgrade_to_base_and_upgrade_again(empty_database: str, tmp_path: Path) -> None:
    plenary_migrate(empty_database, tmp_path)
    url = normalise_database_url(empty_database)
    command.downgrade(alembic_config(url), "base")
    assert set(schema_of(empty_database)) <= {"alembic_version"}
    command.upgrade(alembic_config(url), "head")
    assert set(schema_of(empty_database)) >= TABLES
    assert differences(empty_database) == []
