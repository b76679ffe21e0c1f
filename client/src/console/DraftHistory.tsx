/**
 * A draft's history: every version with its author, time and change summary; read any
 * version as the room would see it, publish a later one, and compare any two.
 */
import { useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import { type DraftDiff, type DraftVersion, draftDiff, draftVersion } from "../core/http";
import { DiffSectionView } from "../ui/DiffView";
import { useLoad } from "../ui/useLoad";
import { type Activity, type DraftState, actorLabel, formatTime, useConsole } from "./context";
import { VersionSelect } from "./VersionSelect";

export function DraftHistory({ state, activity, draft }: { state: EventState; activity: Activity; draft: DraftState | null }) {
  const { act, session } = useConsole();
  const versions = draft?.versions ?? [];
  const [viewing, setViewing] = useState<number | null>(null);
  const last = versions[versions.length - 1]?.version ?? 0;
  const [from, setFrom] = useState<string>("");
  const [to, setTo] = useState<string>("");
  const [compare, setCompare] = useState<{ from: number; to: number } | null>(null);
  const [confirm, setConfirm] = useState<number | null>(null);
  const you = session.you.value;

  if (!draft || versions.length === 0) {
    return <p class="empty">No version saved yet.</p>;
  }
  const toV = to ? Number(to) : last;
  const fromV = from ? Number(from) : (draft.published != null && draft.published < toV ? draft.published : Math.max(1, toV - 1));

  return (
    <section aria-labelledby="history-heading">
      <h3 id="history-heading">History</h3>
      <div class="table-scroll" tabIndex={0} role="region" aria-label="Table of versions">
        <table class="data-table" data-testid="version-list">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">By</th>
              <th scope="col">Saved</th>
              <th scope="col">Words</th>
              <th scope="col">What changed</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {[...versions].reverse().map((v) => (
              <tr
                key={v.version}
                data-testid="version-row"
                data-version={v.version}
                data-published={v.published_at != null ? "true" : "false"}
                class={v.version === draft.published ? "is-current" : ""}
              >
                <th scope="row">
                  {v.version}
                  {v.version === draft.published ? (
                    <span class="badge badge-current">published now</span>
                  ) : v.published_at != null ? (
                    <span class="badge">was published</span>
                  ) : null}
                </th>
                <td>{actorLabel(state, v.author, you)}</td>
                <td>{formatTime(v.saved_at)}</td>
                <td>{v.words}</td>
                <td>{v.summary?.text ?? (v.base ? "" : "first version")}</td>
                <td>
                  <div class="button-row tight">
                    <button
                      type="button"
                      class="secondary small"
                      data-testid="version-view"
                      aria-pressed={viewing === v.version}
                      onClick={() => setViewing(viewing === v.version ? null : v.version)}
                    >
                      {viewing === v.version ? "Hide" : "Read"}
                      <span class="visually-hidden"> version {v.version}</span>
                    </button>
                    {(draft.published == null || v.version > draft.published) &&
                      (confirm === v.version ? (
                        <>
                          <button
                            type="button"
                            class="small"
                            data-testid="version-publish-confirm"
                            onClick={() => {
                              setConfirm(null);
                              void act(
                                { kind: "draft.publish", activity: activity.id, version: v.version },
                                `Version ${v.version} is published to every screen.`,
                              );
                            }}
                          >
                            Yes, publish {v.version}
                          </button>
                          <button type="button" class="secondary small" onClick={() => setConfirm(null)}>
                            Cancel
                          </button>
                        </>
                      ) : (
                        <button
                          type="button"
                          class="secondary small"
                          data-testid="version-publish"
                          onClick={() => setConfirm(v.version)}
                        >
                          Publish<span class="visually-hidden"> version {v.version}</span>…
                        </button>
                      ))}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {viewing != null && <VersionView activity={activity} version={viewing} />}

      <form
        class="compare-form"
        data-testid="diff-form"
        onSubmit={(e) => {
          e.preventDefault();
          setCompare({ from: fromV, to: toV });
        }}
      >
        <h4>Compare two versions</h4>
        <div class="field-row">
          <VersionSelect
            id="diff-from"
            testid="diff-from"
            label="From version"
            value={String(fromV)}
            versions={versions.map((v) => v.version)}
            onChange={setFrom}
          />
          <VersionSelect
            id="diff-to"
            testid="diff-to"
            label="To version"
            value={String(toV)}
            versions={versions.map((v) => v.version)}
            onChange={setTo}
          />
          <div>
            <button type="submit" data-testid="diff-show" disabled={fromV === toV}>
              Show the changes
            </button>
          </div>
        </div>
      </form>
      {compare && <DiffResult activity={activity} from={compare.from} to={compare.to} />}
    </section>
  );
}

function VersionView({ activity, version }: { activity: Activity; version: number }) {
  const { event, token } = useConsole();
  const loaded = useLoad<DraftVersion>(`version:${event}:${activity.id}:${version}`, () =>
    draftVersion(event, activity.id, version, token),
  );
  return (
    <section class="card version-view" aria-labelledby="version-view-h" data-testid="version-view-panel" data-version={version}>
      <h4 id="version-view-h">Version {version}</h4>
      {loaded.error ? (
        <p class="form-error" role="alert">
          {loaded.error.message}{" "}
          <button type="button" class="secondary small" onClick={loaded.retry}>
            Try again
          </button>
        </p>
      ) : !loaded.data ? (
        <p role="status">Loading…</p>
      ) : (
        <div class="rendered">
          {loaded.data.sections.map((s) => (
            // The server renders Markdown and sanitises the HTML against an allowlist (nh3).
            <div key={s.id} class="rendered-section" data-section-id={s.id} dangerouslySetInnerHTML={{ __html: s.html }} />
          ))}
        </div>
      )}
    </section>
  );
}

function DiffResult({ activity, from, to }: { activity: Activity; from: number; to: number }) {
  const { event, token } = useConsole();
  const loaded = useLoad<DraftDiff>(`diff:${event}:${activity.id}:${from}:${to}`, () =>
    draftDiff(event, activity.id, token, from, to),
  );
  if (loaded.error) {
    return (
      <p class="form-error" role="alert">
        Could not compare: {loaded.error.message}{" "}
        <button type="button" class="secondary small" onClick={loaded.retry}>
          Try again
        </button>
      </p>
    );
  }
  if (!loaded.data) return <p role="status">Comparing…</p>;
  const d = loaded.data;
  const shown = d.sections.filter((s) => s.status !== "unchanged" || s.moved);
  return (
    <section class="card diff-result" aria-labelledby="diff-h" data-testid="diff-result" data-from={from} data-to={to}>
      <h4 id="diff-h">
        From version {d.from} to version {d.to}: {d.summary.text}
      </h4>
      {shown.length === 0 ? (
        <p>The two versions say the same thing.</p>
      ) : (
        shown.map((s) => <DiffSectionView key={`${s.id}:${s.status}`} section={s} headingLevel={4} />)
      )}
      {d.summary.unchanged > 0 && (
        <p class="hint">
          {d.summary.unchanged} {d.summary.unchanged === 1 ? "section is" : "sections are"} unchanged.
        </p>
      )}
    </section>
  );
}
