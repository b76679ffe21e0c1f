/// <reference types="node" />
/**
 * The reducer (src/core/store.ts): every op kind, the cursor, and the Zulip-style check
 * that replaying what a screen receives equals the snapshot it would get instead.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, test } from "vitest";
import type { EventState, NoteState, Op } from "../src/core/protocol.gen";
import { OP_KINDS } from "../src/core/protocol.gen";
import { applyOp, applyOps, applySnapshot, emptyState, isKnownOp } from "../src/core/store";

const AT = 1_790_000_000_000;
let nextSeq = 1;
/** An op with the next seq (reset per test with `fresh`). */
function op<K extends Op["kind"]>(kind: K, data: Extract<Op, { kind: K }>["data"], by = "f_1"): Op {
  const seq = nextSeq++;
  return { seq, kind, by, at: AT + seq * 1000, data } as Op;
}

/** An event with two participants and a notes round: the base of most tests. */
function fresh(): EventState {
  nextSeq = 1;
  return [
    op("event.created", { title: "Town hall", groups: ["Staff", "Guests"], code: "ABC346" }, "system"),
    op("participant.joined", { participant: "p_2", name: null, group: "Guests", table: null }, "p_2"),
    op("participant.joined", { participant: "p_1", name: "Ann", group: "Staff", table: "T1" }, "p_1"),
    op("activity.added", { kind: "notes", prompt: "What works?", vote: null }),
  ].reduce(applyOp, emptyState("ev_1"));
}

const note = (s: EventState, id: number): NoteState | undefined => s.notes.find((n) => n.id === id);

function run(state: EventState, ...ops: Op[]): EventState {
  return ops.reduce(applyOp, state);
}

