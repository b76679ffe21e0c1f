/**
 * The Markdown editor of a draft. Saving is optimistic (draft.save with the version the
 * text was written from as `base`); when someone saved in between, the server answers
 * with a conflict and a merge, which ConflictPanel settles. What is typed is kept in
 * localStorage until it is saved, so a reload, a crash or a conflict never loses it.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import { draftVersion } from "../core/http";
import type { DraftConflict } from "../core/protocol.gen";
import { ConflictPanel } from "./ConflictPanel";
import { type Activity, type DraftState, actorLabel, store, useConsole } from "./context";

interface Local {
  base: number;
  text: string;
  at: number;
}

/** The text of a version, from the state when it is there, else over HTTP. */
export function useVersionText() {
  const { event, token } = useConsole();
  return async (draft: DraftState | null, activity: number, version: number): Promise<string> => {
    if (version === 0) return "";
    if (draft?.working?.version === version) return draft.working.text;
    if (draft?.current?.version === version) return draft.current.text;
    return (await draftVersion(event, activity, version, token)).text;
  };
}

export interface DraftEditorProps {
  state: EventState;
  activity: Activity;
  draft: DraftState | null;
  /** Go to "why it changed" (offered after a save). */
  onExplain?: () => void;
}

export function DraftEditor({ state, activity, draft, onExplain }: DraftEditorProps) {
  const { event, act, announce, session } = useConsole();
  const textOf = useVersionText();
  const lsKey = `plenary:console:draft:${event}:${activity.id}`;
  const head = draft?.head ?? 0;
  const published = draft?.published ?? null;

  const [base, setBase] = useState<number>(head);
  const [text, setText] = useState<string>("");
  const [loaded, setLoaded] = useState<string | null>(null);
  const [restored, setRestored] = useState<number | null>(null);
  const [conflict, setConflict] = useState<DraftConflict | null>(null);
  const [busy, setBusy] = useState<"save" | "publish" | null>(null);
  const [pending, setPending] = useState<{ seq: number; text: string } | null>(null);
  const [confirmPublish, setConfirmPublish] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [justSaved, setJustSaved] = useState<number | null>(null);
  const textRef = useRef(text);
  textRef.current = text;
  const dirty = loaded != null && text !== loaded;
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;
  const baseRef = useRef(base);
  baseRef.current = base;

  async function adopt(version: number) {
    try {
      const t = await textOf(draft, activity.id, version);
      setBase(version);
      setLoaded(t);
      setText(t);
      setLoadError(null);
    } catch (err) {
      setLoadError(`Could not load version ${version}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // First load: unsaved text from this browser wins; otherwise the latest version.
  useEffect(() => {
    const local = store.get<Local>(lsKey);
    if (local && typeof local.text === "string" && typeof local.base === "number") {
      setBase(local.base);
      setText(local.text);
      setRestored(local.base);
      textOf(draft, activity.id, local.base).then(
        (t) => setLoaded(t),
        () => setLoaded(""),
      );
    } else {
      void adopt(head);
    }
  }, [activity.id]);

  // Keep unsaved text in this browser (debounced: a long document is a big write).
  const flush = useRef<() => void>(() => undefined);
  flush.current = () => {
    if (loaded == null) return;
    if (dirtyRef.current) store.set(lsKey, { base: baseRef.current, text: textRef.current, at: Date.now() } satisfies Local);
    else store.remove(lsKey);
  };
  useEffect(() => {
    const timer = setTimeout(() => flush.current(), 400);
    return () => clearTimeout(timer);
  }, [text, base, loaded]);
  useEffect(() => {
    const onHide = () => flush.current();
    window.addEventListener("pagehide", onHide);
    return () => {
      window.removeEventListener("pagehide", onHide);
      flush.current();
    };
  }, []);

  // Our save came back as a version; or someone else saved and we had nothing unsaved.
  useEffect(() => {
    if (!draft) return;
    if (pending) {
      const v = draft.versions.find((x) => x.saved_seq === pending.seq);
      if (!v) return;
      setPending(null);
      textOf(draft, activity.id, v.version).then(
        (serverText) => {
          setBase(v.version);
          setLoaded(serverText);
          setText((t) => (t === pending.text ? serverText : t));
        },
        () => {
          setBase(v.version);
          setLoaded(pending.text);
        },
      );
      announce("ok", `Saved as version ${v.version}.`);
      setJustSaved(v.version);
      return;
    }
    if (loaded != null && !dirty && !conflict && draft.head != null && draft.head !== base) void adopt(draft.head);
  }, [draft?.head, draft?.versions.length, pending]);

  async function save(t: string, b: number) {
    if (!t.trim()) {
      announce("error", "The draft is empty: write something before saving.");
      return;
    }
    setBusy("save");
    setText(t);
    setBase(b);
    const result = await act({ kind: "draft.save", activity: activity.id, base: b, text: t });
    setBusy(null);
    if (result.ok) {
      setConflict(null);
      setRestored(null);
      setPending({ seq: result.seq, text: t });
      return;
    }
    if (result.code === "conflict" && result.detail && typeof result.detail === "object" && "merged" in result.detail) {
      setConflict(result.detail as DraftConflict);
      announce("info", "Someone saved a newer version while you were writing. Your text is safe: see below.");
    } else if (result.code === "conflict") {
      announce("error", result.message);
    }
  }

  async function publish(version: number) {
    setConfirmPublish(false);
    setBusy("publish");
    await act({ kind: "draft.publish", activity: activity.id, version }, `Version ${version} is published to every screen.`);
    setBusy(null);
  }

  const newer = draft && draft.head != null && draft.head > base ? draft.versions.find((v) => v.version === draft.head) : null;
  const canPublish = head > 0 && (published == null || head > published);
  const you = session.you.value;
  const words = text.trim() ? text.trim().split(/\s+/).length : 0;

  return (
    <section class="draft-editor" aria-labelledby="editor-heading">
      <h3 id="editor-heading">Write</h3>
      {loadError && (
        <p class="form-error" role="alert">
          {loadError}{" "}
          <button type="button" class="secondary small" onClick={() => void adopt(head)}>
            Try again
          </button>
        </p>
      )}
      {restored != null && dirty && (
        <p class="callout small" data-testid="draft-restored">
          This is text you had not saved yet, written from {restored ? `version ${restored}` : "an empty draft"}. Save it, or{" "}
          <button
            type="button"
            class="linkish"
            data-testid="draft-discard"
            onClick={() => {
              setRestored(null);
              void adopt(head);
            }}
          >
            discard it and load version {head || "0 (empty)"}
          </button>
          .
        </p>
      )}
      {newer && dirty && !conflict && (
        <p class="callout small" data-testid="draft-newer">
          Version {newer.version} was saved by {actorLabel(state, newer.author, you)} since you started from{" "}
          {base ? `version ${base}` : "an empty draft"}. When you save, you will see how the two fit together.
        </p>
      )}
      <p class="hint" id="draft-help">
        Markdown: start a section with <code>#</code>, <code>##</code>… Sections are what the room reacts to and what you
        explain after saving. Editing from {base ? `version ${base}` : "an empty draft"}
        {dirty ? " · unsaved changes (kept in this browser)" : " · no unsaved changes"} · {words} words.
      </p>
      <label for="draft-text">Draft text (Markdown)</label>
      <textarea
        id="draft-text"
        class="draft-textarea"
        data-testid="draft-textarea"
        data-base={base}
        rows={24}
        spellcheck
        value={text}
        disabled={loaded == null}
        aria-describedby="draft-help"
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <div class="button-row">
        <button
          type="button"
          data-testid="draft-save"
          disabled={busy != null || !dirty || loaded == null}
          onClick={() => void save(text, base)}
        >
          {busy === "save" ? "Saving…" : "Save a new version"}
        </button>
        {canPublish && !confirmPublish && (
          <button
            type="button"
            class="secondary"
            data-testid="draft-publish"
            disabled={busy != null}
            onClick={() => setConfirmPublish(true)}
          >
            Publish version {head}…
          </button>
        )}
      </div>
      {justSaved != null && !dirty && onExplain && (
        <p class="callout small" data-testid="draft-saved-next">
          Version {justSaved} is saved. Say why its sections changed, with links to the themes, notes and votes behind
          them:{" "}
          <button type="button" class="secondary small" data-testid="draft-go-explain" onClick={onExplain}>
            Explain the changes
          </button>
        </p>
      )}
      {confirmPublish && (
        <div class="confirm callout" role="group" aria-labelledby="publish-q" data-testid="publish-confirm-box">
          <p id="publish-q">
            Publish version {head} to every phone, observer and the projector?
            {dirty && " Your unsaved changes are not part of it: save them first if they should be."}
          </p>
          <div class="button-row">
            <button type="button" data-testid="draft-publish-confirm" onClick={() => void publish(head)}>
              Publish version {head}
            </button>
            <button type="button" class="secondary" onClick={() => setConfirmPublish(false)}>
              Not yet
            </button>
          </div>
        </div>
      )}
      {conflict && (
        <ConflictPanel
          state={state}
          conflict={conflict}
          busy={busy === "save"}
          onSave={(t, b) => void save(t, b)}
          onEdit={(t, b) => {
            setText(t);
            setBase(b);
            setConflict(null);
            // The text now stands on the newer version: compare against that.
            textOf(draft, activity.id, b).then(setLoaded, () => undefined);
          }}
          onDismiss={() => setConflict(null)}
        />
      )}
    </section>
  );
}
