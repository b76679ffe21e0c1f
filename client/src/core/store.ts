/**
 * The event as a screen holds it: a pure fold of the ops it receives, in the shape of the
 * `snapshot` a screen of the same role would receive at the same seq (schemas/protocol.json,
 * EventState). It mirrors the server's fold (server/domain/fold.py) and what each role
 * receives of it (server/domain/views.py): the server has already left out what this
 * screen may not see, so applying is the same for every role.
 *
 * Nothing here mutates: every update returns new arrays and objects for what changed and
 * shares the rest, so views can compare by reference.
 *
 * Known, harmless differences from a fresh snapshot (the next snapshot settles them):
 * names that a looser anonymity setting would now show stay hidden; a draft appears to
 * screens outside the writing team at its first publication, not at its first save (the
 * snapshot lists it, empty, from then); a rationale that is
 * withdrawn does not bring back an older one for the same section; a link label hidden
 * because its note was hidden or deleted does not come back when the note does.
 */
import type {
  DraftState,
  EventState,
  Link,
  NoteState,
  Op,
  Rationale,
  Snapshot,
  VersionMeta,
  VersionText,
} from "./protocol.gen";

type OpOf<K extends Op["kind"]> = Extract<Op, { kind: K }>;
type Participant = EventState["participants"][number];
type Activity = EventState["activities"][number];
type Theme = EventState["themes"][number];

/** An event with nothing in it: what op 1 (`event.created`) is applied to. */
export function emptyState(id: string): EventState {
  return {
    id,
    seq: 0,
    title: "",
    code: "",
    groups: [],
    participants: [],
    notes: [],
    tables: [],
    anonymity: "everyone",
    activities: [],
    agenda: [],
    current: null,
    themes: [],
    writers: [],
    drafts: [],
  };
}

/** The state a snapshot frame carries, as it is: a snapshot replaces everything. */
export function applySnapshot(frame: Snapshot): EventState {
  return { ...frame.state, seq: frame.seq };
}

/** Python's sort of strings (by code point) for ids, sections and groups. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Put `item` in a list sorted by `key`, replacing the one with the same key. */
function upsert<T, K extends string | number>(list: readonly T[], item: T, key: (x: T) => K): T[] {
  const k = key(item);
  const out = list.filter((x) => key(x) !== k);
  let i = out.length;
  while (i > 0 && compare(key(out[i - 1]!), k) > 0) i -= 1;
  out.splice(i, 0, item);
  return out;
}

function compare(a: string | number, b: string | number): number {
  return typeof a === "number" && typeof b === "number"
    ? a - b
    : compareStrings(String(a), String(b));
}

function mapNote(state: EventState, id: number, f: (n: NoteState) => NoteState): EventState {
  if (!state.notes.some((n) => n.id === id)) return state; // not seen by this screen
  return { ...state, notes: state.notes.map((n) => (n.id === id ? f(n) : n)) };
}

function mapActivity(state: EventState, id: number, f: (a: Activity) => Activity): EventState {
  if (!state.activities.some((a) => a.id === id)) return state;
  return { ...state, activities: state.activities.map((a) => (a.id === id ? f(a) : a)) };
}

function mapTheme(state: EventState, id: number, f: (t: Theme) => Theme): EventState {
  if (!state.themes.some((t) => t.id === id)) return state;
  return { ...state, themes: state.themes.map((t) => (t.id === id ? f(t) : t)) };
}

/**
 * The state after `op`, with `seq` set to the op's. An op kind this client does not know
 * changes nothing but the seq (see `isKnownOp`: the page should reload).
 */
export function applyOp(state: EventState, op: Op): EventState {
  return { ...applyData(state, op), seq: op.seq };
}

