/**
 * Frames on the wire: one msgpack map per binary websocket message (docs/protocol.md,
 * "Transport"). Encoding drops `undefined` fields, because the schema refuses unknown
 * keys and a `null` where a field may only be absent; decoding never throws: a frame
 * that is not a map with a string tag `t` is `null`, and the connection carries on.
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import type { ClientFrame, ServerFrame } from "./protocol.gen";

// Integers above 2^32 come as uint64; the schema bounds every one by 2^53 - 1, so plain
// numbers hold them exactly (no BigInt).
const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

export function encodeFrame(frame: ClientFrame): Uint8Array {
  return encoder.encode(frame);
}

export function decodeFrame(data: ArrayBuffer | ArrayBufferView | string): ServerFrame | null {
  if (typeof data === "string") return null; // the server sends binary frames only
  let value: unknown;
  try {
    value = decoder.decode(data);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  return typeof (value as { t?: unknown }).t === "string" ? (value as ServerFrame) : null;
}

/** For tests and tools: a server frame as the server would encode it. */
export function encodeServerFrame(frame: ServerFrame): Uint8Array {
  return encoder.encode(frame);
}
