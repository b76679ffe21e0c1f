/**
 * The offline write queue: every write is stored before it is sent and kept until the
 * server answers it, so a write made in a dead spot, or just before the phone slept or the
 * page reloaded, is sent when the connection returns — exactly once, because a resend
 * carries the same op id and the server records an id at most once (docs/protocol.md,
 * "Retries").
 *
 * This module holds the queue and its storage; the session decides when to send.
 */
import type { FailedWrite, PendingWrite, WriteResult } from "./contract";
import type { Command } from "./protocol.gen";

/** Op ids: 1–64 characters of the schema's ClientOpId alphabet. */
const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * A random prefix for this page's op ids. A fresh one per page load (10 characters, 59
 * bits) keeps ids unique per writer without storing a counter: two tabs, or a phone and a
 * laptop with the same token, never pick the same id, and a reload cannot reuse one.
 */
export function randomPrefix(length = 10): string {
  let out = "";
  while (out.length < length) {
    const bytes = new Uint8Array(length * 2);
    const crypto = globalThis.crypto;
    if (crypto?.getRandomValues) crypto.getRandomValues(bytes);
    else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    // 248 = 4 * 62: dropping the bytes above keeps every character equally likely.
    for (const b of bytes) if (b < 248 && out.length < length) out += ID_ALPHABET[b % 62];
  }
  return out;
}

/** A short, stable fingerprint of a token, to name storage keys without storing it twice. */
export function fingerprint(text: string): string {
  let h = 0x811c9dc5; // FNV-1a, 32 bits: collisions only mix up one device's own queues
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

export class WriteQueue {
  private items: PendingWrite[];
  private readonly waiting = new Map<string, (result: WriteResult) => void>();
  private counter = 0;
  private readonly prefix: string;

  /**
   * @param storage where the queue is kept (null: memory only)
   * @param key the storage key, one per event and token
   * @param onChange called with the queue after every change
   */
  constructor(
    private readonly storage: Storage | null,
    readonly key: string,
    private readonly onChange: (items: readonly PendingWrite[]) => void = () => undefined,
    prefix = randomPrefix(),
  ) {
    this.prefix = prefix;
    this.items = this.load();
  }

  get pending(): readonly PendingWrite[] {
    return this.items;
  }

  has(id: string): boolean {
    return this.items.some((w) => w.id === id);
  }

  get(id: string): PendingWrite | undefined {
    return this.items.find((w) => w.id === id);
  }

  /** Queue a write and store the queue (before anything is sent); the promise settles on its answer. */
  add(op: Command, now = Date.now()): { write: PendingWrite; result: Promise<WriteResult> } {
    this.counter += 1;
    const write: PendingWrite = { id: `${this.prefix}:${this.counter}`, op, queuedAt: now };
    this.items = [...this.items, write];
    this.save();
    const result = new Promise<WriteResult>((resolve) => this.waiting.set(write.id, resolve));
    return { write, result };
  }

  /** The write `id` is answered (ack or final error): drop it and settle its promise. */
  settle(id: string, result: WriteResult): boolean {
    const known = this.has(id);
    if (known) {
      this.items = this.items.filter((w) => w.id !== id);
      this.save();
    }
    const resolve = this.waiting.get(id);
    this.waiting.delete(id);
    resolve?.(result);
    return known || resolve !== undefined;
  }

  private load(): PendingWrite[] {
    return readList(
      this.storage,
      this.key,
      (w): w is PendingWrite =>
        typeof (w as PendingWrite).id === "string" &&
        typeof (w as PendingWrite).op === "object" &&
        typeof (w as PendingWrite).queuedAt === "number",
    );
  }

  private save(): void {
    // Storage full or disabled: the write still goes out while this page lives.
    writeList(this.storage, this.key, this.items);
    this.onChange(this.items);
  }
}

/** Failed writes kept at most: the newest, so a server failing on everything cannot fill
 * the storage (a note is at most 280 characters; a draft can be long). */
export const FAILED_MAX = 20;

/**
 * Writes that will never be sent (contract.ts, FailedWrite), stored until dismissed. The
 * session adds a write here before it takes it out of the queue: a page that dies in
 * between shows it in both places, never in neither.
 */
export class FailedWrites {
  private list: FailedWrite[];

  constructor(
    private readonly storage: Storage | null,
    readonly key: string,
    private readonly onChange: (items: readonly FailedWrite[]) => void = () => undefined,
  ) {
    this.list = this.load();
  }

  get items(): readonly FailedWrite[] {
    return this.list;
  }

  add(write: PendingWrite, code: string, message: string, now = Date.now()): void {
    const failed: FailedWrite = { ...write, code, message, failedAt: now };
    this.list = [...this.list.filter((w) => w.id !== write.id), failed].slice(-FAILED_MAX);
    this.save();
  }

  dismiss(id: string): void {
    if (!this.list.some((w) => w.id === id)) return;
    this.list = this.list.filter((w) => w.id !== id);
    this.save();
  }

  private load(): FailedWrite[] {
    return readList(
      this.storage,
      this.key,
      (w): w is FailedWrite =>
        typeof (w as FailedWrite).id === "string" &&
        typeof (w as FailedWrite).op === "object" &&
        typeof (w as FailedWrite).code === "string" &&
        typeof (w as FailedWrite).message === "string",
    );
  }

  private save(): void {
    // Storage full or disabled: still shown while this page lives.
    writeList(this.storage, this.key, this.list);
    this.onChange(this.list);
  }
}

/** The kept list under ``key``: only the entries ``valid`` accepts (storage written by an
 * older version, or by hand, must not break the page); [] when there is none. */
function readList<T extends object>(
  storage: Storage | null,
  key: string,
  valid: (w: object) => w is T,
): T[] {
  try {
    const raw = storage?.getItem(key);
    if (!raw) return [];
    const parsed = JSON.parse(raw) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((w): w is T => !!w && typeof w === "object" && valid(w as object));
  } catch {
    return [];
  }
}

/** Keep ``items`` under ``key`` (removed when empty); a full or disabled storage is not
 * an error: the list lives on in memory. */
function writeList(storage: Storage | null, key: string, items: readonly unknown[]): void {
  try {
    if (items.length) storage?.setItem(key, JSON.stringify(items));
    else storage?.removeItem(key);
  } catch {
    // Nothing to do: see the callers.
  }
}
