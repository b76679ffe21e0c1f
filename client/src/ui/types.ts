/**
 * Shapes the shared components use, derived from the contract (which takes them from
 * protocol.gen.ts) and core/http.ts, so nothing here restates the protocol.
 */
import type { EventState, Session } from "../core/contract";

export type NoteState = EventState["notes"][number];
export type Activity = EventState["activities"][number];
export type Theme = EventState["themes"][number];
export type DraftState = EventState["drafts"][number];
export type VoteResults = ReturnType<Session["tallies"]["peek"]>[number];
export type MyDots = ReturnType<Session["mine"]["peek"]>[number];
export type MyReactions = ReturnType<Session["reacted"]["peek"]>[number];
export type ReactionTotals = ReturnType<Session["reactions"]["peek"]>[number];
export type ReactionKind = "support" | "concern" | "question";

export type {
  DraftDiff,
  DraftReport,
  DraftVersion,
  DiffBlock,
  DiffSection,
  RationaleView,
  RenderedSection,
  ResolvedLink,
} from "../core/http";
