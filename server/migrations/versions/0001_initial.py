"""initial: events, the ops log, participants, notes

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("facilitator_key_hash", sa.String(64), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "ops",
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("client_op_id", sa.String(64), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("event_id", "seq"),
        sa.UniqueConstraint("event_id", "actor", "client_op_id", name="uq_ops_client_op"),
    )
    op.create_table(
        "participants",
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(60), nullable=True),
        sa.Column("group", sa.String(60), nullable=True),
        sa.Column("table", sa.String(20), nullable=True),
        sa.Column("joined_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("event_id", "id"),
    )
    op.create_table(
        "notes",
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("group", sa.String(60), nullable=True),
        sa.Column("table", sa.String(20), nullable=True),
        sa.Column("text", sa.String(4000), nullable=False),
        sa.Column("colour", sa.String(20), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("created_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("event_id", "id"),
    )
    op.create_index("ix_notes_event_author", "notes", ["event_id", "author"])


def downgrade() -> None:
    op.drop_index("ix_notes_event_author", table_name="notes")
    op.drop_table("notes")
    op.drop_table("participants")
    op.drop_table("ops")
    op.drop_table("events")
