/** An observer's token for a join code: kept per code, fetched once (POST /api/observe). */
import { useEffect, useState } from "preact/hooks";
import type { Session } from "../core/contract";
import { type Credential, HttpError, forgetCredential, loadCredential, observe, saveCredential } from "../core/http";
import { isRefused, useSession } from "./session";

/** An observer credential for `code`: the stored one, else a new one from the server. */
export function useObserverCredential(code: string): {
  credential: Credential | null;
  error: HttpError | null;
  retry: () => void;
  renew: () => void;
} {
  const [credential, setCredential] = useState<Credential | null>(() => loadCredential("observer", code));
  const [error, setError] = useState<HttpError | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (credential) return;
    let live = true;
    setError(null);
    observe(code).then(
      (granted) => {
        const fresh: Credential = { event: granted.event, token: granted.token, title: granted.title };
        saveCredential("observer", code, fresh);
        if (live) setCredential(fresh);
      },
      (err: unknown) => live && setError(err instanceof HttpError ? err : new HttpError("network", 0, String(err))),
    );
    return () => {
      live = false;
    };
  }, [code, credential, attempt]);
  return {
    credential,
    error,
    retry: () => setAttempt((n) => n + 1),
    renew: () => {
      forgetCredential("observer", code);
      setCredential(null);
    },
  };
}


/** A read-only screen's session for `code` (observer and projector): the credential, the
 *  session it opens, and a new token when the server refuses the old one (expired, or
 *  the event was restored elsewhere). */
export function useObserverSession(code: string): {
  credential: Credential | null;
  error: HttpError | null;
  retry: () => void;
  session: Session | null;
  refused: boolean;
} {
  const { credential, error, retry, renew } = useObserverCredential(code);
  const session = useSession(credential);
  const refused = session != null && isRefused(session);
  useEffect(() => {
    if (refused && session?.lastError.value?.code === "unauthorised") renew();
  }, [refused]);
  return { credential, error, retry, session, refused };
}
