/** Join and observe ids (src/core/http.ts): a retried join is the same join. */
import { afterEach, describe, expect, test, vi } from "vitest";
import { HttpError, join, newRetryId, observe } from "../src/core/http";

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

const joined = { event: "ev_1", title: "T", participant: "p_1", token: "t", seq: 2 };

/** What each call to fetch sent as its body. */
function sent(fetch: ReturnType<typeof vi.fn>): Record<string, unknown>[] {
  return (fetch.mock.calls as unknown as [string, RequestInit][]).map(
    ([, init]) => JSON.parse(init.body as string) as Record<string, unknown>,
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
  localStorage.clear();
});

describe("join ids", () => {
  test("are URL-safe, 22 characters, and not repeated", () => {
    const ids = new Set(Array.from({ length: 200 }, newRetryId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  test("a join retried after a lost reply sends the same id; the next join a new one", async () => {
    const fetch = vi
      .fn()
      .mockRejectedValueOnce(new TypeError("Failed to fetch")) // the reply lost on wifi
      .mockResolvedValueOnce(answer(503, { error: { code: "unavailable", message: "retry" } }))
      .mockResolvedValueOnce(answer(201, joined))
      .mockResolvedValueOnce(answer(201, joined));
    vi.stubGlobal("fetch", fetch);
    await expect(join("ab3d-ef4h", "Ann", null, null)).rejects.toBeInstanceOf(HttpError);
    await expect(join("AB3DEF4H", "Ann", null, null)).rejects.toMatchObject({ status: 503 });
    await expect(join("ab3d ef4h", "Ann", null, null)).resolves.toEqual(joined);
    await join("AB3DEF4H", "Bob", null, null);
    const ids = sent(fetch).map((body) => body.join_id);
    expect(ids[0]).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).toBe(ids[0]);
    expect(ids[3]).not.toBe(ids[0]); // that join succeeded: this is another person's
  });

  test("survive a reload until the join succeeds", async () => {
    const fetch = vi.fn().mockRejectedValueOnce(new TypeError("Failed to fetch"));
    vi.stubGlobal("fetch", fetch);
    await expect(join("QRTU7898", null, null, null)).rejects.toBeInstanceOf(HttpError);
    vi.resetModules(); // the page reloads: nothing in memory survives, localStorage does
    const reloaded = await import("../src/core/http");
    fetch.mockResolvedValueOnce(answer(201, joined));
    await reloaded.join("QRTU7898", null, null, null);
    const [before, after] = sent(fetch);
    expect(after!.join_id).toBe(before!.join_id);
  });

  test("are kept per code, and observing has its own", async () => {
    const fetch = vi.fn(async () => answer(500, { error: { code: "internal", message: "x" } }));
    vi.stubGlobal("fetch", fetch);
    await join("AAAA4444", null, null, null).catch(() => undefined);
    await join("BBBB4444", null, null, null).catch(() => undefined);
    await observe("AAAA4444").catch(() => undefined);
    await observe("AAAA4444").catch(() => undefined);
    const [a, b, o1, o2] = sent(fetch);
    expect(a!.join_id).not.toBe(b!.join_id);
    expect(o1!.observe_id).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(o1!.observe_id).not.toBe(a!.join_id);
    expect(o2!.observe_id).toBe(o1!.observe_id);
  });
});
