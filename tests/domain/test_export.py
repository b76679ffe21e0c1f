"""Archives and activity tables, from states built by the rules. Pure."""

from __future__ import annotations

from typing import Any

from plenary.domain.commands import AddDot, HideNote, MergeNotes
from plenary.domain.export import (
    ARCHIVE_FORMAT,
    NOTES_HEADER,
    EventRecord,
    Logged,
    activity_table,
    archive,
    read_archive,
)
from plenary.errors import Code, Rejection

from . import FACILITATOR, OTHER_PARTICIPANT, PARTICIPANT, room, step

RECORD = EventRecord("ev_test", "ABC346", "f" * 64, 1_700_000_000_000)


def _archive() -> tuple[dict[str, Any], Any]:
    state, ops, ids = room()
    log = [Logged(op, f"c{op.seq}" if op.by.startswith("p_") else None) for op in ops]
    return archive(RECORD, log), (state, ops, ids)


def test_an_archive_reads_back_to_the_same_log_and_state() -> None:
    data, (state, ops, _) = _archive()
    assert data["format"] == ARCHIVE_FORMAT
    checked = read_archive(data)
    assert not isinstance(checked, Rejection), checked
    event, log, folded = checked
    assert event == RECORD
    assert [e.op for e in log] == ops
    assert [e.client_op_id for e in log][-1] == f"c{ops[-1].seq}"
    assert folded == state


def _refused(data: Any) -> str:
    checked = read_archive(data)
    assert isinstance(checked, Rejection), checked
    assert checked.code is Code.INVALID
    return checked.message


def test_broken_archives_are_refused_with_a_reason() -> None:
    data, _ = _archive()
    assert "not a Plenary event archive" in _refused({**data, "format": "zip"})
    assert "version" in _refused({**data, "version": 99})
    assert "malformed" in _refused({**data, "event": {"id": "x"}})
    assert "malformed" in _refused([1, 2, 3])
    assert "gaps" in _refused({**data, "ops": data["ops"][:3] + data["ops"][4:]})
    assert "start with the event" in _refused({**data, "ops": []})
    strange = [*data["ops"], {**data["ops"][-1], "seq": len(data["ops"]) + 1, "kind": "x.y"}]
    assert "cannot apply" in _refused({**data, "ops": strange})
    assert "join code" in _refused({**data, "event": {**data["event"], "code": "ZZZZZZ"}})


def test_a_notes_round_as_a_table() -> None:
    state, _, ids = room()
    state, _ = step(state, OTHER_PARTICIPANT, AddDot(ids["vote"], ids["p1"]))
    state, merge = step(state, FACILITATOR, MergeNotes((ids["p1"], ids["p2"]), "getting around"))
    state, _ = step(state, FACILITATOR, HideNote(merge.seq))
    table = activity_table(state, ids["round"])
    assert not isinstance(table, Rejection)
    assert table[0] == NOTES_HEADER
    rows = {row[0]: dict(zip(NOTES_HEADER, row, strict=True)) for row in table[1:]}
    assert set(rows) == {ids["p1"], ids["p2"], merge.seq}
    assert rows[ids["p1"]]["author"] == f"name of {PARTICIPANT.id}"
    assert (rows[ids["p1"]]["group"], rows[ids["p1"]]["table"]) == ("Staff", "T1")
    assert rows[ids["p1"]]["dots"] == 2  # one from each participant
    assert rows[ids["p1"]]["merged_into"] == merge.seq
    assert rows[ids["p2"]]["theme"] == "Transport"
    assert rows[merge.seq]["merged_from"] == f"{ids['p1']} {ids['p2']}"
    assert rows[merge.seq]["group"] == "Guests; Staff"
    assert rows[merge.seq]["hidden"] == "yes"


def test_a_vote_as_a_table_with_tallies_by_group() -> None:
    state, _, ids = room()
    state, _ = step(state, OTHER_PARTICIPANT, AddDot(ids["vote"], ids["p1"]))
    state, _ = step(state, OTHER_PARTICIPANT, AddDot(ids["vote"], ids["p2"]))
    table = activity_table(state, ids["vote"])
    assert not isinstance(table, Rejection)
    assert table[0] == ("rank", "item", "text", "total", "Guests", "Staff", "verdict")
    first, second = table[1], table[2]
    assert first[:4] == (1, ids["p1"], "more buses at night", 2)
    assert first[4:6] == (1, 1)
    assert second[:4] == (2, ids["p2"], "safer cycle lanes", 1)
    assert second[4:6] == (1, 0)


def test_an_unknown_activity_has_no_table() -> None:
    state, _, _ = room()
    assert activity_table(state, 999) == Rejection(Code.NOT_FOUND, "there is no activity 999")


def test_an_archive_of_a_redraft_restores_the_same_drafts() -> None:
    """Versions, publications, rationales and reactions are all in the log, so an
    archive restores them exactly."""
    from plenary.domain.commands import ExplainChange, LinkSpec, PublishDraft, React
    from plenary.domain.export import EventRecord, Logged, archive, read_archive

    from . import FACILITATOR, PARTICIPANT, drafting, step

    state, ops, ids = drafting()
    draft = ids["draft"]
    why = ExplainChange(draft, 2, "s2", "night buses", (LinkSpec("theme", ids["theme"]),))
    for actor, command in (
        (FACILITATOR, why),
        (FACILITATOR, PublishDraft(draft, 2)),
        (PARTICIPANT, React(draft, 2, "s2", "support", "yes please")),
    ):
        state, op = step(state, actor, command)
        ops.append(op)
    record = EventRecord(state.id, "ABC346", "0" * 64, 1)
    restored = read_archive(archive(record, [Logged(op, None) for op in ops]))
    assert not isinstance(restored, Rejection), restored
    assert restored[2] == state
    assert restored[2].drafts[draft].published == 2
