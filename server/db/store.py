"""Reading and appending the log, and writing the projections it drives."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.export import EventRecord, Logged
from ..domain.fold import (
    Effect,
    EventChanged,
    NoteChanged,
    NoteRemoved,
    ParticipantChanged,
    apply,
)
from ..domain.model import EventState, Op
from .models import EventRow, NoteRow, OpRow, ParticipantRow

events = EventRow.__table__  # type: ignore[attr-defined]
ops = OpRow.__table__  # type: ignore[attr-defined]
participants = ParticipantRow.__table__  # type: ignore[attr-defined]
notes = NoteRow.__table__  # type: ignore[attr-defined]


async def insert_event(
    conn: AsyncConnection, *, event_id: str, code: str, key_hash: str, created_at: int
) -> None:
    await conn.execute(
        events.insert().values(
            id=event_id,
            code=code,
            title="",
            groups=[],
            facilitator_key_hash=key_hash,
            last_seq=0,
            created_at=created_at,
        )
    )


async def code_taken(conn: AsyncConnection, code: str) -> bool:
    found = await conn.execute(select(events.c.id).where(events.c.code == code))
    return found.first() is not None


async def event_by_code(conn: AsyncConnection, code: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(events).where(events.c.code == code))).mappings().first()
    return dict(row) if row else None


async def event_by_id(conn: AsyncConnection, event_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(events).where(events.c.id == event_id))).mappings().first()
    return dict(row) if row else None


async def lock_event(conn: AsyncConnection, event_id: str) -> int | None:
    """The event's last seq, with its row locked until the transaction ends (Postgres).

    On SQLite the transaction already holds the database's write lock (BEGIN IMMEDIATE).
    """
    query = select(events.c.last_seq).where(events.c.id == event_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    found = (await conn.execute(query)).first()
    return None if found is None else int(found[0])


async def last_seq(conn: AsyncConnection, event_id: str) -> int | None:
    found = (await conn.execute(select(events.c.last_seq).where(events.c.id == event_id))).first()
    return None if found is None else int(found[0])


async def find_client_op(
    conn: AsyncConnection, event_id: str, actor: str, client_op_id: str
) -> int | None:
    """The seq already recorded for this writer's client op id, if any."""
    found = (
        await conn.execute(
            select(ops.c.seq).where(
                ops.c.event_id == event_id,
                ops.c.actor == actor,
                ops.c.client_op_id == client_op_id,
            )
        )
    ).first()
    return None if found is None else int(found[0])


