/**
 * Wall: the notes of one round as they arrive, hidden ones included (and marked), with
 * moderation (hide, unhide, reword, merge duplicates) and themes. Notes are clustered into
 * themes by dragging a card onto a column, or, without a mouse, with each card's
 * "Theme" menu; both send the same note.set_theme.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import { NOTE_MAX_CHARS, charCount } from "../ui/model";
import { type NoteState, type Theme, activityTitle, agendaOrder, truncate, useConsole } from "./context";

const DRAG_TYPE = "application/x-plenary-note";
const NO_ROUND = "board";

/** The round the wall opens on: the current round, the round of the current vote, the latest round. */
function defaultRound(state: EventState): string {
  const current = state.activities.find((a) => a.id === state.current);
  if (current?.kind === "notes") return String(current.id);
  if (current?.vote) return String(current.vote.round);
  const rounds = agendaOrder(state).filter((a) => a.kind === "notes" && a.status !== "archived");
  const last = rounds[rounds.length - 1];
  return last ? String(last.id) : NO_ROUND;
}

export function WallPanel({ state }: { state: EventState }) {
  const { act, announce, session } = useConsole();
  const rounds = agendaOrder(state).filter((a) => a.kind === "notes");
  const hasBoard = state.notes.some((n) => n.round == null) || rounds.length === 0;
  const [picked, setPicked] = useState<string | null>(null);
  const roundKey = picked ?? defaultRound(state);
  const round = roundKey === NO_ROUND ? null : Number(roundKey);
  const [showHidden, setShowHidden] = useState(true);
  const [filter, setFilter] = useState("");
  const [selected, setSelected] = useState<number[]>([]);
  const [dropTarget, setDropTarget] = useState<string | null>(null);
  const you = session.you.value;

  const notes = useMemo(
    () => state.notes.filter((n) => n.round === round && n.merged_into == null),
    [state.notes, round],
  );
  const themes = round == null ? [] : state.themes.filter((t) => t.round === round);
  const hiddenCount = notes.filter((n) => n.hidden).length;
  const needle = filter.trim().toLowerCase();
  const shown = notes.filter(
    (n) => (showHidden || !n.hidden) && (!needle || n.text.toLowerCase().includes(needle) || (n.group ?? "").toLowerCase().includes(needle)),
  );

  // Forget selected notes that have gone (merged, deleted) or belong to another round.
  useEffect(() => {
    const ids = new Set(notes.map((n) => n.id));
    setSelected((s) => (s.every((id) => ids.has(id)) ? s : s.filter((id) => ids.has(id))));
  }, [notes]);

  function toggle(id: number) {
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));
  }

  async function setTheme(note: NoteState, theme: number | null) {
    if (note.theme === theme) return;
    const name = theme == null ? "no theme" : `“${themes.find((t) => t.id === theme)?.name ?? "the theme"}”`;
    await act({ kind: "note.set_theme", note: note.id, theme }, `Note moved to ${name}.`);
  }

  function onDrop(e: DragEvent, theme: number | null) {
    e.preventDefault();
    setDropTarget(null);
    const raw = e.dataTransfer?.getData(DRAG_TYPE) || e.dataTransfer?.getData("text/plain");
    const id = Number(raw);
    const note = notes.find((n) => n.id === id);
    if (note) void setTheme(note, theme);
  }

  const columns: { key: string; theme: Theme | null; notes: NoteState[] }[] = [
    { key: "none", theme: null, notes: shown.filter((n) => n.theme == null || !themes.some((t) => t.id === n.theme)) },
    ...themes.map((t) => ({ key: String(t.id), theme: t, notes: shown.filter((n) => n.theme === t.id) })),
  ];

  const selectedNotes = selected.map((id) => notes.find((n) => n.id === id)).filter((n): n is NoteState => !!n);

  return (
    <div class="panel wall-panel">
      <h2>Wall</h2>
      <div class="wall-toolbar">
        <div>
          <label for="wall-round">Round</label>
          <select
            id="wall-round"
            data-testid="wall-round"
            value={roundKey}
            onChange={(e) => {
              setPicked(e.currentTarget.value);
              setSelected([]);
            }}
          >
            {rounds.map((r) => (
              <option key={r.id} value={String(r.id)}>
                {truncate(activityTitle(r), 70)} ({r.status})
              </option>
            ))}
            {hasBoard && <option value={NO_ROUND}>Open board (notes outside any round)</option>}
          </select>
        </div>
        <div>
          <label for="wall-filter">Find notes</label>
          <input
            id="wall-filter"
            type="search"
            data-testid="wall-filter"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
        </div>
        <div class="check-row">
          <input
            id="wall-show-hidden"
            type="checkbox"
            data-testid="wall-show-hidden"
            checked={showHidden}
            onChange={(e) => setShowHidden(e.currentTarget.checked)}
          />
          <label for="wall-show-hidden" class="inline-label">
            Show hidden notes ({hiddenCount})
          </label>
        </div>
      </div>
      <p class="hint" role="status" data-testid="wall-count">
        {notes.length - hiddenCount} {notes.length - hiddenCount === 1 ? "note" : "notes"} on the wall
        {hiddenCount ? `, ${hiddenCount} hidden` : ""}
        {themes.length ? `, ${themes.length} ${themes.length === 1 ? "theme" : "themes"}` : ""}.
        {themes.length > 0 && " Drag a note onto a theme, or use its Theme menu."}
      </p>

      {round != null && <ThemeForm round={round} />}

      {selectedNotes.length > 0 && (
        <MergePanel
          notes={selectedNotes}
          onClear={() => setSelected([])}
          onMerged={() => {
            setSelected([]);
            announce("ok", "Notes merged.");
          }}
        />
      )}

      <div class="wall-columns" data-testid="wall">
        {columns.map((col) => (
          <section
            key={col.key}
            class={`wall-column${dropTarget === col.key ? " drop-target" : ""}`}
            data-testid="theme-column"
            data-theme-id={col.theme?.id ?? ""}
            aria-labelledby={`col-${col.key}`}
            onDragOver={(e) => {
              e.preventDefault();
              if (e.dataTransfer) e.dataTransfer.dropEffect = "move";
              if (dropTarget !== col.key) setDropTarget(col.key);
            }}
            onDragLeave={(e) => {
              if (!(e.currentTarget as HTMLElement).contains(e.relatedTarget as Node | null)) setDropTarget(null);
            }}
            onDrop={(e) => onDrop(e, col.theme?.id ?? null)}
          >
            {col.theme ? (
              <ThemeHeader theme={col.theme} count={col.notes.length} headingId={`col-${col.key}`} />
            ) : (
              <h3 id={`col-${col.key}`} class="column-title">
                {themes.length ? "Not in a theme" : "Notes"} <span class="count">({col.notes.length})</span>
              </h3>
            )}
            {col.notes.length === 0 ? (
              <p class="empty small">{col.theme ? "Drop notes here." : "No notes yet."}</p>
            ) : (
              <ul class="note-list">
                {col.notes.map((n) => (
                  <ModNote
                    key={n.id}
                    state={state}
                    note={n}
                    themes={themes}
                    you={you}
                    selected={selected.includes(n.id)}
                    onToggle={() => toggle(n.id)}
                    onTheme={(t) => void setTheme(n, t)}
                  />
                ))}
              </ul>
            )}
          </section>
        ))}
      </div>
    </div>
  );
}

