/**
 * A draft.save refused with `conflict`: someone saved a version after the one this text
 * was written from. Shows their text and yours, and the server's paragraph merge. A clean
 * merge can be saved as it is; where both changed the same passage, the writer picks
 * theirs, mine, both, or rewrites it, passage by passage. Whatever is chosen is saved on
 * top of their version; "yours" is never thrown away by this panel.
 */
import { useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import type { DraftConflict } from "../core/protocol.gen";
import { actorLabel, useConsole } from "./context";

type Region = DraftConflict["merged"]["regions"][number];
type Clash = Extract<Region, { ours: string }>;
type Choice = "ours" | "theirs" | "both" | "edit";

function isClash(r: Region): r is Clash {
  return "ours" in r;
}

export function resolve(regions: Region[], picks: Record<number, { choice: Choice; text: string }>): string {
  return regions
    .map((r, i) => {
      if (!isClash(r)) return r.text;
      const p = picks[i] ?? { choice: "ours", text: r.ours };
      switch (p.choice) {
        case "ours":
          return r.ours;
        case "theirs":
          return r.theirs;
        case "both":
          return r.ours.endsWith("\n") || !r.ours ? r.ours + r.theirs : `${r.ours}\n\n${r.theirs}`;
        case "edit":
          return p.text.endsWith("\n") || !p.text ? p.text : `${p.text}\n\n`;
      }
    })
    .join("");
}

export interface ConflictPanelProps {
  state: EventState;
  conflict: DraftConflict;
  busy: boolean;
  /** Save `text` on version `base`. */
  onSave(text: string, base: number): void;
  /** Put `text` in the editor, standing on version `base`, to edit before saving. */
  onEdit(text: string, base: number): void;
  onDismiss(): void;
}

export function ConflictPanel({ state, conflict, busy, onSave, onEdit, onDismiss }: ConflictPanelProps) {
  const { session } = useConsole();
  const { base, theirs, yours, merged } = conflict;
  const [picks, setPicks] = useState<Record<number, { choice: Choice; text: string }>>({});
  const who = actorLabel(state, theirs.author, session.you.value);
  const resolved = resolve(merged.regions, picks);
  const clashes = merged.regions.filter(isClash).length;

  return (
    <section class="conflict card" aria-labelledby="conflict-heading" data-testid="conflict-panel" data-clean={merged.clean ? "true" : "false"}>
      <h3 id="conflict-heading">Version {theirs.version} was saved while you were writing</h3>
      <p>
        You started from {base.version ? `version ${base.version}` : "an empty draft"}; {who} saved version {theirs.version}{" "}
        since. Your text is kept in this browser until it is saved.{" "}
        {merged.clean
          ? "Your changes and theirs are in different places and merge cleanly: check the merge and save it."
          : `You both changed the same ${clashes === 1 ? "passage" : `${clashes} passages`}: choose what to keep below.`}
      </p>

      <div class="side-by-side">
        <div>
          <h4 id="theirs-h">Their version ({theirs.version})</h4>
          <pre class="text-box" aria-labelledby="theirs-h" tabIndex={0} data-testid="conflict-theirs">
            {theirs.text}
          </pre>
        </div>
        <div>
          <h4 id="yours-h">Your text</h4>
          <pre class="text-box" aria-labelledby="yours-h" tabIndex={0} data-testid="conflict-yours">
            {yours.text}
          </pre>
        </div>
      </div>

      {merged.clean ? (
        <>
          <h4 id="merged-h">Both sets of changes together</h4>
          <pre class="text-box" aria-labelledby="merged-h" tabIndex={0} data-testid="conflict-merged">
            {merged.text}
          </pre>
          <div class="button-row">
            <button
              type="button"
              data-testid="conflict-use-merged"
              disabled={busy}
              onClick={() => onSave(merged.text, theirs.version)}
            >
              Save the merged text as a new version
            </button>
            <button type="button" class="secondary" data-testid="conflict-edit-merged" onClick={() => onEdit(merged.text, theirs.version)}>
              Edit the merged text first
            </button>
          </div>
        </>
      ) : (
        <>
          <h4>Passages you both changed</h4>
          <ol class="clash-list">
            {merged.regions.map((r, i) => {
              if (!isClash(r)) return null;
              const p = picks[i] ?? { choice: "ours" as Choice, text: r.ours };
              const set = (next: Partial<{ choice: Choice; text: string }>) =>
                setPicks((all) => ({ ...all, [i]: { ...p, ...next } }));
              const n = merged.regions.slice(0, i + 1).filter(isClash).length;
              return (
                <li key={i} class="clash" data-testid="conflict-region" data-region={i}>
                  <div class="three-up">
                    <div>
                      <h5>Before (version {base.version})</h5>
                      <pre class="text-box small">{r.base || "(nothing)"}</pre>
                    </div>
                    <div>
                      <h5>Yours</h5>
                      <pre class="text-box small">{r.ours || "(removed)"}</pre>
                    </div>
                    <div>
                      <h5>Theirs (version {theirs.version})</h5>
                      <pre class="text-box small">{r.theirs || "(removed)"}</pre>
                    </div>
                  </div>
                  <fieldset class="radio-group inline">
                    <legend>Keep for passage {n}</legend>
                    {(
                      [
                        ["ours", "Yours"],
                        ["theirs", "Theirs"],
                        ["both", "Both (yours, then theirs)"],
                        ["edit", "Write it myself"],
                      ] as [Choice, string][]
                    ).map(([value, label]) => (
                      <span class="radio-row" key={value}>
                        <input
                          type="radio"
                          id={`clash-${i}-${value}`}
                          name={`clash-${i}`}
                          data-testid={`conflict-pick-${value}`}
                          checked={p.choice === value}
                          onChange={() => set({ choice: value })}
                        />
                        <label for={`clash-${i}-${value}`} class="inline-label">
                          {label}
                        </label>
                      </span>
                    ))}
                  </fieldset>
                  {p.choice === "edit" && (
                    <>
                      <label for={`clash-${i}-text`}>Your wording for passage {n}</label>
                      <textarea
                        id={`clash-${i}-text`}
                        data-testid="conflict-edit-text"
                        rows={5}
                        value={p.text}
                        onInput={(e) => set({ text: e.currentTarget.value })}
                      />
                    </>
                  )}
                </li>
              );
            })}
          </ol>
          <details>
            <summary>Preview the whole text with these choices</summary>
            <pre class="text-box" tabIndex={0} data-testid="conflict-resolved">
              {resolved}
            </pre>
          </details>
          <div class="button-row">
            <button
              type="button"
              data-testid="conflict-save-resolved"
              disabled={busy}
              onClick={() => onSave(resolved, theirs.version)}
            >
              Save with these choices
            </button>
            <button type="button" class="secondary" data-testid="conflict-edit-resolved" onClick={() => onEdit(resolved, theirs.version)}>
              Put it in the editor first
            </button>
          </div>
        </>
      )}
      <div class="button-row">
        <button
          type="button"
          class="secondary"
          data-testid="conflict-keep-mine"
          disabled={busy}
          onClick={() => onSave(yours.text, theirs.version)}
        >
          Save my text as it is (replacing their changes)
        </button>
        <button type="button" class="linkish" data-testid="conflict-dismiss" onClick={onDismiss}>
          Close this and keep editing
        </button>
      </div>
    </section>
  );
}
