/**
 * /: start an event (facilitators), or join / watch one with its code.
 */
import { useState } from "preact/hooks";
import { HttpError, createEvent, lookup, normaliseCode, saveCredential } from "../core/http";
import "../console/home.css";

export function parseGroups(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const g = line.trim();
    if (!g || seen.has(g.toLowerCase())) continue;
    seen.add(g.toLowerCase());
    out.push(g);
  }
  return out;
}

export default function Home(_props: { params: Record<string, string> }) {
  return (
    <div class="home">
      <header class="home-header">
        <p class="home-brand">Plenary</p>
        <p class="home-tagline">Real-time rounds, themes, votes and drafts for a whole room.</p>
      </header>
      <main class="home-main">
        <h1 class="visually-hidden">Plenary: start or join an event</h1>
        <JoinForm />
        <StartForm />
      </main>
    </div>
  );
}

function StartForm() {
  const [title, setTitle] = useState("");
  const [groups, setGroups] = useState("");
  const [createKey, setCreateKey] = useState("");
  const [needKey, setNeedKey] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    const t = title.trim();
    if (!t) {
      setError("Give the event a title.");
      return;
    }
    const list = parseGroups(groups);
    const tooLong = list.find((g) => g.length > 60);
    if (tooLong) {
      setError(`The group “${tooLong.slice(0, 30)}…” is longer than 60 characters.`);
      return;
    }
    if (list.length > 40) {
      setError("An event can have at most 40 stakeholder groups.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const created = await createEvent(t, list, createKey.trim() || undefined);
      saveCredential("facilitator", created.event, {
        event: created.event,
        token: created.facilitator_token,
        key: created.facilitator_key,
        code: created.code,
        title: t,
        join_url: created.join_url,
        observer_url: created.observer_url,
        projector_url: created.projector_url,
        facilitator_url: created.facilitator_url,
        keyAcknowledged: false,
      });
      window.location.assign(`/f/${encodeURIComponent(created.event)}`);
    } catch (err) {
      setBusy(false);
      if (err instanceof HttpError && err.code === "unauthorised") {
        setNeedKey(true);
        setError(
          createKey
            ? "That create key is not right."
            : "This server asks for a create key before an event can be started.",
        );
      } else {
        setError(err instanceof Error ? err.message : "Could not create the event.");
      }
    }
  }

  return (
    <section class="home-card" aria-labelledby="start-heading">
      <h2 id="start-heading">Start an event</h2>
      <p class="hint">For facilitators. You get a console on this laptop, a join code and a QR code for the room.</p>
      <form onSubmit={submit} data-testid="create-form" noValidate>
        <label for="ev-title">Event title</label>
        <input
          id="ev-title"
          data-testid="create-title"
          type="text"
          maxLength={200}
          required
          value={title}
          onInput={(e) => setTitle(e.currentTarget.value)}
        />
        <label for="ev-groups">Stakeholder groups, one per line (optional)</label>
        <p id="ev-groups-hint" class="hint">
          Participants pick one when they join; results are broken down by them. For example: GP, Hospital
          staff, Resident.
        </p>
        <textarea
          id="ev-groups"
          data-testid="create-groups"
          rows={5}
          aria-describedby="ev-groups-hint"
          value={groups}
          onInput={(e) => setGroups(e.currentTarget.value)}
        />
        {needKey && (
          <>
            <label for="ev-create-key">Create key</label>
            <input
              id="ev-create-key"
              data-testid="create-key"
              type="password"
              autoComplete="off"
              value={createKey}
              onInput={(e) => setCreateKey(e.currentTarget.value)}
            />
          </>
        )}
        {error && (
          <p class="form-error" role="alert" data-testid="create-error">
            {error}
          </p>
        )}
        <p>
          <button type="submit" data-testid="create-submit" disabled={busy}>
            {busy ? "Creating…" : "Create the event"}
          </button>
        </p>
      </form>
    </section>
  );
}

function JoinForm() {
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState<"join" | "watch" | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function go(kind: "join" | "watch") {
    const normal = normaliseCode(code);
    if (!normal) {
      setError("Type the code shown in the room.");
      return;
    }
    setBusy(kind);
    setError(null);
    try {
      const info = await lookup(normal);
      window.location.assign(`/${kind === "join" ? "j" : "o"}/${encodeURIComponent(info.code)}`);
    } catch (err) {
      setBusy(null);
      if (err instanceof HttpError && err.code === "not_found") {
        setError("No event has that code. Check it and try again.");
      } else if (err instanceof HttpError && err.code === "network") {
        // Offline lookups should not stop someone joining: the page itself will retry.
        window.location.assign(`/${kind === "join" ? "j" : "o"}/${encodeURIComponent(normal)}`);
      } else {
        setError(err instanceof Error ? err.message : "Could not check that code.");
      }
    }
  }

  return (
    <section class="home-card" aria-labelledby="join-heading">
      <h2 id="join-heading">Join with a code</h2>
      <form
        data-testid="join-form"
        onSubmit={(e) => {
          e.preventDefault();
          void go("join");
        }}
      >
        <label for="join-code">Event code</label>
        <input
          id="join-code"
          data-testid="join-code"
          class="code-input"
          type="text"
          inputMode="text"
          autoComplete="off"
          autoCapitalize="characters"
          spellcheck={false}
          maxLength={20}
          value={code}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "join-error" : undefined}
          onInput={(e) => setCode(e.currentTarget.value)}
        />
        {error && (
          <p id="join-error" class="form-error" role="alert" data-testid="join-error">
            {error}
          </p>
        )}
        <div class="button-row">
          <button type="submit" data-testid="join-submit" disabled={busy != null}>
            {busy === "join" ? "Checking…" : "Join"}
          </button>
          <button
            type="button"
            class="secondary"
            data-testid="watch-submit"
            disabled={busy != null}
            onClick={() => void go("watch")}
          >
            {busy === "watch" ? "Checking…" : "Watch"}
          </button>
        </div>
        <p class="hint">Join to take part from your phone; watch to follow along without posting.</p>
      </form>
    </section>
  );
}