async def find_client_ops(
    conn: AsyncConnection, event_id: str, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The seqs already recorded for these (writer, client op id) pairs, in one query."""
    if not keys:
        return {}
    wanted = set(keys)
    rows = await conn.execute(
        select(ops.c.seq, ops.c.actor, ops.c.client_op_id).where(
            ops.c.event_id == event_id,
            ops.c.client_op_id.in_(sorted({op_id for _, op_id in wanted})),
        )
    )
    return {
        (r.actor, r.client_op_id): int(r.seq) for r in rows if (r.actor, r.client_op_id) in wanted
    }


async def append_ops(
    conn: AsyncConnection, event_id: str, made: list[tuple[Op, str | None]]
) -> None:
    """Append several ops in one statement; their effects are written separately."""
    await conn.execute(
        ops.insert(),
        [
            {
                "event_id": event_id,
                "seq": op.seq,
                "kind": op.kind,
                "actor": op.by,
                "client_op_id": client_op_id,
                "at": op.at,
                "data": op.data,
            }
            for op, client_op_id in made
        ],
    )


async def write_effects(conn: AsyncConnection, event_id: str, effects: list[Effect]) -> None:
    for effect in effects:
        await _write_effect(conn, event_id, effect)


async def read_ops(
    conn: AsyncConnection, event_id: str, after: int, upto: int | None = None
) -> list[Op]:
    """Ops with ``after < seq <= upto`` in seq order."""
    query = select(ops.c.seq, ops.c.kind, ops.c.actor, ops.c.at, ops.c.data).where(
        ops.c.event_id == event_id, ops.c.seq > after
    )
    if upto is not None:
        query = query.where(ops.c.seq <= upto)
    rows = await conn.execute(query.order_by(ops.c.seq))
    return [Op(seq=r.seq, kind=r.kind, by=r.actor, at=r.at, data=r.data) for r in rows]


async def count_ops(conn: AsyncConnection, event_id: str) -> int:
    found = await conn.execute(select(func.count()).where(ops.c.event_id == event_id))
    return int(found.scalar_one())


async def record(
    conn: AsyncConnection,
    event_id: str,
    op: Op,
    client_op_id: str | None,
    effects: list[Effect],
) -> None:
    """Append ``op`` and write its effects; the caller holds the event lock, then sets the
    event's last seq (``set_last_seq``, once for several ops) and commits."""
    await conn.execute(
        ops.insert().values(
            event_id=event_id,
            seq=op.seq,
            kind=op.kind,
            actor=op.by,
            client_op_id=client_op_id,
            at=op.at,
            data=op.data,
        )
    )
    for effect in effects:
        await _write_effect(conn, event_id, effect)


async def set_last_seq(conn: AsyncConnection, event_id: str, seq: int) -> None:
    await conn.execute(update(events).where(events.c.id == event_id).values(last_seq=seq))


async def _write_effect(conn: AsyncConnection, event_id: str, effect: Effect) -> None:
    match effect:
        case EventChanged(state=state):
            await conn.execute(
                update(events)
                .where(events.c.id == event_id)
                .values(title=state.title, groups=list(state.groups), code=state.code)
            )
        case ParticipantChanged(participant=p):
            await _upsert(
                conn,
                participants,
                {"event_id": event_id, **p.to_wire()},
                keys=("event_id", "id"),
            )
        case NoteChanged(note=n):
            await _upsert(
                conn, notes, {"event_id": event_id, **n.to_wire()}, keys=("event_id", "id")
            )
        case NoteRemoved(note_id=note_id):
            await conn.execute(
                delete(notes).where(notes.c.event_id == event_id, notes.c.id == note_id)
            )


async def _upsert(
    conn: AsyncConnection, table: Any, values: dict[str, Any], keys: tuple[str, ...]
) -> None:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).values(**values)
    changed = {k: v for k, v in values.items() if k not in keys}
    await conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=changed))


async def read_projection(conn: AsyncConnection, event_id: str) -> dict[str, Any]:
    """The projection tables of one event, in the shape of ``EventState.projection()``."""
    event = await event_by_id(conn, event_id)
    if event is None:
        return {}
    prows = await conn.execute(
        select(participants).where(participants.c.event_id == event_id).order_by(participants.c.id)
    )
    nrows = await conn.execute(
        select(notes).where(notes.c.event_id == event_id).order_by(notes.c.id)
    )
    return {
        "id": event["id"],
        "seq": event["last_seq"],
        "title": event["title"],
        "code": event["code"],
        "groups": list(event["groups"]),
        "participants": [{k: v for k, v in r.items() if k != "event_id"} for r in prows.mappings()],
        "notes": [{k: v for k, v in r.items() if k != "event_id"} for r in nrows.mappings()],
    }


async def delete_event(conn: AsyncConnection, event_id: str) -> None:
    """Remove an event that never got its first op (its creation was refused)."""
    await conn.execute(delete(ops).where(ops.c.event_id == event_id))
    await conn.execute(delete(events).where(events.c.id == event_id))


async def read_log(conn: AsyncConnection, event_id: str) -> list[Logged]:
    """The whole log with the client op ids it was written under: what an archive holds."""
    rows = await conn.execute(
        select(ops.c.seq, ops.c.kind, ops.c.actor, ops.c.at, ops.c.data, ops.c.client_op_id)
        .where(ops.c.event_id == event_id)
        .order_by(ops.c.seq)
    )
    return [
        Logged(Op(seq=r.seq, kind=r.kind, by=r.actor, at=r.at, data=r.data), r.client_op_id)
        for r in rows
    ]


async def restore(conn: AsyncConnection, event: EventRecord, log: list[Logged]) -> None:
    """Write an archived event into this database: the same row, the same log, and the
    projections its ops drive, exactly as if it had run here. The caller commits."""
    await insert_event(
        conn,
        event_id=event.id,
        code=event.code,
        key_hash=event.facilitator_key_hash,
        created_at=event.created_at,
    )
    state = EventState(id=event.id)
    for entry in log:
        state, effects = apply(state, entry.op)
        await record(conn, event.id, entry.op, entry.client_op_id, effects)
    if log:
        await set_last_seq(conn, event.id, log[-1].op.seq)
