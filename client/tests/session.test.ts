/**
 * The session (src/core/session.ts, connection.ts, queue.ts, cache.ts) against a fake
 * WebSocket and fake timers: handshake and resume, reconnects and their backoff, close
 * codes, heartbeats, the offline write queue, and coverage of every server frame tag and
 * every command kind in the schema.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { decode } from "@msgpack/msgpack";
import { encodeServerFrame } from "../src/core/codec";
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS } from "../src/core/backoff";
import { CONNECT_TIMEOUT_MS, RATE_LIMITED_MIN_MS, RESYNC_JITTER_MS, STABLE_MS, deadAfterMs } from "../src/core/connection";
import type { Session } from "../src/core/contract";
import { openSession } from "../src/core/index";
import {
  COMMAND_KINDS,
  SERVER_FRAME_TAGS,
  type ClientFrame,
  type Command,
  type EventState,
  type Op,
  type ServerFrame,
} from "../src/core/protocol.gen";
import { storageKeys } from "../src/core/session";

// ---- fakes ------------------------------------------------------------------------------

class FakeSocket {
  static all: FakeSocket[] = [];
  binaryType = "blob";
  sent: ClientFrame[] = [];
  closedWith: number | null = null;
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: ArrayBuffer }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: Uint8Array): void {
    if (this.closedWith !== null) throw new Error("send on a closed socket");
    this.sent.push(decode(data) as ClientFrame);
  }
  close(code = 1000): void {
    this.closedWith = code;
  }
  // the server's side
  open(): void {
    this.onopen?.({});
  }
  receive(frame: ServerFrame): void {
    const bytes = encodeServerFrame(frame);
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer });
  }
  drop(code: number, reason = ""): void {
    this.closedWith ??= code;
    this.onclose?.({ code, reason });
  }
  writes(): Extract<ClientFrame, { t: "write" }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { t: "write" }> => f.t === "write");
  }
}

class MemoryStorage implements Storage {
  private data = new Map<string, string>();
  get length(): number {
    return this.data.size;
  }
  clear(): void {
    this.data.clear();
  }
  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  key(i: number): string | null {
    return [...this.data.keys()][i] ?? null;
  }
  removeItem(key: string): void {
    this.data.delete(key);
  }
  setItem(key: string, value: string): void {
    this.data.set(key, String(value));
  }
}

const EVENT = "ev_1";
const TOKEN = "tok.en";
const AT = 1_790_000_000_000;
let storage: MemoryStorage;
let sessions: Session[] = [];

function open(token = TOKEN): Session {
  const s = openSession({
    token,
    event: EVENT,
    url: "ws://plenary.test/ws",
    storage,
    WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
  });
  sessions.push(s);
  return s;
}

const last = (): FakeSocket => FakeSocket.all[FakeSocket.all.length - 1]!;

function welcome(seq: number, extra: Partial<Extract<ServerFrame, { t: "welcome" }>> = {}): ServerFrame {
  return {
    t: "welcome", event: EVENT, role: "participant", you: "p_1", seq, resume: "ops",
    heartbeat: 25, max_frame: 1048576, server_time: Date.now(), ...extra,
  };
}

const created: Op = { seq: 1, kind: "event.created", by: "system", at: AT, data: { title: "T", groups: [], code: "ABC346" } };
const joined: Op = { seq: 2, kind: "participant.joined", by: "p_1", at: AT, data: { participant: "p_1", name: "Ann", group: null, table: null } };
const noteAdded = (seq: number): Op => ({ seq, kind: "note.added", by: "p_1", at: AT + seq, data: { text: `n${seq}`, colour: null } });

/** Open the socket, welcome at `seq` and send the catch-up ops. */
function connect(seq = 2, ops: Op[] = [created, joined].filter((o) => o.seq <= seq)): FakeSocket {
  const socket = last();
  socket.open();
  socket.receive(welcome(seq));
  if (ops.length) socket.receive({ t: "ops", upto: seq, ops });
  return socket;
}

beforeEach(() => {
  vi.useFakeTimers({ now: AT });
  FakeSocket.all = [];
  storage = new MemoryStorage();
  sessions = [];
});

