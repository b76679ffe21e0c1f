/**
 * The strategy draft as the room reads it: the published version, section by section,
 * or "what changed since version N" with the reason for each change, and, for
 * participants, a support / concern / question reaction (with an optional comment) on
 * each section while the draft is open.
 *
 *   <DraftReader session={session} token={token} activity={activity} canReact />  a phone
 *   <DraftReader session={session} token={token} activity={activity} />           an observer
 *
 * Section bodies are the server's rendered, sanitised HTML (GET …/versions/{n}); that one
 * field is inserted as HTML, nothing else is. Offline, the published text from the
 * state is shown as plain text until the rendering can be fetched.
 */
import { useState } from "preact/hooks";
import type { Session } from "../core/contract";
import { draftDiff, draftVersion } from "../core/http";
import { DiffSectionView } from "./DiffView";
import { pendingOps, plural, splitSections } from "./model";
import type { Activity, DraftDiff, DraftVersion, RationaleView, ReactionKind, ReactionTotals } from "./types";
import { useLoad } from "./useLoad";

export interface DraftReaderProps {
  session: Session;
  /** The access token of this screen, for reading versions over HTTP. */
  token: string;
  /** The draft activity. */
  activity: Activity;
  /** Show the reaction buttons (participants; default false). */
  canReact?: boolean;
  /** Heading level of the sections' titles in "what changed" (default 3). */
  headingLevel?: 2 | 3 | 4;
}

const KINDS: { kind: ReactionKind; label: string }[] = [
  { kind: "support", label: "Support" },
  { kind: "concern", label: "Concern" },
  { kind: "question", label: "Question" },
];

