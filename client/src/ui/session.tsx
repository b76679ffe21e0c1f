/**
 * Opening a session from a stored credential, and the page frame every live screen
 * shares: a header with the event's title and the connection status, always visible.
 *
 *   const session = useSession(credential);      // closed again on unmount
 *   <Frame session={session} title="…" aside={<p>You: Ann</p>}>…</Frame>
 */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Session } from "../core/contract";
import { openSession } from "../core/index";
import type { Credential } from "../core/http";
import { StatusBar } from "./StatusBar";
import { Unsaved } from "./Unsaved";
import "./ui.css";

export function useSession(credential: Credential | null): Session | null {
  const [session, setSession] = useState<Session | null>(null);
  const token = credential?.token ?? null;
  const event = credential?.event ?? null;
  useEffect(() => {
    if (!token || !event) {
      setSession(null);
      return;
    }
    const opened = openSession({ token, event });
    setSession(opened);
    return () => opened.close();
  }, [token, event]);
  return session;
}

/** The session refused this screen for good: the token is not valid (it expired, or its
 *  participant was removed from the event), or the event is gone. */
export function isRefused(session: Session): boolean {
  const code = session.lastError.value?.code;
  return session.status.value === "closed" && (code === "unauthorised" || code === "not_found");
}

export interface FrameProps {
  session: Session | null;
  title: string;
  /** Under the title: who you are, what this screen is. */
  aside?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
}

export function Frame({ session, title, aside, children, class: className }: FrameProps) {
  useEffect(() => {
    document.title = title ? `${title} · Plenary` : "Plenary";
  }, [title]);
  return (
    <div class={`frame${className ? ` ${className}` : ""}`}>
      <header class="top">
        <div class="top-inner">
          <h1 class="event-title" data-testid="event-title">
            {title}
          </h1>
          {aside}
        </div>
      </header>
      {session && (
        <section class="status-strip" aria-label="Connection">
          <StatusBar session={session} />
        </section>
      )}
      {session && <Unsaved session={session} />}
      <main id="main" class="page">
        {children}
      </main>
    </div>
  );
}
