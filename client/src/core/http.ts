/**
 * The HTTP API (docs/protocol.md, "HTTP API"): getting tokens, reading drafts, downloads.
 *
 * Every failure has one shape, `{"error": {"code", "message"}}`, thrown here as an
 * HttpError; a network failure is an HttpError with code "network" and status 0, so a
 * view needs one catch. Tokens are kept in localStorage by the `credentials` helpers
 * below: joining again makes a new participant, so a phone must keep its first token.
 * A join (and an observe) carries an id of its own until it succeeds, so that retrying
 * one whose reply was lost does not make a second participant (`retryId`).
 */
import type {
  ActorId,
  Anonymity,
  Link,
  Millis,
  ReactionCounts,
  SectionId,
  Seq,
  Summary,
  Table,
  VersionMeta,
  VersionNumber,
} from "./protocol.gen";

export class HttpError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.code = code;
    this.status = status;
  }
}

// ---- answers ---------------------------------------------------------------------------

export interface CreatedEvent {
  event: string;
  code: string;
  facilitator_key: string;
  facilitator_token: string;
  join_url: string;
  facilitator_url: string;
  observer_url: string;
  projector_url: string;
}

/** GET /api/codes/{code}: what a join screen shows. */
export interface CodeInfo {
  event: string;
  code: string;
  title: string;
  groups: string[];
  tables: Table[];
  anonymity: Anonymity;
}

export interface Joined {
  event: string;
  title: string;
  participant: string;
  token: string;
  seq: number;
}

/** The answer of observe and facilitate. */
export interface Granted {
  event: string;
  title: string;
  token: string;
}

export interface DraftVersions {
  activity: Seq;
  published: VersionNumber | null;
  versions: VersionMeta[];
}

/** A rationale with its links resolved as they stand now. */
export interface ResolvedLink extends Link {
  status: "live" | "renamed" | "merged" | "hidden" | "deleted";
  title: string | null;
  target: Seq | null;
  standing: unknown;
}

export interface RationaleView {
  rationale: string;
  links: ResolvedLink[];
  by: ActorId;
  seq: Seq;
}

export interface RenderedSection {
  id: SectionId;
  heading: string | null;
  level: number;
  /** Rendered from Markdown and sanitised by the server against an allowlist. */
  html: string;
}

export interface DraftVersion extends VersionMeta {
  activity: Seq;
  text: string;
  rationales: (RationaleView & { section: SectionId })[];
  sections: RenderedSection[];
}

export type DiffBlock =
  | { op: "same" | "added" | "removed"; text: string }
  | { op: "changed"; words: ["=" | "+" | "-", string][] };

export interface DiffSection {
  id: SectionId | null;
  status: "unchanged" | "changed" | "added" | "removed";
  moved: boolean;
  old: number | null;
  new: number | null;
  heading: string | null;
  old_heading: string | null;
  level: number;
  blocks: DiffBlock[];
  ends: [string, string] | null;
}

export interface DraftDiff {
  activity: Seq;
  from: VersionNumber;
  to: VersionNumber;
  summary: Summary;
  sections: DiffSection[];
}

export interface DraftReport {
  activity: Seq;
  version: VersionNumber;
  from: VersionNumber | null;
  author: ActorId;
  published_at: Millis | null;
  summary: Summary;
  changes: (DiffSection & { rationale: RationaleView | null })[];
  unexplained: number;
}

export interface ReactionShift {
  before: ReactionCounts;
  after: ReactionCounts;
  shift: Record<string, number>;
}

export interface DraftReactions {
  activity: Seq;
  from: VersionNumber;
  to: VersionNumber;
  sections: (ReactionShift & {
    section: SectionId;
    by_group: (ReactionShift & { group: string | null })[];
  })[];
}

// ---- requests --------------------------------------------------------------------------

/** The page's own origin unless a test or an embedding sets another (no trailing slash). */
let base = "";
export function setApiBase(url: string): void {
  base = url.replace(/\/+$/, "");
}

async function request<T>(
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const response = await send(method, path, body, token);
  return (await response.json()) as T;
}

async function send(
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  token?: string,
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers["authorization"] = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new HttpError("network", 0, "could not reach the server; check your connection");
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

async function errorOf(response: Response): Promise<HttpError> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = body.error ?? {};
    if (typeof code === "string" && typeof message === "string") {
      return new HttpError(code, response.status, message);
    }
  } catch {
    // not our error shape (a proxy's page, say): fall through
  }
  const code = response.status >= 500 ? "unavailable" : "bad_frame";
  return new HttpError(code, response.status, `the server answered ${response.status}`);
}

const enc = encodeURIComponent;

