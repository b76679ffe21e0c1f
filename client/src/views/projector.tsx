/**
 * The big screen, /p/{code}: 1920×1080 across a room, no controls. It shows how to
 * join (code, link and QR) while nothing is running or a notes round has few notes yet,
 * the wall filling up live, vote bars, the draft's changes with their reasons, and the
 * timer. It watches with an observer token, so it shows exactly what observers may see.
 */
import { useEffect, useState } from "preact/hooks";
import type { Session } from "../core/contract";
import { Countdown } from "../ui/Countdown";
import { DraftReport } from "../ui/DraftReport";
import { Qr } from "../ui/Qr";
import { StatusBar } from "../ui/StatusBar";
import { VoteBars } from "../ui/VoteBars";
import { Wall } from "../ui/Wall";
import { activityById, currentActivity, kindLabel, plural, voteItems, wallNotes } from "../ui/model";
import { useObserverSession } from "../ui/observerCredential";
import type { Activity } from "../ui/types";
import "../ui/ui.css";

type Params = Record<string, string>;

/** Below this many notes the join panel stays up beside the wall: people are still arriving. */
const FEW_NOTES = 8;
/** Vote bars that fit on a 1080-pixel screen at projector type size. */
const MAX_BARS = 10;

export default function Projector({ params }: { params: Params }) {
  const code = params.code ?? "";
  const { credential, error, retry, session, refused } = useObserverSession(code);
  // No buttons on a projector: retry a failed token request by itself.
  useEffect(() => {
    if (!error || error.code === "not_found") return;
    const timer = setTimeout(retry, 5000);
    return () => clearTimeout(timer);
  }, [error]);
  const state = session?.state.value ?? null;
  const title = state?.title ?? (credential?.title as string | undefined) ?? "Plenary";
  useEffect(() => {
    document.title = `${title} · Projector · Plenary`;
    document.documentElement.classList.add("is-projector");
    return () => document.documentElement.classList.remove("is-projector");
  }, [title]);

  const activity = state ? currentActivity(state) : null;
  const joinUrl = `${location.origin}/j/${code}`;
  const notes = activity?.kind === "notes" && state ? wallNotes(state, activity.id).length : 0;
  const bigJoin = !activity || (activity.kind === "notes" && notes < FEW_NOTES);

  return (
    <div class="projector" data-testid="projector">
      <header class="proj-top">
        <div class="proj-title">
          <h1 data-testid="event-title">{title}</h1>
          {activity && <p class="proj-kind">{kindLabel(activity)}</p>}
        </div>
        {activity && session && <Countdown endsAt={activity.ends_at} offset={session.clockOffset.value} large />}
        {!bigJoin && (
          <p class="proj-join-small">
            Join at <span class="proj-url">{location.host}/j/{code}</span> · code{" "}
            <span class="code" data-testid="join-code">
              {code.toUpperCase()}
            </span>
          </p>
        )}
        {session && (
          <div class="proj-status">
            <StatusBar session={session} controls={false} />
          </div>
        )}
      </header>
      <main id="main" class={`proj-main${bigJoin ? " proj-with-join" : ""}`}>
        {!credential ? (
          <p class="proj-message" role="status">
            {error
              ? error.code === "not_found"
                ? `No event has the code ${code.toUpperCase()}.`
                : `Could not reach the event (${error.message}); trying again…`
              : `Opening event ${code.toUpperCase()}…`}
          </p>
        ) : refused ? (
          <p class="proj-message" role="alert">
            {session?.lastError.value?.message ?? "This event is no longer available."}
          </p>
        ) : (
          <>
            {bigJoin && <JoinPanel code={code} url={joinUrl} compact={activity != null} />}
            <div class="proj-content">
              {!state ? (
                <p class="proj-message" role="status">
                  Connecting…
                </p>
              ) : !activity ? (
                <div class="proj-waiting">
                  <h2>Welcome</h2>
                  <p>{plural(state.participants.length, "person", "people")} joined so far.</p>
                </div>
              ) : (
                <Current session={session!} activity={activity} token={credential.token} />
              )}
            </div>
          </>
        )}
      </main>
    </div>
  );
}

function JoinPanel({ code, url, compact }: { code: string; url: string; compact: boolean }) {
  return (
    <section class={`proj-join${compact ? " proj-join-compact" : ""}`} aria-labelledby="proj-join-title" data-testid="join-panel">
      <h2 id="proj-join-title">Join on your phone</h2>
      <Qr text={url} label={`QR code: scan it with your phone's camera to join at ${url}`} class="proj-qr" />
      <p class="proj-join-url">
        or go to <strong>{url.replace(/^https?:\/\//, "").replace(/\/j\/.*$/, "")}</strong> and enter the code
      </p>
      <p class="proj-code code" data-testid="join-code" aria-label={`Code: ${code.toUpperCase().split("").join(" ")}`}>
        {code.toUpperCase()}
      </p>
    </section>
  );
}

function Current({ session, activity, token }: { session: Session; activity: Activity; token: string }) {
  const state = session.state.value!;
  return (
    <section class="proj-activity" aria-labelledby="proj-prompt" data-testid="activity" data-kind={activity.kind} data-activity={activity.id}>
      <h2 id="proj-prompt" class="proj-prompt">
        {activity.prompt || kindLabel(activity)}
      </h2>
      {activity.kind === "notes" && <Wall state={state} round={activity.id} large headingLevel={3} />}
      {activity.kind === "vote" && <ProjectorVote session={session} vote={activity} />}
      {activity.kind === "draft" && <ProjectorDraft session={session} activity={activity} token={token} />}
    </section>
  );
}

function ProjectorVote({ session, vote }: { session: Session; vote: Activity }) {
  const state = session.state.value!;
  const results = session.tallies.value[vote.id];
  const items = voteItems(state, vote);
  const round = vote.vote ? activityById(state, vote.vote.round) : null;
  return (
    <>
      {round && <p class="proj-sub">On: “{round.prompt}”</p>}
      {results ? (
        <VoteBars items={items} results={results} large limit={MAX_BARS} label="Vote results" />
      ) : (
        <p class="proj-message">
          {vote.status === "draft"
            ? "Voting opens soon."
            : `Voting on ${plural(items.length, vote.vote?.target === "themes" ? "theme" : "note")}. Results will be shown when voting closes.`}
        </p>
      )}
    </>
  );
}

function ProjectorDraft({ session, activity, token }: { session: Session; activity: Activity; token: string }) {
  const state = session.state.value!;
  const draft = state.drafts.find((d) => d.activity === activity.id);
  const current = draft?.current;
  // Re-read the report when a reason is added, and every minute for live vote standings.
  const [minute, setMinute] = useState(() => Math.floor(Date.now() / 60_000));
  useEffect(() => {
    const timer = setInterval(() => setMinute(Math.floor(Date.now() / 60_000)), 10_000);
    return () => clearInterval(timer);
  }, []);
  if (!current) return <p class="proj-message">The new version will appear here as soon as it is published.</p>;
  const refresh = `${current.rationales.map((r) => r.seq).join(",")}:${minute}`;
  return (
    <DraftReport event={session.event} token={token} activity={activity.id} version={current.version} refresh={refresh} large />
  );
}
