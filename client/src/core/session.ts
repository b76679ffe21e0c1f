/**
 * A Session (contract.ts): the connection, the event's state and the write queue, put
 * together and shown to views as signals.
 *
 *   storage ──► last state + cursor, queued writes        (cache.ts, queue.ts)
 *   socket  ──► welcome / ops / snapshot / replies / counts (connection.ts, store.ts)
 *   views   ──► write(op): stored, sent when welcomed, settled by its ack or error
 */
import { batch, signal } from "@preact/signals";
import { Backoff } from "./backoff";
import { StateCache } from "./cache";
import { Connection, type Phase } from "./connection";
import type {
  PendingWrite,
  Role,
  Session,
  SessionOptions,
  Status,
  WriteResult,
} from "./contract";
import type { Command, EventState, Mine, Reacted, Reactions, ServerFrame, Tally, Write } from "./protocol.gen";
import { fingerprint, WriteQueue } from "./queue";
import { applyOps, applySnapshot, emptyState } from "./store";

/** Sent in `hello` (the server ignores it today; logs may show it one day). */
export const CLIENT_NAME = "plenary-web/0.1";

/** Codes that mean "not recorded, try again with the same id" (docs/protocol.md, "Errors"). */
const RETRYABLE = new Set(["unavailable", "internal"]);

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
export function storageKeys(event: string, token: string): { state: string; queue: string } {
  const who = `${event}:${fingerprint(token)}`;
  return { state: `plenary:state:${who}`, queue: `plenary:queue:${who}` };
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
  private readonly cache: StateCache;
  private readonly queue: WriteQueue;
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
    if (code === "not_found") this.cache.clear(); // the event is gone: nothing to resume
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
        // write it already recorded with `ack dup: true`.
        this.resendAll();
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
    if (id === null || !this.queue.has(id)) {
      this.lastError.value = { code, message };
      return;
    }
    this.sent.delete(id);
    if (RETRYABLE.has(code)) {
      // Not recorded: the same write, same id, after a while.
      this.scheduleResend();
      return;
    }
    const result: WriteResult = { ok: false, code, message };
    if (detail !== undefined) result.detail = detail;
    batch(() => {
      this.lastError.value = { code, message };
      this.queue.settle(id, result);
    });
  }

  // ---- sending writes -----------------------------------------------------------------

  private resendAll(): void {
    if (this.phase !== "open") return;
    for (const write of this.queue.pending) if (!this.sent.has(write.id)) this.send(write);
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

  private scheduleResend(): void {
    if (this.resendTimer !== null) return;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = null;
      this.resendAll();
    }, this.writeBackoff.next() + 250);
  }

  private clearResend(): void {
    if (this.resendTimer !== null) clearTimeout(this.resendTimer);
    this.resendTimer = null;
  }
}
