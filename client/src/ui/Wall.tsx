/**
 * The wall of one round: its visible notes, grouped by theme when the facilitators have
 * made themes, newest first, with this device's unsent notes as ghosts.
 *
 *   <Wall state={state} round={activity.id} />                              read-only
 *   <Wall state={state} round={id} you={you} pending={pending}
 *         onEdit={(id, text) => …} onDelete={(id) => …} />                  a participant
 *   <Wall state={state} round={id} large />                                 the projector
 *
 * `round` null is the open board of an event without activities. New notes arriving
 * animate in (not under prefers-reduced-motion) and their number is announced politely,
 * a few seconds after the last one, so a busy room does not flood a screen reader.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { EventState, PendingWrite } from "../core/contract";
import { NoteCard, PendingNoteCard } from "./NoteCard";
import { nameOf, pendingOps, plural, themesOf, wallNotes } from "./model";
import type { NoteState } from "./types";

export interface WallProps {
  state: EventState;
  round: number | null;
  /** This device's actor id: its notes show "You" and, with onEdit/onDelete, can be changed. */
  you?: string | null;
  /** session.pending: unsent notes show as ghosts, unsent edits/deletes as "waiting to send". */
  pending?: readonly PendingWrite[];
  onEdit?: (note: number, text: string) => void;
  onDelete?: (note: number) => void;
  large?: boolean;
  /** Heading level for theme names (default 3). */
  headingLevel?: 2 | 3 | 4;
}

const ANNOUNCE_AFTER_MS = 3000;

export function Wall({ state, round, you, pending = [], onEdit, onDelete, large, headingLevel = 3 }: WallProps) {
  const notes = wallNotes(state, round).sort((a, b) => b.id - a.id);
  const themes = round != null ? themesOf(state, round) : [];

  // Which notes were already there when the wall was first shown (not animated), and the
  // number of others' notes that arrived since the last announcement.
  const seen = useRef<Set<number> | null>(null);
  const unannounced = useRef(0);
  const [announcement, setAnnouncement] = useState("");
  if (seen.current === null) seen.current = new Set(notes.map((n) => n.id));
  const fresh = new Set<number>();
  let arrivals = 0;
  for (const n of notes) {
    if (!seen.current.has(n.id)) {
      fresh.add(n.id);
      if (n.author !== you) arrivals += 1;
    }
  }
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  useEffect(() => {
    if (fresh.size === 0) return;
    for (const id of fresh) seen.current?.add(id);
    unannounced.current += arrivals;
    if (unannounced.current === 0) return;
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      setAnnouncement(`${plural(unannounced.current, "new note")} on the wall`);
      unannounced.current = 0;
    }, ANNOUNCE_AFTER_MS);
  });
  // Keep the fresh class for the life of the card so a re-render does not restart it.
  const arrived = useRef<Set<number>>(new Set());
  for (const id of fresh) arrived.current.add(id);

  const ghosts = pendingOps(pending, "note.add").filter((p) => (p.op.round ?? null) === round);
  const edits = new Map<number, string>();
  for (const p of pendingOps(pending, "note.edit")) edits.set(p.op.note, "Edit waiting to send");
  for (const p of pendingOps(pending, "note.delete")) edits.set(p.op.note, "Deletion waiting to send");

  const card = (n: NoteState) => {
    const mine = you != null && n.author === you;
    const pendingEdit = edits.get(n.id) ?? null;
    return (
      <NoteCard
        key={n.id}
        note={n}
        authorName={nameOf(state, n.author)}
        mine={mine}
        pending={pendingEdit}
        fresh={arrived.current.has(n.id)}
        large={large}
        onEdit={mine && onEdit && !pendingEdit ? (text) => onEdit(n.id, text) : undefined}
        onDelete={mine && onDelete && !pendingEdit ? () => onDelete(n.id) : undefined}
      />
    );
  };
  const H = `h${headingLevel}` as "h3";
  const unthemed = notes.filter((n) => n.theme == null || !themes.some((t) => t.id === n.theme));
  const total = notes.length;

  return (
    <div class={`wall${large ? " wall-large" : ""}`} data-testid="wall" data-round={round ?? ""}>
      <p class="wall-count" data-testid="wall-count">
        {total === 0 && ghosts.length === 0 ? "No notes yet." : plural(total, "note")}
      </p>
      <p class="visually-hidden" aria-live="polite" data-testid="wall-announce">
        {announcement}
      </p>
      {themes.map((t) => {
        const inTheme = notes.filter((n) => n.theme === t.id);
        return (
          <section class="theme" key={t.id} data-testid="theme" data-theme-id={t.id}>
            <H class="theme-name">
              {t.name} <span class="theme-count">({plural(inTheme.length, "note")})</span>
            </H>
            {inTheme.length > 0 ? <ul class="notes">{inTheme.map(card)}</ul> : <p class="muted">No notes in this theme yet.</p>}
          </section>
        );
      })}
      {(unthemed.length > 0 || ghosts.length > 0) && (
        <section class="theme theme-none">
          {themes.length > 0 && <H class="theme-name">Not in a theme yet</H>}
          <ul class="notes">
            {ghosts
              .slice()
              .reverse()
              .map((g) => (
                <PendingNoteCard key={g.id} text={g.op.text} colour={g.op.colour ?? null} large={large} />
              ))}
            {unthemed.map(card)}
          </ul>
        </section>
      )}
    </div>
  );
}