function applyData(state: EventState, op: Op): EventState {
  switch (op.kind) {
    case "event.created":
      return { ...state, title: op.data.title, groups: [...op.data.groups], code: op.data.code };
    case "participant.joined": {
      const d = op.data;
      const p: Participant = {
        id: d.participant,
        name: d.name,
        group: d.group,
        table: d.table,
        joined_seq: op.seq,
      };
      return { ...state, participants: upsert(state.participants, p, (x) => x.id) };
    }
    case "event.updated": {
      const d = op.data;
      const next = { ...state };
      if (d.title !== undefined) next.title = d.title;
      if (d.groups !== undefined) next.groups = [...d.groups];
      if (d.tables !== undefined) next.tables = d.tables.map((t) => ({ number: t.number, name: t.name }));
      if (d.anonymity !== undefined) next.anonymity = d.anonymity;
      return next;
    }
    case "note.added":
      return noteAdded(state, op);
    case "note.edited":
      return mapNote(state, op.data.note, (n) => ({
        ...n,
        text: op.data.text,
        // A facilitator's rewording is marked; the author's own edit leaves the mark as is.
        edited_by: op.by === n.author ? n.edited_by : op.by,
        updated_seq: op.seq,
      }));
    case "note.deleted":
      return scrubAll(
        { ...state, notes: state.notes.filter((n) => n.id !== op.data.note) },
        op.data.note,
      );
    case "note.hidden":
      // Only facilitators receive this; to everyone else the note arrives as note.deleted.
      return scrubAll(
        mapNote(state, op.data.note, (n) => ({ ...n, hidden: true, updated_seq: op.seq })),
        op.data.note,
      );
    case "note.unhidden": {
      const restored = op.data.restored;
      if (restored) return { ...state, notes: upsert(state.notes, { ...restored }, (n) => n.id) };
      return mapNote(state, op.data.note, (n) => ({ ...n, hidden: false, updated_seq: op.seq }));
    }
    case "notes.merged":
      return notesMerged(state, op);
    case "note.themed":
      return mapNote(state, op.data.note, (n) => ({ ...n, theme: op.data.theme, updated_seq: op.seq }));
    case "theme.added": {
      const theme: Theme = {
        id: op.seq,
        round: op.data.round,
        name: op.data.name,
        created_seq: op.seq,
        updated_seq: op.seq,
      };
      return { ...state, themes: upsert(state.themes, theme, (t) => t.id) };
    }
    case "theme.renamed":
      return mapTheme(state, op.data.theme, (t) => ({ ...t, name: op.data.name, updated_seq: op.seq }));
    case "theme.deleted": {
      // Its notes stay in the round, unthemed.
      const id = op.data.theme;
      const notes = state.notes.map((n) => (n.theme === id ? { ...n, theme: null, updated_seq: op.seq } : n));
      const next = { ...state, notes, themes: state.themes.filter((t) => t.id !== id) };
      return scrubAll(next, id);
    }
    case "activity.added": {
      const d = op.data;
      const activity: Activity = {
        id: op.seq,
        kind: d.kind,
        prompt: d.prompt,
        status: "draft",
        vote: d.vote ? { ...d.vote } : null,
        reactions: d.reactions ?? null,
        ends_at: null,
        created_seq: op.seq,
        updated_seq: op.seq,
      };
      return {
        ...state,
        activities: upsert(state.activities, activity, (a) => a.id),
        agenda: [...state.agenda, activity.id],
      };
    }
    case "activity.edited": {
      const d = op.data;
      return mapActivity(state, d.activity, (a) => ({
        ...a,
        prompt: d.prompt !== undefined ? d.prompt : a.prompt,
        vote: d.vote !== undefined ? { ...d.vote } : a.vote,
        reactions: d.reactions !== undefined ? d.reactions : a.reactions,
        updated_seq: op.seq,
      }));
    }
    case "activity.status":
      return mapActivity(state, op.data.activity, (a) => ({
        ...a,
        status: op.data.status,
        updated_seq: op.seq,
      }));
    case "activity.timer": {
      const seconds = op.data.seconds;
      return mapActivity(state, op.data.activity, (a) => ({
        ...a,
        ends_at: seconds === null ? null : op.at + seconds * 1000,
        updated_seq: op.seq,
      }));
    }
    case "activity.current":
      return { ...state, current: op.data.activity };
    case "agenda.reordered":
      return { ...state, agenda: [...op.data.order] };
    case "dot.added":
    case "dot.removed":
    case "reaction.changed":
      // In the log only: screens get `mine`/`tally` and `reacted`/`reactions` frames.
      return state;
    case "writer.set": {
      const who = op.data.participant;
      const others = state.writers.filter((w) => w !== who);
      const writers = op.data.writer ? [...others, who].sort(compareStrings) : others;
      return { ...state, writers };
    }
    case "participant.removed": {
      // Off the lists (server/domain/views.py leaves removed participants out of every
      // snapshot) and off the writing team; their notes stay, with their group and table.
      const who = op.data.participant;
      if (!state.participants.some((p) => p.id === who) && !state.writers.includes(who)) return state;
      return {
        ...state,
        participants: state.participants.filter((p) => p.id !== who),
        writers: state.writers.filter((w) => w !== who),
      };
    }
    case "draft.saved":
      return draftSaved(state, op);
    case "draft.published":
      return draftPublished(state, op);
    case "draft.explained":
      return draftExplained(state, op);
    default:
      return state;
  }
}

