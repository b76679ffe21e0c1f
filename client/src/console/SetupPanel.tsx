/**
 * Setup: the event's title, stakeholder groups, tables and anonymity (event.update), and
 * everything the room needs to get in: the join code, the join link and a big QR code,
 * plus the observer and projector links. The facilitator key is shown until it is saved.
 * Under them, who has joined, with "Remove from event" (Participants.tsx).
 */
import { useEffect, useState } from "preact/hooks";
import type { EventState } from "../core/contract";
import type { EventUpdate } from "../core/protocol.gen";
import { Qr } from "../ui/Qr";
import { copyText, useConsole } from "./context";
import { Participants } from "./Participants";

type Anonymity = EventState["anonymity"];

const ANONYMITY: { value: Anonymity; label: string; help: string }[] = [
  { value: "everyone", label: "Names shown to everyone", help: "Everyone sees who wrote each note." },
  {
    value: "facilitators",
    label: "Names shown to facilitators only",
    help: "Phones, observers and the projector see notes without names.",
  },
  { value: "nobody", label: "Nobody sees names", help: "Not even facilitators; groups and tables still show." },
];

export function tablesToText(tables: EventState["tables"]): string {
  return tables.map((t) => (t.name ? `${t.number}: ${t.name}` : t.number)).join("\n");
}

/** "4: Oak" → {number "4", name "Oak"}; "4" → {number "4", name null}. */
export function parseTables(text: string): { tables: { number: string; name: string | null }[]; error: string | null } {
  const tables: { number: string; name: string | null }[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line) continue;
    const colon = line.indexOf(":");
    const number = (colon >= 0 ? line.slice(0, colon) : line).trim();
    const name = colon >= 0 ? line.slice(colon + 1).trim() || null : null;
    if (!number) return { tables, error: `Line ${i + 1}: a table needs a number before the colon.` };
    if (number.length > 20) return { tables, error: `Line ${i + 1}: a table number can be at most 20 characters.` };
    if (name && name.length > 60) return { tables, error: `Line ${i + 1}: a table name can be at most 60 characters.` };
    if (seen.has(number.toLowerCase())) return { tables, error: `Table ${number} is listed twice.` };
    seen.add(number.toLowerCase());
    tables.push({ number, name });
  }
  if (tables.length > 200) return { tables, error: "An event can have at most 200 tables." };
  return { tables, error: null };
}

function linesOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

