/**
 * The facilitator console: a laptop screen with the event's sections as tabs (a sidebar
 * on a wide window, a row of tabs when the window is narrow or the text is zoomed).
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Command, Session } from "../core/contract";
import type { Credential } from "../core/http";
import { StatusBar } from "../ui/StatusBar";
import { Unsaved } from "../ui/Unsaved";
import { Ctx, type ConsoleCtx, type Notice, store } from "./context";
import { Tabs } from "./Tabs";
import { SetupPanel } from "./SetupPanel";
import { AgendaPanel } from "./AgendaPanel";
import { WallPanel } from "./WallPanel";
import { VotesPanel } from "./VotesPanel";
import { DraftPanel } from "./DraftPanel";
import { ExportsPanel } from "./ExportsPanel";

const SECTIONS = [
  { id: "setup", label: "Setup" },
  { id: "agenda", label: "Agenda" },
  { id: "wall", label: "Wall" },
  { id: "votes", label: "Votes" },
  { id: "draft", label: "Draft" },
  { id: "exports", label: "Exports" },
] as const;
type SectionId = (typeof SECTIONS)[number]["id"];

export interface ConsoleProps {
  session: Session;
  credential: Credential;
  onCredential(next: Credential): void;
}

export function Console({ session, credential, onCredential }: ConsoleProps) {
  const tabKey = `plenary:console:tab:${session.event}`;
  const [tab, setTab] = useState<SectionId>(() => {
    const saved = store.get<string>(tabKey);
    return (SECTIONS.find((s) => s.id === saved)?.id ?? "setup") as SectionId;
  });
  const [notices, setNotices] = useState<Notice[]>([]);
  const counter = useRef(0);
  const credRef = useRef(credential);
  credRef.current = credential;

  const state = session.state.value;
  // Refusals this console already reported (act), so lastError does not say them twice.
  const reported = useRef(new Map<string, number>());

  useEffect(() => {
    if (state?.title) document.title = `${state.title} · Plenary console`;
  }, [state?.title]);

  const ctx = useMemo<ConsoleCtx>(() => {
    const announce: ConsoleCtx["announce"] = (kind, text) => {
      const id = ++counter.current;
      setNotices((list) => [...list.slice(-2), { id, kind, text }]);
      // Errors stay longer: they ask the facilitator to do something.
      setTimeout(() => setNotices((list) => list.filter((n) => n.id !== id)), kind === "error" ? 30000 : 5000);
    };
    return {
      session,
      event: session.event,
      token: credential.token,
      credential,
      updateCredential(patch) {
        onCredential({ ...credRef.current, ...patch });
      },
      announce,
      async act(op: Command, done?: string) {
        const result = await session.write(op);
        if (result.ok) {
          if (done) announce("ok", done);
        } else {
          reported.current.set(result.message, Date.now());
          // A draft conflict is shown by the editor's conflict panel instead.
          if (!(op.kind === "draft.save" && result.code === "conflict")) {
            announce("error", politeError(result.code, result.message));
          }
        }
        return result;
      },
    };
    // The credential object changes only when the key is acknowledged; the token stays.
  }, [session, credential]);

  // The session's last refusal: a write answered after a reload (its promise is gone) or
  // a connection problem. Writes made here were reported by act() already.
  const lastError = session.lastError.value;
  useEffect(() => {
    if (!lastError) return;
    const timer = setTimeout(() => {
      const at = reported.current.get(lastError.message);
      if (at != null && Date.now() - at < 5000) return;
      ctx.announce("error", politeError(lastError.code, lastError.message));
    }, 100);
    return () => clearTimeout(timer);
  }, [lastError]);

  function select(id: string) {
    const next = (SECTIONS.find((s) => s.id === id)?.id ?? "setup") as SectionId;
    setTab(next);
    store.set(tabKey, next);
  }

  const current = state?.current != null ? state.activities.find((a) => a.id === state.current) : null;

  return (
    <Ctx.Provider value={ctx}>
      <div class="console">
        <header class="console-header">
          <a class="skip-link" href="#console-main">
            Skip to the console
          </a>
          <div class="console-title">
            <p class="console-kicker">Plenary · facilitator console</p>
            <h1 data-testid="console-title">{state?.title ?? "Loading the event…"}</h1>
          </div>
          {state && (
            <p class="console-code">
              Join code <strong data-testid="header-code">{state.code}</strong>
              {current && (
                <>
                  {" · "}Now: <span data-testid="header-current">{current.prompt || current.kind}</span>
                </>
              )}
            </p>
          )}
          <StatusBar session={session} />
        </header>
        <div class="console-notices" aria-live="polite" data-testid="console-notices">
          {notices.map((n) => (
            <p key={n.id} class={`notice notice-${n.kind}`} data-kind={n.kind}>
              <span>{n.text}</span>
              <button
                type="button"
                class="linkish"
                aria-label="Dismiss this message"
                onClick={() => setNotices((list) => list.filter((x) => x.id !== n.id))}
              >
                Dismiss
              </button>
            </p>
          ))}
        </div>
        <main id="console-main" class="console-main" tabIndex={-1}>
          <Unsaved session={session} />
          {state ? (
            <Tabs
              name="console"
              label="Console sections"
              tabs={SECTIONS.map((s) => ({ id: s.id, label: s.label }))}
              selected={tab}
              onSelect={select}
              vertical
            >
              {tab === "setup" && <SetupPanel state={state} />}
              {tab === "agenda" && <AgendaPanel state={state} />}
              {tab === "wall" && <WallPanel state={state} />}
              {tab === "votes" && <VotesPanel state={state} />}
              {tab === "draft" && <DraftPanel state={state} />}
              {tab === "exports" && <ExportsPanel state={state} />}
            </Tabs>
          ) : (
            <p class="console-loading" role="status">
              Connecting to the event…
            </p>
          )}
        </main>
      </div>
    </Ctx.Provider>
  );
}

/** A refusal, in words a facilitator can act on; the server's message says the rest. */
export function politeError(code: string, message: string): string {
  const lead: Record<string, string> = {
    conflict: "That was not needed",
    invalid: "That could not be saved",
    not_found: "That is no longer there",
    forbidden: "That is not allowed",
    unavailable: "The server could not record that; it will be retried",
    internal: "A problem on the server stopped that from being saved (retrying will not help; it has been reported in the server's log)",
    rate_limited: "Too many changes at once; it will be sent again in a moment",
    unauthorised: "This console's access has ended",
    bad_frame: "That request was not understood",
  };
  const first = lead[code] ?? "Something went wrong";
  return message ? `${first}: ${message}` : `${first}.`;
}