/** Whether this client knows how to apply `kind` (an unknown one means: reload the page). */
export function isKnownOp(kind: string): boolean {
  return KNOWN.has(kind);
}

const KNOWN = new Set<string>([
  "event.created",
  "participant.joined",
  "event.updated",
  "note.added",
  "note.edited",
  "note.deleted",
  "note.hidden",
  "note.unhidden",
  "notes.merged",
  "note.themed",
  "theme.added",
  "theme.renamed",
  "theme.deleted",
  "activity.added",
  "activity.edited",
  "activity.status",
  "activity.timer",
  "activity.current",
  "agenda.reordered",
  "dot.added",
  "dot.removed",
  "reaction.changed",
  "writer.set",
  "participant.removed",
  "draft.saved",
  "draft.published",
  "draft.explained",
] satisfies Op["kind"][]);

function noteAdded(state: EventState, op: OpOf<"note.added">): EventState {
  // The note's group and table are its author's (none for a facilitator's note).
  const author = state.participants.find((p) => p.id === op.by);
  const note: NoteState = {
    id: op.seq,
    author: op.by,
    group: author ? author.group : null,
    table: author ? author.table : null,
    text: op.data.text,
    colour: op.data.colour,
    hidden: false,
    created_seq: op.seq,
    updated_seq: op.seq,
    round: op.data.round ?? null,
    theme: null,
    edited_by: null,
    merged_into: null,
    merged_from: [],
    groups: [],
  };
  return { ...state, notes: upsert(state.notes, note, (n) => n.id) };
}

function notesMerged(state: EventState, op: OpOf<"notes.merged">): EventState {
  // One new note stands for the originals, which stay, marked, so that links to them,
  // their authors' groups and any dots on them survive.
  const originals = op.data.notes
    .map((id) => state.notes.find((n) => n.id === id))
    .filter((n): n is NoteState => n !== undefined);
  const groups = new Set<string>();
  for (const n of originals) {
    if (n.groups.length) n.groups.forEach((g) => groups.add(g));
    else if (n.group !== null) groups.add(n.group);
  }
  const themes = new Set(originals.map((n) => n.theme));
  const merged: NoteState = {
    id: op.seq,
    author: op.by,
    group: null,
    table: null,
    text: op.data.text,
    colour: null,
    hidden: false,
    created_seq: op.seq,
    updated_seq: op.seq,
    round: originals[0]?.round ?? null,
    theme: themes.size === 1 ? [...themes][0]! : null,
    edited_by: null,
    merged_into: null,
    merged_from: originals.map((n) => n.id),
    groups: [...groups].sort(compareStrings),
  };
  const ids = new Set(originals.map((n) => n.id));
  const notes = state.notes.map((n) => (ids.has(n.id) ? { ...n, merged_into: op.seq, updated_seq: op.seq } : n));
  return { ...state, notes: upsert(notes, merged, (n) => n.id) };
}

