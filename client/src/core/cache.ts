/**
 * The last known state and its cursor, kept in storage so that a reload shows the event
 * at once while reconnecting, and resumes with `since` = the cursor instead of fetching
 * everything again.
 *
 * The state and the cursor are stored together, in one entry: a cursor without its state
 * would make the server send only what came after a state this page no longer has.
 */
import type { Role } from "./contract";
import type { EventState } from "./protocol.gen";

/** Write at most once a second: a busy room sends a frame every few tens of ms. */
export const PERSIST_INTERVAL_MS = 1000;
/** Above this (characters of JSON, about bytes) the state is not kept: localStorage holds
 * 5 MB per origin on most phones and the write queue must always fit. */
export const PERSIST_MAX_CHARS = 2_000_000;

export interface Cached {
  cursor: number;
  state: EventState;
  role: Role | null;
  you: string | null;
}

export class StateCache {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private latest: Cached | null = null;
  private lastWrite = 0;

  constructor(
    private readonly storage: Storage | null,
    readonly key: string,
  ) {}

  load(): Cached | null {
    try {
      const raw = this.storage?.getItem(this.key);
      if (!raw) return null;
      const value = JSON.parse(raw) as Cached;
      if (typeof value?.cursor !== "number" || !value.state || typeof value.state !== "object") {
        return null;
      }
      return value;
    } catch {
      return null;
    }
  }

  /** Keep `value`, now or within PERSIST_INTERVAL_MS. */
  save(value: Cached): void {
    this.latest = value;
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastWrite + PERSIST_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  /** Write what is pending now (on page hide, or when the session closes). */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const value = this.latest;
    this.latest = null;
    if (!value) return;
    this.lastWrite = Date.now();
    try {
      const json = JSON.stringify(value);
      if (json.length > PERSIST_MAX_CHARS) this.storage?.removeItem(this.key);
      else this.storage?.setItem(this.key, json);
    } catch {
      // Full: better no cached state than a stale one with a newer cursor.
      try {
        this.storage?.removeItem(this.key);
      } catch {
        // nothing more to do
      }
    }
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.latest = null;
    try {
      this.storage?.removeItem(this.key);
    } catch {
      // nothing to do
    }
  }
}
