/** Frames on the wire (src/core/codec.ts): msgpack maps, both ways. */
import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, test } from "vitest";
import { decodeFrame, encodeFrame, encodeServerFrame } from "../src/core/codec";
import type { ClientFrame, ServerFrame } from "../src/core/protocol.gen";

describe("codec", () => {
  test("client frames round-trip as msgpack maps", () => {
    const frames: ClientFrame[] = [
      { t: "hello", token: "a.b.c", since: 9007199254740991, client: "plenary-web/0.1" },
      { t: "write", id: "k3x9:17", op: { kind: "note.add", text: "Ünïcode ✓ \n tabs\t", colour: null } },
      { t: "ping", n: 4294967295 },
    ];
    for (const frame of frames) expect(decode(encodeFrame(frame))).toEqual(frame);
  });

  test("undefined fields are left out (the schema refuses unknown or null ones)", () => {
    const frame = { t: "write", id: "a:1", op: { kind: "note.add", text: "x", colour: undefined } } as ClientFrame;
    expect(decode(encodeFrame(frame))).toEqual({ t: "write", id: "a:1", op: { kind: "note.add", text: "x" } });
  });

  test("strings are msgpack str, integers are integers", () => {
    const bytes = encodeFrame({ t: "ping", n: 1 });
    // fixmap(2) "t" "ping" "n" 1
    expect([...bytes]).toEqual([0x82, 0xa1, 0x74, 0xa4, 0x70, 0x69, 0x6e, 0x67, 0xa1, 0x6e, 0x01]);
  });

  test("server frames decode from ArrayBuffer and views, large integers exactly", () => {
    const frame: ServerFrame = { t: "ack", id: "k:1", seq: 2 ** 53 - 1, dup: true };
    const bytes = encodeServerFrame(frame);
    expect(decodeFrame(bytes)).toEqual(frame);
    expect(decodeFrame(bytes.slice().buffer)).toEqual(frame);
    const welcome = { t: "welcome", heartbeat: 25.5, server_time: 1790000030120 };
    expect(decodeFrame(encode(welcome))).toEqual(welcome);
  });

  test("what is not a frame decodes to null, never throws", () => {
    expect(decodeFrame("text")).toBeNull();
    expect(decodeFrame(new Uint8Array([0xc1]))).toBeNull();
    expect(decodeFrame(new Uint8Array([]))).toBeNull();
    expect(decodeFrame(encode([1, 2]))).toBeNull();
    expect(decodeFrame(encode({ no: "tag" }))).toBeNull();
    expect(decodeFrame(encode({ t: 5 }))).toBeNull();
    expect(decodeFrame(encode(null))).toBeNull();
  });
});