// ---- drafts ------------------------------------------------------------------------------

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function newDraft(activity: number): DraftState {
  return { activity, published: null, head: null, versions: [], current: null, working: null };
}

function putDraft(state: EventState, draft: DraftState): EventState {
  return { ...state, drafts: upsert(state.drafts, draft, (d) => d.activity) };
}

function draftOf(state: EventState, activity: number): DraftState | undefined {
  return state.drafts.find((d) => d.activity === activity);
}

function draftSaved(state: EventState, op: OpOf<"draft.saved">): EventState {
  // Only facilitators and the writing team receive saves.
  const d = op.data;
  const draft = draftOf(state, d.activity) ?? newDraft(d.activity);
  const meta: VersionMeta = {
    version: d.version,
    base: d.base,
    author: op.by,
    saved_seq: op.seq,
    saved_at: op.at,
    words: words(d.text),
    summary: d.summary,
    published_seq: null,
    published_at: null,
    previous: null,
    published_summary: null,
  };
  // The working version shows the explanations written since the last publication: the
  // previous working version's carry over; the new version has none of its own yet.
  const working: VersionText = {
    version: d.version,
    text: d.text,
    sections: [...d.sections],
    rationales: draft.working ? draft.working.rationales : [],
  };
  return putDraft(state, {
    ...draft,
    head: d.version,
    versions: upsert(draft.versions, meta, (v) => v.version),
    working,
  });
}

function draftPublished(state: EventState, op: OpOf<"draft.published">): EventState {
  const d = op.data;
  const draft = draftOf(state, d.activity) ?? newDraft(d.activity);
  const saved = draft.versions.find((v) => v.version === d.version);
  let versions: VersionMeta[];
  if (saved && saved.saved_seq !== undefined) {
    // The writing team's view: every version, with the publication recorded on it.
    versions = draft.versions.map((v) =>
      v.version === d.version
        ? { ...v, published_seq: op.seq, published_at: op.at, previous: d.previous, published_summary: d.summary }
        : v,
    );
  } else {
    // Everyone else sees published versions only, each with the change since the last.
    const meta: VersionMeta = {
      version: d.version,
      author: d.author ?? op.by,
      words: words(d.text ?? ""),
      published_seq: op.seq,
      published_at: op.at,
      previous: d.previous,
      summary: d.summary,
    };
    versions = upsert(draft.versions, meta, (v) => v.version);
  }
  const current: VersionText = {
    version: d.version,
    author: d.author ?? op.by,
    text: d.text ?? "",
    sections: [...(d.sections ?? [])],
    rationales: (d.rationales ?? []).map((r) => ({ ...r })),
  };
  const priv = saved !== undefined && saved.saved_seq !== undefined;
  const head = priv ? Math.max(draft.head ?? 0, d.version) : d.version;
  let working: VersionText | null = null;
  if (priv && draft.working && draft.working.version > d.version) {
    // A later working version now shows only what was explained after this publication.
    const published = new Set(current.rationales.map((r) => `${r.section}\u0000${r.seq}`));
    working = {
      ...draft.working,
      rationales: draft.working.rationales.filter((r) => !published.has(`${r.section}\u0000${r.seq}`)),
    };
  }
  return putDraft(state, { ...draft, published: d.version, head, versions, current, working });
}