function ModNote({
  state,
  note,
  themes,
  you,
  selected,
  onToggle,
  onTheme,
}: {
  state: EventState;
  note: NoteState;
  themes: Theme[];
  you: string | null;
  selected: boolean;
  onToggle(): void;
  onTheme(theme: number | null): void;
}) {
  const { act } = useConsole();
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(note.text);
  const author = state.participants.find((p) => p.id === note.author);
  const by =
    note.author === you
      ? "you"
      : note.author.startsWith("f_")
        ? "a facilitator"
        : author?.name ?? null;
  const where = [note.group, note.table ? `table ${note.table}` : null].filter(Boolean).join(", ");
  const id = `note-${note.id}`;
  const count = charCount(text);
  const short = truncate(note.text, 40);

  return (
    <li
      class={`mod-note${note.hidden ? " is-hidden" : ""}${selected ? " is-selected" : ""}${note.colour ? ` note-${note.colour}` : ""}`}
      data-testid="note"
      data-note-id={note.id}
      data-hidden={note.hidden ? "true" : "false"}
      data-theme-id={note.theme ?? ""}
      draggable={!editing}
      onDragStart={(e) => {
        e.dataTransfer?.setData(DRAG_TYPE, String(note.id));
        e.dataTransfer?.setData("text/plain", String(note.id));
        if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
      }}
    >
      {note.hidden && (
        <p class="hidden-flag">
          <strong>Hidden</strong> — only facilitators see this note
        </p>
      )}
      {editing ? (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            const t = text.trim();
            if (!t || count > NOTE_MAX_CHARS) return;
            if (t === note.text) {
              setEditing(false);
              return;
            }
            const r = await act({ kind: "note.edit", note: note.id, text: t }, "Note reworded.");
            if (r.ok) setEditing(false);
          }}
        >
          <label for={`${id}-text`}>Note text</label>
          <textarea
            id={`${id}-text`}
            data-testid="note-edit-text"
            rows={3}
            value={text}
            aria-describedby={`${id}-count`}
            onInput={(e) => setText(e.currentTarget.value)}
          />
          <p id={`${id}-count`} class={`hint${count > NOTE_MAX_CHARS ? " over" : ""}`}>
            {count} of {NOTE_MAX_CHARS} characters
          </p>
          <div class="button-row">
            <button type="submit" class="small" data-testid="note-edit-save" disabled={count > NOTE_MAX_CHARS || !text.trim()}>
              Save
            </button>
            <button type="button" class="secondary small" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <p class="mod-note-text" id={`${id}-label`}>
          {note.text}
        </p>
      )}
      <p class="note-by">
        {[by, where].filter(Boolean).join(" · ") || "anonymous"}
        {note.edited_by && <span> · reworded</span>}
        {note.merged_from.length > 0 && (
          <span>
            {" "}
            · merged from {note.merged_from.length} notes{note.groups.length ? ` (${note.groups.join(", ")})` : ""}
          </span>
        )}
      </p>
      <div class="note-controls" role="group" aria-label={`Moderate note: ${short}`}>
        <span class="check-row">
          <input
            type="checkbox"
            id={`${id}-select`}
            data-testid="note-select"
            checked={selected}
            onChange={onToggle}
          />
          <label for={`${id}-select`} class="inline-label">
            Select to merge
          </label>
        </span>
        {note.hidden ? (
          <button
            type="button"
            class="small"
            data-testid="note-unhide"
            onClick={() => void act({ kind: "note.unhide", note: note.id }, "Note shown again.")}
          >
            Unhide
          </button>
        ) : (
          <button
            type="button"
            class="secondary small"
            data-testid="note-hide"
            onClick={() => void act({ kind: "note.hide", note: note.id }, "Note hidden from the room.")}
          >
            Hide
          </button>
        )}
        {!editing && (
          <button
            type="button"
            class="secondary small"
            data-testid="note-edit"
            onClick={() => {
              setText(note.text);
              setEditing(true);
            }}
          >
            Edit
          </button>
        )}
        {themes.length > 0 && (
          <span class="theme-pick">
            <label for={`${id}-theme`} class="inline-label">
              Theme
            </label>
            <select
              id={`${id}-theme`}
              data-testid="note-theme"
              value={note.theme == null ? "" : String(note.theme)}
              onChange={(e) => onTheme(e.currentTarget.value ? Number(e.currentTarget.value) : null)}
            >
              <option value="">(none)</option>
              {themes.map((t) => (
                <option key={t.id} value={String(t.id)}>
                  {truncate(t.name, 40)}
                </option>
              ))}
            </select>
          </span>
        )}
      </div>
    </li>
  );
}

