/**
 * Votes: a vote's live standing (from `tally` frames, which facilitators always get):
 * the ranking with bars, the dots and share of each stakeholder group, and the two
 * things an RTSC room looks for: common ground and what divides it (docs/results.md).
 */
import { useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import type { VoteResults } from "../core/protocol.gen";
import { type Activity, activityTitle, agendaOrder, truncate, useConsole } from "./context";

type Results = VoteResults;
type Item = Results["items"][number];

const VERDICT: Record<Item["verdict"], string> = {
  common_ground: "Common ground",
  divisive: "Divisive",
  neither: "—",
};

function defaultVote(state: EventState, votes: Activity[]): string {
  const current = state.activities.find((a) => a.id === state.current);
  if (current?.kind === "vote") return String(current.id);
  const open = votes.filter((v) => v.status === "open");
  const pick = open[open.length - 1] ?? votes[votes.length - 1];
  return pick ? String(pick.id) : "";
}

/** What an item is called: its note's text or its theme's name (or what it was). */
export function itemLabel(state: EventState, vote: Activity, item: number): string {
  if (vote.vote?.target === "themes") {
    return state.themes.find((t) => t.id === item)?.name ?? `Theme ${item} (deleted)`;
  }
  const note = state.notes.find((n) => n.id === item);
  if (!note) return `Note ${item} (deleted)`;
  return note.hidden ? `${note.text} (hidden)` : note.text;
}

function pct(x: number | undefined): string {
  return `${Math.round((x ?? 0) * 100)}%`;
}

export function VotesPanel({ state }: { state: EventState }) {
  const { session } = useConsole();
  const votes = agendaOrder(state).filter((a) => a.kind === "vote");
  const [picked, setPicked] = useState<string | null>(null);
  const key = picked && votes.some((v) => String(v.id) === picked) ? picked : defaultVote(state, votes);
  const vote = votes.find((v) => String(v.id) === key) ?? null;
  const results = vote ? session.tallies.value[vote.id] : undefined;

  return (
    <div class="panel votes-panel">
      <h2>Votes</h2>
      {votes.length === 0 ? (
        <p class="empty">No votes yet. Add a dot-vote in the Agenda, on a round's notes or themes.</p>
      ) : (
        <>
          <label for="votes-select">Vote</label>
          <select
            id="votes-select"
            data-testid="votes-select"
            value={key}
            onChange={(e) => setPicked(e.currentTarget.value)}
          >
            {votes.map((v) => (
              <option key={v.id} value={String(v.id)}>
                {truncate(activityTitle(v), 70)} ({v.status})
              </option>
            ))}
          </select>
          {vote && <VoteResultsView state={state} vote={vote} results={results} />}
        </>
      )}
    </div>
  );
}

function VoteResultsView({ state, vote, results }: { state: EventState; vote: Activity; results: Results | undefined }) {
  const settings = vote.vote;
  const items = results?.items ?? [];
  const total = Object.values(results?.dots_by_group ?? {}).reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...items.map((i) => i.total));
  const common = items.filter((i) => i.verdict === "common_ground");
  const divisive = items.filter((i) => i.verdict === "divisive");
  const groups = results?.groups ?? [];

  return (
    <div data-testid="vote-results" data-vote-id={vote.id}>
      <p class="hint">
        {settings && (
          <>
            {settings.budget} dots each, at most {settings.cap} on one {settings.target === "themes" ? "theme" : "note"}. Results{" "}
            {settings.results === "live" ? "are shown to the room live" : "are shown to the room when the vote closes"}.{" "}
          </>
        )}
        Status: {vote.status}. {total} {total === 1 ? "dot" : "dots"} cast
        {groups.length ? ` by ${groups.length} ${groups.length === 1 ? "group" : "groups"}` : ""}.
      </p>
      {!results || items.length === 0 ? (
        <p class="empty" data-testid="vote-empty">
          No standing yet: it appears as soon as the vote has items and dots.
        </p>
      ) : (
        <>
          <section aria-labelledby="verdict-heading" class="verdicts">
            <h3 id="verdict-heading">Common ground and division</h3>
            {!results.classified ? (
              <p>Fewer than two stakeholder groups have voted, so nothing is classified yet.</p>
            ) : (
              <div class="verdict-grid">
                <div class="verdict-box verdict-common" data-testid="common-ground">
                  <h4>Common ground</h4>
                  <p class="hint">Strong in every group that voted.</p>
                  {common.length ? (
                    <ul>
                      {common.map((i) => (
                        <li key={i.item}>{itemLabel(state, vote, i.item)}</li>
                      ))}
                    </ul>
                  ) : (
                    <p>None yet.</p>
                  )}
                </div>
                <div class="verdict-box verdict-divisive" data-testid="divisive">
                  <h4>Divisive</h4>
                  <p class="hint">Strong in some groups, weak in others: candidates for agreeing to disagree.</p>
                  {divisive.length ? (
                    <ul>
                      {divisive.map((i) => (
                        <li key={i.item}>
                          {itemLabel(state, vote, i.item)}
                          <span class="hint">
                            {" "}
                            (
                            {groups
                              .map((g) => `${g} ${pct(i.support[g])}`)
                              .join(", ")}
                            )
                          </span>
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <p>None yet.</p>
                  )}
                </div>
              </div>
            )}
          </section>

          <section aria-labelledby="ranking-heading">
            <h3 id="ranking-heading">Ranking</h3>
            <table class="data-table ranking" data-testid="ranking">
              <thead>
                <tr>
                  <th scope="col">Rank</th>
                  <th scope="col">{settings?.target === "themes" ? "Theme" : "Note"}</th>
                  <th scope="col">Dots</th>
                  <th scope="col">Verdict</th>
                </tr>
              </thead>
              <tbody>
                {items.map((i) => (
                  <tr key={i.item} data-testid="ranking-row" data-item={i.item} data-verdict={i.verdict}>
                    <td>{i.total > 0 ? i.rank : "–"}</td>
                    <th scope="row" class="item-label">
                      {itemLabel(state, vote, i.item)}
                    </th>
                    <td class="bar-cell">
                      <span class="bar" aria-hidden="true">
                        <span class="bar-fill" style={{ width: `${(i.total / max) * 100}%` }} />
                      </span>
                      <span class="bar-num">{i.total}</span>
                    </td>
                    <td>
                      <span class={`verdict-tag verdict-${i.verdict}`}>{results.classified ? VERDICT[i.verdict] : "—"}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          {groups.length > 0 && (
            <section aria-labelledby="groups-heading">
              <h3 id="groups-heading">By stakeholder group</h3>
              <p class="hint">
                Each cell: the group's dots on the item, and the share of all that group's dots. Strong is at least{" "}
                {pct(1.5 / Math.max(1, items.length))}, weak at most {pct(0.5 / Math.max(1, items.length))} (with{" "}
                {items.length} items).
              </p>
              <div class="table-scroll" tabIndex={0} role="region" aria-label="Table of dots by stakeholder group">
                <table class="data-table by-group" data-testid="by-group">
                  <thead>
                    <tr>
                      <th scope="col">{settings?.target === "themes" ? "Theme" : "Note"}</th>
                      {groups.map((g) => (
                        <th scope="col" key={g}>
                          {g}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((i) => (
                      <tr key={i.item}>
                        <th scope="row" class="item-label">
                          {truncate(itemLabel(state, vote, i.item), 60)}
                        </th>
                        {groups.map((g) => (
                          <td key={g}>
                            {i.by_group[g] ?? 0} <span class="hint">({pct(i.support[g])})</span>
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                  <tfoot>
                    <tr>
                      <th scope="row">All dots</th>
                      {groups.map((g) => (
                        <td key={g}>{results.dots_by_group[g] ?? 0}</td>
                      ))}
                    </tr>
                  </tfoot>
                </table>
              </div>
            </section>
          )}
        </>
      )}
    </div>
  );
}