describe("applyOp, kind by kind", () => {
  test("event.created, participant.joined (sorted by id), event.updated", () => {
    let s = fresh();
    expect(s).toMatchObject({ title: "Town hall", code: "ABC346", groups: ["Staff", "Guests"], seq: 4 });
    expect(s.participants.map((p) => p.id)).toEqual(["p_1", "p_2"]);
    expect(s.participants[0]).toEqual({ id: "p_1", name: "Ann", group: "Staff", table: "T1", joined_seq: 3 });
    const before = s;
    s = run(s, op("event.updated", { tables: [{ number: "1", name: null }], anonymity: "facilitators" }));
    expect(s.tables).toEqual([{ number: "1", name: null }]);
    expect(s.anonymity).toBe("facilitators");
    expect(s.title).toBe("Town hall");
    expect(before.tables).toEqual([]); // immutable
    s = run(s, op("event.updated", { title: "Renamed", groups: ["A"] }));
    expect([s.title, s.groups]).toEqual(["Renamed", ["A"]]);
  });

  test("note.added takes the author's group and table; a facilitator's has none", () => {
    const s = run(
      fresh(),
      op("note.added", { text: "Buses", colour: "yellow", round: 4 }, "p_1"),
      op("note.added", { text: "Trains", colour: null }, "f_1"),
    );
    expect(note(s, 5)).toEqual({
      id: 5, author: "p_1", group: "Staff", table: "T1", text: "Buses", colour: "yellow",
      hidden: false, created_seq: 5, updated_seq: 5, round: 4, theme: null, edited_by: null,
      merged_into: null, merged_from: [], groups: [],
    });
    expect(note(s, 6)).toMatchObject({ group: null, table: null, round: null });
  });

  test("note.edited marks a facilitator's rewording, not the author's own edit", () => {
    let s = run(fresh(), op("note.added", { text: "a", colour: null }, "p_1"));
    s = run(s, op("note.edited", { note: 5, text: "b" }, "p_1"));
    expect(note(s, 5)).toMatchObject({ text: "b", edited_by: null, updated_seq: 6 });
    s = run(s, op("note.edited", { note: 5, text: "c" }, "f_1"));
    expect(note(s, 5)).toMatchObject({ text: "c", edited_by: "f_1", updated_seq: 7 });
    s = run(s, op("note.edited", { note: 5, text: "d" }, "p_1"));
    expect(note(s, 5)).toMatchObject({ text: "d", edited_by: "f_1" });
    // An edit of a note this screen does not have changes nothing but the seq.
    const t = run(s, op("note.edited", { note: 99, text: "x" }));
    expect(t.notes).toBe(s.notes);
  });

  test("note.deleted removes; note.hidden / note.unhidden (facilitators) flip hidden", () => {
    let s = run(
      fresh(),
      op("note.added", { text: "a", colour: null }, "p_1"),
      op("note.added", { text: "b", colour: null }, "p_2"),
    );
    s = run(s, op("note.hidden", { note: 5 }));
    expect(note(s, 5)).toMatchObject({ hidden: true, updated_seq: 7 });
    s = run(s, op("note.unhidden", { note: 5 }));
    expect(note(s, 5)).toMatchObject({ hidden: false, updated_seq: 8 });
    s = run(s, op("note.deleted", { note: 6 }));
    expect(s.notes.map((n) => n.id)).toEqual([5]);
  });

  test("note.unhidden with `restored` brings the note back whole, in id order", () => {
    let s = run(
      fresh(),
      op("note.added", { text: "a", colour: null }, "p_1"),
      op("note.added", { text: "b", colour: null }, "p_2"),
    );
    const gone = note(s, 5)!;
    s = run(s, op("note.deleted", { note: 5 })); // how others receive note.hidden
    const restored = { ...gone, updated_seq: 8 };
    s = run(s, op("note.unhidden", { note: 5, restored }));
    expect(s.notes.map((n) => n.id)).toEqual([5, 6]);
    expect(note(s, 5)).toEqual(restored);
  });

  test("notes.merged adds the merged note and marks the originals", () => {
    let s = run(
      fresh(),
      op("theme.added", { round: 4, name: "T" }),
      op("note.added", { text: "a", colour: "pink", round: 4 }, "p_1"),
      op("note.added", { text: "b", colour: null, round: 4 }, "p_2"),
      op("note.themed", { note: 6, theme: 5 }),
      op("note.themed", { note: 7, theme: 5 }),
    );
    s = run(s, op("notes.merged", { notes: [6, 7], text: "a and b" }));
    expect(note(s, 10)).toEqual({
      id: 10, author: "f_1", group: null, table: null, text: "a and b", colour: null,
      hidden: false, created_seq: 10, updated_seq: 10, round: 4, theme: 5, edited_by: null,
      merged_into: null, merged_from: [6, 7], groups: ["Guests", "Staff"],
    });
    expect(note(s, 6)).toMatchObject({ merged_into: 10, updated_seq: 10 });
    expect(note(s, 7)).toMatchObject({ merged_into: 10, updated_seq: 10 });
    // A merge of a merge takes the groups of the merged note, and themes that differ drop.
    s = run(s, op("note.added", { text: "c", colour: null, round: 4 }, "f_1"));
    s = run(s, op("notes.merged", { notes: [10, 11], text: "all" }));
    expect(note(s, 12)).toMatchObject({ groups: ["Guests", "Staff"], theme: null, merged_from: [10, 11] });
  });

  test("themes: added, renamed, note.themed, deleted un-themes its notes", () => {
    let s = run(
      fresh(),
      op("theme.added", { round: 4, name: "Transport" }),
      op("note.added", { text: "a", colour: null, round: 4 }, "p_1"),
      op("note.themed", { note: 6, theme: 5 }),
      op("theme.renamed", { theme: 5, name: "Getting around" }),
    );
    expect(s.themes).toEqual([{ id: 5, round: 4, name: "Getting around", created_seq: 5, updated_seq: 8 }]);
    expect(note(s, 6)).toMatchObject({ theme: 5, updated_seq: 7 });
    s = run(s, op("theme.deleted", { theme: 5 }));
    expect(s.themes).toEqual([]);
    expect(note(s, 6)).toMatchObject({ theme: null, updated_seq: 9 });
  });

  test("activity.* and agenda.reordered", () => {
    let s = fresh();
    s = run(s, op("activity.added", { kind: "vote", prompt: "Pick", vote: { round: 4, target: "notes", budget: 5, cap: 2, results: "live" } }));
    s = run(s, op("activity.added", { kind: "draft", prompt: "Plan", vote: null, reactions: "live" }));
    expect(s.agenda).toEqual([4, 5, 6]);
    expect(s.activities.find((a) => a.id === 6)).toEqual({
      id: 6, kind: "draft", prompt: "Plan", status: "draft", vote: null, reactions: "live",
      ends_at: null, created_seq: 6, updated_seq: 6,
    });
    s = run(s, op("activity.edited", { activity: 5, prompt: "Pick two", vote: { round: 4, target: "themes", budget: 3, cap: 1, results: "on_close" } }));
    expect(s.activities.find((a) => a.id === 5)).toMatchObject({ prompt: "Pick two", vote: { target: "themes", budget: 3 }, updated_seq: 7 });
    s = run(s, op("activity.edited", { activity: 6, reactions: "on_close" }));
    expect(s.activities.find((a) => a.id === 6)).toMatchObject({ prompt: "Plan", reactions: "on_close" });
    s = run(s, op("activity.status", { activity: 4, status: "open" }));
    expect(s.activities.find((a) => a.id === 4)).toMatchObject({ status: "open", updated_seq: 9 });
    const timer = op("activity.timer", { activity: 4, seconds: 600 });
    s = run(s, timer);
    expect(s.activities.find((a) => a.id === 4)!.ends_at).toBe(timer.at + 600_000);
    s = run(s, op("activity.timer", { activity: 4, seconds: null }));
    expect(s.activities.find((a) => a.id === 4)!.ends_at).toBeNull();
    s = run(s, op("activity.current", { activity: 4 }));
    expect(s.current).toBe(4);
    s = run(s, op("agenda.reordered", { order: [6, 4, 5] }));
    expect(s.agenda).toEqual([6, 4, 5]);
    s = run(s, op("activity.current", { activity: null }));
    expect(s.current).toBeNull();
  });

  test("dots and reactions change nothing a screen holds (they come as counts)", () => {
    const s = fresh();
    for (const o of [
      op("dot.added", { vote: 4, item: 5 }, "p_1"),
      op("dot.removed", { vote: 4, item: 5 }, "p_1"),
      op("reaction.changed", { activity: 4, version: 1, section: "s1", reaction: "support", comment: null }, "p_1"),
    ]) {
      const t = applyOp(s, o);
      expect({ ...t, seq: s.seq }).toEqual(s);
      expect(t.seq).toBe(o.seq);
    }
  });

  test("writer.set keeps `writers` sorted", () => {
    let s = run(fresh(), op("writer.set", { participant: "p_2", writer: true }), op("writer.set", { participant: "p_1", writer: true }));
    expect(s.writers).toEqual(["p_1", "p_2"]);
    s = run(s, op("writer.set", { participant: "p_2", writer: false }));
    expect(s.writers).toEqual(["p_1"]);
  });

  const summary = { changed: 0, added: 1, removed: 0, moved: 0, unchanged: 0, text: "1 section added" };

  test("draft.saved / explained / published, as the writing team sees them", () => {
    let s = run(fresh(), op("activity.added", { kind: "draft", prompt: "Plan", vote: null, reactions: "live" }));
    const saved = op("draft.saved", { activity: 5, version: 1, base: 0, text: "# Plan\n\nBuses for all.\n", sections: ["s1"], summary }, "p_1");
    s = run(s, saved);
    let d = s.drafts[0]!;
    expect(d).toMatchObject({ activity: 5, published: null, head: 1, current: null });
    expect(d.versions[0]).toEqual({
      version: 1, base: 0, author: "p_1", saved_seq: 6, saved_at: saved.at, words: 5, summary,
      published_seq: null, published_at: null, previous: null, published_summary: null,
    });
    expect(d.working).toEqual({ version: 1, text: "# Plan\n\nBuses for all.\n", sections: ["s1"], rationales: [] });
    s = run(s, op("draft.explained", { activity: 5, version: 1, section: "s1", rationale: "Asked for", links: [] }, "p_1"));
    expect(s.drafts[0]!.working!.rationales).toEqual([{ section: "s1", rationale: "Asked for", links: [], by: "p_1", seq: 7 }]);
    const rationales = s.drafts[0]!.working!.rationales;
    const pub = op("draft.published", { activity: 5, version: 1, previous: null, summary: null, author: "p_1", text: "# Plan\n\nBuses for all.\n", sections: ["s1"], rationales }, "p_1");
    s = run(s, pub);
    d = s.drafts[0]!;
    expect(d).toMatchObject({ published: 1, head: 1, working: null });
    expect(d.current).toEqual({ version: 1, author: "p_1", text: "# Plan\n\nBuses for all.\n", sections: ["s1"], rationales });
    expect(d.versions[0]).toMatchObject({ published_seq: 8, published_at: pub.at, previous: null, published_summary: null, summary });
    // An empty explanation with no links withdraws it.
    s = run(s, op("draft.explained", { activity: 5, version: 1, section: "s1", rationale: "", links: [] }, "p_1"));
    expect(s.drafts[0]!.current!.rationales).toEqual([]);
  });

  test("draft.published, as the room sees it (no saves received)", () => {
    let s = run(fresh(), op("activity.added", { kind: "draft", prompt: "Plan", vote: null }));
    const pub = op("draft.published", { activity: 5, version: 2, previous: null, summary, author: "p_1", text: "one two three\n", sections: ["s1"], rationales: [] }, "p_1");
    s = run(s, pub);
    expect(s.drafts).toEqual([{
      activity: 5, published: 2, head: 2, working: null,
      versions: [{ version: 2, author: "p_1", words: 3, published_seq: 6, published_at: pub.at, previous: null, summary }],
      current: { version: 2, author: "p_1", text: "one two three\n", sections: ["s1"], rationales: [] },
    }]);
  });

  test("a link's label goes when its note leaves the wall", () => {
    let s = run(
      fresh(),
      op("note.added", { text: "a", colour: null }, "p_1"),
      op("activity.added", { kind: "draft", prompt: "Plan", vote: null }),
      op("draft.saved", { activity: 6, version: 1, base: 0, text: "x\n", sections: ["s1"], summary }),
      op("draft.explained", { activity: 6, version: 1, section: "s1", rationale: "r", links: [{ kind: "note", id: 5, item: null, label: "a" }] }),
    );
    expect(s.drafts[0]!.working!.rationales[0]!.links[0]!.label).toBe("a");
    s = run(s, op("note.hidden", { note: 5 }));
    expect(s.drafts[0]!.working!.rationales[0]!.links[0]!.label).toBeNull();
  });

  test("participant.removed: off the participants and the writing team; their notes stay", () => {
    let s = run(
      fresh(),
      op("note.added", { text: "Buses", colour: null }, "p_1"),
      op("writer.set", { participant: "p_1", writer: true }),
      op("writer.set", { participant: "p_2", writer: true }),
    );
    expect(s.writers).toEqual(["p_1", "p_2"]);
    const before = s;
    s = run(s, op("participant.removed", { participant: "p_1" }));
    expect(s.participants.map((p) => p.id)).toEqual(["p_2"]);
    expect(s.writers).toEqual(["p_2"]);
    expect(s.notes).toBe(before.notes);
    expect(note(s, 5)).toMatchObject({ author: "p_1", group: "Staff", table: "T1", text: "Buses" });
    expect(before.participants).toHaveLength(2); // immutable
    // Someone this screen never listed: nothing changes but the seq.
    const t = run(s, op("participant.removed", { participant: "p_9" }));
    expect(t.participants).toBe(s.participants);
    expect(t.writers).toBe(s.writers);
  });

  test("every op kind in the schema is known to the reducer", () => {
    for (const kind of OP_KINDS) expect(isKnownOp(kind), kind).toBe(true);
    expect(isKnownOp("note.teleported")).toBe(false);
    const s = fresh();
    const t = applyOp(s, { seq: 5, kind: "note.teleported", by: "f_1", at: AT, data: {} } as unknown as Op);
    expect({ ...t, seq: 4 }).toEqual(s);
  });
});

