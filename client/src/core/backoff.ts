/**
 * Reconnect delays: exponential with full jitter (a uniformly random wait between 0 and
 * min(cap, base * 2^attempt)). Jitter matters most when a whole room of 200 phones loses
 * the venue wifi at once: without it they all reconnect in the same instant, again and
 * again.
 */

/** First retry within 1 s (docs/protocol.md, "Close codes"). */
export const BACKOFF_BASE_MS = 1000;
/** Never wait more than 30 s: a phone that came back should not sit idle for minutes. */
export const BACKOFF_CAP_MS = 30_000;

export class Backoff {
  private attempt = 0;

  constructor(
    readonly base = BACKOFF_BASE_MS,
    readonly cap = BACKOFF_CAP_MS,
    private readonly random: () => number = () => Math.random(),
  ) {}

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The upper bound of the next delay. */
  ceiling(): number {
    return Math.min(this.cap, this.base * 2 ** Math.min(this.attempt, 30));
  }

  /** The next delay in ms; each call doubles the bound, up to the cap. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceiling());
    this.attempt += 1;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/**
 * A wait the server asked for (`rate_limited`'s `detail.retry_after_ms`), plus jitter:
 * never sooner than asked, and up to a fifth later (at least 100 ms), so a room the server
 * throttled together does not come back in the same instant.
 */
export const HINT_JITTER_SHARE = 0.2;
export const HINT_JITTER_MIN_MS = 100;

export function afterHint(hintMs: number, random: () => number = () => Math.random()): number {
  const spread = Math.max(HINT_JITTER_MIN_MS, hintMs * HINT_JITTER_SHARE);
  return Math.ceil(hintMs) + Math.floor(random() * spread);
}

/** `detail.retry_after_ms` of a `rate_limited` error, or null if it has none we can use. */
export function retryAfterMs(detail: unknown): number | null {
  if (!detail || typeof detail !== "object") return null;
  const ms = (detail as { retry_after_ms?: unknown }).retry_after_ms;
  return typeof ms === "number" && Number.isFinite(ms) && ms >= 0 ? ms : null;
}