afterEach(() => {
  for (const s of sessions) s.close();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

// ---- handshake and resume -------------------------------------------------------------

describe("handshake and resume", () => {
  test("opens a binary socket, says hello with since 0, and is online once caught up", () => {
    const s = open();
    const socket = last();
    expect(socket.url).toBe("ws://plenary.test/ws");
    expect(socket.binaryType).toBe("arraybuffer");
    expect(s.status.value).toBe("connecting");
    socket.open();
    expect(socket.sent).toEqual([{ t: "hello", token: TOKEN, since: 0, client: "plenary-web/0.1" }]);
    socket.receive(welcome(2, { role: "writer", you: "p_9" }));
    expect(s.status.value).toBe("connecting"); // the catch-up is still to come
    expect([s.role.value, s.you.value]).toEqual(["writer", "p_9"]);
    socket.receive({ t: "ops", upto: 2, ops: [created, joined] });
    expect(s.status.value).toBe("online");
    expect(s.state.value?.participants.map((p) => p.id)).toEqual(["p_1"]);
  });

  test("the default url is the page's own host", () => {
    const s = openSession({ token: TOKEN, event: EVENT, storage, WebSocketImpl: FakeSocket as unknown as typeof WebSocket });
    sessions.push(s);
    expect(last().url).toBe(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  });

  test("a reconnect resumes with since = the cursor (upto of the last frame)", () => {
    open();
    const socket = connect(2);
    socket.receive({ t: "ops", upto: 7, ops: [noteAdded(5)] }); // 3, 4, 6, 7 not for us
    socket.drop(1006);
    vi.advanceTimersByTime(BACKOFF_BASE_MS);
    const next = last();
    expect(next).not.toBe(socket);
    next.open();
    expect(next.sent[0]).toMatchObject({ t: "hello", since: 7 });
  });

  test("duplicates are ignored; a snapshot replaces the state and sets the cursor", () => {
    const s = open();
    const socket = connect(2);
    socket.receive({ t: "ops", upto: 3, ops: [noteAdded(3)] });
    const before = s.state.value;
    socket.receive({ t: "ops", upto: 3, ops: [noteAdded(3)] });
    expect(s.state.value).toBe(before);
    const snap: EventState = { ...before!, seq: 10, title: "From the snapshot", notes: [] };
    socket.receive({ t: "snapshot", seq: 10, state: snap });
    expect(s.state.value).toEqual(snap);
    socket.receive({ t: "ops", upto: 10, ops: [noteAdded(9)] });
    expect(s.state.value?.notes).toEqual([]);
    socket.drop(1012);
    vi.advanceTimersByTime(BACKOFF_BASE_MS);
    last().open();
    expect(last().sent[0]).toMatchObject({ since: 10 });
  });

  test("a snapshot catch-up: online once the snapshot arrives", () => {
    const s = open();
    const socket = last();
    socket.open();
    socket.receive(welcome(40, { resume: "snapshot" }));
    expect(s.status.value).toBe("connecting");
    socket.receive({ t: "snapshot", seq: 40, state: { id: EVENT, seq: 40, title: "T", code: "C", groups: [], participants: [], notes: [], tables: [], anonymity: "everyone", activities: [], agenda: [], current: null, themes: [], writers: [], drafts: [] } });
    expect(s.status.value).toBe("online");
  });

  test("a broken frame (upto below its ops) closes and resumes from the cursor", () => {
    open();
    const socket = connect(2);
    socket.receive({ t: "ops", upto: 3, ops: [noteAdded(3), noteAdded(4)] });
    expect(socket.closedWith).toBe(1000);
    vi.advanceTimersByTime(BACKOFF_BASE_MS);
    last().open();
    expect(last().sent[0]).toMatchObject({ since: 2 });
  });

  test("the last state and cursor are kept (throttled) and shown at once after a reload", () => {
    const first = open();
    const socket = connect(2);
    socket.receive({ t: "ops", upto: 3, ops: [noteAdded(3)] });
    const key = storageKeys(EVENT, TOKEN).state;
    vi.advanceTimersByTime(1000);
    expect(JSON.parse(storage.getItem(key)!).cursor).toBe(3);
    socket.receive({ t: "ops", upto: 4, ops: [noteAdded(4)] });
    expect(JSON.parse(storage.getItem(key)!).cursor).toBe(3); // not yet: at most once a second
    first.close(); // flushes
    expect(JSON.parse(storage.getItem(key)!).cursor).toBe(4);
    const again = open();
    expect(again.state.value?.notes.map((n) => n.id)).toEqual([3, 4]);
    expect([again.role.value, again.you.value]).toEqual(["participant", "p_1"]);
    last().open();
    expect(last().sent[0]).toMatchObject({ since: 4 });
  });
});

// ---- reconnects -------------------------------------------------------------------------

describe("reconnecting", () => {
  /** Fail the current socket and return the delay until the retry it scheduled. */
  function fail(s: Session, code = 1006): number {
    last().drop(code);
    expect(s.status.value).toBe("offline");
    return s.retryAt.value! - Date.now();
  }

  test("backoff doubles its bound up to the cap, with full jitter", () => {
    const s = open();
    for (const r of [0.999, 0.5, 0]) {
      vi.spyOn(Math, "random").mockReturnValue(r);
      let bound = BACKOFF_BASE_MS;
      for (let i = 0; i < 8; i++) {
        const delay = fail(s);
        expect(delay).toBe(Math.floor(r * bound));
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(Math.max(bound, 1));
        vi.advanceTimersByTime(delay);
        bound = Math.min(BACKOFF_CAP_MS, bound * 2);
      }
      expect(bound).toBe(BACKOFF_CAP_MS);
      // A stable connection starts the backoff afresh.
      connect();
      vi.advanceTimersByTime(STABLE_MS);
    }
  });

  test("the backoff resets after a stable connection, not after a short one", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const s = open();
    for (let i = 0; i < 3; i++) vi.advanceTimersByTime(fail(s)); // bounds 1, 2, 4 s
    connect();
    vi.advanceTimersByTime(STABLE_MS - 1);
    expect(fail(s)).toBe(Math.floor(0.999 * 8000)); // welcomed, but not for long
    vi.advanceTimersByTime(8000);
    connect();
    vi.advanceTimersByTime(STABLE_MS);
    expect(fail(s)).toBe(Math.floor(0.999 * BACKOFF_BASE_MS));
  });

  test("retryNow and the browser's online event reconnect at once", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const s = open();
    fail(s);
    s.retryNow();
    expect(FakeSocket.all).toHaveLength(2);
    expect(s.status.value).toBe("connecting");
    expect(s.retryAt.value).toBeNull();
    fail(s);
    window.dispatchEvent(new Event("online"));
    expect(FakeSocket.all).toHaveLength(3);
  });

  test("while the browser says it is offline, wait (at the cap) for it to come back", () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    vi.spyOn(navigator, "onLine", "get").mockReturnValue(false);
    const s = open();
    expect(fail(s)).toBe(BACKOFF_CAP_MS);
    window.dispatchEvent(new Event("online"));
    expect(FakeSocket.all).toHaveLength(2);
  });

  test("resync: close, reconnect at once and resume from the cursor", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const s = open();
    const socket = connect(2);
    socket.receive({ t: "ops", upto: 5, ops: [] });
    socket.receive({ t: "resync", reason: "you fell behind; reconnect and resume" });
    expect(socket.closedWith).toBe(1000);
    expect(s.status.value).toBe("offline");
    expect(s.retryAt.value! - Date.now()).toBeLessThan(RESYNC_JITTER_MS);
    vi.advanceTimersByTime(RESYNC_JITTER_MS);
    last().open();
    expect(last()).not.toBe(socket);
    expect(last().sent[0]).toMatchObject({ t: "hello", since: 5 });
    // The server's own close after the resync changes nothing more.
    socket.drop(4008);
    expect(FakeSocket.all).toHaveLength(2);
  });

  test("4008 reconnects at once; 1001 and 1012 with backoff", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const s = open();
    for (let i = 0; i < 4; i++) vi.advanceTimersByTime(fail(s)); // bound now 16 s
    connect();
    expect(fail(s, 4008)).toBeLessThan(RESYNC_JITTER_MS);
    vi.advanceTimersByTime(RESYNC_JITTER_MS);
    connect();
    expect(fail(s, 1012)).toBe(Math.floor(0.999 * 16000));
    vi.advanceTimersByTime(16000);
    connect();
    expect(fail(s, 1001)).toBe(Math.floor(0.999 * 30000));
  });

  test("4001: closed for good, with the server's reason", () => {
    const s = open();
    const socket = last();
    socket.open();
    socket.receive({ t: "error", code: "unauthorised", message: "the access token is not valid", id: null });
    socket.drop(4001);
    expect(s.status.value).toBe("closed");
    expect(s.lastError.value).toEqual({ code: "unauthorised", message: "the access token is not valid" });
    vi.advanceTimersByTime(10 * BACKOFF_CAP_MS);
    expect(FakeSocket.all).toHaveLength(1);
    s.retryNow();
    expect(FakeSocket.all).toHaveLength(1);
  });

  test("4001 after `unauthorised` (removed, or the link expired): closed, the cache cleared, the queue kept as failed", async () => {
    const s = open();
    const socket = connect(2);
    socket.receive({ t: "ops", upto: 3, ops: [noteAdded(3)] });
    s.close(); // flushes the state cache
    expect(storage.getItem(storageKeys(EVENT, TOKEN).state)).not.toBeNull();
    const again = open();
    const next = connect(3, []);
    socket.drop(1006); // the old page's socket: nothing more
    const result = again.write({ kind: "note.add", text: "Not sent yet", colour: null });
    const id = again.pending.value[0]!.id;
    next.receive({ t: "error", code: "unauthorised", message: "you were removed from this event", id: null });
    next.drop(4001);
    expect(again.status.value).toBe("closed");
    expect(again.lastError.value).toEqual({ code: "unauthorised", message: "you were removed from this event" });
    await expect(result).resolves.toMatchObject({ ok: false, code: "unauthorised" });
    expect(again.pending.value).toEqual([]);
    expect(again.failed.value).toMatchObject([{ id, code: "unauthorised", op: { text: "Not sent yet" } }]);
    const keys = storageKeys(EVENT, TOKEN);
    expect(storage.getItem(keys.state)).toBeNull();
    expect(storage.getItem(keys.queue)).toBeNull();
    expect(JSON.parse(storage.getItem(keys.failed)!)).toHaveLength(1);
    vi.advanceTimersByTime(10 * BACKOFF_CAP_MS);
    expect(FakeSocket.all).toHaveLength(2);
  });

  test("4029: reconnect after at least RATE_LIMITED_MIN_MS, or the server's longer wait; not sooner on retryNow or online", () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const s = open();
    let socket = connect();
    socket.receive({ t: "error", code: "rate_limited", message: "too many refused frames: reconnect later", id: null, detail: { retry_after_ms: 2000 } });
    expect(s.lastError.value).toBeNull(); // quiet: the status says offline and when
    socket.drop(4029, "rate limited");
    expect(s.status.value).toBe("offline");
    expect(s.retryAt.value! - Date.now()).toBe(RATE_LIMITED_MIN_MS);
    s.retryNow();
    window.dispatchEvent(new Event("online"));
    vi.advanceTimersByTime(RATE_LIMITED_MIN_MS - 1);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    // A longer wait asked for (10 s after a flood) is honoured, with jitter on top.
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    socket = connect();
    socket.receive({ t: "error", code: "rate_limited", message: "too many refused frames: reconnect later", id: null, detail: { retry_after_ms: 10_000 } });
    socket.drop(4029, "rate limited");
    const wait = s.retryAt.value! - Date.now();
    expect(wait).toBeGreaterThanOrEqual(10_000 + 1000); // the hint, its jitter (a fifth of it, half used) ...
    expect(wait).toBe(10_000 + 1000 + Math.floor(0.5 * 2 * BACKOFF_BASE_MS)); // ... and the backoff
    vi.advanceTimersByTime(10_999);
    s.retryNow();
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    s.retryNow(); // the server's wait is over: a retry now is allowed
    expect(FakeSocket.all).toHaveLength(3);
  });

  test("4029 before any welcome (too many connections from one address) waits too", () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const s = open();
    last().open();
    last().receive({ t: "error", code: "rate_limited", message: "more than 400 connections from one address", id: null, detail: { retry_after_ms: 30_000 } });
    last().drop(4029, "too many connections");
    expect(s.retryAt.value! - Date.now()).toBe(30_000);
  });

  test("4004: the event is gone, closed for good", () => {
    const s = open();
    last().open();
    last().drop(4004);
    expect(s.status.value).toBe("closed");
    expect(s.lastError.value?.code).toBe("not_found");
    vi.advanceTimersByTime(10 * BACKOFF_CAP_MS);
    expect(FakeSocket.all).toHaveLength(1);
  });

  test("pings every heartbeat; silence for 2 heartbeats + 5 s means a dead socket", () => {
    const s = open();
    const socket = connect(2);
    vi.advanceTimersByTime(25_000);
    expect(socket.sent.filter((f) => f.t === "ping")).toEqual([{ t: "ping", n: 1 }]);
    vi.advanceTimersByTime(1000);
    socket.receive({ t: "pong", n: 1, server_time: Date.now() + 59_500 }); // rtt 1 s
    expect(s.clockOffset.value).toBe(60_000); // server_time + rtt/2 - now
    vi.advanceTimersByTime(deadAfterMs(25) - 1);
    expect(socket.closedWith).toBeNull();
    vi.advanceTimersByTime(1);
    expect(socket.closedWith).toBe(4000);
    expect(s.status.value).toBe("offline");
  });

  test("a socket that never gets its welcome is given up after the connect timeout", () => {
    const s = open();
    last().open();
    vi.advanceTimersByTime(CONNECT_TIMEOUT_MS);
    expect(last().closedWith).toBe(4000);
    expect(s.status.value).toBe("offline");
  });

  test("close() stops everything", () => {
    const s = open();
    const socket = connect();
    s.close();
    expect(socket.closedWith).toBe(1000);
    expect(s.status.value).toBe("closed");
    vi.advanceTimersByTime(10 * BACKOFF_CAP_MS);
    expect(FakeSocket.all).toHaveLength(1);
  });
});