export function DraftReader({ session, token, activity, canReact = false, headingLevel = 3 }: DraftReaderProps) {
  const state = session.state.value;
  const draft = state?.drafts.find((d) => d.activity === activity.id) ?? null;
  const current = draft?.current ?? null;
  const published = current
    ? draft?.versions.filter((v) => v.published_seq != null && v.version < current.version) ?? []
    : [];
  const meta = current ? draft?.versions.find((v) => v.version === current.version) : undefined;
  const previous = meta?.previous ?? published[published.length - 1]?.version ?? null;
  const [mode, setMode] = useState<"read" | "changes">("read");
  const [since, setSince] = useState<number | null>(null);
  const from = since != null && since < (current?.version ?? 0) ? since : previous;

  const ev = session.event;
  // A version's text never changes, but reasons may be added to it after publication.
  const explained = current ? current.rationales.map((r) => r.seq).join(",") : "";
  const version = useLoad<DraftVersion>(
    current ? `version:${ev}:${activity.id}:${current.version}:${explained}` : null,
    () => draftVersion(ev, activity.id, current!.version, token),
  );
  const diff = useLoad<DraftDiff>(
    current && mode === "changes" && from != null ? `diff:${ev}:${activity.id}:${from}:${current.version}` : null,
    () => draftDiff(ev, activity.id, token, from ?? undefined, current!.version),
  );

  if (!current) {
    return (
      <p class="waiting" data-testid="draft-none">
        No version of this draft has been published yet. It will appear here as soon as the
        writing team publishes it.
      </p>
    );
  }

  const open = activity.status === "open";
  const reactable = canReact && open;
  const headings = new Map((version.data?.sections ?? []).map((s) => [s.id, s.heading]));
  // Resolved as they stand now when fetched; else as recorded in the published op.
  const rationales = new Map<string, RationaleView>(
    version.data
      ? version.data.rationales.map((r) => [r.section, r])
      : current.rationales.map((r) => [
          r.section,
          { ...r, links: r.links.map((l) => ({ ...l, status: "live", title: l.label, target: l.id, standing: null })) },
        ]),
  );
  const reactionsFor = (section: string, heading: string | null) =>
    canReact || session.reactions.value[activity.id] ? (
      <SectionReactions
        session={session}
        activity={activity.id}
        version={current.version}
        section={section}
        heading={heading}
        editable={reactable}
        showButtons={canReact}
      />
    ) : null;

  return (
    <div class="draft" data-testid="draft" data-version={current.version}>
      <p class="draft-meta">
        Version {current.version}
        {meta?.published_summary?.text || meta?.summary?.text ? ` — ${meta.published_summary?.text ?? meta.summary?.text}` : ""}
      </p>
      {previous != null && (
        <div class="mode-switch" role="group" aria-label="How to read the draft">
          <button
            type="button"
            class={mode === "read" ? "" : "secondary"}
            aria-pressed={mode === "read"}
            data-testid="draft-mode-read"
            onClick={() => setMode("read")}
          >
            Read version {current.version}
          </button>
          <button
            type="button"
            class={mode === "changes" ? "" : "secondary"}
            aria-pressed={mode === "changes"}
            data-testid="draft-mode-changes"
            onClick={() => setMode("changes")}
          >
            What changed since version {from}
          </button>
        </div>
      )}
      {canReact && !open && (
        <p class="muted" data-testid="reactions-closed">
          Reactions are {activity.status === "draft" ? "not open yet" : "closed"}.
        </p>
      )}
      {mode === "changes" && previous != null ? (
        <div class="draft-changes">
          {published.length > 1 && (
            <>
              <label for={`since-${activity.id}`}>Compare with</label>
              <select
                id={`since-${activity.id}`}
                data-testid="draft-since"
                value={String(from)}
                onChange={(e) => setSince(Number(e.currentTarget.value))}
              >
                {published.map((v) => (
                  <option key={v.version} value={String(v.version)}>
                    Version {v.version}
                  </option>
                ))}
              </select>
            </>
          )}
          {diff.data ? (
            <>
              <p class="draft-summary" data-testid="diff-summary">
                {diff.data.summary.text}
              </p>
              {diff.data.sections.map((s, i) =>
                s.status === "unchanged" && !s.moved ? (
                  <p key={s.id ?? i} class="diff-unchanged muted" data-section-id={s.id ?? ""}>
                    {s.heading ?? "Opening"}: unchanged
                  </p>
                ) : (
                  <DiffSectionView
                    key={s.id ?? i}
                    section={s}
                    headingLevel={headingLevel}
                    rationale={s.id ? rationales.get(s.id) : null}
                  >
                    {s.id && s.status !== "removed" && current.sections.includes(s.id)
                      ? reactionsFor(s.id, s.heading)
                      : null}
                  </DiffSectionView>
                ),
              )}
            </>
          ) : (
            <LoadState error={diff.error} retry={diff.retry} what="the changes" />
          )}
        </div>
      ) : version.data ? (
        <div class="draft-sections">
          {version.data.sections.map((s) => (
            <section class="draft-section" key={s.id} data-testid="draft-section" data-section-id={s.id}>
              {/* Server-rendered Markdown, sanitised by the server (nh3 allowlist). */}
              <div class="draft-html" dangerouslySetInnerHTML={{ __html: s.html }} />
              {reactionsFor(s.id, headings.get(s.id) ?? null)}
            </section>
          ))}
        </div>
      ) : (
        <>
          <LoadState error={version.error} retry={version.retry} what={`version ${current.version}`} />
          {version.error && <PlainDraft text={current.text} ids={current.sections} reactionsFor={reactionsFor} />}
        </>
      )}
    </div>
  );
}

/** The published text as plain text, while its rendering cannot be fetched (offline). */
function PlainDraft({
  text,
  ids,
  reactionsFor,
}: {
  text: string;
  ids: string[];
  reactionsFor: (section: string, heading: string | null) => preact.JSX.Element | null;
}) {
  const parts = splitSections(text);
  if (parts.length !== ids.length) {
    return (
      <div class="draft-plain" data-testid="draft-plain">
        {text}
      </div>
    );
  }
  return (
    <div class="draft-sections" data-testid="draft-plain">
      {parts.map((part, i) => {
        const id = ids[i]!;
        const heading = /^ {0,3}#{1,6}\s+(.*)$/m.exec(part.split("\n")[0] ?? "")?.[1] ?? null;
        return (
          <section class="draft-section" key={id} data-testid="draft-section" data-section-id={id}>
            <div class="draft-plain">{part.trim()}</div>
            {reactionsFor(id, heading)}
          </section>
        );
      })}
    </div>
  );
}

function LoadState({ error, retry, what }: { error: Error | null; retry: () => void; what: string }) {
  if (!error) return <p class="muted" role="status">Loading {what}…</p>;
  return (
    <p class="load-error" role="status">
      Could not load {what}: {error.message}.{" "}
      <button type="button" class="secondary small" onClick={retry}>
        Try again
      </button>
    </p>
  );
}

