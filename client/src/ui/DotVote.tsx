/**
 * Dot-voting on a phone: each item with the participant's own dots, add / remove
 * buttons, and the dots left (from the server's `mine` frame, adjusted for writes still
 * waiting to send). The server holds the budget and the cap exactly; this only stops the
 * buttons from asking for what would be refused.
 *
 *   <DotVote session={session} vote={activity} />
 */
import { useState } from "preact/hooks";
import type { Session } from "../core/contract";
import { plural, voteItems } from "./model";
import type { Activity } from "./types";

export interface DotVoteProps {
  session: Session;
  /** A vote activity (activity.kind === "vote"). */
  vote: Activity;
}

export function DotVote({ session, vote }: DotVoteProps) {
  const state = session.state.value;
  const settings = vote.vote;
  const [problem, setProblem] = useState<string | null>(null);
  if (!state || !settings) return null;
  const items = voteItems(state, vote);
  const mine = session.mine.value[vote.id];
  // Dots asked for on this device and not yet answered, in the order they were made.
  const waiting: [number, 1 | -1][] = [];
  for (const p of session.pending.value) {
    if ((p.op.kind === "dot.add" || p.op.kind === "dot.remove") && p.op.vote === vote.id) {
      waiting.push([p.op.item, p.op.kind === "dot.add" ? 1 : -1]);
    }
  }
  const counts = new Map<number, number>();
  for (const d of mine?.dots ?? []) counts.set(d.item, d.count);
  const unsent = new Map<number, number>();
  for (const [item, delta] of waiting) {
    counts.set(item, Math.max(0, (counts.get(item) ?? 0) + delta));
    unsent.set(item, (unsent.get(item) ?? 0) + 1);
  }
  const remainingServer = mine?.remaining ?? settings.budget;
  const remaining = Math.max(
    0,
    Math.min(settings.budget, remainingServer - waiting.reduce((sum, [, d]) => sum + d, 0)),
  );
  const open = vote.status === "open";

  const send = (kind: "dot.add" | "dot.remove", item: number) => {
    setProblem(null);
    void session.write({ kind, vote: vote.id, item }).then((r) => {
      if (!r.ok) setProblem(r.message);
    });
  };

  return (
    <div class="dot-vote" data-testid="dot-vote" data-vote={vote.id}>
      <p class="dots-remaining" data-testid="dots-remaining" data-remaining={remaining} aria-live="polite">
        <strong>
          {remaining} of {plural(settings.budget, "dot")} left
        </strong>
        <span class="muted"> · at most {settings.cap} on one {settings.target === "themes" ? "theme" : "note"}</span>
      </p>
      {!open && (
        <p class="muted" data-testid="vote-closed">
          {vote.status === "draft" ? "Voting has not started yet." : "Voting is closed."}
        </p>
      )}
      {items.length === 0 ? (
        <p class="muted">Nothing to vote on yet.</p>
      ) : (
        <ul class="vote-items">
          {items.map((item) => {
            const n = counts.get(item.id) ?? 0;
            const short = item.label.length > 60 ? `${item.label.slice(0, 57)}…` : item.label;
            return (
              <li key={item.id} class="vote-item" data-testid="vote-item" data-item={item.id} data-dots={n}>
                <p class="vote-item-label">
                  {item.label}
                  {item.notes != null && <span class="muted"> ({plural(item.notes, "note")})</span>}
                </p>
                <div class="vote-item-controls">
                  <button
                    type="button"
                    class="secondary dot-button"
                    data-testid="dot-remove"
                    data-item={item.id}
                    aria-label={`Take a dot back from “${short}”`}
                    disabled={!open || n === 0}
                    onClick={() => send("dot.remove", item.id)}
                  >
                    −
                  </button>
                  <span class="my-dots" data-testid="my-dots">
                    <span class="pips" aria-hidden="true">
                      {"●".repeat(Math.min(n, 10))}
                    </span>{" "}
                    {n === 0 ? "No dots" : plural(n, "dot")}
                    {unsent.has(item.id) && <span class="note-waiting"> (waiting to send)</span>}
                  </span>
                  <button
                    type="button"
                    class="dot-button"
                    data-testid="dot-add"
                    data-item={item.id}
                    aria-label={`Add a dot to “${short}”`}
                    disabled={!open || remaining === 0 || n >= settings.cap}
                    onClick={() => send("dot.add", item.id)}
                  >
                    +
                  </button>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {problem && (
        <p class="problem" role="alert" data-testid="dot-problem">
          {problem}
        </p>
      )}
    </div>
  );
}
