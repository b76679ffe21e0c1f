/**
 * A participant's phone, /j/{code}: join once (name optional, stakeholder group, table),
 * keep the token, and follow whatever the facilitators have running. After a reload the
 * stored token opens the same identity again: joining twice would make a second
 * participant, who is not the author of the first one's notes.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import {
  type CodeInfo,
  type Credential,
  HttpError,
  forgetCredential,
  join,
  loadCredential,
  lookup,
  saveCredential,
} from "../core/http";
import { ActivityView } from "../ui/ActivityView";
import { refusedText } from "../ui/errors";
import { Frame, isRefused, useSession } from "../ui/session";
import "../ui/ui.css";

type Params = Record<string, string>;

export default function Participant({ params }: { params: Params }) {
  const code = params.code ?? "";
  const [credential, setCredential] = useState<Credential | null>(() => loadCredential("participant", code));
  if (!credential) return <JoinForm code={code} onJoined={setCredential} />;
  return (
    <Live
      code={code}
      credential={credential}
      onForget={() => {
        forgetCredential("participant", code);
        setCredential(null);
      }}
    />
  );
}

function Live({ code, credential, onForget }: { code: string; credential: Credential; onForget: () => void }) {
  const session = useSession(credential);
  const state = session?.state.value ?? null;
  const you = session?.you.value ?? (credential.participant as string | undefined) ?? null;
  const me = state?.participants.find((p) => p.id === you);
  const name = me?.name ?? (credential.name as string | null | undefined) ?? null;
  const group = me?.group ?? (credential.group as string | null | undefined) ?? null;
  const table = me?.table ?? (credential.table as string | null | undefined) ?? null;
  const title = state?.title ?? (credential.title as string | undefined) ?? "Plenary";
  const identity = [name ?? "Anonymous", group, table ? `table ${table}` : null].filter(Boolean).join(" · ");
  return (
    <Frame
      session={session}
      title={title}
      aside={
        <p class="identity" data-testid="identity">
          You: {identity}
        </p>
      }
    >
      {session && isRefused(session) ? (
        <div class="refused" role="alert" data-testid="refused">
          <h2>This phone is no longer connected to the event</h2>
          <p>{refusedText(session.lastError.value?.code, session.lastError.value?.message)}</p>
          <button type="button" onClick={onForget} data-testid="join-again">
            Join again
          </button>
        </div>
      ) : session ? (
        <ActivityView session={session} token={credential.token} participant />
      ) : (
        <p role="status">Connecting…</p>
      )}
      <p class="code-line muted">
        Event code <span class="code">{code.toUpperCase()}</span>
      </p>
    </Frame>
  );
}

interface JoinFormProps {
  code: string;
  onJoined: (credential: Credential) => void;
}

function JoinForm({ code, onJoined }: JoinFormProps) {
  const [info, setInfo] = useState<CodeInfo | null>(null);
  const [lookupError, setLookupError] = useState<HttpError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [name, setName] = useState("");
  const [anonymous, setAnonymous] = useState(false);
  const [group, setGroup] = useState("");
  const [table, setTable] = useState("");
  const [groupMissing, setGroupMissing] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const groupRef = useRef<HTMLSelectElement>(null);

  useEffect(() => {
    let live = true;
    setLookupError(null);
    lookup(code).then(
      (found) => live && setInfo(found),
      (err: unknown) =>
        live && setLookupError(err instanceof HttpError ? err : new HttpError("network", 0, String(err))),
    );
    return () => {
      live = false;
    };
  }, [code, attempt]);

  useEffect(() => {
    document.title = info ? `Join ${info.title} · Plenary` : "Join · Plenary";
  }, [info]);

  if (!info) {
    return (
      <main id="main" class="page join">
        <h1>Join an event</h1>
        {lookupError ? (
          lookupError.code === "not_found" ? (
            <div role="alert" data-testid="join-unknown">
              <p>
                No event has the code <strong class="code">{code.toUpperCase()}</strong>. Check
                the code on your table or on the big screen.
              </p>
              <p>
                <a href="/">Type another code</a>
              </p>
            </div>
          ) : (
            <div role="alert">
              <p>Could not reach the event: {lookupError.message}.</p>
              <button type="button" onClick={() => setAttempt((n) => n + 1)}>
                Try again
              </button>
            </div>
          )
        ) : (
          <p role="status">Looking up event {code.toUpperCase()}…</p>
        )}
      </main>
    );
  }

  const needsGroup = info.groups.length > 0;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    if (needsGroup && !group) {
      setGroupMissing(true);
      groupRef.current?.focus();
      return;
    }
    setBusy(true);
    setProblem(null);
    const shownName = anonymous ? null : name.trim() || null;
    try {
      const joined = await join(code, shownName, needsGroup ? group : null, table.trim() || null);
      const credential: Credential = {
        event: joined.event,
        token: joined.token,
        participant: joined.participant,
        title: joined.title,
        name: shownName,
        group: needsGroup ? group : null,
        table: table.trim() || null,
      };
      saveCredential("participant", code, credential);
      onJoined(credential);
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };

  return (
    <main id="main" class="page join">
      <p class="activity-kind">Join</p>
      <h1 data-testid="event-title">{info.title}</h1>
      <form onSubmit={submit} data-testid="join-form" noValidate>
        <label for="join-name">Your name (optional)</label>
        <input
          id="join-name"
          data-testid="join-name"
          type="text"
          autoComplete="nickname"
          maxLength={60}
          value={anonymous ? "" : name}
          disabled={anonymous}
          aria-describedby="join-name-help"
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <p id="join-name-help" class="help">
          {info.anonymity === "nobody"
            ? "Names are not shown to anyone at this event."
            : info.anonymity === "facilitators"
              ? "Only the facilitators see names at this event."
              : "Your name is shown with your notes."}
        </p>
        <div class="check">
          <input
            id="join-anonymous"
            data-testid="join-anonymous"
            type="checkbox"
            checked={anonymous}
            onChange={(e) => setAnonymous(e.currentTarget.checked)}
          />
          <label for="join-anonymous">Join anonymously</label>
        </div>

        {needsGroup && (
          <>
            <label for="join-group">Your stakeholder group (required)</label>
            <select
              id="join-group"
              ref={groupRef}
              data-testid="join-group"
              required
              value={group}
              aria-invalid={groupMissing && !group}
              aria-describedby={groupMissing && !group ? "join-group-error" : undefined}
              onChange={(e) => {
                setGroup(e.currentTarget.value);
                setGroupMissing(false);
              }}
            >
              <option value="">Choose your group…</option>
              {info.groups.map((g) => (
                <option key={g} value={g}>
                  {g}
                </option>
              ))}
            </select>
            {groupMissing && !group && (
              <p id="join-group-error" class="problem" data-testid="join-group-error">
                Choose the group you are here with.
              </p>
            )}
          </>
        )}

        {info.tables.length > 0 ? (
          <>
            <label for="join-table">Your table</label>
            <select
              id="join-table"
              data-testid="join-table"
              value={table}
              onChange={(e) => setTable(e.currentTarget.value)}
            >
              <option value="">Not at a table</option>
              {info.tables.map((t) => (
                <option key={t.number} value={t.number}>
                  Table {t.number}
                  {t.name ? ` — ${t.name}` : ""}
                </option>
              ))}
            </select>
          </>
        ) : (
          <>
            <label for="join-table">Your table number (optional)</label>
            <input
              id="join-table"
              data-testid="join-table"
              type="text"
              inputMode="text"
              maxLength={20}
              value={table}
              onInput={(e) => setTable(e.currentTarget.value)}
            />
          </>
        )}

        <button type="submit" class="wide" data-testid="join-submit" disabled={busy}>
          {busy ? "Joining…" : "Join"}
        </button>
        {problem && (
          <p class="problem" role="alert" data-testid="join-problem">
            Could not join: {problem}
          </p>
        )}
      </form>
    </main>
  );
}
