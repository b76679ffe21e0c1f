/**
 * Draft: the strategy document of a draft activity. Write and save versions (with
 * conflicts settled, never lost), publish one to every screen, say why each section
 * changed, read the history and compare any two versions, choose the writing team, and
 * follow the room's reactions.
 */
import { useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import { Tabs } from "./Tabs";
import { activityTitle, agendaOrder, store, truncate, useConsole } from "./context";
import { DraftEditor } from "./DraftEditor";
import { ExplainChanges } from "./ExplainChanges";
import { DraftHistory } from "./DraftHistory";
import { WritingTeam } from "./WritingTeam";
import { DraftReactionsView } from "./DraftReactionsView";

const PARTS = [
  { id: "write", label: "Write" },
  { id: "explain", label: "Why it changed" },
  { id: "history", label: "History" },
  { id: "team", label: "Writing team" },
  { id: "reactions", label: "Reactions" },
];

export function DraftPanel({ state }: { state: EventState }) {
  const { event } = useConsole();
  const drafts = agendaOrder(state).filter((a) => a.kind === "draft");
  const [picked, setPicked] = useState<string | null>(null);
  const partKey = `plenary:console:draftpart:${event}`;
  const [part, setPart] = useState<string>(() => store.get<string>(partKey) ?? "write");
  const fallback = drafts.find((d) => d.id === state.current) ?? drafts.find((d) => d.status === "open") ?? drafts[0];
  const key = picked && drafts.some((d) => String(d.id) === picked) ? picked : String(fallback?.id ?? "");
  const activity = drafts.find((d) => String(d.id) === key) ?? null;
  const draft = activity ? state.drafts.find((d) => d.activity === activity.id) ?? null : null;
  const choose = (p: string) => {
    setPart(p);
    store.set(partKey, p);
  };

  return (
    <div class="panel draft-panel">
      <h2>Draft</h2>
      {drafts.length === 0 ? (
        <>
          <p class="empty">No draft yet. Add a Draft activity in the Agenda for the strategy document.</p>
          <WritingTeam state={state} />
        </>
      ) : (
        <>
          {drafts.length > 1 && (
            <>
              <label for="draft-select">Draft</label>
              <select id="draft-select" data-testid="draft-select" value={key} onChange={(e) => setPicked(e.currentTarget.value)}>
                {drafts.map((d) => (
                  <option key={d.id} value={String(d.id)}>
                    {truncate(activityTitle(d), 70)} ({d.status})
                  </option>
                ))}
              </select>
            </>
          )}
          {activity && (
            <>
              <p class="draft-summary" data-testid="draft-summary">
                <strong>{activity.prompt || "Draft"}</strong> · {activity.status} ·{" "}
                {draft?.head ? `${draft.head} ${draft.head === 1 ? "version" : "versions"}` : "no version saved yet"}
                {draft?.published ? ` · version ${draft.published} is published` : " · nothing published yet"}
              </p>
              <Tabs
                name="draft"
                label="Draft sections"
                tabs={PARTS}
                selected={part}
                onSelect={choose}
              >
                {part === "write" && (
                  <DraftEditor
                    key={activity.id}
                    state={state}
                    activity={activity}
                    draft={draft}
                    onExplain={() => {
                      choose("explain");
                      document.getElementById("draft-tab-explain")?.focus();
                    }}
                  />
                )}
                {part === "explain" && <ExplainChanges key={activity.id} state={state} activity={activity} draft={draft} />}
                {part === "history" && <DraftHistory key={activity.id} state={state} activity={activity} draft={draft} />}
                {part === "team" && <WritingTeam state={state} />}
                {part === "reactions" && <DraftReactionsView key={activity.id} state={state} activity={activity} draft={draft} />}
              </Tabs>
            </>
          )}
        </>
      )}
    </div>
  );
}