// ---- the offline write queue ------------------------------------------------------------

describe("the write queue", () => {
  const add = (text: string): Command => ({ kind: "note.add", text, colour: "yellow" });
  const queueKey = () => storageKeys(EVENT, TOKEN).queue;
  const stored = () => JSON.parse(storage.getItem(queueKey()) ?? "[]") as { id: string }[];

  test("online: sent at once, settled by its ack", async () => {
    const s = open();
    const socket = connect();
    const result = s.write(add("a"));
    const [w] = socket.writes();
    expect(w).toMatchObject({ t: "write", op: add("a") });
    expect(w!.id).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    expect(s.pending.value.map((p) => p.id)).toEqual([w!.id]);
    socket.receive({ t: "ack", id: w!.id, seq: 3, dup: false });
    await expect(result).resolves.toEqual({ ok: true, seq: 3, dup: false });
    expect(s.pending.value).toEqual([]);
    expect(storage.getItem(queueKey())).toBeNull();
  });

  test("offline: stored first, sent once on reconnect with the same ids, in order", async () => {
    const s = open(); // never connected
    const a = s.write(add("a"));
    const b = s.write(add("b"));
    expect(stored().map((w) => w.id)).toEqual(s.pending.value.map((w) => w.id));
    expect(stored()).toHaveLength(2);
    const socket = last();
    socket.open();
    expect(socket.writes()).toEqual([]); // not before the welcome
    socket.receive(welcome(2));
    const ids = s.pending.value.map((w) => w.id);
    expect(socket.writes().map((w) => w.id)).toEqual(ids);
    socket.receive({ t: "ack", id: ids[0]!, seq: 3, dup: true });
    socket.receive({ t: "ack", id: ids[1]!, seq: 4, dup: false });
    await expect(a).resolves.toEqual({ ok: true, seq: 3, dup: true });
    await expect(b).resolves.toEqual({ ok: true, seq: 4, dup: false });
    expect(stored()).toEqual([]);
  });

  test("a write sent but not answered before a drop is sent again with the same id", async () => {
    const s = open();
    const socket = connect();
    const result = s.write(add("a"));
    const id = socket.writes()[0]!.id;
    socket.drop(1006);
    vi.advanceTimersByTime(BACKOFF_BASE_MS);
    const next = connect();
    expect(next.writes().map((w) => w.id)).toEqual([id]);
    next.receive({ t: "ack", id, seq: 3, dup: true });
    await expect(result).resolves.toMatchObject({ ok: true, dup: true });
    next.drop(1006);
    vi.advanceTimersByTime(2 * BACKOFF_BASE_MS);
    expect(connect().writes()).toEqual([]); // answered: never again
  });

  test("after a reload the queued writes are sent exactly once, with their ids", () => {
    const first = open();
    void first.write(add("a"));
    void first.write(add("b"));
    const ids = first.pending.value.map((w) => w.id);
    first.close();
    const second = open();
    expect(second.pending.value.map((w) => w.id)).toEqual(ids);
    const socket = connect();
    expect(socket.writes().map((w) => w.id)).toEqual(ids);
    socket.receive({ t: "ops", upto: 4, ops: [] });
    expect(socket.writes()).toHaveLength(2);
    for (const [i, id] of ids.entries()) socket.receive({ t: "ack", id, seq: 3 + i, dup: true });
    expect(second.pending.value).toEqual([]);
    // A new write on the reloaded page gets an id of its own.
    void second.write(add("c"));
    expect(ids).not.toContain(second.pending.value[0]!.id);
  });

  test("`unavailable` keeps the write and retries it with the same id", async () => {
    const s = open();
    const socket = connect();
    const result = s.write(add("a"));
    const id = socket.writes()[0]!.id;
    socket.receive({ t: "error", code: "unavailable", message: "the database is down", id });
    expect(s.pending.value.map((w) => w.id)).toEqual([id]);
    expect(stored()).toHaveLength(1);
    const later = s.write(add("b")); // waits behind the first, to keep the order
    const id2 = s.pending.value[1]!.id;
    expect(socket.writes().map((w) => w.id)).toEqual([id]);
    vi.advanceTimersByTime(BACKOFF_BASE_MS + 250);
    expect(socket.writes().map((w) => w.id)).toEqual([id, id, id2]);
    socket.receive({ t: "ack", id: id2, seq: 4, dup: false });
    await expect(later).resolves.toMatchObject({ ok: true, seq: 4 });
    socket.receive({ t: "ack", id, seq: 3, dup: false });
    await expect(result).resolves.toMatchObject({ ok: true, seq: 3 });
  });

  test("`internal` takes the write out of the queue for good, keeps its text as failed, and later writes go on", async () => {
    const s = open();
    const socket = connect();
    const first = s.write(add("The server chokes on this"));
    const later = s.write(add("b"));
    const [id, id2] = s.pending.value.map((w) => w.id);
    socket.receive({ t: "error", code: "internal", message: "the server failed on this write", id: id! });
    await expect(first).resolves.toEqual({ ok: false, code: "internal", message: "the server failed on this write" });
    expect(s.pending.value.map((w) => w.id)).toEqual([id2]);
    expect(stored().map((w) => w.id)).toEqual([id2]);
    expect(s.failed.value).toMatchObject([{ id, code: "internal", op: add("The server chokes on this") }]);
    expect(s.lastError.value?.code).toBe("internal");
    socket.receive({ t: "ack", id: id2!, seq: 3, dup: false });
    await expect(later).resolves.toMatchObject({ ok: true, seq: 3 });
    // Never sent again: not after a while, not on a new connection, not after a reload.
    vi.advanceTimersByTime(BACKOFF_CAP_MS);
    const after = () => socket.writes().filter((w) => w.id === id).length;
    expect(after()).toBe(1);
    const third = s.write(add("c"));
    expect(socket.writes().at(-1)!.op).toEqual(add("c")); // sent at once, nothing waits
    void third;
    s.close();
    const reloaded = open();
    expect(reloaded.pending.value.map((w) => w.op)).toEqual([add("c")]);
    expect(reloaded.failed.value.map((w) => w.id)).toEqual([id]); // still shown after a reload
    const next = connect();
    expect(next.writes().map((w) => w.op)).toEqual([add("c")]);
    reloaded.dismissFailed(id!);
    expect(reloaded.failed.value).toEqual([]);
    expect(storage.getItem(storageKeys(EVENT, TOKEN).failed)).toBeNull();
  });

  test("`rate_limited` keeps the write and sends it again, same id, after retry_after_ms and its jitter, never sooner", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const s = open();
    const socket = connect();
    const result = s.write(add("a"));
    const id = socket.writes()[0]!.id;
    socket.receive({ t: "error", code: "rate_limited", message: "too many writes at once", id, detail: { retry_after_ms: 1500 } });
    expect(s.pending.value.map((w) => w.id)).toEqual([id]);
    expect(stored()).toHaveLength(1);
    expect(s.lastError.value).toBeNull(); // not a failure: nothing shown but "sending"
    expect(s.failed.value).toEqual([]);
    const later = s.write(add("b")); // waits behind it, in order
    const jitter = Math.floor(0.999 * 300); // a fifth of the wait
    vi.advanceTimersByTime(1500 + jitter - 1);
    expect(socket.writes().map((w) => w.id)).toEqual([id]);
    vi.advanceTimersByTime(1);
    expect(socket.writes().map((w) => w.id)).toEqual([id, id]); // one at a time now
    socket.receive({ t: "ack", id, seq: 3, dup: false });
    await expect(result).resolves.toMatchObject({ ok: true, seq: 3 });
    const id2 = s.pending.value[0]!.id;
    expect(socket.writes().map((w) => w.id)).toEqual([id, id, id2]);
    socket.receive({ t: "ack", id: id2, seq: 4, dup: false });
    await expect(later).resolves.toMatchObject({ ok: true, seq: 4 });
    // The queue is empty: writes go at once again, side by side.
    void s.write(add("c"));
    void s.write(add("d"));
    expect(socket.writes()).toHaveLength(5);
  });

  test("`rate_limited` on a long queue: paced one at a time; not counted as a failure; a reconnect waits too", () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const s = open();
    for (const t of ["a", "b", "c"]) void s.write(add(t));
    const socket = connect();
    const ids = s.pending.value.map((w) => w.id);
    expect(socket.writes().map((w) => w.id)).toEqual(ids);
    // The first went in; the others were refused.
    socket.receive({ t: "ack", id: ids[0]!, seq: 3, dup: false });
    socket.receive({ t: "error", code: "rate_limited", message: "slow down", id: ids[1]!, detail: { retry_after_ms: 800 } });
    socket.receive({ t: "error", code: "rate_limited", message: "slow down", id: ids[2]!, detail: { retry_after_ms: 900 } });
    vi.advanceTimersByTime(850);
    expect(socket.writes()).toHaveLength(3); // the later of the two waits wins
    // Dropped and back within the wait: not sent before it either.
    socket.drop(1006);
    vi.advanceTimersByTime(0); // random 0: reconnect at once
    const next = connect();
    expect(next.writes()).toEqual([]);
    vi.advanceTimersByTime(49);
    expect(next.writes()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(next.writes().map((w) => w.id)).toEqual([ids[1]]);
    // `unavailable` now: its backoff is the first one (rate_limited was not counted).
    next.receive({ t: "error", code: "unavailable", message: "the database is down", id: ids[1]! });
    vi.advanceTimersByTime(250 - 1);
    expect(next.writes()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(next.writes().map((w) => w.id)).toEqual([ids[1], ids[1]]);
    next.receive({ t: "ack", id: ids[1]!, seq: 4, dup: false });
    expect(next.writes().map((w) => w.id)).toEqual([ids[1], ids[1], ids[2]]);
    expect(s.lastError.value).toBeNull();
  });

  test("any other error drops the write and resolves with it", async () => {
    const s = open();
    const socket = connect();
    const result = s.write({ kind: "draft.save", activity: 4, base: 1, text: "x" });
    const id = socket.writes()[0]!.id;
    const detail = { activity: 4 };
    socket.receive({ t: "error", code: "conflict", message: "version 3 was saved after version 1", id, detail });
    await expect(result).resolves.toEqual({ ok: false, code: "conflict", message: "version 3 was saved after version 1", detail });
    expect(s.pending.value).toEqual([]);
    expect(stored()).toEqual([]);
    expect(s.lastError.value).toEqual({ code: "conflict", message: "version 3 was saved after version 1" });
  });

  test("a write larger than max_frame is refused here, never sent", async () => {
    const s = open();
    const socket = last();
    socket.open();
    socket.receive(welcome(0, { max_frame: 64 }));
    const result = s.write(add("x".repeat(100)));
    await expect(result).resolves.toMatchObject({ ok: false, code: "bad_frame" });
    expect(socket.writes()).toEqual([]);
    expect(s.pending.value).toEqual([]);
  });
});

