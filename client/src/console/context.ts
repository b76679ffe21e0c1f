/**
 * What every panel of the facilitator console shares: the session, the token for HTTP
 * reads, and one polite place to say what happened to a write.
 */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Command, EventState, Session, WriteResult } from "../core/contract";
import type { Credential } from "../core/http";

export type Activity = EventState["activities"][number];
export type NoteState = EventState["notes"][number];
export type Theme = EventState["themes"][number];
export type DraftState = EventState["drafts"][number];
export type VersionMeta = DraftState["versions"][number];

export interface Notice {
  id: number;
  kind: "ok" | "error" | "info";
  text: string;
}

export interface ConsoleCtx {
  session: Session;
  event: string;
  token: string;
  credential: Credential;
  /** Replace the stored credential (e.g. once the facilitator key has been saved). */
  updateCredential(patch: Record<string, unknown>): void;
  /** Say something in the console's live region. */
  announce(kind: Notice["kind"], text: string): void;
  /**
   * Send a write and report a refusal politely. `done` is said on success. Resolves with
   * the server's answer (offline, only once the connection is back).
   */
  act(op: Command, done?: string): Promise<WriteResult>;
}

export const Ctx = createContext<ConsoleCtx | null>(null);

export function useConsole(): ConsoleCtx {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error("console panels need the console context");
  return ctx;
}

/** Who an actor is, as the console shows it: a name, a group, or "a facilitator". */
export function actorLabel(state: EventState, actor: string, you: string | null): string {
  if (actor === you) return "you";
  if (actor.startsWith("f_")) return "a facilitator";
  if (actor === "system") return "Plenary";
  const p = state.participants.find((x) => x.id === actor);
  if (!p) return "someone";
  if (p.name) return p.group ? `${p.name} (${p.group})` : p.name;
  return p.group ? `someone from ${p.group}` : "someone (no name)";
}

export const KIND_LABEL: Record<Activity["kind"], string> = {
  notes: "Notes round",
  vote: "Dot-vote",
  draft: "Draft",
};

export function activityTitle(a: Activity): string {
  const prompt = a.prompt.trim() || "(no prompt)";
  return `${KIND_LABEL[a.kind]}: ${prompt}`;
}

/** Activities in agenda order (activities missing from the agenda go last). */
export function agendaOrder(state: EventState): Activity[] {
  const byId = new Map(state.activities.map((a) => [a.id, a]));
  const out: Activity[] = [];
  for (const id of state.agenda) {
    const a = byId.get(id);
    if (a) {
      out.push(a);
      byId.delete(id);
    }
  }
  return out.concat([...byId.values()]);
}

export function formatTime(ms: number | null | undefined): string {
  if (ms == null) return "";
  const d = new Date(ms);
  return d.toLocaleString(undefined, {
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function truncate(text: string, max = 80): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** localStorage that never throws (private mode, full quota). */
export const store = {
  get<T>(key: string): T | null {
    try {
      const raw = globalThis.localStorage?.getItem(key);
      return raw ? (JSON.parse(raw) as T) : null;
    } catch {
      return null;
    }
  },
  set(key: string, value: unknown): boolean {
    try {
      globalThis.localStorage?.setItem(key, JSON.stringify(value));
      return true;
    } catch {
      return false;
    }
  },
  remove(key: string): void {
    try {
      globalThis.localStorage?.removeItem(key);
    } catch {
      // nothing to do
    }
  },
};

/** Copy text to the clipboard; says whether it worked. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
