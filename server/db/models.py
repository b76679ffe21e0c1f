"""Tables. ``ops`` is the log (the source of truth); the others are projections of it,
written in the same transaction as the op that changes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class EventRow(SQLModel, table=True):
    __tablename__ = "events"

    id: str = Field(primary_key=True, max_length=40)
    code: str = Field(max_length=12, unique=True)
    title: str = Field(max_length=200)
    groups: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    facilitator_key_hash: str = Field(max_length=64)
    # The last seq appended. Writers lock this row, so appends to one event are serialised.
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class OpRow(SQLModel, table=True):
    __tablename__ = "ops"
    __table_args__ = (
        # Idempotency: a client op id is recorded once per writer per event.
        UniqueConstraint("event_id", "actor", "client_op_id", name="uq_ops_client_op"),
    )

    event_id: str = Field(primary_key=True, foreign_key="events.id", max_length=40)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=64)
    client_op_id: str | None = Field(default=None, max_length=64)
    at: int = Field(sa_column=Column(BigInteger, nullable=False))
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class ParticipantRow(SQLModel, table=True):
    __tablename__ = "participants"

    event_id: str = Field(primary_key=True, foreign_key="events.id", max_length=40)
    id: str = Field(primary_key=True, max_length=64)
    name: str | None = Field(default=None, max_length=60)
    group: str | None = Field(default=None, max_length=60)
    table: str | None = Field(default=None, max_length=20)
    joined_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class NoteRow(SQLModel, table=True):
    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_event_author", "event_id", "author"),)

    event_id: str = Field(primary_key=True, foreign_key="events.id", max_length=40)
    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    author: str = Field(max_length=64)
    group: str | None = Field(default=None, max_length=60)
    table: str | None = Field(default=None, max_length=20)
    text: str = Field(max_length=4000)
    colour: str | None = Field(default=None, max_length=20)
    hidden: bool = False
    created_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
