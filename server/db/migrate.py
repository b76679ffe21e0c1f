"""Alembic, driven from code: ``plenary migrate`` and the server's start-up both call this."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def sync_url(url: str) -> str:
    """Alembic runs synchronously: the same database through a blocking driver."""
    return url.replace("sqlite+aiosqlite://", "sqlite://", 1)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from .engine import _ensure_sqlite_dir

    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            rev: str | None = MigrationContext.configure(conn).get_current_revision()
            return rev
    finally:
        engine.dispose()


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
