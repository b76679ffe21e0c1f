"""Archives and spreadsheets of an event, over HTTP (facilitators) and from the CLI."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..db import store
from ..db.engine import Database
from ..domain.export import EventRecord, activity_table, archive, read_archive
from ..domain.fold import fold
from ..domain.model import EventState, Role
from ..errors import Code, Rejection
from ..runtime import Runtime
from .api import error


async def load_archive(db: Database, event_id: str) -> dict[str, Any] | None:
    async with db.read() as conn:
        row = await store.event_by_id(conn, event_id)
        if row is None:
            return None
        log = await store.read_log(conn, event_id)
    record = EventRecord(row["id"], row["code"], row["facilitator_key_hash"], row["created_at"])
    return archive(record, log)


async def restore_archive(db: Database, raw: Any) -> EventState | Rejection:
    """Restore an archive into ``db`` as the identical event, or say why not."""
    checked = read_archive(raw)
    if isinstance(checked, Rejection):
        return checked
    event, log, state = checked
    async with db.write() as conn:
        if await store.event_by_id(conn, event.id) is not None:
            return Rejection(Code.CONFLICT, f"event {event.id} is already in this database")
        if await store.code_taken(conn, event.code):
            return Rejection(Code.CONFLICT, f"join code {event.code} is taken in this database")
        await store.restore(conn, event, log)
    return state


# A cell a spreadsheet would read as a formula. Participants type these texts, and a
# facilitator opens the file in Excel or LibreOffice: "=HYPERLINK(...)" in a note must
# stay text (OWASP's advice for CSV injection: prefix such cells with a quote).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: Any) -> Any:
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def csv_text(rows: list[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(tuple(spreadsheet_safe(c) for c in row) for row in rows)
    return out.getvalue()


async def _facilitator_check(request: Request, event_id: str) -> Response | None:
    rt: Runtime = request.app.state.runtime
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    grant = rt.tokens.verify(token) if token else None
    if grant is None:
        return error(Code.UNAUTHORISED, "send a facilitator token: Authorization: Bearer …")
    if grant.event != event_id or grant.actor.role is not Role.FACILITATOR:
        return error(Code.FORBIDDEN, "only this event's facilitators may export it")
    return None


async def event_archive(request: Request) -> Response:
    event_id = request.path_params["event"]
    refused = await _facilitator_check(request, event_id)
    if refused is not None:
        return refused
    data = await load_archive(request.app.state.runtime.db, event_id)
    if data is None:
        return error(Code.NOT_FOUND, "this event no longer exists")
    return Response(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{event_id}.json"'},
    )


async def activity_csv(request: Request) -> Response:
    event_id = request.path_params["event"]
    refused = await _facilitator_check(request, event_id)
    if refused is not None:
        return refused
    db: Database = request.app.state.runtime.db
    async with db.read() as conn:
        log = await store.read_log(conn, event_id)
    # The log, not a hub's memory: the export is exact on any process, loaded or not.
    state = fold(event_id, [entry.op for entry in log])
    table = activity_table(state, request.path_params["activity"])
    if isinstance(table, Rejection):
        return error(table.code, table.message)
    name = f"{event_id}-activity-{request.path_params['activity']}.csv"
    return Response(
        csv_text(table),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
