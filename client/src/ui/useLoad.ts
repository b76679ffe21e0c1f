/**
 * Load something over HTTP for a component, keyed: a new key loads again, the same key
 * is served from memory. Draft versions and diffs never change once saved, so they are
 * kept for the life of the page (`keep`); a version report is not (rationales and vote
 * standings move while the room works).
 */
import { useEffect, useState } from "preact/hooks";

const kept = new Map<string, unknown>();
const KEEP_MAX = 64;

export interface Loaded<T> {
  data: T | null;
  error: Error | null;
  loading: boolean;
  /** Try again (after an error, e.g. when the connection comes back). */
  retry: () => void;
}

export function useLoad<T>(key: string | null, load: () => Promise<T>, keep = true): Loaded<T> {
  const [attempt, setAttempt] = useState(0);
  const [result, setResult] = useState<{ key: string | null; data: T | null; error: Error | null }>(() => ({
    key,
    data: key != null && keep ? ((kept.get(key) as T | undefined) ?? null) : null,
    error: null,
  }));
  useEffect(() => {
    if (key == null) return;
    if (keep && kept.has(key)) {
      setResult({ key, data: kept.get(key) as T, error: null });
      return;
    }
    let live = true;
    load().then(
      (data) => {
        if (keep) {
          kept.set(key, data);
          if (kept.size > KEEP_MAX) kept.delete(kept.keys().next().value as string);
        }
        if (live) setResult({ key, data, error: null });
      },
      (error: unknown) => {
        if (live) setResult((r) => ({ key, data: r.key === key ? r.data : null, error: error instanceof Error ? error : new Error(String(error)) }));
      },
    );
    return () => {
      live = false;
    };
    // `load` is a fresh closure each render; the key says when it must run again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, attempt]);
  const current = result.key === key;
  const data = current ? result.data : key != null && keep ? ((kept.get(key) as T | undefined) ?? null) : null;
  // A report (keep=false) keeps showing the previous answer while the next one loads.
  const shown = data ?? (!keep ? result.data : null);
  return {
    data: shown,
    error: current ? result.error : null,
    loading: key != null && data == null && !(current && result.error),
    retry: () => setAttempt((n) => n + 1),
  };
}