describe("applyOps: the cursor", () => {
  const base = () => {
    nextSeq = 1;
    return emptyState("ev_1");
  };

  test("applies in order and moves the cursor to upto, not to the last op", () => {
    const s0 = base();
    const ops = [op("event.created", { title: "T", groups: [], code: "C" }, "system"), op("participant.joined", { participant: "p_1", name: null, group: null, table: null }, "p_1")];
    const r = applyOps(s0, 0, 5, ops); // 3..5 were dots: covered, not sent
    expect(r).toMatchObject({ cursor: 5, broken: false, unknown: [] });
    expect(r.state.seq).toBe(5);
    expect(r.state.participants).toHaveLength(1);
  });

  test("ops at or below the cursor are duplicates and ignored", () => {
    const s0 = base();
    const created = op("event.created", { title: "T", groups: [], code: "C" }, "system");
    const joined = op("participant.joined", { participant: "p_1", name: null, group: null, table: null }, "p_1");
    const first = applyOps(s0, 0, 2, [created, joined]);
    const again = applyOps(first.state, first.cursor, 2, [created, joined]);
    expect(again.state).toBe(first.state);
    const overlap = op("participant.joined", { participant: "p_2", name: null, group: null, table: null }, "p_2");
    const more = applyOps(first.state, first.cursor, 3, [joined, overlap]);
    expect(more.state.participants.map((p) => p.id)).toEqual(["p_1", "p_2"]);
    expect(more.cursor).toBe(3);
  });

  test("an empty frame only moves the cursor", () => {
    const r = applyOps(fresh(), 4, 9, []);
    expect(r.cursor).toBe(9);
    expect(r.state.seq).toBe(9);
  });

  test("a frame whose upto is below its ops, or out of order, is broken", () => {
    const s = fresh();
    const a = op("note.added", { text: "a", colour: null }, "p_1");
    const b = op("note.added", { text: "b", colour: null }, "p_1");
    expect(applyOps(s, 4, 5, [a, b])).toMatchObject({ broken: true, cursor: 4, state: s });
    expect(applyOps(s, 4, 6, [b, a])).toMatchObject({ broken: true, cursor: 4, state: s });
  });

  test("applySnapshot replaces the state at its seq", () => {
    const s = fresh();
    expect(applySnapshot({ t: "snapshot", seq: 4, state: s })).toEqual(s);
  });
});

