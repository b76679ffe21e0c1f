"""Exports: an event's archive and activity tables over HTTP (facilitators only), and
`plenary import` restoring the identical event on the other database (SQLite ⇄ Postgres)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from ..conftest import PG_ADMIN_URL
from .helpers import live_state, new_event
from .test_room import _ok


async def _run_room(server: Any) -> tuple[Any, int, int, Any]:
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann = await ev.participant("Ann", "GP")
    bob = await ev.participant("Bob", "Resident")
    round_ = await _ok(fac, {"kind": "activity.add", "type": "notes", "prompt": "Ideas?"})
    await _ok(fac, {"kind": "activity.set_status", "activity": round_, "status": "open"})
    await _ok(fac, {"kind": "activity.set_current", "activity": round_})
    n1 = (await ann.add_note("night buses, with a comma"))["seq"]
    n2 = (await bob.add_note('cycle "lanes"\nand paths'))["seq"]
    theme = await _ok(fac, {"kind": "theme.add", "round": round_, "name": "Transport"})
    await _ok(fac, {"kind": "note.set_theme", "note": n1, "theme": theme})
    vote = await _ok(
        fac,
        {"kind": "activity.add", "type": "vote", "prompt": "Top?", "vote": {"round": round_}},
    )
    await _ok(fac, {"kind": "activity.set_status", "activity": vote, "status": "open"})
    for who, item in ((ann, n1), (bob, n1), (bob, n2)):
        await _ok(who, {"kind": "dot.add", "vote": vote, "item": item})
    return ev, round_, vote, (n1, n2)


def _plenary(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plenary", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def other_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """A fresh database of the other kind: Postgres for a SQLite event and vice versa."""
    if backend == "pg":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    import psycopg

    request.getfixturevalue("pg_database_url")  # Postgres must be there (CI fails if not)
    name = f"plenary_import_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_archive_and_tables_are_for_facilitators_only(server):
    ev, round_, _vote, _ = await _run_room(server)
    url = f"/api/events/{ev.id}/archive"
    assert (await server.http.get(url)).status_code == 401
    ann = ev.participants[0]["token"]
    refused = await server.http.get(url, headers={"authorization": f"Bearer {ann}"})
    assert refused.status_code == 403
    other = await new_event(server)
    foreign = {"authorization": f"Bearer {other.facilitator_token}"}
    assert (await server.http.get(url, headers=foreign)).status_code == 403
    table = f"/api/events/{ev.id}/activities/{round_}.csv"
    assert (await server.http.get(table, headers=foreign)).status_code == 403
    fac = {"authorization": f"Bearer {ev.facilitator_token}"}
    missing = await server.http.get(f"/api/events/{ev.id}/activities/9999.csv", headers=fac)
    assert missing.status_code == 404


async def test_activity_tables_as_csv(server):
    ev, round_, vote, (n1, n2) = await _run_room(server)
    fac = {"authorization": f"Bearer {ev.facilitator_token}"}
    notes = await server.http.get(f"/api/events/{ev.id}/activities/{round_}.csv", headers=fac)
    assert notes.status_code == 200
    assert notes.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(notes.text)))
    by_id = {int(r["note"]): r for r in rows}
    assert by_id[n1]["text"] == "night buses, with a comma"
    assert by_id[n2]["text"] == 'cycle "lanes"\nand paths'
    assert (by_id[n1]["theme"], by_id[n1]["group"], by_id[n1]["dots"]) == ("Transport", "GP", "2")
    assert by_id[n2]["dots"] == "1"
    votes = await server.http.get(f"/api/events/{ev.id}/activities/{vote}.csv", headers=fac)
    top = next(csv.DictReader(io.StringIO(votes.text)))
    assert (int(top["item"]), top["total"], top["GP"], top["Resident"]) == (n1, "2", "1", "1")


async def test_an_archive_restores_the_identical_event_on_the_other_database(
    server, other_database, tmp_path
):
    ev, _round, _vote, _ = await _run_room(server)
    fac = {"authorization": f"Bearer {ev.facilitator_token}"}
    response = await server.http.get(f"/api/events/{ev.id}/archive", headers=fac)
    assert response.status_code == 200
    original = response.json()
    path = tmp_path / "archive.json"
    path.write_text(response.text, encoding="utf-8")

    env = {"DATABASE_URL": other_database, "PLENARY_DATA_DIR": str(tmp_path / "other")}
    env["PLENARY_SECRET"] = "import-test-secret"
    imported = await asyncio.to_thread(_plenary, env, "import", str(path))
    assert imported.returncode == 0, imported.stderr
    assert f"event {ev.id}" in imported.stdout
    again = await asyncio.to_thread(_plenary, env, "import", str(path))
    assert again.returncode == 1 and "already in this database" in again.stderr

    exported = await asyncio.to_thread(_plenary, env, "export", ev.id)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout) == original, "the restored event is not identical"

    # And the restored event is the same event: its state folds from the same log.
    state = await live_state(server.runtime, ev.id)
    assert len(original["ops"]) == state.seq
