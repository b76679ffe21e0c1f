/**
 * Components for issue 12, rendered in happy-dom with Preact (no browser): the console's
 * "Remove from event" with its confirm step, the notice of writes that will never be sent,
 * and the plain wording of error codes.
 */
import { type ComponentChild, h, render } from "preact";
import { act as flush } from "preact/test-utils";
import { signal } from "@preact/signals";
import { afterEach, describe, expect, test, vi } from "vitest";
import type { Command, EventState, FailedWrite, Session, WriteResult } from "../src/core/contract";
import { Ctx, type ConsoleCtx } from "../src/console/context";
import { Participants } from "../src/console/Participants";
import { politeError } from "../src/console/Console";
import { Unsaved } from "../src/ui/Unsaved";
import { failedText, plainError, refusedText } from "../src/ui/errors";
import { emptyState } from "../src/core/store";

let root: HTMLElement;
afterEach(() => {
  render(null, root);
  root.remove();
});
function mount(node: ComponentChild): HTMLElement {
  root = document.createElement("div");
  document.body.appendChild(root);
  flush(() => render(node, root));
  return root;
}
const byTestId = (el: ParentNode, id: string) => [...el.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];

function state(): EventState {
  return {
    ...emptyState("ev_1"),
    participants: [
      { id: "p_1", name: "Jo Bloggs", group: "Staff", table: "4", joined_seq: 2 },
      { id: "p_2", name: null, group: "Guests", table: null, joined_seq: 3 },
    ],
  };
}

describe("console: Remove from event", () => {
  function setup() {
    const writes: Command[] = [];
    let answer: (r: WriteResult) => void = () => undefined;
    const ctx = {
      act: vi.fn((op: Command) => {
        writes.push(op);
        return new Promise<WriteResult>((resolve) => (answer = resolve));
      }),
    } as unknown as ConsoleCtx;
    const el = mount(h(Ctx.Provider, { value: ctx }, h(Participants, { state: state() })));
    return { el, writes, answer: (r: WriteResult) => flush(() => answer(r)) };
  }

  test("a real, labelled button per participant; a confirm that names them; then the write", async () => {
    const { el, writes, answer } = setup();
    const buttons = byTestId(el, "participant-remove") as HTMLButtonElement[];
    expect(buttons.map((b) => b.tagName)).toEqual(["BUTTON", "BUTTON"]);
    expect(buttons.map((b) => b.type)).toEqual(["button", "button"]);
    expect(buttons[0]!.textContent).toBe("Remove from event: Jo Bloggs · Staff · table 4");
    flush(() => buttons[0]!.click());
    expect(writes).toEqual([]); // not before the confirm
    const question = el.querySelector(".confirm p")!;
    expect(question.textContent).toBe(
      "Remove Jo Bloggs? Their phone will be signed out; their notes stay on the wall (hide them if needed).",
    );
    expect(document.activeElement).toBe(question);
    expect(el.querySelector(".confirm")!.getAttribute("role")).toBe("group");
    flush(() => byTestId(el, "participant-remove-confirm")[0]!.click());
    expect(writes).toEqual([{ kind: "participant.remove", participant: "p_1" }]);
    await answer({ ok: true, seq: 9, dup: false });
    expect(document.activeElement?.id).toBe("people-heading");
  });

  test("cancel (or Escape) sends nothing and gives the focus back; someone with no name is described", () => {
    const { el, writes } = setup();
    flush(() => byTestId(el, "participant-remove")[1]!.click());
    expect(el.querySelector(".confirm p")!.textContent).toMatch(/^Remove this participant \(no name, Guests\)\?/);
    flush(() => byTestId(el, "participant-remove-cancel")[0]!.click());
    expect(el.querySelector(".confirm")).toBeNull();
    expect(document.activeElement).toBe(byTestId(el, "participant-remove")[1]);
    flush(() => byTestId(el, "participant-remove")[0]!.click());
    flush(() => {
      el.querySelector(".confirm")!.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    });
    expect(el.querySelector(".confirm")).toBeNull();
    expect(writes).toEqual([]);
  });
});

describe("writes that will never be sent", () => {
  function fakeSession(failed: FailedWrite[]): Session {
    const list = signal<readonly FailedWrite[]>(failed);
    return {
      failed: list,
      dismissFailed: (id: string) => (list.value = list.value.filter((w) => w.id !== id)),
    } as unknown as Session;
  }
  const note = (id: string, code: string, text: string): FailedWrite => ({
    id, code, message: "the server failed on this write", failedAt: 1, queuedAt: 0,
    op: { kind: "note.add", text, colour: null },
  });

  test("say so plainly, show the text to copy, and go when dismissed", () => {
    const el = mount(h(Unsaved, { session: fakeSession([note("a:1", "internal", "Night buses, please")]) }));
    const [item] = byTestId(el, "unsaved-item");
    expect(item!.querySelector("[role=alert]")!.textContent).toBe(
      "This note could not be saved because of a problem on the server. It has not been sent; copy it if you need it.",
    );
    expect(byTestId(el, "unsaved-text")[0]!.textContent).toBe("Night buses, please");
    flush(() => byTestId(el, "unsaved-dismiss")[0]!.click());
    expect(byTestId(el, "unsaved")).toEqual([]);
  });

  test("a write without text, and one cut off by the end of access", () => {
    expect(failedText("internal", { kind: "dot.add", vote: 1, item: 2 })).toBe(
      "This change could not be saved because of a problem on the server. It has not been sent.",
    );
    expect(failedText("unauthorised", { kind: "note.add", text: "x", colour: null })).toBe(
      "This note was not sent: your access to the event ended first; copy it if you need it.",
    );
  });
});

describe("error codes in words", () => {
  test("rate_limited, internal and unauthorised are explained, not echoed", () => {
    for (const code of ["rate_limited", "internal", "unavailable", "unauthorised"]) {
      expect(plainError(code, "raw server text")).not.toBe("raw server text");
      expect(politeError(code, "raw")).not.toMatch(/^Something went wrong/);
    }
    expect(plainError("conflict", "version 3 was saved after version 1")).toBe("version 3 was saved after version 1");
    expect(refusedText("unauthorised", "you were removed from this event")).toMatch(
      /^Your access to this event has ended: a facilitator removed you from it, or your link expired\./,
    );
  });
});