// ---- the server's own fold as the reference ---------------------------------------------

/**
 * A realistic event made with the server's own rules and fold (server/domain), run by the
 * project's Python: for each audience, what its screens receive op by op (`op_view`) and
 * the snapshot it would receive instead (`state_view`) at checkpoints. The client must
 * reach the same state by replaying.
 */
const FIXTURE_PY = String.raw`
import json, sys
from plenary.domain.commands import *
from plenary.domain.fold import apply
from plenary.domain.model import SYSTEM_ACTOR, Actor, EventState, Op, Role
from plenary.domain.rules import Decision, Limits, decide
from plenary.domain.views import op_view, state_view

F = Actor("f_1", Role.FACILITATOR); P1 = Actor("p_1", Role.PARTICIPANT); P2 = Actor("p_2", Role.PARTICIPANT)
state = EventState(id="ev_fixture"); log = []
def step(actor, cmd, by=None):
    global state
    d = decide(state, actor, cmd, Limits())
    assert isinstance(d, Decision), (cmd, d)
    op = Op(seq=state.seq + 1, kind=d.kind, by=actor.id if actor else (by or SYSTEM_ACTOR), at=1_790_000_000_000 + 1000 * state.seq, data=d.data)
    after, _ = apply(state, op)
    log.append((op, state, after)); state = after
    return op.seq
step(None, CreateEvent("Town hall", ("Staff", "Guests"), "ABC346"))
step(None, Join("p_1", "Ann", "Staff", "T1"), by="p_1")
step(None, Join("p_2", None, "Guests", None), by="p_2")
step(F, UpdateEvent(title="Town hall 2026", tables=(TableSpec("T1", "Oak"), TableSpec("T2"))))
r = step(F, AddActivity("notes", "What works?"))
step(F, SetActivityStatus(r, "open")); step(F, SetCurrentActivity(r)); step(F, SetTimer(r, 600))
n1 = step(P1, AddNote("Buses at night", "yellow"))
n2 = step(P2, AddNote("More buses", None))
n3 = step(P1, AddNote("Rude remark", "pink"))
step(P1, EditNote(n1, "Night buses"))
step(F, EditNote(n2, "More frequent buses"))
step(F, HideNote(n3)); step(F, EditNote(n3, "Remark (edited)")); step(F, UnhideNote(n3))
n4 = step(P2, AddNote("Oops", "blue")); step(P2, DeleteNote(n4))
t1 = step(F, AddTheme(r, "Transport")); step(F, SetNoteTheme(n1, t1)); step(F, RenameTheme(t1, "Getting around"))
m = step(F, MergeNotes((n1, n2), "Better buses"))
t2 = step(F, AddTheme(r, "Manners")); step(F, SetNoteTheme(n3, t2)); step(F, DeleteTheme(t2))
v = step(F, AddActivity("vote", "Which matter most?", VoteSpec(r, budget=3)))
step(F, EditActivity(v, prompt="Which matter most to you?"))
step(F, MoveActivity(v, 0)); step(F, SetActivityStatus(v, "open"))
step(P1, AddDot(v, m)); step(P2, AddDot(v, m)); step(P1, RemoveDot(v, m))
step(F, SetActivityStatus(r, "closed"))
dr = step(F, AddActivity("draft", "Strategy", reactions="live"))
writer_at = step(F, SetWriter("p_1", True))
step(F, SetActivityStatus(dr, "open"))
step(P1, SaveDraft(dr, 0, "# Strategy\n\n## Buses\n\nRun night buses.\n"))
step(P1, ExplainChange(dr, 1, "s2", "The room asked for it.", (LinkSpec("theme", t1), LinkSpec("note", m))))
step(P1, PublishDraft(dr, 1))
step(P2, React(dr, 1, "s2", "concern", "Who pays?"))
step(F, SaveDraft(dr, 1, "# Strategy\n\n## Buses\n\nRun night buses every 20 minutes.\n\n## Walking\n\nWider pavements.\n"))
step(F, ExplainChange(dr, 2, "s2", "More detail.", (LinkSpec("note", n3), LinkSpec("vote", v, m))))
step(F, ExplainChange(dr, 2, "s3", "New section.", ()))
step(F, HideNote(n3))
step(P1, SaveDraft(dr, 2, "# Strategy\n\n## Buses\n\nRun night buses every 20 minutes.\n\n## Walking\n\nWider pavements and crossings.\n"))
step(P1, PublishDraft(dr, 2))
step(P1, ExplainChange(dr, 3, "s3", "Crossings too.", ()))
step(F, ExplainChange(dr, 2, "s2", "Asked for by the room.", (LinkSpec("theme", t1),)))
step(F, SetTimer(r, None)); step(F, SetCurrentActivity(dr)); step(F, UpdateEvent(groups=("Staff", "Guests", "Visitors")))
step(F, SetActivityStatus(r, "open")); step(F, SetCurrentActivity(r)); n5 = step(P2, AddNote("Late note", "green"))
step(F, RemoveParticipant("p_2")); step(F, RemoveParticipant("p_1"))  # p_1 is on the writing team

CHECKPOINTS = (16, 22, 29, 38, 41, 45, 47, state.seq)
def audience_at(aud, seq):
    if aud == "writer" and seq < writer_at: return Role.PARTICIPANT
    return Role(aud)
out = {"event": "ev_fixture", "writer_at": writer_at, "final": state.seq, "audiences": {}}
for aud in ("facilitator", "participant", "writer", "observer"):
    views = []
    for op, before, after in log:
        views.append(op_view(op, before, after, audience_at(aud, op.seq)))
    mid = None
    if aud == "writer":
        mid = state_view(log[writer_at - 1][2], Role.WRITER)
    checkpoints = {str(seq): state_view(log[seq - 1][2], audience_at(aud, seq)) for seq in CHECKPOINTS}
    out["audiences"][aud] = {"ops": views, "snapshots": checkpoints, "writer_snapshot": mid}
json.dump(out, sys.stdout, separators=(",", ":"), sort_keys=True)

`;

