"""Drafts end to end, over real websockets and HTTP, on both backends: the writing team
saves versions privately and publishes them, two writers saving on one version lose
nothing, a published redraft explains itself (rationales, reports, diffs, safe HTML), the
room reacts section by section as the draft's settings allow, and HTTP reads need the
event's token. Every server frame is checked against schemas/protocol.json on arrival
(see tests/support/wsclient.py); a conflict's ``detail`` is checked against DraftConflict
here, since the Error frame only says it is an object."""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import random
import re
from pathlib import Path
from typing import Any

import msgpack
from plenary.protocol.schema import Validator, first_error, protocol_schema

from ..conftest import RunningServer
from ..support.wsclient import Client
from .helpers import Event, assert_log_matches_state, log_ops, new_event, wait_frames

_ids = itertools.count(1)
# An event handler attribute inside a tag (escaped text has no raw "<" to match).
_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=")

V1 = (
    "# Urgent care strategy\n"
    "\n"
    "We will make urgent care easier to reach.\n"
    "\n"
    "## Access\n"
    "\n"
    "Same day appointments for everyone who needs one.\n"
    "\n"
    "Evening clinics in every town.\n"
    "\n"
    "## Workforce\n"
    "\n"
    "Recruit more nurses and keep the ones we have.\n"
    "\n"
    "## Transport\n"
    "\n"
    "Buses to the hospital every hour.\n"
)
ACCESS_EDIT = ("Evening clinics in every town.", "Evening and weekend clinics in every town.")
TRANSPORT_EDIT = (
    "Buses to the hospital every hour.",
    "Buses to the hospital every half hour, day and night.",
)
HOSTILE = (
    "## Have your say\n"
    "\n"
    "<script>alert(1)</script>\n"
    "\n"
    "[x](javascript:alert(1))\n"
    "\n"
    "<img src=x onerror=alert(1)>\n"
)


