/**
 * Follows the event's current activity on a phone or an observer's screen: a notes
 * round (post a note, the wall), a vote (dots, results), the draft (read, react), or
 * "waiting for the facilitator". The participant and observer views are this with
 * `participant` on or off; the server already leaves out what the role may not see.
 *
 *   <ActivityView session={session} token={token} participant />
 *   <ActivityView session={session} token={token} />             read-only
 */
import type { Session } from "../core/contract";
import { Countdown } from "./Countdown";
import { DotVote } from "./DotVote";
import { DraftReader } from "./DraftReader";
import { NoteForm } from "./NoteForm";
import { VoteBars } from "./VoteBars";
import { Wall } from "./Wall";
import { activityById, currentActivity, kindLabel, statusText, voteItems } from "./model";
import type { Activity } from "./types";

export { kindLabel };

export interface ActivityViewProps {
  session: Session;
  token: string;
  /** Show the controls of a participant (post, edit, vote, react). */
  participant?: boolean;
}

export function ActivityView({ session, token, participant = false }: ActivityViewProps) {
  const state = session.state.value;
  if (!state) {
    return (
      <p class="waiting" role="status" data-testid="loading">
        Connecting to the event…
      </p>
    );
  }
  const activity = currentActivity(state);
  if (!activity) {
    if (state.activities.length === 0) {
      // An event without an agenda is one open board.
      return (
        <section class="activity" aria-labelledby="activity-title" data-testid="activity" data-kind="board">
          <h2 id="activity-title">The board</h2>
          {participant && <NoteForm session={session} round={null} />}
          <Wall state={state} round={null} {...wallProps(session, participant)} />
        </section>
      );
    }
    return (
      <section class="activity" aria-labelledby="activity-title" data-testid="activity" data-kind="none">
        <h2 id="activity-title">Waiting for the facilitator</h2>
        <p class="waiting" data-testid="waiting">
          Nothing is running right now. This screen will change by itself when the next
          activity starts{participant ? ": keep it open" : ""}.
        </p>
      </section>
    );
  }
  return (
    <section
      class="activity"
      aria-labelledby="activity-title"
      data-testid="activity"
      data-kind={activity.kind}
      data-activity={activity.id}
      data-status={activity.status}
      key={activity.id}
    >
      <p class="activity-kind">{kindLabel(activity)}</p>
      <h2 id="activity-title">{activity.prompt || kindLabel(activity)}</h2>
      <Countdown endsAt={activity.ends_at} offset={session.clockOffset.value} />
      {activity.kind === "notes" && (
        <>
          {participant && activity.status === "open" && (
            <NoteForm session={session} round={activity.id} prompt={activity.prompt} />
          )}
          {activity.status !== "open" && (
            <p class="muted" data-testid="round-status">
              This round is {statusText(activity.status)}.
            </p>
          )}
          <h3 class="wall-title">The wall</h3>
          <Wall
            state={state}
            round={activity.id}
            headingLevel={4}
            {...wallProps(session, participant, activity.status === "open")}
          />
        </>
      )}
      {activity.kind === "vote" && <VotePanel session={session} vote={activity} participant={participant} />}
      {activity.kind === "draft" && (
        <DraftReader session={session} token={token} activity={activity} canReact={participant} />
      )}
    </section>
  );
}

function wallProps(session: Session, participant: boolean, editable = participant) {
  if (!participant) return {};
  const base = { you: session.you.value, pending: session.pending.value };
  if (!editable) return base;
  return {
    ...base,
    onEdit: (note: number, text: string) => void session.write({ kind: "note.edit", note, text }),
    onDelete: (note: number) => void session.write({ kind: "note.delete", note }),
  };
}

function VotePanel({ session, vote, participant }: { session: Session; vote: Activity; participant: boolean }) {
  const state = session.state.value!;
  const results = session.tallies.value[vote.id];
  const round = vote.vote ? activityById(state, vote.vote.round) : null;
  return (
    <>
      {round && <p class="muted">About the round “{round.prompt}”</p>}
      {participant && <DotVote session={session} vote={vote} />}
      {results ? (
        <>
          <h3>{vote.status === "open" ? "Results so far" : "Results"}</h3>
          <VoteBars items={voteItems(state, vote)} results={results} showGroups />
        </>
      ) : (
        <p class="muted" data-testid="results-later">
          {vote.status === "draft"
            ? "Voting has not started yet."
            : "Results will be shown when voting closes."}
        </p>
      )}
    </>
  );
}
