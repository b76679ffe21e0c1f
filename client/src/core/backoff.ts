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