def _edited(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    return text


# -- commands ---------------------------------------------------------------------------


def _save(activity: int, base: int, text: str) -> dict[str, Any]:
    return {"kind": "draft.save", "activity": activity, "base": base, "text": text}


def _publish(activity: int, version: int) -> dict[str, Any]:
    return {"kind": "draft.publish", "activity": activity, "version": version}


def _explain(
    activity: int, version: int, section: str, why: str, links: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "kind": "draft.explain",
        "activity": activity,
        "version": version,
        "section": section,
        "rationale": why,
    }
    if links is not None:
        op["links"] = links
    return op


def _react(
    activity: int, version: int, section: str, reaction: str | None, comment: str | None = None
) -> dict[str, Any]:
    return {
        "kind": "reaction.set",
        "activity": activity,
        "version": version,
        "section": section,
        "reaction": reaction,
        "comment": comment,
    }


def _status(activity: int, status: str) -> dict[str, Any]:
    return {"kind": "activity.set_status", "activity": activity, "status": status}


# -- helpers ----------------------------------------------------------------------------


async def _ok(client: Client, op: dict[str, Any]) -> int:
    reply = await client.write(op)
    assert reply["t"] == "ack", (op["kind"], reply)
    return int(reply["seq"])


async def _refused(client: Client, op: dict[str, Any], code: str) -> dict[str, Any]:
    """The write is refused with ``code``, in an error frame naming the client's op id."""
    op_id = f"r{next(_ids)}"
    reply = await client.write(op, op_id)
    assert (reply["t"], reply.get("code"), reply.get("id")) == ("error", code, op_id), (
        op["kind"],
        reply,
    )
    return reply


async def _new_draft(fac: Client, reactions: str = "live") -> int:
    """A draft activity, opened and made current."""
    draft = await _ok(
        fac,
        {"kind": "activity.add", "type": "draft", "prompt": "The strategy", "reactions": reactions},
    )
    await _ok(fac, _status(draft, "open"))
    await _ok(fac, {"kind": "activity.set_current", "activity": draft})
    return draft


def _ops(client: Client, kind: str) -> list[dict[str, Any]]:
    return [op for op in client.ops if op["kind"] == kind]


def _kinds_seen(client: Client) -> set[str]:
    return {op["kind"] for op in client.ops}


async def _saved(fac: Client, seq: int) -> dict[str, Any]:
    """The data of the draft.saved op at ``seq``, as the facilitator received it."""
    await fac.wait_for_seq(seq)
    (op,) = [op for op in _ops(fac, "draft.saved") if op["seq"] == seq]
    data: dict[str, Any] = op["data"]
    return data


async def _barrier(client: Client) -> None:
    """A ping round trip: whatever the server queued for ``client`` before it has arrived."""
    n = next(_ids)
    await client.send({"t": "ping", "n": n})
    await wait_frames(client, lambda f: f["t"] == "pong" and f.get("n") == n)


def _frames(client: Client, t: str, **match: Any) -> list[dict[str, Any]]:
    return [f for f in client.frames if f["t"] == t and all(f[k] == v for k, v in match.items())]


def _section(frame: dict[str, Any], section: str) -> dict[str, Any]:
    (entry,) = [s for s in frame["sections"] if s["section"] == section]
    return entry


def _counts(support: int = 0, concern: int = 0, question: int = 0) -> dict[str, int]:
    return {"support": support, "concern": concern, "question": question}


async def _reactions_with(
    client: Client, activity: int, version: int, section: str, counts: dict[str, int]
) -> dict[str, Any]:
    """The first ``reactions`` frame in which ``section`` has ``counts``."""

    def matches(f: dict[str, Any]) -> bool:
        return (
            f["t"] == "reactions"
            and (f["activity"], f["version"]) == (activity, version)
            and _section(f, section)["counts"] == counts
        )

    return (await wait_frames(client, matches))[0]


def _conflict_validator() -> Any:
    return Validator({"$defs": protocol_schema()["$defs"], "$ref": "#/$defs/DraftConflict"})


def _check_conflict_detail(detail: Any) -> None:
    reason = first_error(_conflict_validator(), detail)
    assert reason is None, f"the conflict's detail breaks DraftConflict: {reason}: {detail!r}"


async def _get(
    server: RunningServer, ev: Event, activity: int, tail: str, token: str | None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await server.http.get(f"/api/events/{ev.id}/drafts/{activity}/{tail}", headers=headers)


async def _writer(ev: Event, name: str, group: str, fac: Client) -> tuple[Client, str]:
    """A participant put on the writing team before they connect."""
    joined = await ev.join(name=name, group=group)
    await _ok(fac, {"kind": "writer.set", "participant": joined["participant"], "writer": True})
    client = await ev.server.client(joined["token"])
    assert client.welcome is not None and client.welcome["role"] == "writer"
    return client, str(joined["token"])


def _long_draft(words: int) -> str:
    """A ``words``-word strategy draft: bench/draftgen.py's when it is there, else a loop."""
    path = Path(__file__).resolve().parents[2] / "bench" / "draftgen.py"
    if path.exists():
        spec = importlib.util.spec_from_file_location("draftgen", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        text: str = module.document(words, seed=1)
        return text
    rng = random.Random(1)
    vocabulary = ["care", "access", "nurses", "buses", "clinics", "night", "weekend", "town"]
    out, count, chapter = ["# A long strategy\n\n"], 0, 0
    while count < words:
        chapter += 1
        out.append(f"## Chapter {chapter}\n\n")
        for _ in range(5):
            paragraph = [rng.choice(vocabulary) for _ in range(80)]
            out.append(" ".join(paragraph).capitalize() + ".\n\n")
            count += len(paragraph)
    return "".join(out).rstrip("\n") + "\n"


# -- 1. saving is private, publishing is for everyone -----------------------------------


async def test_saved_versions_stay_with_the_writers_until_published(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann = await ev.participant("Ann", "GP")
    obs = await ev.observer()
    fac_id = fac.welcome["you"]

    draft = await _new_draft(fac, "live")
    saved = await _ok(fac, _save(draft, 0, V1))
    v1 = await _saved(fac, saved)
    assert (v1["activity"], v1["version"], v1["base"], v1["text"]) == (draft, 1, 0, V1)
    sections = v1["sections"]
    assert len(sections) == len(set(sections)) == 4
    assert (v1["summary"]["added"], v1["summary"]["changed"]) == (4, 0)

    published = await _ok(fac, _publish(draft, 1))
    for client in (fac, ann, obs):
        await client.wait_for_seq(published)
    for client in (ann, obs):
        # The saved text never reached them as an op; its seq is still covered, so their
        # cursor is where the facilitator's is.
        assert saved not in client.seqs
        assert "draft.saved" not in _kinds_seen(client)
        assert client.last_seq == published == await ev.seq()
        (pub,) = _ops(client, "draft.published")
        assert pub["seq"] == published
        assert pub["data"] == {
            "activity": draft,
            "version": 1,
            "previous": None,
            "summary": None,
            "author": fac_id,
            "text": V1,
            "sections": sections,
            "rationales": [],
        }
    # One shape for every audience: the facilitator's publication is the room's.
    assert (
        _ops(fac, "draft.published") == _ops(ann, "draft.published") == _ops(obs, "draft.published")
    )

    # A screen arriving far behind gets the room as it is: the published text, no
    # working version.
    late = await ev.observer(since=published + 5)
    await late.wait_for_seq(published)
    assert late.snapshot is not None
    (state,) = late.snapshot["state"]["drafts"]
    assert (state["published"], state["head"], state["working"]) == (1, 1, None)
    assert state["current"]["text"] == V1 and state["current"]["sections"] == sections
    assert [v["version"] for v in state["versions"]] == [1]
    await assert_log_matches_state(server.runtime, ev.id)


# -- 2. who may write, and joining the writing team -------------------------------------


async def test_only_the_writing_team_writes_and_joining_it_reconnects(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    joined = await ev.join(name="Ann", group="GP")
    ann_id, ann_token = joined["participant"], joined["token"]
    ann = await server.client(ann_token)
    obs = await ev.observer()
    assert ann.welcome["role"] == "participant"

    draft = await _new_draft(fac)
    v1 = await _saved(fac, await _ok(fac, _save(draft, 0, V1)))
    first = v1["sections"][0]
    v2_text = _edited(V1, ACCESS_EDIT)

    await _refused(ann, _save(draft, 1, v2_text), "forbidden")
    await _refused(ann, _publish(draft, 1), "forbidden")
    await _refused(ann, _explain(draft, 1, first, "because"), "forbidden")
    await _refused(obs, _save(draft, 1, v2_text), "forbidden")
    await _refused(obs, _publish(draft, 1), "forbidden")
    # The observer is refused for who they are; a participant reacting now only for when.
    await _refused(obs, _react(draft, 1, first, "support"), "forbidden")
    await _refused(ann, _react(draft, 1, first, "support"), "conflict")

    granted = await _ok(fac, {"kind": "writer.set", "participant": ann_id, "writer": True})
    (resync,) = await wait_frames(ann, lambda f: f["t"] == "resync")
    assert "writing team" in resync["reason"]
    await ann.wait_closed()
    assert granted not in ann.seqs, "ops after the change belong to the new view"
    await fac.wait_for_seq(granted)
    assert _ops(fac, "writer.set")[-1]["data"] == {"participant": ann_id, "writer": True}
    assert fac.close_code is None and obs.close_code is None

    writer = await server.client(ann_token, since=ann.last_seq)
    assert writer.welcome["role"] == "writer"
    assert writer.welcome["resume"] == "snapshot"
    await writer.wait_for_seq(granted)
    assert writer.snapshot is not None
    assert writer.snapshot["state"]["writers"] == [ann_id]
    (state,) = writer.snapshot["state"]["drafts"]
    assert (state["published"], state["head"], state["current"]) == (None, 1, None)
    assert state["working"]["version"] == 1
    assert state["working"]["text"] == V1
    assert state["working"]["sections"] == v1["sections"]
    # The room's view of the same moment has no working version.
    room = await ev.observer(since=granted + 5)
    await room.wait_for_seq(granted)
    (public,) = room.snapshot["state"]["drafts"]
    assert (public["head"], public["working"], public["versions"]) == (None, None, [])

    saved = await _ok(writer, _save(draft, 1, v2_text))
    v2 = await _saved(fac, saved)
    assert (v2["version"], v2["base"], v2["text"]) == (2, 1, v2_text)
    assert _ops(fac, "draft.saved")[-1]["by"] == ann_id
    await writer.wait_for_seq(saved)
    assert [op["data"]["version"] for op in _ops(writer, "draft.saved")] == [2]
    await _ok(writer, _explain(draft, 2, v2["sections"][1], "Evenings are not enough"))

    # Taken off the team: reconnected again, with the room's view.
    revoked = await _ok(fac, {"kind": "writer.set", "participant": ann_id, "writer": False})
    await wait_frames(writer, lambda f: f["t"] == "resync")
    await writer.wait_closed()
    again = await server.client(ann_token, since=writer.last_seq)
    assert again.welcome["role"] == "participant"
    await again.wait_for_seq(revoked)
    assert again.snapshot is not None and again.snapshot["seq"] == revoked
    assert again.snapshot["state"]["writers"] == []
    (state,) = again.snapshot["state"]["drafts"]
    assert (state["head"], state["working"], state["versions"]) == (None, None, [])
    await _refused(again, _save(draft, 2, V1), "forbidden")
    await _barrier(obs)
    assert "draft.saved" not in _kinds_seen(obs) | _kinds_seen(room) | _kinds_seen(again)
    assert "draft.explained" not in _kinds_seen(obs), "v2 is not published"
    await assert_log_matches_state(server.runtime, ev.id)


# -- 3. two writers on one version ------------------------------------------------------


async def test_two_writers_saving_on_one_version_lose_nothing(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann, _ = await _writer(ev, "Ann", "GP", fac)
    fac_id, ann_id = fac.welcome["you"], ann.welcome["you"]
    draft = await _new_draft(fac)
    await _ok(fac, _save(draft, 0, V1))

    # Both start from version 1 and save at once, each having edited a different part.
    theirs_by = {fac_id: _edited(V1, ACCESS_EDIT), ann_id: _edited(V1, TRANSPORT_EDIT)}
    replies = await asyncio.gather(
        fac.write(_save(draft, 1, theirs_by[fac_id]), "both-fac"),
        ann.write(_save(draft, 1, theirs_by[ann_id]), "both-ann"),
    )
    assert sorted(r["t"] for r in replies) == ["ack", "error"], replies
    (won,) = [r for r in replies if r["t"] == "ack"]
    (lost,) = [r for r in replies if r["t"] == "error"]
    winner, loser = (fac_id, ann_id) if won["id"] == "both-fac" else (ann_id, fac_id)
    loser_client = fac if loser == fac_id else ann
    assert lost["code"] == "conflict" and lost["id"] == (
        "both-ann" if loser == ann_id else "both-fac"
    )

    detail = lost["detail"]
    _check_conflict_detail(detail)
    assert detail["activity"] == draft
    assert detail["base"] == {"version": 1, "text": V1}
    assert detail["theirs"] == {"version": 2, "author": winner, "text": theirs_by[winner]}
    assert detail["yours"] == {"text": theirs_by[loser]}
    merged = detail["merged"]
    assert (merged["clean"], merged["conflicts"]) == (True, 0)
    assert ACCESS_EDIT[1] in merged["text"] and TRANSPORT_EDIT[1] in merged["text"]
    assert merged["text"] == _edited(V1, ACCESS_EDIT, TRANSPORT_EDIT)

    settled = await _ok(loser_client, _save(draft, 2, merged["text"]))
    v3 = await _saved(fac, settled)
    assert (v3["version"], v3["base"], v3["text"]) == (3, 2, merged["text"])
    assert _ops(fac, "draft.saved")[-1]["by"] == loser

    # Now both change the same paragraph: no clean merge, but both texts come back, and
    # the merge keeps the refused writer's side.
    access = "Same day appointments for everyone who needs one."
    fac_text = v3["text"].replace(access, "Same day appointments, by phone or online.")
    ann_text = v3["text"].replace(access, "Same day appointments at any surgery.")
    await _ok(fac, _save(draft, 3, fac_text))
    clash = await _refused(ann, _save(draft, 3, ann_text), "conflict")
    _check_conflict_detail(clash["detail"])
    merged = clash["detail"]["merged"]
    assert (merged["clean"], merged["conflicts"]) == (False, 1)
    assert merged["text"] == ann_text
    (region,) = [r for r in merged["regions"] if "ours" in r]
    assert "by phone or online" in region["theirs"] and "at any surgery" in region["ours"]
    assert access in region["base"]
    both = fac_text.replace(
        "Same day appointments, by phone or online.",
        "Same day appointments at any surgery, by phone or online.",
    )
    final = await _ok(ann, _save(draft, 4, both))
    await fac.wait_for_seq(final)
    assert [op["data"]["version"] for op in _ops(fac, "draft.saved")] == [1, 2, 3, 4, 5]
    assert [op["data"]["version"] for op in _ops(ann, "draft.saved")] == [1, 2, 3, 4, 5]

    state = await assert_log_matches_state(server.runtime, ev.id)
    texts = [v.text for v in state.drafts[draft].versions]
    for edit in (ACCESS_EDIT[1], TRANSPORT_EDIT[1], "at any surgery, by phone or online"):
        assert edit in texts[-1]
    assert sum(op.kind == "draft.saved" for op in await log_ops(server.runtime, ev.id)) == 5


# -- 4. a redraft that explains itself --------------------------------------------------


async def test_a_published_redraft_explains_itself(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann_token = (await ev.join(name="Ann", group="GP"))["token"]
    ann = await server.client(ann_token)
    obs = await ev.observer()
    fac_id = fac.welcome["you"]

    # The room said something in a notes round, and it was themed.
    round_ = await _ok(fac, {"kind": "activity.add", "type": "notes", "prompt": "What matters?"})
    await _ok(fac, _status(round_, "open"))
    note = (await ann.write({"kind": "note.add", "text": "Buses at night", "round": round_}))["seq"]
    theme = await _ok(fac, {"kind": "theme.add", "round": round_, "name": "Transport"})
    await _ok(fac, {"kind": "note.set_theme", "note": note, "theme": theme})

    draft = await _new_draft(fac)
    v1 = await _saved(fac, await _ok(fac, _save(draft, 0, V1)))
    await _ok(fac, _publish(draft, 1))
    v2_text = _edited(V1, TRANSPORT_EDIT) + "\n" + HOSTILE
    v2 = await _saved(fac, await _ok(fac, _save(draft, 1, v2_text)))
    assert v2["sections"][:4] == v1["sections"], "sections keep their lineage ids"
    assert len(v2["sections"]) == 5
    transport, hostile = v2["sections"][3], v2["sections"][4]
    why = "You said buses at night matter: we doubled the service."
    explained = await _ok(fac, _explain(draft, 2, transport, why, [{"kind": "theme", "id": theme}]))
    published = await _ok(fac, _publish(draft, 2))

    for client in (fac, ann, obs):
        await client.wait_for_seq(published)
    link = {"kind": "theme", "id": theme, "item": None, "label": "Transport"}
    rationale = {"section": transport, "rationale": why, "links": [link], "by": fac_id}
    for client in (ann, obs):
        # The explanation of an unpublished version reaches the room with the version.
        assert explained not in client.seqs
        assert not ({"draft.saved", "draft.explained"} & _kinds_seen(client))
        pub = _ops(client, "draft.published")[-1]
        assert pub["seq"] == published
        data = pub["data"]
        assert (data["version"], data["previous"], data["text"]) == (2, 1, v2_text)
        assert data["sections"] == v2["sections"]
        assert (data["summary"]["changed"], data["summary"]["added"]) == (1, 1)
        assert data["rationales"] == [{**rationale, "seq": explained}]
    (fac_explained,) = _ops(fac, "draft.explained")
    assert fac_explained["data"]["links"] == [link]

    # Renamed since: the report follows the theme, keeping what it said when linked.
    await _ok(fac, {"kind": "theme.rename", "theme": theme, "name": "Getting around"})
    answer = await _get(server, ev, draft, "versions/2/report", ann_token)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["version"], report["from"], report["author"]) == (2, 1, fac_id)
    assert (report["summary"]["changed"], report["summary"]["added"]) == (1, 1)
    changes = {c["id"]: c for c in report["changes"]}
    assert set(changes) == {transport, hostile}, "unchanged sections are not listed"
    assert changes[transport]["status"] == "changed"
    assert changes[transport]["rationale"]["rationale"] == why
    (resolved,) = changes[transport]["rationale"]["links"]
    assert (resolved["kind"], resolved["id"], resolved["label"]) == ("theme", theme, "Transport")
    assert (resolved["status"], resolved["title"]) == ("renamed", "Getting around")
    assert changes[hostile]["status"] == "added" and changes[hostile]["rationale"] is None
    assert report["unexplained"] == 1

    first = await _get(server, ev, draft, "diff?from=1&to=2", ann_token)
    again = await _get(server, ev, draft, "diff?from=1&to=2", ann_token)
    assert first.status_code == again.status_code == 200, first.text
    assert first.content == again.content
    diff = first.json()
    assert (diff["from"], diff["to"]) == (1, 2)
    assert (diff["summary"]["changed"], diff["summary"]["added"]) == (1, 1)
    statuses = {s["id"]: s["status"] for s in diff["sections"]}
    assert statuses[transport] == "changed" and statuses[hostile] == "added"
    assert [statuses[s] for s in v1["sections"][:3]] == ["unchanged"] * 3

    answer = await _get(server, ev, draft, "versions/2", ann_token)
    assert answer.status_code == 200, answer.text
    version = answer.json()
    assert version["text"] == v2_text and version["version"] == 2
    assert [s["id"] for s in version["sections"]] == v2["sections"]
    assert [r["section"] for r in version["rationales"]] == [transport]
    for section in version["sections"]:
        html = section["html"].lower()
        assert "<script" not in html and "<img" not in html
        assert 'href="javascript' not in html and not _HANDLER.search(html), html
    (shown,) = [s for s in version["sections"] if s["id"] == hostile]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown["html"]
    assert "<a" not in shown["html"], shown["html"]
    assert "Have your say" in shown["html"]

    listed = await _get(server, ev, draft, "versions", ann_token)
    assert [v["version"] for v in listed.json()["versions"]] == [1, 2]
    await assert_log_matches_state(server.runtime, ev.id)


# -- 5. reactions -----------------------------------------------------------------------


async def test_reactions_reach_each_screen_as_the_draft_allows(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    joined = await ev.join(name="Ann", group="GP")
    ann_phone = await server.client(joined["token"])
    ann_laptop = await server.client(joined["token"])  # the same person, a second device
    bob_token = (await ev.join(name="Bob", group="Resident"))["token"]
    bob = await server.client(bob_token)
    obs = await ev.observer()

    draft = await _new_draft(fac, "live")
    v1 = await _saved(fac, await _ok(fac, _save(draft, 0, V1)))
    await _ok(fac, _publish(draft, 1))
    access = v1["sections"][1]

    await _ok(ann_phone, _react(draft, 1, access, "support", "Yes please"))
    full = await _reactions_with(fac, draft, 1, access, _counts(support=1))
    assert _section(full, access)["comments"] == [
        {"reaction": "support", "comment": "Yes please", "group": "GP"}
    ]
    assert _section(full, access)["by_group"] == [{"group": "GP", "counts": _counts(support=1)}]
    assert full["total"] == _counts(support=1)
    own = [{"section": access, "reaction": "support", "comment": "Yes please"}]
    for device in (ann_phone, ann_laptop):
        await wait_frames(
            device, lambda f: f["t"] == "reacted" and f["version"] == 1 and f["reactions"] == own
        )
    for screen in (bob, obs):  # live: the room sees counts, never comments
        counts = await _reactions_with(screen, draft, 1, access, _counts(support=1))
        assert all("comments" not in s for s in counts["sections"])
    await _barrier(bob)
    assert not _frames(bob, "reacted", version=1), "nobody else's own reactions"

    # Changing a reaction moves it; it does not add one.
    await _ok(ann_laptop, _react(draft, 1, access, "concern"))
    changed = await _reactions_with(fac, draft, 1, access, _counts(concern=1))
    assert changed["total"] == _counts(concern=1)
    assert _section(changed, access)["comments"] == []
    own = [{"section": access, "reaction": "concern", "comment": None}]
    for device in (ann_phone, ann_laptop):
        await wait_frames(device, lambda f: f["t"] == "reacted" and f["reactions"] == own)
    await _refused(ann_phone, _react(draft, 1, access, "concern"), "conflict")
    await _ok(bob, _react(draft, 1, access, "question", "Which towns?"))
    both = await _reactions_with(fac, draft, 1, access, _counts(concern=1, question=1))
    assert _section(both, access)["by_group"] == [
        {"group": "GP", "counts": _counts(concern=1)},
        {"group": "Resident", "counts": _counts(question=1)},
    ]
    await _reactions_with(obs, draft, 1, access, _counts(concern=1, question=1))

    # A new version on screens: reactions to the old one are refused.
    v2 = await _saved(fac, await _ok(fac, _save(draft, 1, _edited(V1, ACCESS_EDIT))))
    assert v2["sections"][1] == access
    await _ok(fac, _publish(draft, 2))
    await _refused(ann_phone, _react(draft, 1, access, "support"), "conflict")
    await _ok(ann_phone, _react(draft, 2, access, "support"))
    await _reactions_with(fac, draft, 2, access, _counts(support=1))
    await _reactions_with(bob, draft, 2, access, _counts(support=1))

    answer = await _get(server, ev, draft, "reactions?from=1&to=2", ev.facilitator_token)
    assert answer.status_code == 200, answer.text
    compared = {s["section"]: s for s in answer.json()["sections"]}
    assert compared[access]["before"] == _counts(concern=1, question=1)
    assert compared[access]["after"] == _counts(support=1)
    assert compared[access]["shift"] == {"support": 1, "concern": -1, "question": -1}
    live = await _get(server, ev, draft, "reactions?from=1&to=2", bob_token)
    assert live.status_code == 200
    # The room's answer: the same totals, and groups of fewer than three people (here a
    # GP and a resident, one each) folded together, so no one's reaction can be read off.
    seen = {s["section"]: s for s in live.json()["sections"]}
    assert seen[access]["before"] == compared[access]["before"]
    assert seen[access]["shift"] == compared[access]["shift"]
    shown = {g["group"] for s in seen.values() for g in s["by_group"]}
    assert shown == {"(other groups)"}, shown
    assert {g["group"] for s in compared.values() for g in s["by_group"]} >= {"GP", "Resident"}

    closed = await _ok(fac, _status(draft, "closed"))
    await bob.wait_for_seq(closed)
    await _refused(bob, _react(draft, 2, access, "concern"), "conflict")
    await _refused(ann_phone, _react(draft, 2, access, None), "conflict")

    for screen in (fac, ann_phone, ann_laptop, bob, obs):
        await screen.wait_for_seq(closed)
        assert "reaction.changed" not in _kinds_seen(screen), "a reaction was broadcast"
    log = await log_ops(server.runtime, ev.id)
    assert sum(op.kind == "reaction.changed" for op in log) == 4
    await assert_log_matches_state(server.runtime, ev.id)


async def test_reactions_for_facilitators_only_stay_off_the_rooms_screens(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    writer, _ = await _writer(ev, "Wen", "Voluntary sector", fac)
    ann_token = (await ev.join(name="Ann", group="GP"))["token"]
    ann = await server.client(ann_token)
    bob = await ev.participant("Bob", "Resident")
    obs = await ev.observer()

    draft = await _new_draft(fac, "live")
    v1 = await _saved(fac, await _ok(fac, _save(draft, 0, V1)))
    await _ok(fac, _publish(draft, 1))
    access = v1["sections"][1]
    await _ok(ann, _react(draft, 1, access, "support"))
    await _reactions_with(bob, draft, 1, access, _counts(support=1))

    edited = await _ok(
        fac, {"kind": "activity.edit", "activity": draft, "reactions": "facilitators"}
    )
    await _ok(fac, _save(draft, 1, _edited(V1, ACCESS_EDIT)))
    published = await _ok(fac, _publish(draft, 2))
    # Every reactions frame the publication causes has gone out once the facilitator's has.
    await wait_frames(fac, lambda f: f["t"] == "reactions" and f["seq"] >= published)
    for screen in (ann, bob, obs):
        await screen.wait_for_seq(published)
        await _barrier(screen)
    before = {id(s): len(_frames(s, "reactions")) for s in (ann, bob, obs)}
    assert all(f["seq"] < edited for s in (ann, bob, obs) for f in _frames(s, "reactions"))

    reacted = await _ok(ann, _react(draft, 2, access, "concern", "Weekends too, please"))
    seen = (await wait_frames(fac, lambda f: f["t"] == "reactions" and f["seq"] >= reacted))[0]
    assert _section(seen, access)["counts"] == _counts(concern=1)
    assert _section(seen, access)["comments"] == [
        {"reaction": "concern", "comment": "Weekends too, please", "group": "GP"}
    ]
    # The writing team sees the comments too, but Ann is the only GP: a comment marked
    # with a group of one is signed, so it is marked as from the small groups together
    # (groups.py). The reactor gets their own back.
    team = await _reactions_with(writer, draft, 2, access, _counts(concern=1))
    assert _section(team, access)["comments"] == [
        {"reaction": "concern", "comment": "Weekends too, please", "group": "(other groups)"}
    ]
    await wait_frames(ann, lambda f: f["t"] == "reacted" and f["version"] == 2 and f["reactions"])
    for screen in (ann, bob, obs):
        await _barrier(screen)
    assert {id(s): len(_frames(s, "reactions")) for s in (ann, bob, obs)} == before
    # A screen connecting now gets no standing either (its own reactions, yes).
    fresh = await server.client(ann_token)
    await _barrier(fresh)
    assert not _frames(fresh, "reactions")
    assert _frames(fresh, "reacted", version=2)[0]["reactions"][0]["reaction"] == "concern"

    answer = await _get(server, ev, draft, "reactions?from=1&to=2", ev.facilitator_token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["sections"][1]["after"] == _counts(concern=1)
    refused = await _get(server, ev, draft, "reactions?from=1&to=2", ann_token)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    await assert_log_matches_state(server.runtime, ev.id)


# -- 6. reading over HTTP ---------------------------------------------------------------


async def test_reading_drafts_over_http_needs_the_events_token(server):
    ev = await new_event(server)
    other = await new_event(server, "Another event")
    fac = await ev.facilitator()
    ann_token = (await ev.join(name="Ann", group="GP"))["token"]
    observer_token = await server.observer_token(ev.code)
    draft = await _new_draft(fac)
    await _ok(fac, _save(draft, 0, V1))
    await _ok(fac, _save(draft, 1, _edited(V1, ACCESS_EDIT)))
    await _ok(fac, _publish(draft, 1))

    tails = [
        "versions",
        "versions/1",
        "versions/1/report",
        "diff?from=1&to=2",
        "reactions?from=1&to=2",
    ]
    for tail in tails:
        missing = await _get(server, ev, draft, tail, None)
        assert missing.status_code == 401, (tail, missing.text)
        assert missing.json()["error"]["code"] == "unauthorised"
        forged = await _get(server, ev, draft, tail, "not-a-token")
        assert forged.status_code == 401, (tail, forged.text)
        foreign = await _get(server, ev, draft, tail, other.facilitator_token)
        assert foreign.status_code == 403, (tail, foreign.text)
        assert foreign.json()["error"]["code"] == "forbidden"

    # Version 2 is saved, not published: the room may not read it, facilitators may.
    for token in (ann_token, observer_token):
        for tail in ("versions/2", "versions/2/report", "diff?from=1&to=2"):
            hidden = await _get(server, ev, draft, tail, token)
            assert hidden.status_code == 404, (tail, hidden.text)
            assert hidden.json()["error"]["code"] == "not_found"
        listed = await _get(server, ev, draft, "versions", token)
        assert [v["version"] for v in listed.json()["versions"]] == [1]
        assert (await _get(server, ev, draft, "versions/1", token)).status_code == 200
    for tail in ("versions/2", "versions/2/report", "diff?from=1&to=2"):
        shown = await _get(server, ev, draft, tail, ev.facilitator_token)
        assert shown.status_code == 200, (tail, shown.text)
    listed = await _get(server, ev, draft, "versions", ev.facilitator_token)
    assert [v["version"] for v in listed.json()["versions"]] == [1, 2]
    # No such version or draft for anyone.
    assert (await _get(server, ev, draft, "versions/9", ev.facilitator_token)).status_code == 404
    notes = await _ok(fac, {"kind": "activity.add", "type": "notes", "prompt": "Ideas?"})
    assert (await _get(server, ev, notes, "versions", ev.facilitator_token)).status_code == 404


# -- a long draft -----------------------------------------------------------------------


async def test_a_twenty_thousand_word_draft_travels_whole(server):
    text = _long_draft(20_000)
    assert len(text.split()) >= 20_000
    ev = await new_event(server)
    fac = await ev.facilitator()
    obs = await ev.observer()
    draft = await _new_draft(fac)
    frame = {"t": "write", "id": "long", "op": _save(draft, 0, text)}
    assert 64 * 1024 < len(msgpack.packb(frame)) < server.config.max_frame_bytes

    v1 = await _saved(fac, await _ok(fac, _save(draft, 0, text)))
    assert v1["text"] == text
    headings = sum(1 for line in text.splitlines() if line.startswith("#"))
    assert len(v1["sections"]) == headings
    published = await _ok(fac, _publish(draft, 1))
    await obs.wait_for_seq(published)
    (pub,) = _ops(obs, "draft.published")
    assert pub["data"]["text"] == text
    assert pub["data"]["sections"] == v1["sections"]

    answer = await _get(server, ev, draft, "versions/1", await server.observer_token(ev.code))
    assert answer.status_code == 200
    body = answer.json()
    assert body["text"] == text and len(body["sections"]) == headings


# -- known server bugs --------------------------------------------------------------------


async def _eventually(client: Client, predicate: Any, timeout: float = 2) -> bool:
    try:
        await wait_frames(client, predicate, timeout=timeout)
    except TimeoutError:
        return False
    return True


async def test_making_reactions_live_shows_the_counts_on_screens_already_there(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann = await ev.participant("Ann", "GP")
    bob = await ev.participant("Bob", "Resident")
    draft = await _new_draft(fac, "facilitators")
    v1 = await _saved(fac, await _ok(fac, _save(draft, 0, V1)))
    await _ok(fac, _publish(draft, 1))
    access = v1["sections"][1]
    await _ok(ann, _react(draft, 1, access, "support"))
    await _reactions_with(fac, draft, 1, access, _counts(support=1))
    await _barrier(bob)
    assert not _frames(bob, "reactions")

    edited = await _ok(fac, {"kind": "activity.edit", "activity": draft, "reactions": "live"})
    # A screen that connects now sees the counts at once...
    late = await ev.participant("Cat", "GP")
    await _barrier(late)
    assert _section(_frames(late, "reactions")[-1], access)["counts"] == _counts(support=1)
    # ...and so must the screen that was already there.
    assert await _eventually(
        bob,
        lambda f: (
            f["t"] == "reactions"
            and f["seq"] >= edited
            and _section(f, access)["counts"] == _counts(support=1)
        ),
    ), "a connected participant got no counts when the reactions were made live"


async def test_the_room_reads_the_report_of_a_first_publication(server):
    ev = await new_event(server)
    fac = await ev.facilitator()
    ann_token = (await ev.join(name="Ann", group="GP"))["token"]
    draft = await _new_draft(fac)
    await _ok(fac, _save(draft, 0, V1))
    await _ok(fac, _save(draft, 1, _edited(V1, ACCESS_EDIT)))
    await _ok(fac, _publish(draft, 2))
    assert (await _get(server, ev, draft, "versions/2", ann_token)).status_code == 200
    # Asking to compare with the unpublished version explicitly is refused, rightly.
    assert (await _get(server, ev, draft, "versions/2/report?from=1", ann_token)).status_code == 404

    answer = await _get(server, ev, draft, "versions/2/report", ann_token)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["version"] == 2
    assert report["from"] is None, "the room never saw version 1: nothing to compare with"


# -- the heavy work of a save runs in the worker process --------------------------------


async def test_saves_and_publications_are_worked_out_off_the_event_loop(server, monkeypatch):
    """The server's own process never runs the heavy part of a save or a publication: with
    it broken here, saves and publications still work, because the worker does them."""
    from plenary.domain import diff, drafts

    def not_here(*args: object, **kwargs: object) -> object:
        raise AssertionError("the heavy work of a draft ran on the event loop")

    # What only the heavy part calls: matching sections, diffing, merging. The worker
    # process imported the domain for itself and is not patched.
    monkeypatch.setattr(diff, "carry_ids", not_here)
    monkeypatch.setattr(diff, "diff", not_here)
    monkeypatch.setattr(drafts, "merge3", not_here)
    ev = await new_event(server)
    fac = await ev.facilitator()
    draft = await _new_draft(fac)
    v1 = await _saved(fac, await _ok(fac, _save(draft, 0, V1)))
    await _ok(fac, _publish(draft, 1))
    v2 = await _saved(fac, await _ok(fac, _save(draft, 1, _edited(V1, ACCESS_EDIT))))
    assert v2["sections"][: len(v1["sections"])] == v1["sections"]
    published = await _ok(fac, _publish(draft, 2))
    await fac.wait_for_seq(published)
    (op,) = [op for op in _ops(fac, "draft.published") if op["seq"] == published]
    assert op["data"]["summary"]["changed"] >= 1
    # A conflict's merge too.
    conflict = await _refused(
        fac, _save(draft, 1, _edited(V1, ACCESS_EDIT) + "\nMore.\n"), "conflict"
    )
    assert conflict["detail"]["merged"]["text"]
    await assert_log_matches_state(server.runtime, ev.id)


async def test_a_save_past_its_time_budget_is_refused_and_nothing_else_is(start):
    server = await start(PLENARY_DRAFT_WORK_SECONDS="0.000001")
    ev = await new_event(server)
    fac = await ev.facilitator()
    draft = await _new_draft(fac)
    refused = await _refused(fac, _save(draft, 0, V1), "invalid")
    assert "took longer than" in refused["message"]
    ann = await ev.participant()
    assert (await ann.add_note("the room carries on"))["t"] == "ack"
    await assert_log_matches_state(server.runtime, ev.id)


async def test_one_writer_cannot_keep_the_worker_busy(server, monkeypatch):
    """Each writer has a share of the worker's time; past it their next save is refused
    with a retry hint, while another writer's save goes through."""
    from plenary.realtime import hub as hub_module
    from plenary.throttle import Rate

    # A share so small that one save spends it (the default is a quarter of a core).
    monkeypatch.setattr(hub_module, "WORK_SHARE", Rate(rate=0.001, burst=0.000001))
    ev = await new_event(server)
    fac = await ev.facilitator()
    joined = await ev.join(name="Ann", group="GP")
    await _ok(fac, {"kind": "writer.set", "participant": joined["participant"], "writer": True})
    other = await server.client(joined["token"])
    draft = await _new_draft(fac)
    await _ok(fac, _save(draft, 0, V1))
    refused = await _refused(fac, _save(draft, 1, _edited(V1, ACCESS_EDIT)), "rate_limited")
    assert refused["detail"]["retry_after_ms"] > 0
    # Another writer's share is their own.
    await _ok(other, _save(draft, 1, _edited(V1, ACCESS_EDIT)))
    await assert_log_matches_state(server.runtime, ev.id)
