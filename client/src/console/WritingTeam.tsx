/**
 * The writing team: participants a facilitator puts on it may save, publish and explain
 * drafts (writer.set). Their phones reconnect with the writers' view.
 */
import { useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import { useConsole } from "./context";
import { LIMIT, matchesSearch } from "./Participants";

export function WritingTeam({ state }: { state: EventState }) {
  const { act } = useConsole();
  const [filter, setFilter] = useState("");
  const writers = new Set(state.writers);
  const needle = filter.trim().toLowerCase();
  const people = state.participants
    .filter((p) => writers.has(p.id) || matchesSearch(p, needle))
    .sort((a, b) => Number(writers.has(b.id)) - Number(writers.has(a.id)) || a.joined_seq - b.joined_seq);
  const limit = LIMIT;

  return (
    <section aria-labelledby="team-heading" data-testid="draft-writers">
      <h3 id="team-heading">Writing team</h3>
      <p class="hint">
        {writers.size === 0
          ? "Nobody is on the writing team yet; facilitators can always write."
          : `${writers.size} ${writers.size === 1 ? "person is" : "people are"} on the writing team.`}{" "}
        Writers save, publish and explain versions from their own device.
      </p>
      {state.participants.length === 0 ? (
        <p class="empty">Nobody has joined yet.</p>
      ) : (
        <>
          <label for="team-filter">Find a participant (name, group or table)</label>
          <input
            id="team-filter"
            type="search"
            data-testid="writer-filter"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
          <ul class="team-list">
            {people.slice(0, limit).map((p) => {
              const id = `writer-${p.id}`;
              const label = [p.name ?? "No name", p.group, p.table ? `table ${p.table}` : null].filter(Boolean).join(" · ");
              return (
                <li key={p.id} class="check-row">
                  <input
                    type="checkbox"
                    id={id}
                    data-testid="writer-toggle"
                    data-participant-id={p.id}
                    checked={writers.has(p.id)}
                    onChange={(e) => {
                      const on = e.currentTarget.checked;
                      void act(
                        { kind: "writer.set", participant: p.id, writer: on },
                        on ? `${p.name ?? "They"} joined the writing team.` : `${p.name ?? "They"} left the writing team.`,
                      );
                    }}
                  />
                  <label for={id} class="inline-label">
                    {label}
                  </label>
                </li>
              );
            })}
          </ul>
          {people.length > limit && (
            <p class="hint">
              {people.length - limit} more: narrow the search to find them.
            </p>
          )}
        </>
      )}
    </section>
  );
}