const repo = resolve(__dirname, "../..");
const python = [process.env.PLENARY_PYTHON, resolve(repo, ".venv/bin/python")].find(
  (p): p is string => !!p && existsSync(p),
);
const requirePython = process.env.CI === "true";

describe.skipIf(!python && !requirePython)("replaying a screen's ops equals its snapshot (server fold as reference)", () => {
  type Fixture = {
    event: string;
    writer_at: number;
    audiences: Record<string, { ops: (Op | null)[]; snapshots: Record<string, EventState>; writer_snapshot: EventState | null }>;
  };
  const load = (): Fixture => {
    if (!python) throw new Error("CI: no Python with the plenary package (.venv/bin/python or PLENARY_PYTHON)");
    const out = execFileSync(python, ["-c", FIXTURE_PY], { cwd: repo, encoding: "utf8", maxBuffer: 64 << 20 });
    return JSON.parse(out) as Fixture;
  };
  let fixture: Fixture | null = null;
  const fx = () => (fixture ??= load());

  /** A draft is listed, empty, in the room's snapshots from its first (private) save; the
   * room's replay meets it at its first publication. */
  const settled = (s: EventState, audience: string): EventState =>
    audience === "facilitator" || audience === "writer"
      ? s
      : { ...s, drafts: s.drafts.filter((d) => d.published !== null || d.versions.length > 0) };

  for (const audience of ["facilitator", "participant", "observer", "writer"]) {
    test(audience, () => {
      const { event, writer_at, audiences } = fx();
      const a = audiences[audience]!;
      let state = emptyState(event);
      let cursor = 0;
      let checked = 0;
      a.ops.forEach((view, i) => {
        const seq = i + 1;
        if (audience === "writer" && seq === writer_at) {
          // Put on the writing team: resync, then the writers' snapshot.
          state = applySnapshot({ t: "snapshot", seq, state: a.writer_snapshot! });
          cursor = seq;
        } else {
          ({ state, cursor } = applyOps(state, cursor, seq, view ? [view] : []));
        }
        const snapshot = a.snapshots[String(seq)];
        if (snapshot) {
          expect(settled(state, audience), `${audience} at seq ${seq}`).toStrictEqual(settled(snapshot, audience));
          checked += 1;
        }
      });
      expect(checked).toBe(Object.keys(a.snapshots).length);
      // The same ops in one frame, as a catch-up delivers them, give the same state.
      if (audience !== "writer") {
        const all = a.ops.filter((o): o is Op => o !== null);
        const once = applyOps(emptyState(event), 0, a.ops.length, all);
        expect(once.state).toStrictEqual(state);
      }
    });
  }
});