export function SetupPanel({ state }: { state: EventState }) {
  const { act, credential } = useConsole();
  const [title, setTitle] = useState(state.title);
  const [groups, setGroups] = useState(state.groups.join("\n"));
  const [tables, setTables] = useState(tablesToText(state.tables));
  const [anonymity, setAnonymity] = useState<Anonymity>(state.anonymity);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // When someone else changes the settings, follow them unless this form was edited.
  const [seen, setSeen] = useState({ title: state.title, groups: state.groups.join("\n"), tables: tablesToText(state.tables), anonymity: state.anonymity });
  useEffect(() => {
    const next = { title: state.title, groups: state.groups.join("\n"), tables: tablesToText(state.tables), anonymity: state.anonymity };
    if (title === seen.title) setTitle(next.title);
    if (groups === seen.groups) setGroups(next.groups);
    if (tables === seen.tables) setTables(next.tables);
    if (anonymity === seen.anonymity) setAnonymity(next.anonymity);
    setSeen(next);
  }, [state.title, state.groups.join("\n"), tablesToText(state.tables), state.anonymity]);

  async function save(e: Event) {
    e.preventDefault();
    const op: EventUpdate = { kind: "event.update" };
    const t = title.trim();
    if (!t) {
      setError("The event needs a title.");
      return;
    }
    if (t !== state.title) op.title = t;
    const g = linesOf(groups);
    if (g.join("\n") !== state.groups.join("\n")) op.groups = g;
    const parsed = parseTables(tables);
    if (parsed.error) {
      setError(parsed.error);
      return;
    }
    if (tablesToText(parsed.tables) !== tablesToText(state.tables)) op.tables = parsed.tables;
    if (anonymity !== state.anonymity) op.anonymity = anonymity;
    if (Object.keys(op).length < 2) {
      setError("Nothing has changed.");
      return;
    }
    setError(null);
    setBusy(true);
    const result = await act(op, "Event settings saved.");
    setBusy(false);
    if (!result.ok) setError(result.message);
  }

  const origin = window.location.origin;
  const joinUrl =
    typeof credential.join_url === "string" && credential.code === state.code
      ? credential.join_url
      : `${origin}/j/${state.code}`;
  const observerUrl =
    typeof credential.observer_url === "string" && credential.code === state.code
      ? credential.observer_url
      : `${origin}/o/${state.code}`;
  const projectorUrl =
    typeof credential.projector_url === "string" && credential.code === state.code
      ? credential.projector_url
      : `${origin}/p/${state.code}`;

  return (
    <div class="panel setup-panel">
      <h2>Setup</h2>
      <KeyNotice />
      <div class="setup-grid">
        <section aria-labelledby="join-heading" class="card join-card">
          <h3 id="join-heading">Getting the room in</h3>
          <p class="join-code-line">
            Join code
            <strong class="join-code" data-testid="join-code">
              {state.code}
            </strong>
          </p>
          <Qr text={joinUrl} label={`QR code for the join link ${joinUrl}: scan it with a phone camera`} class="join-qr" />
          <LinkLine label="Join link" testid="join-url" url={joinUrl} />
          <LinkLine label="Observer link (read-only, for people following remotely)" testid="observer-url" url={observerUrl} />
          <LinkLine label="Projector link (open it on the big screen)" testid="projector-url" url={projectorUrl} />
          <p class="hint">
            {state.participants.length} {state.participants.length === 1 ? "participant has" : "participants have"} joined.
          </p>
        </section>

        <section aria-labelledby="settings-heading" class="card">
          <h3 id="settings-heading">Event settings</h3>
          <form onSubmit={save} data-testid="setup-form" noValidate>
            <label for="setup-title">Title</label>
            <input
              id="setup-title"
              data-testid="setup-title"
              type="text"
              maxLength={200}
              value={title}
              onInput={(e) => setTitle(e.currentTarget.value)}
            />
            <label for="setup-groups">Stakeholder groups, one per line</label>
            <textarea
              id="setup-groups"
              data-testid="setup-groups"
              rows={6}
              value={groups}
              onInput={(e) => setGroups(e.currentTarget.value)}
            />
            <label for="setup-tables">Tables, one per line</label>
            <p class="hint" id="setup-tables-hint">
              A number, and a name after a colon if tables have names: <code>4: Oak</code>.
            </p>
            <textarea
              id="setup-tables"
              data-testid="setup-tables"
              rows={6}
              aria-describedby="setup-tables-hint"
              value={tables}
              onInput={(e) => setTables(e.currentTarget.value)}
            />
            <fieldset class="radio-group">
              <legend>Who sees participants' names</legend>
              {ANONYMITY.map((a) => (
                <div class="radio-row" key={a.value}>
                  <input
                    type="radio"
                    name="anonymity"
                    id={`anon-${a.value}`}
                    value={a.value}
                    data-testid={`setup-anonymity-${a.value}`}
                    checked={anonymity === a.value}
                    onChange={() => setAnonymity(a.value)}
                  />
                  <label for={`anon-${a.value}`} class="inline-label">
                    {a.label}
                    <span class="hint"> — {a.help}</span>
                  </label>
                </div>
              ))}
            </fieldset>
            {error && (
              <p class="form-error" role="alert" data-testid="setup-error">
                {error}
              </p>
            )}
            <p>
              <button type="submit" data-testid="setup-save" disabled={busy}>
                Save settings
              </button>
            </p>
          </form>
        </section>
      </div>
      <Participants state={state} />
    </div>
  );
}

function LinkLine({ label, url, testid }: { label: string; url: string; testid: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="link-line">
      <p class="link-label">{label}</p>
      <p class="link-value">
        <a href={url} target="_blank" rel="noopener" data-testid={testid}>
          {url}
        </a>{" "}
        <button
          type="button"
          class="secondary small"
          aria-label={`Copy the ${label.split(" (")[0]?.toLowerCase() ?? "link"}`}
          onClick={async () => setCopied(await copyText(url))}
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </p>
    </div>
  );
}

/** The facilitator key, shown until the facilitator says it is saved, then on request. */
function KeyNotice() {
  const { credential, updateCredential, event } = useConsole();
  const key = typeof credential.key === "string" ? credential.key : null;
  const [copied, setCopied] = useState(false);
  if (!key) return null;
  const link = `${window.location.origin}/f/${encodeURIComponent(event)}#key=${encodeURIComponent(key)}`;
  const body = (
    <>
      <p>
        This link opens the console on another laptop (for a co-facilitator, or if this browser's data is
        cleared). The server cannot show the key again: keep the link somewhere safe and share it only with
        facilitators.
      </p>
      <p class="key-line">
        <code data-testid="facilitator-link">{link}</code>{" "}
        <button type="button" class="secondary small" onClick={async () => setCopied(await copyText(link))}>
          {copied ? "Copied" : "Copy the link"}
        </button>
      </p>
    </>
  );
  if (credential.keyAcknowledged) {
    return (
      <details class="key-details">
        <summary>Facilitator link (for a co-facilitator)</summary>
        {body}
      </details>
    );
  }
  return (
    <section class="callout" aria-labelledby="key-heading" data-testid="key-notice">
      <h3 id="key-heading">Save the facilitator link</h3>
      {body}
      <button type="button" data-testid="key-ack" onClick={() => updateCredential({ keyAcknowledged: true })}>
        I have saved it
      </button>
    </section>
  );
}
