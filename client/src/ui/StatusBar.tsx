/**
 * The connection's state, always visible: online, connecting, offline with the writes
 * still waiting and when the next retry is due, or closed for good.
 *
 *   <StatusBar session={session} />                   phone: with a "Retry now" button
 *   <StatusBar session={session} controls={false} />  projector: text only
 *
 * The status word and the number of waiting writes are announced politely; the retry
 * countdown ticks visibly but is not announced every second. The last refused write or
 * connection error (session.lastError) shows as a line that goes after ten seconds.
 */
import { useEffect, useState } from "preact/hooks";
import type { Session } from "../core/contract";
import { plainError } from "./errors";
import { plural } from "./model";

export interface StatusBarProps {
  session: Session;
  /** Show the "Retry now" button and the dismissable error line (default true). */
  controls?: boolean;
}

const ERROR_SHOWN_MS = 10_000;

function useNow(active: boolean, every = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), every);
    return () => clearInterval(timer);
  }, [active, every]);
  return now;
}

export function StatusBar({ session, controls = true }: StatusBarProps) {
  const status = session.status.value;
  const waiting = session.pending.value.length;
  const retryAt = session.retryAt.value;
  const error = session.lastError.value;
  const now = useNow(status === "offline");
  const [dismissed, setDismissed] = useState<object | null>(null);
  // A refused write is also reported where it was made (next to the note or the dot):
  // here it is a passing line, gone after ERROR_SHOWN_MS, unless the session is over.
  useEffect(() => {
    if (!error || status === "closed" || error.code === "outdated") return;
    const timer = setTimeout(() => setDismissed(error), ERROR_SHOWN_MS);
    return () => clearTimeout(timer);
  }, [error, status]);

  let summary: string;
  switch (status) {
    case "online":
      summary = waiting ? `Online — sending ${plural(waiting, "change")}` : "Online";
      break;
    case "connecting":
      summary = waiting
        ? `Connecting… ${plural(waiting, "change")} waiting to send`
        : "Connecting…";
      break;
    case "offline":
      summary = waiting
        ? `Offline — ${plural(waiting, "change")} waiting`
        : "Offline";
      break;
    case "closed":
      summary = "Disconnected";
      break;
  }
  const seconds = retryAt != null ? Math.max(0, Math.ceil((retryAt - now) / 1000)) : null;
  const showError = error != null && error !== dismissed;

  return (
    <div class={`status-bar status-${status}`} data-testid="status" data-status={status}>
      <span class="status-msg">
        <span class="status-dot" aria-hidden="true" />
        <span role="status" aria-live="polite" class="status-text">
          {summary}
        </span>
        {status === "offline" && seconds != null && (
          <span class="status-retry" data-testid="status-retry-in">
            , retrying in {seconds}s
          </span>
        )}
      </span>
      {controls && (status === "offline" || status === "connecting") && (
        <button
          type="button"
          class="secondary small"
          data-testid="retry-now"
          onClick={() => session.retryNow()}
        >
          Retry now
        </button>
      )}
      {showError && (
        <p class="status-error" data-testid="status-error" data-code={error.code}>
          {plainError(error.code, error.message)}
          {controls && error.code === "outdated" && (
            <button type="button" class="secondary small" onClick={() => location.reload()}>
              Reload
            </button>
          )}
          {controls && status !== "closed" && (
            <button type="button" class="linkish" onClick={() => setDismissed(error)}>
              Dismiss
            </button>
          )}
        </p>
      )}
    </div>
  );
}