function countsOf(totals: ReactionTotals | undefined, version: number, section: string) {
  if (!totals || totals.version !== version) return null;
  return totals.sections.find((s) => s.section === section)?.counts ?? { support: 0, concern: 0, question: 0 };
}

interface SectionReactionsProps {
  session: Session;
  activity: number;
  version: number;
  section: string;
  heading: string | null;
  /** The participant may react now (the draft is open). */
  editable: boolean;
  /** Show the buttons at all (participants); otherwise counts only, when visible. */
  showButtons: boolean;
}

function SectionReactions({ session, activity, version, section, heading, editable, showButtons }: SectionReactionsProps) {
  const counts = countsOf(session.reactions.value[activity], version, section);
  const own = session.reacted.value[activity];
  const mineNow = own && own.version === version ? own.reactions.find((r) => r.section === section) : undefined;
  const waiting = pendingOps(session.pending.value, "reaction.set").filter(
    (p) => p.op.activity === activity && p.op.version === version && p.op.section === section,
  );
  const latest = waiting[waiting.length - 1]?.op;
  const chosen: ReactionKind | null = latest ? (latest.reaction ?? null) : (mineNow?.reaction ?? null);
  const savedComment = latest ? (latest.comment ?? "") : (mineNow?.comment ?? "");
  const [commenting, setCommenting] = useState(false);
  const [comment, setComment] = useState(savedComment);
  const [problem, setProblem] = useState<string | null>(null);
  const name = heading ?? "the opening";
  const commentId = `comment-${activity}-${section}`;

  const send = (reaction: ReactionKind | null, text: string | null) => {
    setProblem(null);
    session
      .write({ kind: "reaction.set", activity, version, section, reaction, comment: reaction ? text || null : null })
      .then((r) => {
        if (!r.ok) setProblem(r.message);
      });
  };

  if (!showButtons) {
    if (!counts) return null;
    return (
      <p class="reaction-counts" data-testid="reaction-counts" data-section-id={section}>
        {KINDS.map((k) => `${k.label}: ${counts[k.kind]}`).join(" · ")}
      </p>
    );
  }

  return (
    <div class="reactions" data-testid="reactions" data-section-id={section} data-reaction={chosen ?? ""}>
      <div role="group" aria-label={`Your reaction to “${name}”`} class="reaction-buttons">
        {KINDS.map((k) => {
          const on = chosen === k.kind;
          return (
            <button
              key={k.kind}
              type="button"
              class={`reaction reaction-${k.kind}${on ? " reaction-on" : ""}`}
              aria-pressed={on}
              disabled={!editable}
              data-testid={`react-${k.kind}`}
              onClick={() => send(on ? null : k.kind, on ? null : comment.trim() || savedComment || null)}
            >
              {k.label}
              {counts && <span class="reaction-count"> ({counts[k.kind]})</span>}
            </button>
          );
        })}
      </div>
      {waiting.length > 0 && (
        <p class="note-waiting" data-testid="reaction-waiting">
          Waiting to send
        </p>
      )}
      {chosen && !latest && mineNow?.comment && !commenting && (
        <p class="reaction-comment">Your comment: {mineNow.comment}</p>
      )}
      {editable && chosen && !commenting && (
        <button
          type="button"
          class="linkish"
          data-testid="react-comment-open"
          onClick={() => {
            setComment(savedComment);
            setCommenting(true);
          }}
        >
          {savedComment ? "Change your comment" : "Add a comment"}
        </button>
      )}
      {editable && commenting && (
        <form
          class="reaction-comment-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (!chosen) return;
            send(chosen, comment.trim() || null);
            setCommenting(false);
          }}
        >
          <label for={commentId}>Comment on “{name}” (optional)</label>
          <textarea
            id={commentId}
            rows={3}
            maxLength={500}
            value={comment}
            data-testid="react-comment"
            aria-describedby={`${commentId}-n`}
            onInput={(e) => setComment(e.currentTarget.value)}
          />
          <p id={`${commentId}-n`} class="counter">
            {[...comment].length} / 500
          </p>
          <div class="row">
            <button type="submit" data-testid="react-comment-send">
              Send comment
            </button>
            <button type="button" class="secondary" onClick={() => setCommenting(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {problem && (
        <p class="problem" role="alert">
          {problem}
        </p>
      )}
      {counts && <span class="visually-hidden">{plural(counts.support + counts.concern + counts.question, "reaction")} so far.</span>}
    </div>
  );
}
