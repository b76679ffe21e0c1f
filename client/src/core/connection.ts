/**
 * One websocket at a time to /ws, and its lifecycle (docs/protocol.md, "Handshake",
 * "Close codes", "Resync", "Heartbeats"): open, send `hello`, wait for `welcome`, ping,
 * notice a dead socket, and reconnect with backoff — later when the server pushed back
 * (4029), or never again when the server refuses the token (4001) or the event is gone
 * (4004).
 *
 * What the frames mean for the event's state and the write queue is the session's
 * business (session.ts); this module only hands it the decoded frames.
 */
import { Backoff, afterHint, retryAfterMs } from "./backoff";
import { decodeFrame, encodeFrame } from "./codec";
import type { ClientFrame, Hello, ServerFrame, Welcome } from "./protocol.gen";

/** Opening the socket and getting the `welcome` must take less than this. The server
 * allows 10 s for the `hello`; a phone on venue wifi needs a few seconds to connect. */
export const CONNECT_TIMEOUT_MS = 15_000;
/** A connection that stays welcomed this long is stable: the backoff starts afresh. */
export const STABLE_MS = 10_000;
/** After `resync` (or 4008) reconnect at once, spread over this much so that a room the
 * server dropped together does not come back in the same millisecond. */
export const RESYNC_JITTER_MS = 500;
/** After close 4029 (this connection kept sending refused frames, or its address has too
 * many connections) wait at least this long before reconnecting, or what the server's
 * `rate_limited` said just before the close if that is longer (10 s after a flood, 30 s
 * for too many connections), with the usual backoff on top. A "Retry now", the browser's
 * `online` event or the page coming back into view do not cut it short. */
export const RATE_LIMITED_MIN_MS = 5_000;
/** Silence allowed after the last frame: two missed heartbeats plus slack, since a pong
 * waits behind writes sent before its ping. */
export const deadAfterMs = (heartbeatSeconds: number) => 2 * heartbeatSeconds * 1000 + 5_000;

/** Close codes this client sends itself (the range 4000–4999 is the application's). */
const CLOSE_NORMAL = 1000;
const CLOSE_DEAD = 4000;

export type Phase =
  | "connecting" // socket opening, or open and waiting for welcome
  | "open" // welcomed
  | "waiting" // dropped; a retry is scheduled at retryAt
  | "ended"; // closed for good (stop() or a refused token / gone event)

export interface ConnectionEvents {
  /** The socket opened: the `hello` to send (with the cursor as it is now). */
  hello(): Hello;
  /** Every decoded frame from the server, `welcome` included, in arrival order. */
  frame(frame: ServerFrame): void;
  /** The phase changed. */
  phase(phase: Phase, retryAt: number | null): void;
  /** Server clock minus ours, in ms, from `welcome` and each `pong`. */
  clock(offset: number): void;
  /** The server refused the token (4001) or the event is gone (4004): no more retries. */
  ended(code: string, message: string): void;
}

export interface ConnectionOptions {
  WebSocketImpl?: typeof WebSocket;
  random?: () => number;
}

export class Connection {
  private socket: WebSocket | null = null;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly WS: typeof WebSocket;
  private current: Phase = "connecting";
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private deadTimer: ReturnType<typeof setTimeout> | null = null;
  private stableTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeatMs = 0;
  private helloAt = 0;
  private pingN = 0;
  private readonly pingsAt = new Map<number, number>();
  /** The last connection-level error (id null), to explain a close that follows it. */
  private refusal: { code: string; message: string; detail?: unknown } | null = null;
  /** No reconnect before this (Date.now() ms), after a 4029. */
  private notBefore = 0;
  private stopped = false;
  private maxFrame = Infinity;

  constructor(
    private readonly url: string,
    private readonly events: ConnectionEvents,
    options: ConnectionOptions = {},
  ) {
    this.random = options.random ?? (() => Math.random());
    this.backoff = new Backoff(undefined, undefined, this.random);
    const WS = options.WebSocketImpl ?? globalThis.WebSocket;
    if (!WS) throw new Error("this browser has no WebSocket");
    this.WS = WS;
    if (typeof window !== "undefined") {
      window.addEventListener("online", this.onOnline);
      document.addEventListener("visibilitychange", this.onVisible);
    }
  }

  get phase(): Phase {
    return this.current;
  }

  /** The largest frame the server takes (from the welcome). */
  get frameLimit(): number {
    return this.maxFrame;
  }

  /** How many reconnect delays were handed out since the backoff last reset. */
  get attempts(): number {
    return this.backoff.attempts;
  }

  start(): void {
    this.connect();
  }

