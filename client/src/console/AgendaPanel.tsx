/**
 * Agenda: the event's activities in order. Add notes rounds, votes and drafts; move them
 * (buttons, so no dragging is needed); open, close, archive and reopen them; choose what
 * every phone and the projector follow; run a countdown.
 */
import { useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import type { ActivityAdd, VoteSpec } from "../core/protocol.gen";
import { Countdown } from "../ui/Countdown";
import { type Activity, KIND_LABEL, activityTitle, agendaOrder, truncate, useConsole } from "./context";

const STATUS_LABEL: Record<Activity["status"], string> = {
  draft: "Not open yet",
  open: "Open",
  closed: "Closed",
  archived: "Archived",
};

export function AgendaPanel({ state }: { state: EventState }) {
  const items = agendaOrder(state);
  return (
    <div class="panel agenda-panel">
      <h2>Agenda</h2>
      {items.length === 0 ? (
        <p class="empty">
          No activities yet. Without one, the event is a single open board. Add a notes round below to start.
        </p>
      ) : (
        <ol class="agenda-list" data-testid="agenda-list">
          {items.map((a, i) => (
            <AgendaItem key={a.id} state={state} activity={a} index={i} count={items.length} />
          ))}
        </ol>
      )}
      <AddActivity state={state} />
    </div>
  );
}

function AgendaItem({
  state,
  activity: a,
  index,
  count,
}: {
  state: EventState;
  activity: Activity;
  index: number;
  count: number;
}) {
  const { act, session } = useConsole();
  const [editing, setEditing] = useState(false);
  const [prompt, setPrompt] = useState(a.prompt);
  const [minutes, setMinutes] = useState("5");
  const isCurrent = state.current === a.id;
  const name = truncate(a.prompt || KIND_LABEL[a.kind], 60);
  const idp = `act-${a.id}`;

  const status = (s: "open" | "closed" | "archived", done: string) =>
    void act({ kind: "activity.set_status", activity: a.id, status: s }, done);
  const move = async (position: number, which: "up" | "down") => {
    const r = await act({ kind: "activity.move", activity: a.id, position }, `Moved “${name}” to position ${position + 1}.`);
    if (!r.ok) return;
    // The item's node moved in the list, which loses keyboard focus in some browsers:
    // put it back on the same button (or its partner, at the ends of the list).
    requestAnimationFrame(() => {
      const item = document.querySelector(`[data-testid="activity"][data-activity-id="${a.id}"]`);
      const same = item?.querySelector<HTMLButtonElement>(`[data-testid="activity-${which}"]`);
      const other = item?.querySelector<HTMLButtonElement>(`[data-testid="activity-${which === "up" ? "down" : "up"}"]`);
      (same && !same.disabled ? same : other)?.focus();
    });
  };

  const round = a.vote ? state.activities.find((x) => x.id === a.vote?.round) : null;

  return (
    <li
      class={`agenda-item status-${a.status}${isCurrent ? " is-current" : ""}`}
      data-testid="activity"
      data-activity-id={a.id}
      data-status={a.status}
      data-current={isCurrent ? "true" : "false"}
    >
      <div class="agenda-head">
        <span class="agenda-pos" aria-hidden="true">
          {index + 1}
        </span>
        <div class="agenda-text">
          <h3 id={`${idp}-title`} class="agenda-title">
            <span class="kind-tag">{KIND_LABEL[a.kind]}</span> {a.prompt || <em>no prompt</em>}
          </h3>
          <p class="agenda-meta">
            <span class={`badge badge-status-${a.status}`} data-testid="activity-status">
              {STATUS_LABEL[a.status]}
            </span>
            {isCurrent && (
              <span class="badge badge-current" data-testid="activity-is-current">
                On every screen now
              </span>
            )}
            {a.vote && (
              <span class="hint">
                {" "}
                On the {a.vote.target} of {round ? `“${truncate(round.prompt, 40)}”` : `round ${a.vote.round}`} ·{" "}
                {a.vote.budget} dots each, at most {a.vote.cap} per item · results{" "}
                {a.vote.results === "live" ? "shown live" : "shown when closed"}
              </span>
            )}
            {a.kind === "draft" && (
              <span class="hint">
                {" "}
                Reactions visible to {a.reactions === "live" ? "everyone, live" : a.reactions === "on_close" ? "everyone once closed" : "facilitators and writers"}
              </span>
            )}
          </p>
          <Countdown endsAt={a.ends_at} offset={session.clockOffset.value} />
        </div>
      </div>

      {editing && (
        <form
          class="inline-form"
          onSubmit={async (e) => {
            e.preventDefault();
            const r = await act({ kind: "activity.edit", activity: a.id, prompt: prompt.trim() }, "Prompt changed.");
            if (r.ok) setEditing(false);
          }}
        >
          <label for={`${idp}-prompt`}>Prompt</label>
          <textarea
            id={`${idp}-prompt`}
            data-testid="activity-prompt-input"
            rows={2}
            maxLength={500}
            value={prompt}
            onInput={(e) => setPrompt(e.currentTarget.value)}
          />
          <div class="button-row">
            <button type="submit" data-testid="activity-prompt-save">
              Save prompt
            </button>
            <button type="button" class="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}

      <div class="agenda-actions" role="group" aria-label={`Actions for ${name}`}>
        {a.status === "draft" && (
          <button type="button" data-testid="activity-open" onClick={() => status("open", `Opened “${name}”.`)}>
            Open
          </button>
        )}
        {a.status === "open" && (
          <button type="button" data-testid="activity-close" onClick={() => status("closed", `Closed “${name}”.`)}>
            Close
          </button>
        )}
        {(a.status === "closed" || a.status === "archived") && (
          <button
            type="button"
            class="secondary"
            data-testid="activity-reopen"
            onClick={() => status("open", `Reopened “${name}”.`)}
          >
            Reopen
          </button>
        )}
        {a.status === "closed" && (
          <button
            type="button"
            class="secondary"
            data-testid="activity-archive"
            onClick={() => status("archived", `Archived “${name}”.`)}
          >
            Archive
          </button>
        )}
        {isCurrent ? (
          <button
            type="button"
            class="secondary"
            data-testid="activity-uncurrent"
            onClick={() => void act({ kind: "activity.set_current", activity: null }, "No activity is on the screens now.")}
          >
            Take off the screens
          </button>
        ) : (
          <button
            type="button"
            class="secondary"
            data-testid="activity-current"
            onClick={() => void act({ kind: "activity.set_current", activity: a.id }, `“${name}” is now on every screen.`)}
          >
            Show on every screen
          </button>
        )}
        <button
          type="button"
          class="secondary"
          data-testid="activity-edit"
          aria-expanded={editing}
          onClick={() => {
            setPrompt(a.prompt);
            setEditing(!editing);
          }}
        >
          Edit prompt
        </button>
        <button
          type="button"
          class="secondary icon-button"
          data-testid="activity-up"
          disabled={index === 0}
          aria-label={`Move “${name}” up`}
          onClick={() => void move(index - 1, "up")}
        >
          ↑ Up
        </button>
        <button
          type="button"
          class="secondary icon-button"
          data-testid="activity-down"
          disabled={index === count - 1}
          aria-label={`Move “${name}” down`}
          onClick={() => void move(index + 1, "down")}
        >
          ↓ Down
        </button>
      </div>

      {a.status !== "archived" && (
        <form
          class="timer-form"
          onSubmit={(e) => {
            e.preventDefault();
            const m = Number(minutes);
            if (!Number.isFinite(m) || m <= 0 || m > 1440) return;
            void act(
              { kind: "activity.set_timer", activity: a.id, seconds: Math.max(1, Math.round(m * 60)) },
              `Timer started: ${m} ${m === 1 ? "minute" : "minutes"}.`,
            );
          }}
        >
          <label for={`${idp}-minutes`} class="inline-label">
            Timer (minutes)
          </label>
          <input
            id={`${idp}-minutes`}
            data-testid="timer-minutes"
            type="number"
            min={0.5}
            max={1440}
            step={0.5}
            value={minutes}
            onInput={(e) => setMinutes(e.currentTarget.value)}
            class="narrow"
          />
          <button type="submit" class="secondary" data-testid="timer-start">
            {a.ends_at != null ? "Restart timer" : "Start timer"}
          </button>
          {a.ends_at != null && (
            <button
              type="button"
              class="secondary"
              data-testid="timer-stop"
              onClick={() => void act({ kind: "activity.set_timer", activity: a.id, seconds: null }, "Timer stopped.")}
            >
              Stop timer
            </button>
          )}
        </form>
      )}
    </li>
  );
}

function AddActivity({ state }: { state: EventState }) {
  const { act } = useConsole();
  const rounds = agendaOrder(state).filter((a) => a.kind === "notes");
  const [type, setType] = useState<ActivityAdd["type"]>("notes");
  const [prompt, setPrompt] = useState("");
  const [round, setRound] = useState<string>("");
  const [target, setTarget] = useState<"notes" | "themes">("notes");
  const [budget, setBudget] = useState("5");
  const [cap, setCap] = useState("2");
  const [results, setResults] = useState<"live" | "on_close">("live");
  const [reactions, setReactions] = useState<"facilitators" | "live" | "on_close">("facilitators");
  const [error, setError] = useState<string | null>(null);

  const chosenRound = round || String(rounds[rounds.length - 1]?.id ?? "");

  async function submit(e: Event) {
    e.preventDefault();
    const op: ActivityAdd = { kind: "activity.add", type, prompt: prompt.trim() };
    if (type === "vote") {
      if (!chosenRound) {
        setError("A vote needs a notes round to vote on: add one first.");
        return;
      }
      const b = Number(budget);
      const c = Number(cap);
      if (!Number.isInteger(b) || b < 1 || b > 100 || !Number.isInteger(c) || c < 1 || c > 100) {
        setError("Dots per person and the most per item are whole numbers from 1 to 100.");
        return;
      }
      const vote: VoteSpec = { round: Number(chosenRound), target, budget: b, cap: c, results };
      op.vote = vote;
    }
    if (type === "draft") op.reactions = reactions;
    setError(null);
    const r = await act(op, `${KIND_LABEL[type]} added to the agenda.`);
    if (r.ok) setPrompt("");
    else setError(r.message);
  }

  return (
    <section class="card add-activity" aria-labelledby="add-activity-heading">
      <h3 id="add-activity-heading">Add an activity</h3>
      <form onSubmit={submit} data-testid="add-activity-form" noValidate>
        <label for="add-type">Kind</label>
        <select
          id="add-type"
          data-testid="add-type"
          value={type}
          onChange={(e) => setType(e.currentTarget.value as ActivityAdd["type"])}
        >
          <option value="notes">Notes round: people post sticky notes</option>
          <option value="vote">Dot-vote: on a round's notes or themes</option>
          <option value="draft">Draft: the strategy document</option>
        </select>
        <label for="add-prompt">{type === "draft" ? "Title" : "Prompt"}</label>
        <textarea
          id="add-prompt"
          data-testid="add-prompt"
          rows={2}
          maxLength={500}
          value={prompt}
          onInput={(e) => setPrompt(e.currentTarget.value)}
        />
        {type === "vote" && (
          <fieldset class="field-grid">
            <legend>Vote settings</legend>
            <div>
              <label for="add-round">Round to vote on</label>
              <select
                id="add-round"
                data-testid="add-vote-round"
                value={chosenRound}
                onChange={(e) => setRound(e.currentTarget.value)}
              >
                {rounds.length === 0 && <option value="">No notes round yet</option>}
                {rounds.map((r) => (
                  <option key={r.id} value={String(r.id)}>
                    {truncate(activityTitle(r), 70)}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="add-target">Vote on</label>
              <select
                id="add-target"
                data-testid="add-vote-target"
                value={target}
                onChange={(e) => setTarget(e.currentTarget.value as "notes" | "themes")}
              >
                <option value="notes">its notes</option>
                <option value="themes">its themes</option>
              </select>
            </div>
            <div>
              <label for="add-budget">Dots per person</label>
              <input
                id="add-budget"
                data-testid="add-vote-budget"
                type="number"
                min={1}
                max={100}
                value={budget}
                onInput={(e) => setBudget(e.currentTarget.value)}
                class="narrow"
              />
            </div>
            <div>
              <label for="add-cap">Most dots on one item</label>
              <input
                id="add-cap"
                data-testid="add-vote-cap"
                type="number"
                min={1}
                max={100}
                value={cap}
                onInput={(e) => setCap(e.currentTarget.value)}
                class="narrow"
              />
            </div>
            <div>
              <label for="add-results">Results</label>
              <select
                id="add-results"
                data-testid="add-vote-results"
                value={results}
                onChange={(e) => setResults(e.currentTarget.value as "live" | "on_close")}
              >
                <option value="live">shown to everyone live</option>
                <option value="on_close">shown to everyone when the vote closes</option>
              </select>
            </div>
          </fieldset>
        )}
        {type === "draft" && (
          <>
            <label for="add-reactions">Who sees the reaction counts (besides facilitators and writers)</label>
            <select
              id="add-reactions"
              data-testid="add-reactions"
              value={reactions}
              onChange={(e) => setReactions(e.currentTarget.value as "facilitators" | "live" | "on_close")}
            >
              <option value="facilitators">nobody else</option>
              <option value="live">everyone, live while the draft is open</option>
              <option value="on_close">everyone, once the draft is closed</option>
            </select>
          </>
        )}
        {error && (
          <p class="form-error" role="alert" data-testid="add-error">
            {error}
          </p>
        )}
        <p>
          <button type="submit" data-testid="add-submit">
            Add to the agenda
          </button>
        </p>
      </form>
    </section>
  );
}
