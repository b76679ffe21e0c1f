/**
 * Exports: the event's complete archive (JSON, restorable with `plenary import`) and one
 * spreadsheet per activity. Both need the facilitator token, so they are fetched and
 * saved rather than linked.
 */
import { useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import { activityCsvPath, archivePath, download } from "../core/http";
import { KIND_LABEL, agendaOrder, truncate, useConsole } from "./context";

function slug(text: string): string {
  return (
    text
      .normalize("NFKD")
      .replace(/[^\w\s-]/g, "")
      .trim()
      .replace(/\s+/g, "-")
      .toLowerCase()
      .slice(0, 40) || "event"
  );
}

export function ExportsPanel({ state }: { state: EventState }) {
  const { event, token, announce } = useConsole();
  const [busy, setBusy] = useState<string | null>(null);

  async function get(key: string, path: string, filename: string) {
    setBusy(key);
    try {
      await download(path, token, filename);
      announce("ok", `Downloaded ${filename}.`);
    } catch (err) {
      announce("error", `Could not download ${filename}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(null);
    }
  }

  const base = `${slug(state.title)}-${state.code}`;
  const activities = agendaOrder(state);
  return (
    <div class="panel exports-panel">
      <h2>Exports</h2>
      <section class="card" aria-labelledby="archive-heading">
        <h3 id="archive-heading">Complete archive</h3>
        <p>
          Everything that happened, in order: every note, theme, dot, draft version and reaction. A server
          administrator can restore it exactly with <code>plenary import</code>.
        </p>
        <button
          type="button"
          data-testid="export-archive"
          disabled={busy != null}
          onClick={() => void get("archive", archivePath(event), `${base}-archive.json`)}
        >
          {busy === "archive" ? "Preparing…" : "Download the archive (JSON)"}
        </button>
      </section>
      <section class="card" aria-labelledby="csv-heading">
        <h3 id="csv-heading">Spreadsheets, one per activity</h3>
        {activities.length === 0 ? (
          <p class="empty">No activities yet.</p>
        ) : (
          <ul class="export-list">
            {activities.map((a) => {
              const name = `${base}-${a.id}-${slug(a.prompt || a.kind)}.csv`;
              return (
                <li key={a.id}>
                  <span>
                    <span class="kind-tag">{KIND_LABEL[a.kind]}</span> {truncate(a.prompt || "(no prompt)", 80)}
                  </span>
                  <button
                    type="button"
                    class="secondary small"
                    data-testid="export-csv"
                    data-activity-id={a.id}
                    disabled={busy != null}
                    aria-label={`Download CSV: ${KIND_LABEL[a.kind].toLowerCase()} “${truncate(a.prompt || "(no prompt)", 40)}”`}
                    onClick={() => void get(`csv-${a.id}`, activityCsvPath(event, a.id), name)}
                  >
                    {busy === `csv-${a.id}` ? "Preparing…" : "Download CSV"}
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </section>
    </div>
  );
}
