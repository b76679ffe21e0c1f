/** The HTTP API wrappers and stored credentials (src/core/http.ts). */
import { afterEach, describe, expect, test, vi } from "vitest";
import {
  HttpError,
  createEvent,
  draftDiff,
  draftReport,
  draftVersion,
  forgetCredential,
  join,
  loadCredential,
  lookup,
  normaliseCode,
  saveCredential,
} from "../src/core/http";

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe("requests", () => {
  test("JSON bodies and Bearer tokens go out as the API expects", async () => {
    const fetch = vi.fn(async () => answer(201, { event: "ev_1", token: "t" }));
    vi.stubGlobal("fetch", fetch);
    await join("c4g-htn", "Ann", null, "4");
    await createEvent("Title", ["A"], "create-key");
    await draftDiff("ev 1", 30, "tok", 1);
    await draftReport("ev_1", 30, 2, "tok");
    await draftVersion("ev_1", 30, 2, "tok");
    await lookup("C4G HTN");
    const calls = fetch.mock.calls as unknown as [string, RequestInit][];
    expect(calls[0]![0]).toBe("/api/join");
    expect(calls[0]![1]).toMatchObject({ method: "POST", headers: { "content-type": "application/json" } });
    expect(JSON.parse(calls[0]![1].body as string)).toEqual({
      code: "c4g-htn",
      name: "Ann",
      group: null,
      table: "4",
      join_id: expect.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
    });
    expect(calls[1]![1].headers).toMatchObject({ authorization: "Bearer create-key" });
    expect(calls[2]![0]).toBe("/api/events/ev%201/drafts/30/diff?from=1");
    expect(calls[2]![1].headers).toEqual({ authorization: "Bearer tok" });
    expect(calls[3]![0]).toBe("/api/events/ev_1/drafts/30/versions/2/report");
    expect(calls[4]![0]).toBe("/api/events/ev_1/drafts/30/versions/2");
    expect(calls[5]).toEqual(["/api/codes/C4G%20HTN", { method: "GET", headers: {}, body: undefined }]);
  });

  test("the one error shape becomes an HttpError", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => answer(404, { error: { code: "not_found", message: "no event has that code" } })));
    const err = await lookup("XXXXXX").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ code: "not_found", status: 404, message: "no event has that code" });
  });

  test("a page that is not the error shape, or no network, still gives an HttpError", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("<html>Bad gateway</html>", { status: 502 })));
    await expect(lookup("X")).rejects.toMatchObject({ code: "unavailable", status: 502 });
    vi.stubGlobal("fetch", vi.fn(async () => { throw new TypeError("Failed to fetch"); }));
    await expect(lookup("X")).rejects.toMatchObject({ code: "network", status: 0 });
  });
});

describe("credentials", () => {
  test("kept per kind and normalised join code; forgotten on request", () => {
    saveCredential("participant", "c4g-htn", { event: "ev_1", token: "t1", participant: "p_1" });
    expect(loadCredential("participant", "C4GHTN")).toEqual({ event: "ev_1", token: "t1", participant: "p_1" });
    expect(loadCredential("participant", " c4g htn ")?.token).toBe("t1");
    expect(loadCredential("observer", "C4GHTN")).toBeNull();
    saveCredential("facilitator", "ev_1", { event: "ev_1", token: "f" });
    expect(loadCredential("facilitator", "ev_1")?.token).toBe("f");
    forgetCredential("participant", "C4GHTN");
    expect(loadCredential("participant", "C4GHTN")).toBeNull();
  });

  test("unreadable entries are treated as absent", () => {
    localStorage.setItem("plenary:credential:participant:ABC", "{not json");
    expect(loadCredential("participant", "abc")).toBeNull();
    localStorage.setItem("plenary:credential:participant:ABC", JSON.stringify({ event: 1 }));
    expect(loadCredential("participant", "abc")).toBeNull();
  });

  test("join codes are read as the server reads them", () => {
    expect(normaliseCode("c4g-htn")).toBe("C4GHTN");
    expect(normaliseCode("ｃ４ｇ　ｈｔｎ")).toBe("C4GHTN"); // full-width, as some keyboards type
  });
});
