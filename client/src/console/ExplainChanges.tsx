/**
 * "You said → we changed": for each section a version changed (compared with the
 * published version, or with the version it was written from before anything was
 * published), a rationale and links to the themes, notes and votes that prompted it
 * (draft.explain). Explaining again replaces the explanation.
 */
import { useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import { type DraftDiff, type DraftVersion, draftDiff, draftVersion } from "../core/http";
import type { LinkSpec } from "../core/protocol.gen";
import { voteItems } from "../ui/model";
import { statusLabel } from "../ui/DiffView";
import { useLoad } from "../ui/useLoad";
import { type Activity, type DraftState, agendaOrder, truncate, useConsole } from "./context";

interface Change {
  id: string;
  heading: string | null;
  status: "changed" | "added" | "removed" | "unchanged";
  moved: boolean;
}

/** The version a version's changes are counted from: what the room saw before it. */
export function explainFrom(draft: DraftState, version: number): number | null {
  const published = draft.published;
  if (published != null && published < version) return published;
  const meta = draft.versions.find((v) => v.version === version);
  if (meta?.previous != null) return meta.previous;
  if (meta?.base && meta.base !== version) return meta.base;
  return null;
}

export function ExplainChanges({ state, activity, draft }: { state: EventState; activity: Activity; draft: DraftState | null }) {
  const { event, token } = useConsole();
  const versions = draft?.versions ?? [];
  const [picked, setPicked] = useState<number | null>(null);
  const version = picked ?? draft?.head ?? null;
  const from = draft && version != null ? explainFrom(draft, version) : null;

  const diff = useLoad<DraftDiff>(
    version != null && from != null ? `diff:${event}:${activity.id}:${from}:${version}` : null,
    () => draftDiff(event, activity.id, token, from ?? undefined, version ?? undefined),
  );
  // Not kept: rationales change as the team writes them.
  const text = useLoad<DraftVersion>(
    version != null ? `explainv:${event}:${activity.id}:${version}` : null,
    () => draftVersion(event, activity.id, version ?? 0, token),
    false,
  );

  if (!draft || version == null || versions.length === 0) {
    return <p class="empty">Save a version first; its changed sections are explained here.</p>;
  }

  let changes: Change[] = [];
  if (from == null) {
    changes = (text.data?.sections ?? []).map((s) => ({ id: s.id, heading: s.heading, status: "added", moved: false }));
  } else if (diff.data) {
    changes = diff.data.sections
      .filter((s) => s.id != null && (s.status !== "unchanged" || s.moved))
      .map((s) => ({ id: s.id as string, heading: s.heading, status: s.status, moved: s.moved }));
  }

  return (
    <section aria-labelledby="explain-heading" data-testid="draft-explain">
      <h3 id="explain-heading">Why it changed</h3>
      <label for="explain-version">Version</label>
      <select
        id="explain-version"
        data-testid="explain-version"
        value={String(version)}
        onChange={(e) => setPicked(Number(e.currentTarget.value))}
      >
        {[...versions].reverse().map((v) => (
          <option key={v.version} value={String(v.version)}>
            Version {v.version}
            {v.published_at != null ? " (published)" : ""}
            {v.summary ? ` — ${v.summary.text}` : ""}
          </option>
        ))}
      </select>
      <p class="hint">
        {from != null
          ? `Sections of version ${version} that differ from version ${from}${from === draft.published ? ", the published one" : ""}.`
          : `Nothing to compare version ${version} with yet: every section is new.`}{" "}
        The room sees each explanation with the change once the version is published.
      </p>
      {(diff.error || text.error) && (
        <p class="form-error" role="alert">
          Could not load the changes: {(diff.error ?? text.error)?.message}{" "}
          <button
            type="button"
            class="secondary small"
            onClick={() => {
              diff.retry();
              text.retry();
            }}
          >
            Try again
          </button>
        </p>
      )}
      {(diff.loading && from != null) || text.loading ? (
        <p role="status">Loading the changes…</p>
      ) : changes.length === 0 ? (
        <p class="empty">No section changed.</p>
      ) : (
        <ol class="explain-list">
          {changes.map((c) => {
            const existing = text.data?.rationales.find((r) => r.section === c.id) ?? null;
            return (
              <li key={`${version}:${c.id}`}>
                <ExplainForm
                  state={state}
                  activity={activity}
                  version={version}
                  change={c}
                  existing={existing}
                  onSaved={() => text.retry()}
                />
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

type Existing = DraftVersion["rationales"][number];
type PickedLink = LinkSpec & { label: string };

function ExplainForm({
  state,
  activity,
  version,
  change,
  existing,
  onSaved,
}: {
  state: EventState;
  activity: Activity;
  version: number;
  change: Change;
  existing: Existing | null;
  onSaved(): void;
}) {
  const { act } = useConsole();
  const [rationale, setRationale] = useState(existing?.rationale ?? "");
  const [links, setLinks] = useState<PickedLink[]>(
    () =>
      existing?.links.map((l) => ({
        kind: l.kind,
        id: l.id,
        item: l.item,
        label: l.title ?? l.label ?? `${l.kind} ${l.id}`,
      })) ?? [],
  );
  const [busy, setBusy] = useState(false);
  const fid = `ex-${version}-${change.id}`;
  const title = change.heading ?? "Opening (before the first heading)";

  return (
    <form
      class="explain-form card"
      data-testid="explain-form"
      data-section-id={change.id}
      aria-labelledby={`${fid}-h`}
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        const r = await act(
          {
            kind: "draft.explain",
            activity: activity.id,
            version,
            section: change.id,
            rationale: rationale.trim(),
            links: links.map(({ kind, id, item }) => ({ kind, id, item: item ?? null })),
          },
          rationale.trim() || links.length ? `Explanation saved for “${truncate(title, 40)}”.` : `Explanation removed.`,
        );
        setBusy(false);
        if (r.ok) onSaved();
      }}
    >
      <h4 id={`${fid}-h`}>
        {title} <span class={`badge badge-${change.status}`}>{statusLabel(change)}</span>
        {existing && <span class="badge badge-ok">explained</span>}
      </h4>
      <label for={`${fid}-why`}>Why this changed</label>
      <textarea
        id={`${fid}-why`}
        data-testid="explain-rationale"
        rows={3}
        maxLength={2000}
        value={rationale}
        onInput={(e) => setRationale(e.currentTarget.value)}
      />
      <fieldset class="links-field">
        <legend>What in the room prompted it</legend>
        {links.length === 0 ? (
          <p class="hint">No links yet.</p>
        ) : (
          <ul class="link-chips">
            {links.map((l, i) => (
              <li key={`${l.kind}:${l.id}:${l.item ?? ""}`} data-testid="explain-link" data-kind={l.kind} data-id={l.id}>
                <span>
                  {l.kind === "theme" ? "Theme" : l.kind === "note" ? "Note" : "Vote"}: {truncate(l.label, 60)}
                </span>
                <button
                  type="button"
                  class="linkish"
                  aria-label={`Remove link to ${truncate(l.label, 40)}`}
                  onClick={() => setLinks(links.filter((_, j) => j !== i))}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
        {links.length < 20 && (
          <LinkPicker
            state={state}
            idPrefix={fid}
            onAdd={(l) => {
              if (!links.some((x) => x.kind === l.kind && x.id === l.id && (x.item ?? null) === (l.item ?? null))) {
                setLinks([...links, l]);
              }
            }}
          />
        )}
      </fieldset>
      <button type="submit" data-testid="explain-save" disabled={busy}>
        {existing ? "Update the explanation" : "Save the explanation"}
      </button>
    </form>
  );
}

function LinkPicker({ state, idPrefix, onAdd }: { state: EventState; idPrefix: string; onAdd(l: PickedLink): void }) {
  const [kind, setKind] = useState<LinkSpec["kind"]>("theme");
  const [target, setTarget] = useState("");
  const [item, setItem] = useState("");
  const order = agendaOrder(state);
  const rounds = order.filter((a) => a.kind === "notes");
  const votes = order.filter((a) => a.kind === "vote");

  const groups: { label: string; options: { id: number; label: string }[] }[] = [];
  if (kind === "theme") {
    for (const r of rounds) {
      const themes = state.themes.filter((t) => t.round === r.id);
      if (themes.length) groups.push({ label: truncate(r.prompt || "Notes round", 50), options: themes.map((t) => ({ id: t.id, label: t.name })) });
    }
  } else if (kind === "note") {
    for (const r of [...rounds.map((r) => ({ id: r.id as number | null, prompt: r.prompt })), { id: null, prompt: "Open board" }]) {
      const notes = state.notes.filter((n) => n.round === r.id && n.merged_into == null);
      if (notes.length)
        groups.push({
          label: truncate(r.prompt || "Notes round", 50),
          options: notes.map((n) => ({ id: n.id, label: `${n.text}${n.hidden ? " (hidden)" : ""}` })),
        });
    }
  } else {
    groups.push({ label: "Votes", options: votes.map((v) => ({ id: v.id, label: v.prompt || `Vote ${v.id}` })) });
  }
  const all = groups.flatMap((g) => g.options);
  const chosen = all.find((o) => String(o.id) === target) ?? all[0] ?? null;
  const vote = kind === "vote" && chosen ? votes.find((v) => v.id === chosen.id) : undefined;
  const items = vote ? voteItems(state, vote) : [];
  const chosenItem = items.find((i) => String(i.id) === item) ?? null;

  return (
    <div class="link-picker">
      <div>
        <label for={`${idPrefix}-lk`}>Link to a</label>
        <select
          id={`${idPrefix}-lk`}
          data-testid="link-kind"
          value={kind}
          onChange={(e) => {
            setKind(e.currentTarget.value as LinkSpec["kind"]);
            setTarget("");
            setItem("");
          }}
        >
          <option value="theme">theme</option>
          <option value="note">note</option>
          <option value="vote">vote</option>
        </select>
      </div>
      <div class="grow">
        <label for={`${idPrefix}-lt`}>{kind === "theme" ? "Theme" : kind === "note" ? "Note" : "Vote"}</label>
        <select
          id={`${idPrefix}-lt`}
          data-testid="link-target"
          value={chosen ? String(chosen.id) : ""}
          disabled={!chosen}
          onChange={(e) => {
            setTarget(e.currentTarget.value);
            setItem("");
          }}
        >
          {!chosen && <option value="">none yet</option>}
          {groups.map((g) => (
            <optgroup key={g.label} label={g.label}>
              {g.options.map((o) => (
                <option key={o.id} value={String(o.id)}>
                  {truncate(o.label, 70)}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </div>
      {kind === "vote" && items.length > 0 && (
        <div class="grow">
          <label for={`${idPrefix}-li`}>Item (optional)</label>
          <select id={`${idPrefix}-li`} data-testid="link-item" value={item} onChange={(e) => setItem(e.currentTarget.value)}>
            <option value="">the whole vote</option>
            {items.map((i) => (
              <option key={i.id} value={String(i.id)}>
                {truncate(i.label, 60)}
              </option>
            ))}
          </select>
        </div>
      )}
      <div>
        <button
          type="button"
          class="secondary"
          data-testid="link-add"
          disabled={!chosen}
          onClick={() => {
            if (!chosen) return;
            onAdd({
              kind,
              id: chosen.id,
              item: chosenItem ? chosenItem.id : null,
              label: chosenItem ? `${chosen.label} → ${chosenItem.label}` : chosen.label,
            });
          }}
        >
          Add link
        </button>
      </div>
    </div>
  );
}
