/**
 * Time left on an activity, counted in server time so every screen in the room shows
 * the same number whatever its own clock says (docs/protocol.md: ends_at − (now + offset)).
 *
 *   <Countdown endsAt={activity.ends_at} offset={session.clockOffset.value} />
 *   <Countdown endsAt={…} offset={…} large />          the projector's big timer
 *
 * Renders nothing when endsAt is null. The visible count is not a live region (it would
 * be read out every second); one minute left and time up are announced politely.
 */
import { useEffect, useState } from "preact/hooks";

export interface CountdownProps {
  /** When the activity's timer ends, ms since the epoch in server time, or null. */
  endsAt: number | null | undefined;
  /** Server clock minus this device's clock, in ms (session.clockOffset). */
  offset: number;
  large?: boolean;
}

export function formatLeft(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}

function spoken(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  const parts = [];
  if (m) parts.push(`${m} minute${m === 1 ? "" : "s"}`);
  if (s || !m) parts.push(`${s} second${s === 1 ? "" : "s"}`);
  return parts.join(" ");
}

export function Countdown({ endsAt, offset, large = false }: CountdownProps) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (endsAt == null) return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [endsAt]);
  if (endsAt == null) return null;
  const left = endsAt - (now + offset);
  const over = left <= 0;
  const lastMinute = !over && left <= 60_000;
  const announcement = over ? "Time is up." : lastMinute ? "One minute left." : "";
  return (
    <div
      class={`countdown${large ? " countdown-large" : ""}${lastMinute ? " countdown-soon" : ""}${over ? " countdown-over" : ""}`}
      data-testid="countdown"
      data-left-ms={Math.max(0, Math.round(left))}
    >
      <span class="countdown-label">{over ? "Time is up" : "Time left"}</span>{" "}
      <span role="timer" aria-label={over ? "Time is up" : `Time left: ${spoken(left)}`} class="countdown-value">
        {formatLeft(left)}
      </span>
      <span class="visually-hidden" aria-live="polite">
        {announcement}
      </span>
    </div>
  );
}
