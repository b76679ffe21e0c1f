/**
 * A remote observer, /o/{code}: read-only and live. An observer token is kept per code
 * so a reload does not ask the server again; observing writes nothing to the event's
 * log, and names appear only where the event's anonymity setting lets observers see them
 * (the server already leaves them out).
 */
import { ActivityView } from "../ui/ActivityView";
import { useObserverSession } from "../ui/observerCredential";
import { Frame } from "../ui/session";
import "../ui/ui.css";

type Params = Record<string, string>;

export default function Observer({ params }: { params: Params }) {
  const code = params.code ?? "";
  const { credential, error, retry, session, refused } = useObserverSession(code);
  const title = session?.state.value?.title ?? (credential?.title as string | undefined) ?? "Plenary";

  if (!credential) {
    return (
      <main id="main" class="page">
        <h1>Watch an event</h1>
        {error ? (
          <div role="alert" data-testid="observe-error">
            <p>
              {error.code === "not_found"
                ? `No event has the code ${code.toUpperCase()}.`
                : `Could not reach the event: ${error.message}.`}
            </p>
            {error.code !== "not_found" && (
              <button type="button" onClick={retry}>
                Try again
              </button>
            )}
          </div>
        ) : (
          <p role="status">Opening event {code.toUpperCase()}…</p>
        )}
      </main>
    );
  }
  return (
    <Frame
      session={session}
      title={title}
      aside={<p class="identity">Watching live (read-only)</p>}
    >
      {refused ? (
        <p role="alert" data-testid="refused">
          {session?.lastError.value?.message ?? "This event is no longer available."}
        </p>
      ) : session ? (
        <ActivityView session={session} token={credential.token} />
      ) : (
        <p role="status">Connecting…</p>
      )}
    </Frame>
  );
}
