/**
 * A Session (contract.ts): the connection, the event's state and the write queue, put
 * together and shown to views as signals.
 *
 *   storage ──► last state + cursor, queued writes        (cache.ts, queue.ts)
 *   socket  ──► welcome / ops / snapshot / replies / counts (connection.ts, store.ts)
 *   views   ──► write(op): stored, sent when welcomed, settled by its ack or error
 *
 * What a write's error means for it (docs/protocol.md, "Errors"):
 *   unavailable   not recorded: sent again, same id, with backoff; later writes wait behind it
 *   rate_limited  not recorded, sent too fast: sent again, same id, once the server's
 *                 retry_after_ms has passed (never sooner), one write at a time until the
 *                 queue is empty; not a failure, nothing shown but "sending"
 *   internal      the server failed on it (a bug): sending it again fails the same way, so
 *                 it leaves the queue for `failed`, where the person sees what they wrote
 *   anything else refused for good: the write's promise says why
 */
import { batch, signal } from "@preact/signals";
import { Backoff, afterHint, retryAfterMs } from "./backoff";
import { StateCache } from "./cache";
import { Connection, type Phase } from "./connection";
import type {
  FailedWrite,
  PendingWrite,
  Role,
  Session,
  SessionOptions,
  Status,
  WriteResult,
} from "./contract";
import type { Command, EventState, Mine, Reacted, Reactions, ServerFrame, Tally, Write } from "./protocol.gen";
import { FailedWrites, fingerprint, WriteQueue } from "./queue";
import { applyOps, applySnapshot, emptyState } from "./store";

/** Sent in `hello` (the server ignores it today; logs may show it one day). */
export const CLIENT_NAME = "plenary-web/0.1";

/** Codes that mean "not recorded, try again with the same id, with backoff". Not
 * `internal`: that is a bug on the server, and retrying it forever (across reloads) blocked
 * every later write of the phone. */
const RETRYABLE = new Set(["unavailable"]);
/** Codes that take a write out of the queue into `failed`, with its text for the person. */
const LOST = new Set(["internal", "unauthorised"]);
/** A `rate_limited` without a usable retry_after_ms waits this long (the server sends one). */
export const RATE_LIMITED_DEFAULT_MS = 1_000;

export function defaultUrl(): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

