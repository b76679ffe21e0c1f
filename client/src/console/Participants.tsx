/**
 * Who has joined, and removing someone from the event (participant.remove): their phone
 * is signed out (its token stops working, close 4001) and they leave the lists and the
 * writing team; what they wrote stays on the wall, to hide separately if it must go.
 * Removing asks first, naming the person.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import { useConsole } from "./context";

type Participant = EventState["participants"][number];

/** Rows shown at once: a room of 200 is found with the search box, not by scrolling. */
export const LIMIT = 100;

/** Whether a participant answers the search box (lower-cased, trimmed): a name or group
 * containing it, or exactly their table. Empty matches everyone. */
export function matchesSearch(p: Participant, needle: string): boolean {
  return (
    !needle ||
    (p.name ?? "").toLowerCase().includes(needle) ||
    (p.group ?? "").toLowerCase().includes(needle) ||
    (p.table ?? "").toLowerCase() === needle
  );
}

/** "Jo Bloggs · Staff · table 4"; "No name · Guests" when there is no name to show. */
export function participantLabel(p: Participant): string {
  return [p.name ?? "No name", p.group, p.table ? `table ${p.table}` : null].filter(Boolean).join(" · ");
}

/** How the confirm question names them: their name, else what is known about them. */
function whoText(p: Participant): string {
  if (p.name) return p.name;
  const about = [p.group, p.table ? `table ${p.table}` : null].filter(Boolean).join(", ");
  return about ? `this participant (no name, ${about})` : "this participant (no name)";
}

export function Participants({ state }: { state: EventState }) {
  const [filter, setFilter] = useState("");
  const [confirming, setConfirming] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const needle = filter.trim().toLowerCase();
  const people = state.participants
    .filter((p) => matchesSearch(p, needle))
    .sort((a, b) => a.joined_seq - b.joined_seq);

  return (
    <section aria-labelledby="people-heading" class="card" data-testid="participants">
      <h3 id="people-heading" ref={headingRef} tabIndex={-1}>
        Participants
      </h3>
      {state.participants.length === 0 ? (
        <p class="empty">Nobody has joined yet.</p>
      ) : (
        <>
          <p class="hint">
            Removing someone signs their phone out of the event. What they wrote stays on the wall: hide it
            there if it should go.
          </p>
          <label for="people-filter">Find a participant (name, group or table)</label>
          <input
            id="people-filter"
            type="search"
            data-testid="participant-filter"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
          {people.length === 0 ? (
            <p class="empty">Nobody matches “{filter.trim()}”.</p>
          ) : (
            <ul class="people-list">
              {people.slice(0, LIMIT).map((p) => (
                <ParticipantRow
                  key={p.id}
                  participant={p}
                  confirming={confirming === p.id}
                  onConfirm={(on) => setConfirming(on ? p.id : null)}
                  onRemoved={() => headingRef.current?.focus()}
                />
              ))}
            </ul>
          )}
          {people.length > LIMIT && <p class="hint">{people.length - LIMIT} more: narrow the search to find them.</p>}
        </>
      )}
    </section>
  );
}

function ParticipantRow({
  participant: p,
  confirming,
  onConfirm,
  onRemoved,
}: {
  participant: Participant;
  confirming: boolean;
  onConfirm(on: boolean): void;
  onRemoved(): void;
}) {
  const { act } = useConsole();
  const [busy, setBusy] = useState(false);
  const questionRef = useRef<HTMLParagraphElement>(null);
  const removeRef = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  const label = participantLabel(p);
  const who = whoText(p);
  const qid = `remove-q-${p.id}`;

  // Focus follows the question: to it when it opens (so it is read out), back to the
  // button that asked when it is cancelled (not when another row's question opens).
  useEffect(() => {
    if (confirming) questionRef.current?.focus();
    else if (refocus.current) removeRef.current?.focus();
    refocus.current = false;
  }, [confirming]);

  function cancel() {
    refocus.current = true;
    onConfirm(false);
  }

  async function remove() {
    setBusy(true);
    const named = p.name ?? "The participant";
    const result = await act({ kind: "participant.remove", participant: p.id }, `${named} was removed from the event.`);
    setBusy(false);
    if (result.ok) {
      // The row goes with the op; the focus goes to the list's heading, not to nowhere.
      onRemoved();
    } else {
      cancel(); // the console's messages say why
    }
  }

  return (
    <li class="people-row" data-testid="participant-row" data-participant-id={p.id}>
      <span class="people-label">{label}</span>
      {confirming ? (
        <div
          class="confirm"
          role="group"
          aria-labelledby={qid}
          onKeyDown={(e) => {
            if (e.key === "Escape" && !busy) cancel();
          }}
        >
          <p id={qid} ref={questionRef} tabIndex={-1}>
            Remove {who}? Their phone will be signed out; their notes stay on the wall (hide them if needed).
          </p>
          <div class="button-row">
            <button
              type="button"
              class="danger small"
              data-testid="participant-remove-confirm"
              disabled={busy}
              onClick={() => void remove()}
            >
              {busy ? "Removing…" : "Remove"}
              <span class="visually-hidden"> {who}</span>
            </button>
            <button
              type="button"
              class="secondary small"
              data-testid="participant-remove-cancel"
              disabled={busy}
              onClick={cancel}
            >
              Keep them
            </button>
          </div>
        </div>
      ) : (
        <button
          type="button"
          ref={removeRef}
          class="secondary small"
          data-testid="participant-remove"
          onClick={() => onConfirm(true)}
        >
          Remove from event<span class="visually-hidden">: {label}</span>
        </button>
      )}
    </li>
  );
}
