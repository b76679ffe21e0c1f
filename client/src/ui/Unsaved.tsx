/**
 * Writes that will never be sent (session.failed): the server failed on them (`internal`)
 * or this device's access ended first. Each says so plainly and shows what was written, to
 * copy, until the person dismisses it — nothing they wrote disappears without a word.
 *
 *   <Unsaved session={session} />      nothing at all while there is nothing to say
 */
import { useState } from "preact/hooks";
import type { FailedWrite, Session } from "../core/contract";
import { failedText, writeText } from "./errors";

export function Unsaved({ session }: { session: Session }) {
  const failed = session.failed.value;
  if (!failed.length) return null;
  return (
    <section class="unsaved" aria-label="Not sent" data-testid="unsaved">
      <ul class="unsaved-list">
        {failed.map((w) => (
          <UnsavedItem key={w.id} write={w} onDismiss={() => session.dismissFailed(w.id)} />
        ))}
      </ul>
    </section>
  );
}

function UnsavedItem({ write, onDismiss }: { write: FailedWrite; onDismiss(): void }) {
  const text = writeText(write.op);
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text ?? "");
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <li class="unsaved-item" data-testid="unsaved-item" data-code={write.code}>
      <p class="problem" role="alert">
        {failedText(write.code, write.op)}
      </p>
      {text !== null && (
        <blockquote class="unsaved-text" data-testid="unsaved-text">
          {text}
        </blockquote>
      )}
      <div class="row">
        {text !== null && (
          <button type="button" class="secondary small" onClick={() => void copy()}>
            {copied ? "Copied" : "Copy the text"}
          </button>
        )}
        <button type="button" class="secondary small" data-testid="unsaved-dismiss" onClick={onDismiss}>
          Dismiss
        </button>
      </div>
      {copied === false && (
        <p class="help" role="status">
          This browser would not copy it: select the text above and copy it by hand.
        </p>
      )}
    </li>
  );
}
