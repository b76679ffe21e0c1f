/**
 * /f/{event}: the facilitator console on a laptop.
 *
 * The token comes from this browser's stored credential, or from the facilitator key in
 * the link's #fragment (exchanged once for a token; the key is then taken out of the
 * address bar but kept in the credential, so the console can show it for safekeeping).
 * Each facilitate call makes a new facilitator identity, so the token is reused.
 */
import { useEffect, useState } from "preact/hooks";
import { openSession } from "../core/index";
import type { Session } from "../core/contract";
import {
  type Credential,
  HttpError,
  facilitate,
  forgetCredential,
  loadCredential,
  saveCredential,
} from "../core/http";
import { Console } from "../console/Console";
import "../ui/ui.css";
import "../console/console.css";

type Phase =
  | { kind: "starting" }
  | { kind: "need-key"; message?: string }
  | { kind: "ready"; credential: Credential }
  | { kind: "gone" };

/** The key from `#key=…` (also accepts a whole pasted facilitator link). */
export function keyFrom(text: string): string | null {
  const hash = text.includes("#") ? text.slice(text.indexOf("#") + 1) : text;
  const params = new URLSearchParams(hash);
  const key = params.get("key");
  if (key) return key.trim();
  return null;
}

function stripFragment(): void {
  try {
    history.replaceState(history.state, "", window.location.pathname + window.location.search);
  } catch {
    // some embedded browsers refuse; the key just stays visible
  }
}

async function exchange(event: string, key: string, previous: Credential | null): Promise<Credential> {
  const granted = await facilitate(event, key);
  const credential: Credential = {
    ...(previous ?? {}),
    event,
    token: granted.token,
    key,
    title: granted.title,
    keyAcknowledged: previous?.key === key ? previous.keyAcknowledged ?? false : false,
  };
  saveCredential("facilitator", event, credential);
  return credential;
}

export default function Facilitator({ params }: { params: Record<string, string> }) {
  const event = params.event ?? "";
  const [phase, setPhase] = useState<Phase>({ kind: "starting" });

  async function start(key: string | null) {
    const stored = loadCredential("facilitator", event);
    try {
      if (key && !(stored && stored.key === key && stored.token)) {
        setPhase({ kind: "ready", credential: await exchange(event, key, stored) });
        return;
      }
      if (stored) {
        setPhase({ kind: "ready", credential: stored });
        return;
      }
      setPhase({ kind: "need-key" });
    } catch (err) {
      const message =
        err instanceof HttpError && err.code === "unauthorised"
          ? "That key does not open this event. Check the facilitator link you were given."
          : err instanceof HttpError
            ? err.message
            : "Could not reach the server.";
      setPhase({ kind: "need-key", message });
    }
  }

  useEffect(() => {
    const key = keyFrom(window.location.hash);
    if (key) stripFragment();
    void start(key);
  }, [event]);

  if (phase.kind === "starting") {
    return (
      <main class="page">
        <p role="status">Opening the facilitator console…</p>
      </main>
    );
  }
  if (phase.kind === "gone") {
    return (
      <main class="page">
        <h1>This event no longer exists</h1>
        <p>
          It may have been removed from this server. <a href="/">Start a new event</a>
        </p>
      </main>
    );
  }
  if (phase.kind === "need-key") {
    return <KeyForm event={event} message={phase.message} onKey={(k) => void start(k)} />;
  }
  return (
    <Connected
      event={event}
      credential={phase.credential}
      onCredential={(c) => {
        saveCredential("facilitator", event, c);
        setPhase({ kind: "ready", credential: c });
      }}
      onRefused={async (code) => {
        if (code === "not_found") {
          forgetCredential("facilitator", event);
          setPhase({ kind: "gone" });
          return;
        }
        // The token no longer opens the event (expired, or the server's secret changed),
        // or it is not a facilitator's: the key, if we have it, gets a new one.
        const key = typeof phase.credential.key === "string" ? phase.credential.key : null;
        forgetCredential("facilitator", event);
        if (key) {
          try {
            setPhase({ kind: "ready", credential: await exchange(event, key, null) });
            return;
          } catch {
            // fall through to asking
          }
        }
        setPhase({
          kind: "need-key",
          message:
            code === "not_facilitator"
              ? "This browser is in the event as a participant or an observer, not as a facilitator. Enter the facilitator key to open the console."
              : "This browser's access to the event has expired. Enter the facilitator key again.",
        });
      }}
    />
  );
}

function Connected({
  event,
  credential,
  onCredential,
  onRefused,
}: {
  event: string;
  credential: Credential;
  onCredential(c: Credential): void;
  onRefused(code: string): void;
}) {
  const [session, setSession] = useState<Session | null>(null);

  useEffect(() => {
    const s = openSession({ token: credential.token, event });
    setSession(s);
    return () => s.close();
  }, [event, credential.token]);

  const status = session?.status.value;
  const code = session?.lastError.value?.code;
  // The server says whose token this is: only a facilitator's opens the console (a
  // participant's token would show controls whose every write the server refuses).
  const role = session?.role.value ?? null;
  const notFacilitator = role != null && role !== "facilitator";
  useEffect(() => {
    if (status === "closed") onRefused(code ?? "unauthorised");
    else if (notFacilitator) onRefused("not_facilitator");
  }, [status, notFacilitator]);

  if (!session || notFacilitator) {
    return (
      <main class="page">
        <p role="status">Connecting…</p>
      </main>
    );
  }
  return <Console session={session} credential={credential} onCredential={onCredential} />;
}

function KeyForm({ event, message, onKey }: { event: string; message?: string; onKey(key: string): void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <main class="page">
      <h1>Open the facilitator console</h1>
      <p>
        This browser has no facilitator access to event <code>{event}</code> yet. Paste the
        facilitator link (or just its key) you got when the event was created.
      </p>
      {message && (
        <p class="form-error" role="alert" data-testid="key-error">
          {message}
        </p>
      )}
      <form
        data-testid="key-form"
        onSubmit={(e) => {
          e.preventDefault();
          const key = keyFrom(text) ?? text.trim();
          if (!key) {
            setError("Enter the facilitator key or link.");
            return;
          }
          setError(null);
          onKey(key);
        }}
      >
        <label for="fac-key">Facilitator link or key</label>
        <input
          id="fac-key"
          data-testid="key-input"
          type="text"
          autoComplete="off"
          spellcheck={false}
          value={text}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "fac-key-error" : undefined}
          onInput={(e) => setText(e.currentTarget.value)}
          style={{ width: "100%" }}
        />
        {error && (
          <p id="fac-key-error" class="form-error">
            {error}
          </p>
        )}
        <p>
          <button type="submit" data-testid="key-submit">
            Open the console
          </button>
        </p>
      </form>
      <p>
        <a href="/">Back to the start page</a>
      </p>
    </main>
  );
}