function localStore(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/** Storage keys of one token's view of one event. */
export function storageKeys(event: string, token: string): { state: string; queue: string; failed: string } {
  const who = `${event}:${fingerprint(token)}`;
  return { state: `plenary:state:${who}`, queue: `plenary:queue:${who}`, failed: `plenary:failed:${who}` };
}

export function openSession(opts: SessionOptions): Session {
  return new ClientSession(opts);
}

class ClientSession implements Session {
  readonly event: string;
  readonly status = signal<Status>("connecting");
  readonly retryAt = signal<number | null>(null);
  readonly you = signal<string | null>(null);
  readonly role = signal<Role | null>(null);
  readonly state = signal<EventState | null>(null);
  readonly tallies = signal<Record<number, Tally["results"]>>({});
  readonly mine = signal<Record<number, Omit<Mine, "t" | "seq">>>({});
  readonly reactions = signal<Record<number, Omit<Reactions, "t">>>({});
  readonly reacted = signal<Record<number, Omit<Reacted, "t">>>({});
  readonly pending = signal<readonly PendingWrite[]>([]);
  readonly failed = signal<readonly FailedWrite[]>([]);
  readonly lastError = signal<{ code: string; message: string } | null>(null);
  readonly clockOffset = signal(0);

  private cursor = 0;
  /** The welcome's seq while the catch-up is under way; null once caught up. */
  private catchingUp: { seq: number; snapshot: boolean } | null = null;
  private phase: Phase = "connecting";
  /** Ids sent on the current connection (a new connection resends them all). */
  private readonly sent = new Set<string>();
  private readonly writeBackoff = new Backoff();
  private resendTimer: ReturnType<typeof setTimeout> | null = null;
  /** When resendTimer fires (Date.now() ms). */
  private resendDue = 0;
  /** The server said `rate_limited`: one write in flight at a time until the queue is
   * empty, so a long queue resent at once does not get most of itself refused again (and
   * the connection closed, 4029, for the refusals). */
  private throttled = false;
  /** No write goes before this (Date.now() ms), a reconnect included: the server's wait. */
  private quietUntil = 0;
  private readonly cache: StateCache;
  private readonly queue: WriteQueue;
  private readonly lost: FailedWrites;
  private readonly connection: Connection;
  private closedByPage = false;

  constructor(private readonly opts: SessionOptions) {
    this.event = opts.event;
    const storage = opts.storage ?? localStore();
    const keys = storageKeys(opts.event, opts.token);
    this.cache = new StateCache(storage, keys.state);
    this.queue = new WriteQueue(storage, keys.queue, (items) => {
      this.pending.value = items;
    });
    this.pending.value = this.queue.pending;
    this.lost = new FailedWrites(storage, keys.failed, (items) => {
      this.failed.value = items;
    });
    this.failed.value = this.lost.items;
    const cached = this.cache.load();
    if (cached && cached.state.id === opts.event) {
      this.cursor = cached.cursor;
      this.state.value = cached.state;
      this.role.value = cached.role;
      this.you.value = cached.you;
    }
    this.connection = new Connection(
      opts.url ?? defaultUrl(),
      {
        hello: () => ({ t: "hello", token: opts.token, since: this.cursor, client: CLIENT_NAME }),
        frame: (frame) => this.receive(frame),
        phase: (phase, retryAt) => this.onPhase(phase, retryAt),
        clock: (offset) => {
          this.clockOffset.value = Math.round(offset);
        },
        ended: (code, message) => this.ended(code, message),
      },
      { WebSocketImpl: opts.WebSocketImpl },
    );
    if (typeof window !== "undefined") window.addEventListener("pagehide", this.flush);
    this.connection.start();
  }

  write(op: Command): Promise<WriteResult> {
    if (this.closedByPage || this.status.value === "closed") {
      return Promise.resolve({ ok: false, code: "closed", message: "this session is closed" });
    }
    const { result } = this.queue.add(op);
    // In order: while an earlier write waits to be retried, this one waits with it.
    if (this.phase === "open" && this.resendTimer === null) this.resendAll();
    return result;
  }

  retryNow(): void {
    this.connection.retryNow();
  }

  dismissFailed(id: string): void {
    this.lost.dismiss(id);
  }

  close(): void {
    if (this.closedByPage) return;
    this.closedByPage = true;
    this.clearResend();
    this.connection.stop();
    this.flush();
    if (typeof window !== "undefined") window.removeEventListener("pagehide", this.flush);
  }

  private readonly flush = (): void => this.cache.flush();

  // ---- the connection's phases --------------------------------------------------------

  private onPhase(phase: Phase, retryAt: number | null): void {
    this.phase = phase;
    if (phase !== "open") {
      this.sent.clear();
      this.clearResend();
    }
    batch(() => {
      this.retryAt.value = phase === "waiting" ? retryAt : null;
      this.status.value = this.statusOf(phase);
    });
  }

  private statusOf(phase: Phase): Status {
    switch (phase) {
      case "ended":
        return "closed";
      case "waiting":
        return "offline";
      case "connecting":
        return "connecting";
      case "open":
        return this.catchingUp ? "connecting" : "online";
    }
  }

  private ended(code: string, message: string): void {
    batch(() => {
      this.lastError.value = { code, message };
      this.status.value = "closed";
    });
    // The event is gone, or this token will never open it again: nothing to resume.
    if (code === "not_found" || code === "unauthorised") this.cache.clear();
    if (code === "unauthorised") {
      // Access ended (removed from the event, or the link expired): what is still queued
      // will never go; it is kept, with its text, for the person to see.
      for (const write of [...this.queue.pending]) this.fail(write, code, message);
    }
  }

  // ---- frames ------------------------------------------------------------------------

  private receive(frame: ServerFrame): void {
    switch (frame.t) {
      case "welcome":
        // The connection has turned "open" just before handing this frame on.
        batch(() => {
          this.role.value = frame.role;
          this.you.value = frame.you;
          this.catchingUp =
            frame.resume === "snapshot" || this.cursor < frame.seq
              ? { seq: frame.seq, snapshot: frame.resume === "snapshot" }
              : null;
          this.status.value = this.statusOf(this.phase);
        });
        // Everything still queued goes again, with the same ids: the server answers a
        // write it already recorded with `ack dup: true`. Not before the server's wait.
        if (Date.now() < this.quietUntil) this.scheduleResend(this.quietUntil - Date.now());
        else this.resendAll();
        break;
      case "ops": {
        const base = this.state.value ?? emptyState(this.event);
        const applied = applyOps(base, this.cursor, frame.upto, frame.ops);
        if (applied.broken) {
          // Out of order or an upto below its ops: resume from what we have.
          this.connection.reconnect(false);
          return;
        }
        if (applied.unknown.length) {
          this.lastError.value = {
            code: "outdated",
            message: "this page is older than the server: reload it",
          };
        }
        if (applied.cursor !== this.cursor) this.setState(applied.state, applied.cursor);
        break;
      }
      case "snapshot":
        this.setState(applySnapshot(frame), frame.seq, true);
        break;
      case "ack":
        this.writeBackoff.reset();
        this.sent.delete(frame.id);
        this.queue.settle(frame.id, { ok: true, seq: frame.seq, dup: frame.dup });
        this.sendNext();
        break;
      case "error":
        this.refused(frame.id, frame.code, frame.message, frame.detail);
        break;
      case "tally":
        this.tallies.value = { ...this.tallies.value, [frame.vote]: frame.results };
        break;
      case "mine": {
        const { t: _t, seq: _s, ...mine } = frame;
        this.mine.value = { ...this.mine.value, [frame.vote]: mine };
        break;
      }
      case "reactions": {
        const { t: _t, ...counts } = frame;
        this.reactions.value = { ...this.reactions.value, [frame.activity]: counts };
        break;
      }
      case "reacted": {
        const { t: _t, ...own } = frame;
        this.reacted.value = { ...this.reacted.value, [frame.activity]: own };
        break;
      }
      case "resync":
      case "pong":
        break; // the connection acts on them
    }
  }

  private setState(state: EventState, cursor: number, snapshot = false): void {
    this.cursor = cursor;
    const caughtUp =
      this.catchingUp !== null &&
      (snapshot || (!this.catchingUp.snapshot && cursor >= this.catchingUp.seq));
    batch(() => {
      this.state.value = state;
      if (caughtUp) {
        this.catchingUp = null;
        if (this.phase === "open") this.status.value = "online";
      }
    });
    this.cache.save({ cursor, state, role: this.role.value, you: this.you.value });
  }

  private refused(id: string | null, code: string, message: string, detail: unknown): void {
    const write = id === null ? undefined : this.queue.get(id);
    if (!write) {
      // A connection's `rate_limited` comes just before its close (4029), which says it
      // all: the status shows the wait.
      if (code !== "rate_limited") this.lastError.value = { code, message };
      return;
    }
    this.sent.delete(write.id);
    if (code === "rate_limited") {
      // Not recorded, and not a failure: the same write, same id, once the server's wait
      // is over; the writes behind it wait with it, in order.
      this.throttled = true;
      const wait = afterHint(retryAfterMs(detail) ?? RATE_LIMITED_DEFAULT_MS);
      this.quietUntil = Math.max(this.quietUntil, Date.now() + wait);
      this.scheduleResend(wait);
      return;
    }
    if (RETRYABLE.has(code)) {
      // Not recorded: the same write, same id, after a while.
      if (this.resendTimer === null) this.scheduleResend(this.writeBackoff.next() + 250);
      return;
    }
    if (LOST.has(code)) {
      this.fail(write, code, message);
    } else {
      const result: WriteResult = { ok: false, code, message };
      if (detail !== undefined) result.detail = detail;
      batch(() => {
        this.lastError.value = { code, message };
        this.queue.settle(write.id, result);
      });
    }
    this.sendNext(); // the writes behind it go on
  }

  /** Take a write out of the queue for good, keeping it (and its text) in `failed`. */
  private fail(write: PendingWrite, code: string, message: string): void {
    batch(() => {
      this.lost.add(write, code, message); // before it leaves the queue: never in neither
      this.lastError.value = { code, message };
      this.queue.settle(write.id, { ok: false, code, message });
    });
  }

  // ---- sending writes -----------------------------------------------------------------

  private resendAll(): void {
    if (this.phase !== "open") return;
    if (this.throttled && this.queue.pending.length === 0) this.throttled = false;
    for (const write of this.queue.pending) {
      if (this.throttled && this.sent.size > 0) return; // one at a time, in order
      if (!this.sent.has(write.id)) this.send(write);
    }
  }

  /** A write was answered: send what waits behind it, unless a resend is scheduled. */
  private sendNext(): void {
    if (this.phase === "open" && this.resendTimer === null) this.resendAll();
  }

  private send(write: PendingWrite): void {
    const frame: Write = { t: "write", id: write.id, op: write.op };
    if (Connection.sizeOf(frame) > this.connection.frameLimit) {
      // The server would close the socket (1009) and the write would never fit.
      const message = "this is too large to send";
      batch(() => {
        this.lastError.value = { code: "bad_frame", message };
        this.queue.settle(write.id, { ok: false, code: "bad_frame", message });
      });
      return;
    }
    if (this.connection.send(frame)) this.sent.add(write.id);
  }

  /** Resend in `delay` ms, or later if a resend is already due later. */
  private scheduleResend(delay: number): void {
    const due = Date.now() + delay;
    if (this.resendTimer !== null) {
      if (this.resendDue >= due) return;
      clearTimeout(this.resendTimer);
    }
    this.resendDue = due;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = null;
      this.resendAll();
    }, delay);
  }

  private clearResend(): void {
    if (this.resendTimer !== null) clearTimeout(this.resendTimer);
    this.resendTimer = null;
  }
}
