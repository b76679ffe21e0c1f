/**
 * Post a sticky note into a round: up to 280 characters with a running count, and an
 * optional colour. The write is queued at once (it survives going offline and reloads),
 * so the box clears immediately; a refusal puts the text back with the reason.
 *
 *   <NoteForm session={session} round={activity.id} />
 */
import { useState } from "preact/hooks";
import type { Session } from "../core/contract";
import { plainError } from "./errors";
import { COLOURS, type ColourName, NOTE_MAX_CHARS, charCount } from "./model";

export interface NoteFormProps {
  session: Session;
  /** The notes activity to post into (null: the open board of an event without activities). */
  round: number | null;
  /** The round's prompt, read out as the box's description. */
  prompt?: string;
}

export function NoteForm({ session, round, prompt }: NoteFormProps) {
  const [text, setText] = useState("");
  const [colour, setColour] = useState<ColourName | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [sent, setSent] = useState("");
  const count = charCount(text);
  const over = count > NOTE_MAX_CHARS;
  const empty = count === 0;
  const id = `note-input-${round ?? "board"}`;

  const submit = (e: Event) => {
    e.preventDefault();
    if (empty) {
      setProblem("Write your note first.");
      return;
    }
    if (over) return;
    const posted = text;
    setText("");
    setProblem(null);
    setSent("Note posted.");
    void session
      .write({ kind: "note.add", round, text: posted, colour })
      .then((result) => {
        if (result.ok) return;
        setProblem(`Your note was not posted: ${plainError(result.code, result.message)}`);
        setSent("");
        setText((now) => (now ? now : posted));
      });
  };

  return (
    <form class="note-form" onSubmit={submit} data-testid="note-form">
      <label for={id}>Your note</label>
      <textarea
        id={id}
        data-testid="note-input"
        rows={3}
        value={text}
        aria-describedby={`${id}-count${prompt ? ` ${id}-prompt` : ""}`}
        aria-invalid={over}
        onInput={(e) => {
          setText(e.currentTarget.value);
          setSent("");
        }}
      />
      {prompt && (
        <span id={`${id}-prompt`} class="visually-hidden">
          {prompt}
        </span>
      )}
      <p id={`${id}-count`} class={`counter${over ? " counter-over" : ""}`} data-testid="note-count">
        {count} / {NOTE_MAX_CHARS} characters{over ? ` — ${count - NOTE_MAX_CHARS} too many` : ""}
      </p>
      <fieldset class="colours">
        <legend>Colour (optional)</legend>
        <label class="swatch swatch-none">
          <input
            type="radio"
            name={`colour-${id}`}
            value=""
            checked={colour === null}
            data-testid="note-colour-none"
            onChange={() => setColour(null)}
          />
          <span>None</span>
        </label>
        {COLOURS.map((c) => (
          <label class={`swatch note-${c}`} key={c}>
            <input
              type="radio"
              name={`colour-${id}`}
              value={c}
              checked={colour === c}
              data-testid={`note-colour-${c}`}
              onChange={() => setColour(c)}
            />
            <span>{c[0]!.toUpperCase() + c.slice(1)}</span>
          </label>
        ))}
      </fieldset>
      <button type="submit" data-testid="note-submit" disabled={over}>
        Post note
      </button>
      <p class="visually-hidden" aria-live="polite">
        {sent}
      </p>
      {problem && (
        <p class="problem" role="alert" data-testid="note-problem">
          {problem}
        </p>
      )}
    </form>
  );
}