function ThemeForm({ round }: { round: number }) {
  const { act } = useConsole();
  const [name, setName] = useState("");
  return (
    <form
      class="theme-form"
      data-testid="theme-add-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const n = name.trim();
        if (!n) return;
        const r = await act({ kind: "theme.add", round, name: n }, `Theme “${n}” added.`);
        if (r.ok) setName("");
      }}
    >
      <label for="theme-name" class="inline-label">
        New theme
      </label>
      <input
        id="theme-name"
        data-testid="theme-name"
        type="text"
        maxLength={80}
        value={name}
        onInput={(e) => setName(e.currentTarget.value)}
      />
      <button type="submit" class="secondary" data-testid="theme-add">
        Add theme
      </button>
    </form>
  );
}

function ThemeHeader({ theme, count, headingId }: { theme: Theme; count: number; headingId: string }) {
  const { act } = useConsole();
  const [renaming, setRenaming] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [name, setName] = useState(theme.name);
  const fid = `theme-${theme.id}`;
  return (
    <div class="column-head">
      <h3 id={headingId} class="column-title" data-testid="theme-title">
        {theme.name} <span class="count">({count})</span>
      </h3>
      {renaming ? (
        <form
          class="inline-form"
          onSubmit={async (e) => {
            e.preventDefault();
            const n = name.trim();
            if (!n || n === theme.name) {
              setRenaming(false);
              return;
            }
            const r = await act({ kind: "theme.rename", theme: theme.id, name: n }, `Theme renamed to “${n}”.`);
            if (r.ok) setRenaming(false);
          }}
        >
          <label for={`${fid}-name`}>Theme name</label>
          <input
            id={`${fid}-name`}
            data-testid="theme-rename-input"
            type="text"
            maxLength={80}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
          <div class="button-row">
            <button type="submit" class="small" data-testid="theme-rename-save">
              Save
            </button>
            <button type="button" class="secondary small" onClick={() => setRenaming(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : confirming ? (
        <div class="confirm" role="group" aria-label={`Delete theme ${theme.name}?`}>
          <p>Delete this theme? Its notes stay on the wall, without a theme.</p>
          <div class="button-row">
            <button
              type="button"
              class="danger small"
              data-testid="theme-delete-confirm"
              onClick={() => {
                setConfirming(false);
                void act({ kind: "theme.delete", theme: theme.id }, `Theme “${theme.name}” deleted.`);
              }}
            >
              Delete
            </button>
            <button type="button" class="secondary small" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </div>
        </div>
      ) : (
        <div class="button-row">
          <button
            type="button"
            class="secondary small"
            data-testid="theme-rename"
            aria-label={`Rename theme ${theme.name}`}
            onClick={() => {
              setName(theme.name);
              setRenaming(true);
            }}
          >
            Rename
          </button>
          <button
            type="button"
            class="secondary small"
            data-testid="theme-delete"
            aria-label={`Delete theme ${theme.name}`}
            onClick={() => setConfirming(true)}
          >
            Delete
          </button>
        </div>
      )}
    </div>
  );
}

function MergePanel({ notes, onClear, onMerged }: { notes: NoteState[]; onClear(): void; onMerged(): void }) {
  const { act } = useConsole();
  const suggestion = notes.map((n) => n.text).join(" / ");
  const [text, setText] = useState(suggestion);
  const [touched, setTouched] = useState(false);
  const value = touched ? text : suggestion;
  const count = charCount(value);
  const can = notes.length >= 2 && notes.length <= 50 && value.trim() !== "" && count <= NOTE_MAX_CHARS;
  return (
    <section class="merge-panel card" aria-labelledby="merge-heading" data-testid="merge-panel">
      <h3 id="merge-heading">
        Merge {notes.length} selected {notes.length === 1 ? "note" : "notes"}
      </h3>
      {notes.length < 2 ? (
        <p class="hint">Select at least one more note to merge.</p>
      ) : (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            if (!can) return;
            const r = await act({ kind: "note.merge", notes: notes.map((n) => n.id), text: value.trim() });
            if (r.ok) onMerged();
          }}
        >
          <label for="merge-text">Text of the merged note</label>
          <textarea
            id="merge-text"
            data-testid="merge-text"
            rows={3}
            value={value}
            aria-describedby="merge-count"
            onInput={(e) => {
              setTouched(true);
              setText(e.currentTarget.value);
            }}
          />
          <p id="merge-count" class={`hint${count > NOTE_MAX_CHARS ? " over" : ""}`}>
            {count} of {NOTE_MAX_CHARS} characters. The originals stay linked to the merged note, with their groups
            and dots.
          </p>
          <div class="button-row">
            <button type="submit" data-testid="merge-submit" disabled={!can}>
              Merge notes
            </button>
            <button type="button" class="secondary" data-testid="merge-clear" onClick={onClear}>
              Clear selection
            </button>
          </div>
        </form>
      )}
      {notes.length < 2 && (
        <button type="button" class="secondary small" data-testid="merge-clear" onClick={onClear}>
          Clear selection
        </button>
      )}
    </section>
  );
}