// ---- the whole protocol -----------------------------------------------------------------

describe("coverage of the schema", () => {
  test("every server frame tag in the schema is handled", () => {
    const state: EventState = { id: EVENT, seq: 3, title: "T", code: "C", groups: [], participants: [], notes: [], tables: [], anonymity: "everyone", activities: [], agenda: [], current: null, themes: [], writers: [], drafts: [] };
    const counts = { support: 1, concern: 0, question: 0 };
    // A Record over the tags: a tag added to the schema fails type-checking here first.
    const samples: Record<ServerFrame["t"], ServerFrame> = {
      welcome: welcome(2),
      ops: { t: "ops", upto: 2, ops: [created, joined] },
      snapshot: { t: "snapshot", seq: 3, state },
      ack: { t: "ack", id: "x", seq: 4, dup: false },
      error: { t: "error", code: "forbidden", message: "no", id: null },
      pong: { t: "pong", n: 0, server_time: Date.now() + 5000 },
      tally: { t: "tally", vote: 9, seq: 3, results: { items: [], groups: [], dots_by_group: {}, classified: false } },
      mine: { t: "mine", seq: 3, vote: 9, dots: [{ item: 5, count: 2 }], remaining: 3 },
      reactions: { t: "reactions", seq: 3, activity: 30, version: 2, total: counts, sections: [] },
      reacted: { t: "reacted", seq: 3, activity: 30, version: 2, reactions: [{ section: "s1", reaction: "support", comment: null }] },
      resync: { t: "resync", reason: "bye" },
    };
    expect(Object.keys(samples).sort()).toEqual([...SERVER_FRAME_TAGS].sort());
    const s = open();
    const socket = last();
    socket.open();
    const effects: Record<ServerFrame["t"], () => unknown> = {
      welcome: () => s.you.value,
      ops: () => s.state.value?.participants.length,
      snapshot: () => s.state.value?.seq,
      ack: () => s.pending.value.length,
      error: () => s.lastError.value?.code,
      pong: () => s.clockOffset.value,
      tally: () => s.tallies.value[9],
      mine: () => s.mine.value[9],
      reactions: () => s.reactions.value[30],
      reacted: () => s.reacted.value[30],
      resync: () => socket.closedWith,
    };
    const write = s.write({ kind: "note.add", text: "a" });
    void write;
    samples.ack = { t: "ack", id: s.pending.value[0]!.id, seq: 4, dup: false };
    // resync last: it drops the socket.
    const tags = [...SERVER_FRAME_TAGS.filter((t) => t !== "resync"), "resync" as const];
    for (const tag of tags) {
      const before = JSON.stringify(effects[tag]() ?? null);
      if (tag === "pong") {
        vi.advanceTimersByTime(25_000); // a pong answers the heartbeat's ping, n = 1
        socket.receive({ t: "pong", n: 1, server_time: Date.now() + 5000 });
      } else {
        socket.receive(samples[tag]);
      }
      expect(JSON.stringify(effects[tag]() ?? null), tag).not.toBe(before);
    }
    expect(s.tallies.value[9]).toEqual(samples.tally.t === "tally" && samples.tally.results);
    expect(s.mine.value[9]).toEqual({ vote: 9, dots: [{ item: 5, count: 2 }], remaining: 3 });
    expect(s.reactions.value[30]).toMatchObject({ activity: 30, version: 2, total: counts, seq: 3 });
    expect(s.reacted.value[30]).toMatchObject({ activity: 30, version: 2 });
  });

  test("every command kind in the schema can be written", () => {
    const commands: Record<Command["kind"], Command> = {
      "note.add": { kind: "note.add", text: "a", colour: null, round: 4 },
      "note.edit": { kind: "note.edit", note: 5, text: "b" },
      "note.delete": { kind: "note.delete", note: 5 },
      "note.hide": { kind: "note.hide", note: 5 },
      "note.unhide": { kind: "note.unhide", note: 5 },
      "event.update": { kind: "event.update", title: "T", groups: ["A"], tables: [{ number: "1", name: null }], anonymity: "nobody" },
      "activity.add": { kind: "activity.add", type: "vote", prompt: "p", vote: { round: 4 } },
      "activity.edit": { kind: "activity.edit", activity: 4, prompt: "q" },
      "activity.move": { kind: "activity.move", activity: 4, position: 0 },
      "activity.set_status": { kind: "activity.set_status", activity: 4, status: "open" },
      "activity.set_current": { kind: "activity.set_current", activity: null },
      "activity.set_timer": { kind: "activity.set_timer", activity: 4, seconds: 60 },
      "note.merge": { kind: "note.merge", notes: [5, 6], text: "m" },
      "theme.add": { kind: "theme.add", round: 4, name: "t" },
      "theme.rename": { kind: "theme.rename", theme: 7, name: "u" },
      "theme.delete": { kind: "theme.delete", theme: 7 },
      "note.set_theme": { kind: "note.set_theme", note: 5, theme: null },
      "dot.add": { kind: "dot.add", vote: 8, item: 5 },
      "dot.remove": { kind: "dot.remove", vote: 8, item: 5 },
      "writer.set": { kind: "writer.set", participant: "p_1", writer: true },
      "participant.remove": { kind: "participant.remove", participant: "p_1" },
      "draft.save": { kind: "draft.save", activity: 9, base: 0, text: "# x\n" },
      "draft.publish": { kind: "draft.publish", activity: 9, version: 1 },
      "draft.explain": { kind: "draft.explain", activity: 9, version: 1, section: "s1", rationale: "r", links: [{ kind: "theme", id: 7 }] },
      "reaction.set": { kind: "reaction.set", activity: 9, version: 1, section: "s1", reaction: null, comment: null },
    };
    expect(Object.keys(commands).sort()).toEqual([...COMMAND_KINDS].sort());
    const s = open();
    const socket = connect();
    for (const kind of COMMAND_KINDS) void s.write(commands[kind]);
    const sent = socket.writes();
    expect(sent.map((w) => w.op)).toEqual(COMMAND_KINDS.map((k) => commands[k]));
    expect(new Set(sent.map((w) => w.id)).size).toBe(COMMAND_KINDS.length);
  });
});

describe("the state cache", () => {
  test("a state too large to keep is dropped, with its cursor, rather than half kept", async () => {
    const { StateCache, PERSIST_MAX_CHARS } = await import("../src/core/cache");
    const cache = new StateCache(storage, "k");
    const state = { id: EVENT, seq: 1 } as EventState;
    cache.save({ cursor: 1, state, role: null, you: null });
    cache.flush();
    expect(cache.load()?.cursor).toBe(1);
    cache.save({ cursor: 2, state: { ...state, title: "x".repeat(PERSIST_MAX_CHARS) }, role: null, you: null });
    cache.flush();
    expect(storage.getItem("k")).toBeNull();
    expect(cache.load()).toBeNull();
  });
});
