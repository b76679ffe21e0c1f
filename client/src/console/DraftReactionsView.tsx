/**
 * The room's reactions to the published version, per section and per stakeholder group
 * (comments with their groups, never names), and how they shifted between two versions.
 */
import { useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import { type DraftReactions, type DraftVersion, draftReactions, draftVersion } from "../core/http";
import type { ReactionCounts } from "../core/protocol.gen";
import { useLoad } from "../ui/useLoad";
import { type Activity, type DraftState, useConsole } from "./context";
import { VersionSelect } from "./VersionSelect";

const KINDS: (keyof ReactionCounts)[] = ["support", "concern", "question"];
const KIND_LABEL: Record<keyof ReactionCounts, string> = { support: "Support", concern: "Concern", question: "Question" };

function useHeadings(activity: Activity, version: number | null): Map<string, string> {
  const { event, token } = useConsole();
  const loaded = useLoad<DraftVersion>(version != null ? `version:${event}:${activity.id}:${version}` : null, () =>
    draftVersion(event, activity.id, version ?? 0, token),
  );
  return new Map((loaded.data?.sections ?? []).map((s) => [s.id, s.heading ?? "Opening"]));
}

function signed(n: number | undefined): string {
  const v = n ?? 0;
  return v > 0 ? `+${v}` : String(v);
}

export function DraftReactionsView({ activity, draft }: { state: EventState; activity: Activity; draft: DraftState | null }) {
  const { session } = useConsole();
  const live = session.reactions.value[activity.id];
  const headings = useHeadings(activity, live?.version ?? draft?.published ?? null);
  const published = (draft?.versions ?? []).filter((v) => v.published_at != null);

  return (
    <section aria-labelledby="reactions-heading" data-testid="draft-reactions">
      <h3 id="reactions-heading">Reactions</h3>
      <p class="hint">
        {activity.reactions === "live"
          ? "The room sees these counts live while the draft is open."
          : activity.reactions === "on_close"
            ? "The room sees these counts once the draft is closed."
            : "Only facilitators and the writing team see these."}{" "}
        Participants react while the draft is open.
      </p>
      {!live ? (
        <p class="empty">{draft?.published ? "No reactions yet." : "Publish a version for the room to react to."}</p>
      ) : (
        <>
          <p data-testid="reactions-total">
            Version {live.version}: {KINDS.map((k) => `${live.total[k]} ${KIND_LABEL[k].toLowerCase()}`).join(", ")}.
          </p>
          <div class="table-scroll" tabIndex={0} role="region" aria-label="Reactions by section">
            <table class="data-table" data-testid="reactions-table">
              <thead>
                <tr>
                  <th scope="col">Section</th>
                  {KINDS.map((k) => (
                    <th scope="col" key={k}>
                      {KIND_LABEL[k]}
                    </th>
                  ))}
                  <th scope="col">By group</th>
                </tr>
              </thead>
              <tbody>
                {live.sections.map((s) => (
                  <tr key={s.section} data-section-id={s.section}>
                    <th scope="row">{headings.get(s.section) ?? s.section}</th>
                    {KINDS.map((k) => (
                      <td key={k}>{s.counts[k]}</td>
                    ))}
                    <td>
                      <ul class="plain-list">
                        {s.by_group.map((g) => (
                          <li key={g.group ?? "(none)"}>
                            <strong>{g.group ?? "No group"}</strong>: {KINDS.map((k) => `${g.counts[k]} ${k}`).join(", ")}
                          </li>
                        ))}
                      </ul>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {live.sections.some((s) => (s.comments ?? []).length > 0) && (
            <>
              <h4>Comments</h4>
              {live.sections
                .filter((s) => (s.comments ?? []).length > 0)
                .map((s) => (
                  <div key={s.section} class="comment-group">
                    <h5>{headings.get(s.section) ?? s.section}</h5>
                    <ul class="comment-list">
                      {(s.comments ?? []).map((c, i) => (
                        <li key={i} class={`comment comment-${c.reaction}`}>
                          <span class="badge">{KIND_LABEL[c.reaction]}</span> {c.comment}{" "}
                          <span class="hint">— {c.group ?? "no group"}</span>
                        </li>
                      ))}
                    </ul>
                  </div>
                ))}
            </>
          )}
        </>
      )}
      {published.length >= 2 && <CompareReactions activity={activity} published={published.map((v) => v.version)} />}
    </section>
  );
}

function CompareReactions({ activity, published }: { activity: Activity; published: number[] }) {
  const { event, token } = useConsole();
  const last = published[published.length - 1] ?? 0;
  const prev = published[published.length - 2] ?? 0;
  const [from, setFrom] = useState(String(prev));
  const [to, setTo] = useState(String(last));
  const [asked, setAsked] = useState<{ from: number; to: number; n: number } | null>(null);
  const loaded = useLoad<DraftReactions>(
    asked ? `reactions:${event}:${activity.id}:${asked.from}:${asked.to}:${asked.n}` : null,
    () => draftReactions(event, activity.id, token, asked?.from, asked?.to),
    false,
  );
  const headings = useHeadings(activity, asked?.to ?? null);

  return (
    <section aria-labelledby="rcompare-h" class="card">
      <h4 id="rcompare-h">Compare reactions across versions</h4>
      <form
        class="field-row"
        data-testid="reactions-compare-form"
        onSubmit={(e) => {
          e.preventDefault();
          setAsked({ from: Number(from), to: Number(to), n: (asked?.n ?? 0) + 1 });
        }}
      >
        <VersionSelect
          id="rc-from"
          testid="reactions-from"
          label="Earlier version"
          value={from}
          versions={published}
          onChange={setFrom}
        />
        <VersionSelect
          id="rc-to"
          testid="reactions-to"
          label="Later version"
          value={to}
          versions={published}
          onChange={setTo}
        />
        <div>
          <button type="submit" data-testid="reactions-compare" disabled={from === to}>
            Compare
          </button>
        </div>
      </form>
      {loaded.error && (
        <p class="form-error" role="alert">
          {loaded.error.message}
        </p>
      )}
      {loaded.data && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Reaction shift by section">
          <table class="data-table" data-testid="reactions-shift">
            <thead>
              <tr>
                <th scope="col">Section</th>
                <th scope="col">Group</th>
                {KINDS.map((k) => (
                  <th scope="col" key={k}>
                    {KIND_LABEL[k]}: before → after (shift)
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {loaded.data.sections.flatMap((s) => [
                <tr key={s.section} class="row-strong">
                  <th scope="row">{headings.get(s.section) ?? s.section}</th>
                  <td>everyone</td>
                  {KINDS.map((k) => (
                    <td key={k}>
                      {s.before[k]} → {s.after[k]} ({signed(s.shift[k])})
                    </td>
                  ))}
                </tr>,
                ...s.by_group.map((g) => (
                  <tr key={`${s.section}:${g.group ?? ""}`}>
                    <th scope="row">
                      <span class="visually-hidden">{headings.get(s.section) ?? s.section}, </span>
                    </th>
                    <td>{g.group ?? "No group"}</td>
                    {KINDS.map((k) => (
                      <td key={k}>
                        {g.before[k]} → {g.after[k]} ({signed(g.shift[k])})
                      </td>
                    ))}
                  </tr>
                )),
              ])}
            </tbody>
          </table>
          {loaded.data.sections.length === 0 && <p>No section appears in both versions.</p>}
        </div>
      )}
    </section>
  );
}