function draftExplained(state: EventState, op: OpOf<"draft.explained">): EventState {
  const d = op.data;
  const draft = draftOf(state, d.activity);
  if (!draft) return state;
  const remove = !d.rationale && d.links.length === 0;
  const rationale: Rationale = {
    section: d.section,
    rationale: d.rationale,
    links: d.links.map((l) => scrubbed(state, { ...l })),
    by: op.by,
    seq: op.seq,
  };
  const update = (text: VersionText): VersionText => {
    const others = text.rationales.filter((r) => r.section !== d.section);
    const rationales = remove ? others : upsert(others, rationale, (r) => r.section);
    return { ...text, rationales };
  };
  // The published version shows what was explained on it and on the working versions
  // since the publication before it; the working version, what was explained since the
  // last publication.
  let { current, working } = draft;
  if (current) {
    const previous = draft.versions.find((v) => v.version === current!.version)?.previous ?? 0;
    if (d.version > previous && d.version <= current.version) current = update(current);
  }
  if (working) {
    const since = draft.published ?? 0;
    if (d.version > since && d.version <= working.version) working = update(working);
  }
  if (current === draft.current && working === draft.working) return state;
  return putDraft(state, { ...draft, current, working });
}

/**
 * A link's label repeats a note's text: screens show it only while the note is on the
 * wall (server/domain/views.py `_scrubbed`, which snapshots apply for every role).
 */
function scrubbed(state: EventState, link: Link): Link {
  if (link.label === null) return link;
  const target = noteTarget(state, link);
  if (target === null) return link;
  const note = state.notes.find((n) => n.id === target);
  return note && !note.hidden ? link : { ...link, label: null };
}

function noteTarget(state: EventState, link: Link): number | null {
  if (link.kind === "note") return link.id;
  if (link.kind === "vote" && link.item !== null && !state.themes.some((t) => t.id === link.item)) {
    return link.item;
  }
  return null;
}

/** After a note (or theme) left the wall: hide the labels of the links that named it. */
function scrubAll(state: EventState, id: number): EventState {
  const touches = (r: Rationale) => r.links.some((l) => l.label !== null && (l.id === id || l.item === id));
  const fix = (t: VersionText | null): VersionText | null => {
    if (!t || !t.rationales.some(touches)) return t;
    return {
      ...t,
      rationales: t.rationales.map((r) =>
        touches(r) ? { ...r, links: r.links.map((l) => scrubbed(state, l)) } : r,
      ),
    };
  };
  let changed = false;
  const drafts = state.drafts.map((draft) => {
    const current = fix(draft.current);
    const working = fix(draft.working);
    if (current === draft.current && working === draft.working) return draft;
    changed = true;
    return { ...draft, current, working };
  });
  return changed ? { ...state, drafts } : state;
}

// ---- frames and the cursor ---------------------------------------------------------------

export interface Applied {
  state: EventState;
  cursor: number;
  /** Set when the frame breaks the ordering rules: reconnect and resume from `cursor`. */
  broken: boolean;
  /** Op kinds this client does not know (the page is older than the server). */
  unknown: string[];
}

/**
 * Apply an `ops` frame at `cursor` (the `upto` of the last frame applied, or the seq of
 * the last snapshot): ops at or below the cursor are duplicates and dropped, the rest are
 * applied in order, and the cursor moves to `upto`, which covers the ops this screen was
 * not sent. A frame whose `upto` is below one of its ops is broken: nothing is applied.
 */
export function applyOps(state: EventState, cursor: number, upto: number, ops: readonly Op[]): Applied {
  const last = ops.length ? ops[ops.length - 1]!.seq : 0;
  let ordered = true;
  for (let i = 1; i < ops.length; i++) if (ops[i]!.seq <= ops[i - 1]!.seq) ordered = false;
  if (upto < last || !ordered) return { state, cursor, broken: true, unknown: [] };
  if (upto <= cursor) return { state, cursor, broken: false, unknown: [] };
  const unknown: string[] = [];
  let next = state;
  for (const op of ops) {
    if (op.seq <= cursor) continue;
    if (!isKnownOp(op.kind)) unknown.push(op.kind);
    next = applyOp(next, op);
  }
  return { state: { ...next, seq: upto }, cursor: upto, broken: false, unknown };
}