  /** Send a frame on the welcomed socket; false if there is none (it is not queued here). */
  send(frame: ClientFrame): boolean {
    if (this.current !== "open" || !this.socket) return false;
    try {
      this.socket.send(encodeFrame(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Encoded size of a frame, to keep writes under the server's `max_frame`. */
  static sizeOf(frame: ClientFrame): number {
    return encodeFrame(frame).byteLength;
  }

  /** Drop this socket and resume on a new one: `soon` after a resync, else with backoff. */
  reconnect(soon: boolean): void {
    if (this.stopped) return;
    this.drop(CLOSE_NORMAL);
    this.schedule(soon ? Math.floor(this.random() * RESYNC_JITTER_MS) : this.backoff.next());
  }

  /** Reconnect now rather than when the backoff says (a "retry" button, `online`); not
   * while the server's 4029 wait lasts. */
  retryNow(): void {
    if (this.stopped || this.current !== "waiting" || Date.now() < this.notBefore) return;
    this.connect();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.drop(CLOSE_NORMAL);
    this.clearRetry();
    if (typeof window !== "undefined") {
      window.removeEventListener("online", this.onOnline);
      document.removeEventListener("visibilitychange", this.onVisible);
    }
    this.setPhase("ended", null);
  }

  private readonly onOnline = (): void => this.retryNow();

  private readonly onVisible = (): void => {
    if (document.visibilityState === "visible") this.retryNow();
  };

  private setPhase(phase: Phase, retryAt: number | null): void {
    this.current = phase;
    this.events.phase(phase, retryAt);
  }

  private connect(): void {
    this.clearRetry();
    this.drop(CLOSE_NORMAL);
    this.refusal = null;
    this.setPhase("connecting", null);
    let socket: WebSocket;
    try {
      socket = new this.WS(this.url);
    } catch {
      this.schedule(this.backoff.next());
      return;
    }
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      this.helloAt = Date.now();
      socket.send(encodeFrame(this.events.hello()));
    };
    socket.onmessage = (event: MessageEvent) => this.receive(event.data as ArrayBuffer | string);
    socket.onclose = (event: CloseEvent) => this.closed(event.code, event.reason);
    socket.onerror = () => undefined; // a close event always follows
    this.armDead(CONNECT_TIMEOUT_MS);
  }

  private receive(data: ArrayBuffer | string): void {
    if (this.current === "open") this.armDead(deadAfterMs(this.heartbeatMs / 1000));
    const frame = decodeFrame(data);
    if (!frame) return; // not a frame we can read: one bad frame never kills the connection
    switch (frame.t) {
      case "welcome":
        this.welcomed(frame);
        break;
      case "pong": {
        const sentAt = frame.n !== undefined ? this.pingsAt.get(frame.n) : undefined;
        if (frame.n !== undefined) this.pingsAt.delete(frame.n);
        if (sentAt !== undefined) {
          const now = Date.now();
          this.events.clock(frame.server_time + (now - sentAt) / 2 - now);
        }
        break;
      }
      case "error":
        if (frame.id === null) this.refusal = { code: frame.code, message: frame.message, detail: frame.detail };
        break;
    }
    this.events.frame(frame);
    if (frame.t === "resync" && this.socket) this.reconnect(true);
  }

  private welcomed(welcome: Welcome): void {
    const now = Date.now();
    this.events.clock(welcome.server_time + (now - this.helloAt) / 2 - now);
    this.heartbeatMs = welcome.heartbeat * 1000;
    this.maxFrame = welcome.max_frame;
    this.setPhase("open", null);
    this.armDead(deadAfterMs(welcome.heartbeat));
    this.clearStable();
    this.stableTimer = setTimeout(() => this.backoff.reset(), STABLE_MS);
    this.clearPing();
    // Ping every heartbeat: a phone that walked out of range may not report a closed
    // socket for minutes, and only a missing answer tells.
    this.pingTimer = setInterval(() => this.ping(), this.heartbeatMs);
  }

  private ping(): void {
    this.pingN = (this.pingN + 1) % 4294967296;
    this.pingsAt.set(this.pingN, Date.now());
    if (this.pingsAt.size > 8) this.pingsAt.delete(this.pingsAt.keys().next().value!);
    this.send({ t: "ping", n: this.pingN });
  }

  private closed(code: number, reason: string): void {
    this.detach();
    if (this.stopped) return;
    if (code === 4001 || code === 4004) {
      const fallback =
        code === 4001
          ? { code: "unauthorised", message: reason || "the access token is not valid" }
          : { code: "not_found", message: reason || "this event no longer exists" };
      const why = this.refusal ?? fallback;
      this.stopped = true;
      this.clearRetry();
      this.setPhase("ended", null);
      this.events.ended(why.code, why.message);
      return;
    }
    if (code === 4029) {
      // Rate limited: stay away for a while, each phone for a different while.
      const asked = this.refusal?.code === "rate_limited" ? retryAfterMs(this.refusal.detail) : null;
      const floor = afterHint(Math.max(RATE_LIMITED_MIN_MS, asked ?? 0), this.random);
      this.notBefore = Date.now() + floor;
      this.schedule(floor + this.backoff.next());
      return;
    }
    // 4008: fell behind, reconnect at once; 1001, 1006, 1011, 1012 and the rest: backoff.
    this.schedule(code === 4008 ? Math.floor(this.random() * RESYNC_JITTER_MS) : this.backoff.next());
  }

  private schedule(delay: number): void {
    this.clearRetry();
    if (this.stopped) return;
    // Offline, the browser will say when it is back (`online`); retry anyway at the cap,
    // in case it is wrong.
    const offline = typeof navigator !== "undefined" && navigator.onLine === false;
    const wait = offline ? Math.max(delay, this.backoff.cap) : delay;
    const retryAt = Date.now() + wait;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, wait);
    this.setPhase("waiting", retryAt);
  }

  private armDead(ms: number): void {
    if (this.deadTimer !== null) clearTimeout(this.deadTimer);
    this.deadTimer = setTimeout(() => {
      this.deadTimer = null;
      // Nothing heard: the socket is dead even if the browser has not noticed.
      this.drop(CLOSE_DEAD);
      this.schedule(this.backoff.next());
    }, ms);
  }

  /** Forget the socket (without waiting for its close event) and close it. */
  private drop(code: number): void {
    const socket = this.socket;
    this.detach();
    if (!socket) return;
    try {
      socket.close(code);
    } catch {
      // already closed
    }
  }

  private detach(): void {
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = null;
    }
    if (this.deadTimer !== null) clearTimeout(this.deadTimer);
    this.deadTimer = null;
    this.clearStable();
    this.clearPing();
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private clearStable(): void {
    if (this.stableTimer !== null) clearTimeout(this.stableTimer);
    this.stableTimer = null;
  }

  private clearPing(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.pingsAt.clear();
  }
}
