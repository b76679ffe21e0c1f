/**
 * A vote's standing as ranked bars, each with its number of dots written out (the bar
 * is decoration; the numbers and words carry the meaning).
 *
 *   <VoteBars items={voteItems(state, vote)} results={session.tallies.value[vote.id]} />
 *   <VoteBars items={…} results={…} large limit={10} />     the projector
 *
 * Items with no dots yet come last. Verdicts (common ground / divisive) are shown as
 * words when the results are classified; `showGroups` adds dots per stakeholder group.
 */
import type { VoteItem } from "./model";
import type { VoteResults } from "./types";

export interface VoteBarsProps {
  items: VoteItem[];
  results: VoteResults | null | undefined;
  large?: boolean;
  /** Show at most this many rows (default all). */
  limit?: number;
  /** Show each item's dots per stakeholder group (default false). */
  showGroups?: boolean;
  /** Accessible name of the list (default "Results"). */
  label?: string;
}

const VERDICTS: Record<string, string> = {
  common_ground: "Common ground",
  divisive: "Divisive",
};

export function VoteBars({ items, results, large, limit, showGroups, label = "Results" }: VoteBarsProps) {
  const labels = new Map(items.map((i) => [i.id, i]));
  type Row = { id: number; label: string; total: number; rank: number | null; verdict: string | null; byGroup: Record<string, number> };
  const rows: Row[] = [];
  for (const r of results?.items ?? []) {
    const item = labels.get(r.item);
    if (!item) continue; // no longer on the wall (hidden or deleted)
    rows.push({
      id: r.item,
      label: item.label,
      total: r.total,
      rank: r.rank,
      verdict: results?.classified ? (VERDICTS[r.verdict] ?? null) : null,
      byGroup: r.by_group,
    });
  }
  for (const item of items) {
    if (!rows.some((r) => r.id === item.id)) {
      rows.push({ id: item.id, label: item.label, total: 0, rank: null, verdict: null, byGroup: {} });
    }
  }
  rows.sort((a, b) => b.total - a.total || a.id - b.id);
  const max = Math.max(1, ...rows.map((r) => r.total));
  const shown = limit != null ? rows.slice(0, limit) : rows;
  if (shown.length === 0) return <p class="muted">Nothing to vote on yet.</p>;
  return (
    <ol class={`vote-bars${large ? " vote-bars-large" : ""}`} aria-label={label} data-testid="vote-bars">
      {shown.map((r) => (
        <li
          key={r.id}
          class="vote-bar"
          data-testid="vote-bar"
          data-item={r.id}
          data-total={r.total}
          data-rank={r.rank ?? ""}
        >
          <div class="vote-bar-head">
            <span class="vote-rank">{r.rank != null && r.total > 0 ? `${r.rank}.` : "–"}</span>
            <span class="vote-label">{r.label}</span>
            <span class="vote-total">
              {r.total} {r.total === 1 ? "dot" : "dots"}
            </span>
          </div>
          <div class="vote-track" aria-hidden="true">
            <div class="vote-fill" style={{ width: `${(r.total / max) * 100}%` }} />
          </div>
          {(r.verdict || (showGroups && Object.keys(r.byGroup).length > 0)) && (
            <p class="vote-detail">
              {r.verdict && <strong class={`verdict verdict-${r.verdict === "Divisive" ? "divisive" : "common"}`}>{r.verdict}</strong>}
              {r.verdict && showGroups ? " · " : ""}
              {showGroups &&
                Object.entries(r.byGroup)
                  .map(([g, n]) => `${g}: ${n}`)
                  .join(", ")}
            </p>
          )}
        </li>
      ))}
    </ol>
  );
}
