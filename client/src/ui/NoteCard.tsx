/**
 * One sticky note. Its text is always rendered as text, never as HTML.
 *
 *   <NoteCard note={n} />                                         read-only (wall, projector)
 *   <NoteCard note={n} mine onEdit={(t) => …} onDelete={() => …} /> the author's own note
 *   <NoteCard note={n} pending="edit waiting to send" />          a write not yet acknowledged
 *   <PendingNoteCard text="…" colour="pink" />                    a ghost: posted, not yet sent
 *
 * Every card carries data-testid="note" and data-note-id; ghosts carry
 * data-testid="note-pending" so they are never counted twice.
 */
import { useState } from "preact/hooks";
import type { NoteState } from "./types";
import { NOTE_MAX_CHARS, charCount } from "./model";

export interface NoteCardProps {
  note: NoteState;
  /** The author's name when this screen may see it; the group is taken from the note. */
  authorName?: string | null;
  /** This device's participant wrote it (shows "You"). */
  mine?: boolean;
  /** A note about a write on it not yet acknowledged, e.g. "edit waiting to send". */
  pending?: string | null;
  /** Given for the author's own notes while the round is open. */
  onEdit?: (text: string) => void;
  onDelete?: () => void;
  /** Arrived since the wall was first shown: animate it in (not under reduced motion). */
  fresh?: boolean;
  large?: boolean;
}

function Byline({ name, group, mine }: { name?: string | null; group?: string | null; mine?: boolean }) {
  const who = mine ? "You" : name;
  if (!who && !group) return null;
  return (
    <p class="note-by">
      {who}
      {who && group ? " · " : ""}
      {group}
    </p>
  );
}

export function NoteCard({ note, authorName, mine, pending, onEdit, onDelete, fresh, large }: NoteCardProps) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(note.text);
  const [confirming, setConfirming] = useState(false);
  const count = charCount(draft);
  const tooLong = count > NOTE_MAX_CHARS;
  const editId = `note-edit-${note.id}`;

  const classes = [
    "note",
    note.colour ? `note-${note.colour}` : "note-plain",
    fresh ? "note-fresh" : "",
    pending ? "note-pending" : "",
    large ? "note-large" : "",
    mine ? "note-mine" : "",
  ].join(" ");

  return (
    <li class={classes} data-testid="note" data-note-id={note.id} data-mine={mine ? "true" : undefined}>
      {editing ? (
        <form
          class="note-edit"
          onSubmit={(e) => {
            e.preventDefault();
            if (tooLong || !draft.trim() || draft.trim() === note.text) return;
            onEdit?.(draft);
            setEditing(false);
          }}
        >
          <label for={editId}>Edit your note</label>
          <textarea
            id={editId}
            data-testid="note-edit-input"
            rows={3}
            value={draft}
            aria-describedby={`${editId}-count`}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
          <p id={`${editId}-count`} class={`counter${tooLong ? " counter-over" : ""}`}>
            {count} / {NOTE_MAX_CHARS}
            {tooLong ? ` — ${count - NOTE_MAX_CHARS} too many` : ""}
          </p>
          <div class="row">
            <button type="submit" data-testid="note-edit-save" disabled={tooLong || !draft.trim()}>
              Save
            </button>
            <button type="button" class="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          <p class="note-text">{note.text}</p>
          <Byline name={authorName} group={note.group} mine={mine} />
          {note.merged_from.length > 0 && (
            <p class="note-meta">Combines {note.merged_from.length} notes</p>
          )}
          {note.edited_by != null && note.edited_by !== note.author && (
            <p class="note-meta">Reworded by a facilitator</p>
          )}
          {note.colour && <span class="visually-hidden">({note.colour} note)</span>}
        </>
      )}
      {pending && (
        <p class="note-waiting" data-testid="note-waiting">
          {pending}
        </p>
      )}
      {!editing && (onEdit || onDelete) && (
        <div class="note-actions">
          {confirming ? (
            <>
              <span class="note-confirm">Delete this note?</span>
              <button
                type="button"
                class="danger small"
                data-testid="note-delete-confirm"
                onClick={() => {
                  setConfirming(false);
                  onDelete?.();
                }}
              >
                Delete
              </button>
              <button type="button" class="secondary small" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </>
          ) : (
            <>
              {onEdit && (
                <button
                  type="button"
                  class="secondary small"
                  data-testid="note-edit"
                  aria-label={`Edit your note: ${note.text.slice(0, 40)}`}
                  onClick={() => {
                    setDraft(note.text);
                    setEditing(true);
                  }}
                >
                  Edit
                </button>
              )}
              {onDelete && (
                <button
                  type="button"
                  class="secondary small"
                  data-testid="note-delete"
                  aria-label={`Delete your note: ${note.text.slice(0, 40)}`}
                  onClick={() => setConfirming(true)}
                >
                  Delete
                </button>
              )}
            </>
          )}
        </div>
      )}
    </li>
  );
}

export interface PendingNoteCardProps {
  text: string;
  colour?: string | null;
  large?: boolean;
}

/** A note posted on this device that the server has not acknowledged yet. */
export function PendingNoteCard({ text, colour, large }: PendingNoteCardProps) {
  return (
    <li
      class={`note note-ghost ${colour ? `note-${colour}` : "note-plain"}${large ? " note-large" : ""}`}
      data-testid="note-pending"
    >
      <p class="note-text">{text.trim()}</p>
      <p class="note-by">You</p>
      <p class="note-waiting">
        Waiting to send
      </p>
    </li>
  );
}
