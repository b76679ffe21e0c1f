/** Pure helpers that read the event state the way every screen shows it. */
import type { EventState, PendingWrite } from "../core/contract";
import type { Activity, NoteState, Theme } from "./types";

/** Note length limit (PLENARY_NOTE_MAX_CHARS default); the server has the last word. */
export const NOTE_MAX_CHARS = 280;

export const COLOURS = ["yellow", "pink", "blue", "green", "orange", "purple"] as const;
export type ColourName = (typeof COLOURS)[number];

/** Characters as the server counts them (code points, not UTF-16 units). */
export function charCount(text: string): number {
  return [...text.normalize("NFC").trim()].length;
}

export function currentActivity(state: EventState): Activity | null {
  if (state.current == null) return null;
  return state.activities.find((a) => a.id === state.current) ?? null;
}

export function activityById(state: EventState, id: number): Activity | null {
  return state.activities.find((a) => a.id === id) ?? null;
}

/** The notes on a round's wall: visible, not merged away. `round` null is the open board. */
export function wallNotes(state: EventState, round: number | null): NoteState[] {
  return state.notes.filter((n) => n.round === round && !n.hidden && n.merged_into == null);
}

export function themesOf(state: EventState, round: number): Theme[] {
  return state.themes.filter((t) => t.round === round);
}

export interface VoteItem {
  id: number;
  label: string;
  /** For a theme: how many notes it holds. */
  notes?: number;
}

/** The items of a vote: the live notes or the themes of its round. */
export function voteItems(state: EventState, vote: Activity): VoteItem[] {
  const settings = vote.vote;
  if (!settings) return [];
  if (settings.target === "themes") {
    const notes = wallNotes(state, settings.round);
    return themesOf(state, settings.round).map((t) => ({
      id: t.id,
      label: t.name,
      notes: notes.filter((n) => n.theme === t.id).length,
    }));
  }
  return wallNotes(state, settings.round).map((n) => ({ id: n.id, label: n.text }));
}

/** A participant's name as this screen may see it (null: anonymous or not shown). */
export function nameOf(state: EventState, actor: string): string | null {
  return state.participants.find((p) => p.id === actor)?.name ?? null;
}

export function statusText(status: Activity["status"]): string {
  switch (status) {
    case "draft":
      return "not open yet";
    case "open":
      return "open";
    case "closed":
      return "closed";
    case "archived":
      return "archived";
  }
}

/** Pending writes of one kind, typed by their op. */
export function pendingOps<K extends string>(
  pending: readonly PendingWrite[],
  kind: K,
): (PendingWrite & { op: Extract<PendingWrite["op"], { kind: K }> })[] {
  return pending.filter((p) => p.op.kind === kind) as (PendingWrite & {
    op: Extract<PendingWrite["op"], { kind: K }>;
  })[];
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function kindLabel(activity: Pick<Activity, "kind">): string {
  switch (activity.kind) {
    case "notes":
      return "Notes round";
    case "vote":
      return "Dot vote";
    case "draft":
      return "Draft strategy";
  }
}


/**
 * A draft's text cut into its sections the way the server cuts it (docs/protocol.md,
 * "Saving"): at ATX headings outside fenced code, plus any text before the first
 * heading. Used only to show the published text offline, before the server's rendering
 * can be fetched; the caller checks the count against the version's section ids.
 */
export function splitSections(text: string): string[] {
  const sections: string[] = [];
  let current: string[] = [];
  let fence: string | null = null;
  for (const line of text.split("\n")) {
    const opening = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === null && opening) fence = opening[1]![0]!.repeat(opening[1]!.length);
    else if (fence !== null && line.trimStart().startsWith(fence)) fence = null;
    else if (fence === null && /^ {0,3}#{1,6}(\s|$)/.test(line)) {
      if (current.join("").trim()) sections.push(current.join("\n"));
      current = [];
    }
    current.push(line);
  }
  if (current.join("").trim()) sections.push(current.join("\n"));
  return sections;
}
