/**
 * Error codes (docs/protocol.md, "Errors") in words for the people who see them. The
 * server's message says what exactly; these say what it means for them and what happens
 * next. Used by the status bar, the phone's "access ended" screen, the note form, the
 * failed-writes notice (Unsaved.tsx) and the console's messages.
 */
import type { Command } from "../core/contract";

/** A participant's token no longer opens the event (docs/protocol.md, "participant.remove"). */
export const ACCESS_ENDED =
  "Your access to this event has ended: a facilitator removed you from it, or your link expired.";

/** A refusal or a failure, in plain words; the server's message for the other codes. */
export function plainError(code: string, message: string): string {
  switch (code) {
    case "internal":
      return "A problem on the server stopped this from being saved. It has not been sent, and sending it again would fail the same way.";
    case "rate_limited":
      return "Too many changes at once: waiting a moment before sending again.";
    case "unavailable":
      return "The server could not save this just now; it will be sent again by itself.";
    case "unauthorised":
      return "Access to this event has ended.";
    default:
      return message;
  }
}

/** What a write is, for a sentence: "This note …". */
export function writeNoun(op: Command): string {
  switch (op.kind) {
    case "note.add":
    case "note.edit":
      return "note";
    case "note.merge":
      return "merged note";
    case "draft.save":
      return "draft";
    case "draft.explain":
      return "explanation";
    case "theme.add":
    case "theme.rename":
      return "theme name";
    case "reaction.set":
      return "comment";
    default:
      return "change";
  }
}

/** The words a person typed into a write, if it has any worth keeping. */
export function writeText(op: Command): string | null {
  let text: string | null | undefined = null;
  switch (op.kind) {
    case "note.add":
    case "note.edit":
    case "note.merge":
    case "draft.save":
      text = op.text;
      break;
    case "draft.explain":
      text = op.rationale;
      break;
    case "theme.add":
    case "theme.rename":
      text = op.name;
      break;
    case "reaction.set":
      text = op.comment;
      break;
  }
  return text && text.trim() ? text : null;
}

/** Why a write will never be sent, and what to do about it (Unsaved.tsx). */
export function failedText(code: string, op: Command): string {
  const noun = writeNoun(op);
  const copy = writeText(op) !== null ? "; copy it if you need it." : ".";
  if (code === "unauthorised") return `This ${noun} was not sent: your access to the event ended first${copy}`;
  return `This ${noun} could not be saved because of a problem on the server. It has not been sent${copy}`;
}

/** Why a phone's session ended for good, and what "Join again" does (participant.tsx). */
export function refusedText(code: string | undefined, message: string | undefined): string {
  if (code === "unauthorised") {
    return `${ACCESS_ENDED} What you wrote stays with the event. To take part again, join again: you will join as a new participant.`;
  }
  if (code === "not_found") return "This event no longer exists on this server.";
  return message ?? "This phone is no longer connected to the event.";
}
