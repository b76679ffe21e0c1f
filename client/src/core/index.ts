/**
 * The client's core, as views use it: `openSession` (connection, offline queue, state;
 * see contract.ts) and the wire types, named as in schemas/protocol.json. HTTP calls and
 * stored tokens are in http.ts.
 */
export { openSession } from "./session";
export { applyOp, applyOps, applySnapshot, emptyState, isKnownOp } from "./store";

// Every wire type; the contract's own names win where they overlap (Role is the same
// union in both).
export type * from "./protocol.gen";
export type {
  Command,
  EventState,
  PendingWrite,
  Role,
  Session,
  SessionOptions,
  Status,
  WriteResult,
} from "./contract";