function query(params: Record<string, number | undefined | null>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

const draftPath = (event: string, activity: number) =>
  `/api/events/${enc(event)}/drafts/${activity}`;

/** POST /api/events. `createKey` is the server's PLENARY_CREATE_KEY, when it has one. */
export function createEvent(title: string, groups: string[], createKey?: string): Promise<CreatedEvent> {
  return request("POST", "/api/events", { title, groups }, createKey);
}

/** GET /api/codes/{code}. */
export function lookup(code: string): Promise<CodeInfo> {
  return request("GET", `/api/codes/${enc(code)}`);
}

/**
 * POST /api/join: a new participant, once. The call carries a join id, kept (see
 * `retryId`) until a join for this code succeeds: a reply lost on venue wifi, a retry
 * or a reload sends the same id and gets the same participant and token back, instead
 * of leaving a ghost participant behind. Keep the token (saveCredential).
 */
export async function join(
  code: string,
  name: string | null,
  group: string | null,
  table: string | null,
): Promise<Joined> {
  const join_id = retryId("join", code);
  const joined = await request<Joined>("POST", "/api/join", { code, name, group, table, join_id });
  forgetRetryId("join", code);
  return joined;
}

/** POST /api/observe, with an observe id kept as `join` keeps its join id. */
export async function observe(code: string): Promise<Granted> {
  const observe_id = retryId("observe", code);
  const granted = await request<Granted>("POST", "/api/observe", { code, observe_id });
  forgetRetryId("observe", code);
  return granted;
}

/** POST /api/facilitate: a new facilitator identity every call; keep the token. */
export function facilitate(event: string, key: string): Promise<Granted> {
  return request("POST", "/api/facilitate", { event, key });
}

export function draftVersions(event: string, activity: number, token: string): Promise<DraftVersions> {
  return request("GET", `${draftPath(event, activity)}/versions`, undefined, token);
}

export function draftVersion(
  event: string,
  activity: number,
  version: number,
  token: string,
): Promise<DraftVersion> {
  return request("GET", `${draftPath(event, activity)}/versions/${version}`, undefined, token);
}

/** Without `to`, the published version; without `from`, the one published before it. */
export function draftDiff(
  event: string,
  activity: number,
  token: string,
  from?: number,
  to?: number,
): Promise<DraftDiff> {
  return request("GET", `${draftPath(event, activity)}/diff${query({ from, to })}`, undefined, token);
}

export function draftReport(
  event: string,
  activity: number,
  version: number,
  token: string,
  from?: number,
): Promise<DraftReport> {
  const path = `${draftPath(event, activity)}/versions/${version}/report${query({ from })}`;
  return request("GET", path, undefined, token);
}

export function draftReactions(
  event: string,
  activity: number,
  token: string,
  from?: number,
  to?: number,
): Promise<DraftReactions> {
  const path = `${draftPath(event, activity)}/reactions${query({ from, to })}`;
  return request("GET", path, undefined, token);
}

/** The archive's and an activity's CSV paths, for `download`. */
export const archivePath = (event: string) => `/api/events/${enc(event)}/archive`;
export const activityCsvPath = (event: string, activity: number) =>
  `/api/events/${enc(event)}/activities/${activity}.csv`;

/**
 * Fetch `path` with the token as a Bearer header (a plain link cannot send one) and save
 * the answer as `filename` through a temporary blob URL.
 */
export async function download(path: string, token: string, filename: string): Promise<void> {
  const response = await send("GET", path, undefined, token);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  try {
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
    a.rel = "noopener";
    document.body.appendChild(a);
    a.click();
    a.remove();
  } finally {
    // Revoking at once can cancel the save in some browsers: give it a moment.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

// ---- credentials -----------------------------------------------------------------------

export type CredentialKind = "participant" | "observer" | "facilitator";

export interface Credential {
  event: string;
  token: string;
  [extra: string]: unknown;
}

/** A join code as the server reads it: case, spaces and punctuation ignored. */
export function normaliseCode(code: string): string {
  return code
    .normalize("NFKC")
    .toUpperCase()
    .replace(/[^\p{L}\p{N}]/gu, "");
}

function credentialKey(kind: CredentialKind, key: string): string {
  const k = kind === "facilitator" ? key : normaliseCode(key);
  return `plenary:credential:${kind}:${k}`;
}

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage disabled (private mode on some browsers)
  }
}

/** Keep a token: `key` is the join code (participant, observer) or the event id (facilitator). */
export function saveCredential(kind: CredentialKind, key: string, value: Credential): void {
  try {
    storage()?.setItem(credentialKey(kind, key), JSON.stringify(value));
  } catch {
    // full or disabled storage: the session works, a reload will ask again
  }
}

export function loadCredential(kind: CredentialKind, key: string): Credential | null {
  try {
    const raw = storage()?.getItem(credentialKey(kind, key));
    if (!raw) return null;
    const value = JSON.parse(raw) as unknown;
    if (
      value &&
      typeof value === "object" &&
      typeof (value as Credential).event === "string" &&
      typeof (value as Credential).token === "string"
    ) {
      return value as Credential;
    }
  } catch {
    // unreadable: treat as absent
  }
  return null;
}

// ---- retry ids -------------------------------------------------------------------------

type RetryKind = "join" | "observe";

const retryKey = (kind: RetryKind, code: string) => `plenary:${kind}-id:${normaliseCode(code)}`;

/** 16 random bytes, base64url: 22 characters the server's `join_id` pattern accepts. */
export function newRetryId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The id of the join (or observe) for `code` under way: the stored one, else a new one,
 * stored. Kept in localStorage like the credentials, so that a reload mid-join retries
 * the same join; in memory too, for browsers without storage (retries in the page still
 * match, a reload there starts a new join).
 */
export function retryId(kind: RetryKind, code: string): string {
  const key = retryKey(kind, code);
  try {
    const stored = storage()?.getItem(key);
    if (stored && /^[A-Za-z0-9_-]{8,64}$/.test(stored)) return stored;
  } catch {
    // unreadable: fall back to memory
  }
  const id = pendingIds.get(key) ?? newRetryId();
  pendingIds.set(key, id);
  try {
    storage()?.setItem(key, id);
  } catch {
    // full or disabled storage: memory keeps it for this page
  }
  return id;
}

/** The join (or observe) for `code` succeeded: the next one is a new one. */
export function forgetRetryId(kind: RetryKind, code: string): void {
  const key = retryKey(kind, code);
  pendingIds.delete(key);
  try {
    storage()?.removeItem(key);
  } catch {
    // nothing to do
  }
}

const pendingIds = new Map<string, string>();

export function forgetCredential(kind: CredentialKind, key: string): void {
  try {
    storage()?.removeItem(credentialKey(kind, key));
  } catch {
    // nothing to do
  }
}
