/**
 * The interface between the client's core (connection, offline queue, state) and its
 * views. Views import only from this file, `core/index.ts` (which implements it) and
 * `core/http.ts`. Wire shapes come from `protocol.gen.ts`, generated from
 * schemas/protocol.json: never restate them here.
 */
import type { ReadonlySignal } from "@preact/signals";
import type {
  Command,
  EventState,
  Reacted,
  Reactions,
  Tally,
  Mine,
} from "./protocol.gen";

export type { Command, EventState };

/** The view a connection gets: a participant on a draft's writing team is a "writer". */
export type Role = "facilitator" | "participant" | "observer" | "writer";

/**
 * connecting: opening the socket or waiting for welcome (first time or after a drop);
 * online: welcomed and caught up; offline: dropped, a retry is scheduled (see retryAt);
 * closed: the server refused the token or the event is gone; nothing more will happen.
 */
export type Status = "connecting" | "online" | "offline" | "closed";

export type WriteResult =
  | { ok: true; seq: number; dup: boolean }
  | { ok: false; code: string; message: string; detail?: unknown };

/** A write made on this device that the server has not acknowledged yet. */
export interface PendingWrite {
  id: string; // the client op id; a retry reuses it, so nothing is doubled
  op: Command;
  queuedAt: number; // Date.now() when it was made
}

/**
 * A write taken out of the queue without being recorded, kept (in storage too) until the
 * person dismisses it, so that what they wrote is never silently lost: the server failed
 * on it because of a bug of its own (`internal`: sending it again fails the same way), or
 * this device's access ended before it went (`unauthorised`).
 */
export interface FailedWrite extends PendingWrite {
  code: string;
  message: string;
  failedAt: number;
}

export interface Session {
  readonly event: string;
  readonly status: ReadonlySignal<Status>;
  /** When the next reconnect attempt is due (ms since the epoch), while offline. */
  readonly retryAt: ReadonlySignal<number | null>;
  readonly you: ReadonlySignal<string | null>;
  readonly role: ReadonlySignal<Role | null>;
  /** The event as this role may see it, kept current from snapshots and ops. */
  readonly state: ReadonlySignal<EventState | null>;
  /** Vote standings, by vote activity id (from `tally` frames). */
  readonly tallies: ReadonlySignal<Record<number, Tally["results"]>>;
  /** This participant's own dots, by vote activity id (from `mine` frames). */
  readonly mine: ReadonlySignal<Record<number, Omit<Mine, "t" | "seq">>>;
  /** Reaction counts per draft activity (from `reactions` frames), for the version named. */
  readonly reactions: ReadonlySignal<Record<number, Omit<Reactions, "t">>>;
  /** This participant's own reactions per draft activity (from `reacted` frames). */
  readonly reacted: ReadonlySignal<Record<number, Omit<Reacted, "t">>>;
  /** Writes made here and not yet acknowledged, oldest first (they survive a reload). */
  readonly pending: ReadonlySignal<readonly PendingWrite[]>;
  /** Writes that will never be sent (see FailedWrite), oldest first, until dismissed. */
  readonly failed: ReadonlySignal<readonly FailedWrite[]>;
  /** The last refusal of a write of this device, or of the connection, for a toast. */
  readonly lastError: ReadonlySignal<{ code: string; message: string } | null>;
  /** Server clock minus this device's clock, in ms: countdowns use server time. */
  readonly clockOffset: ReadonlySignal<number>;
  /**
   * Queue a write (persisted at once), send it when online, resolve with the server's
   * answer. Offline, the promise stays pending until the write is answered after the
   * connection returns — even across a page reload the write is sent exactly once (the
   * promise of the old page is then gone, the queue is not).
   */
  write(op: Command): Promise<WriteResult>;
  /** Reconnect now instead of waiting for the backoff (e.g. a "retry" button); not before
   * the wait the server asked for when it closed the connection for sending too fast. */
  retryNow(): void;
  /** Forget a failed write (the person has copied it, or does not need it). */
  dismissFailed(id: string): void;
  close(): void;
}

export interface SessionOptions {
  token: string;
  event: string;
  /** ws(s)://host/ws; defaults to the page's own host. */
  url?: string;
  /** Where the cursor, the last state and the queue are kept; defaults to localStorage. */
  storage?: Storage;
  /** For tests: a WebSocket constructor. */
  WebSocketImpl?: typeof WebSocket;
}
