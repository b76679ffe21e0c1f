/**
 * The pieces of "what changed": one section of a structured diff, with its added and
 * removed words inline as <ins>/<del> (underlined / struck through, and labelled for
 * screen readers, never told by colour alone), and a rationale with the links behind it.
 *
 *   <DiffSectionView section={s} rationale={r} headingLevel={3} />
 *   <RationaleBlock rationale={r} />
 *
 * Everything here is user text rendered as text; no HTML is inserted.
 */
import type { ComponentChildren } from "preact";
import type { DiffBlock, DiffSection, RationaleView, ResolvedLink } from "./types";

export const STATUS_LABEL: Record<DiffSection["status"], string> = {
  unchanged: "Unchanged",
  changed: "Changed",
  added: "New section",
  removed: "Removed section",
};

export function statusLabel(s: Pick<DiffSection, "status" | "moved">): string {
  if (s.status === "unchanged") return s.moved ? "Moved" : "Unchanged";
  return s.moved ? `${STATUS_LABEL[s.status]}, moved` : STATUS_LABEL[s.status];
}

const HEADING_MARK = /^#{1,6}[ \t]+/;

function tidy(text: string): string {
  return text.replace(/\s+$/, "");
}

function Block({ block, first }: { block: DiffBlock; first: boolean }) {
  if (block.op === "changed") {
    return (
      <p class="diff-block diff-changed">
        {block.words.map(([op, text], i) => {
          const shown = first && i === 0 ? text.replace(HEADING_MARK, "") : text;
          if (op === "+")
            return (
              <ins key={i}>
                <span class="visually-hidden">[added: </span>
                {shown}
                <span class="visually-hidden">]</span>
              </ins>
            );
          if (op === "-")
            return (
              <del key={i}>
                <span class="visually-hidden">[removed: </span>
                {shown}
                <span class="visually-hidden">]</span>
              </del>
            );
          return <span key={i}>{shown}</span>;
        })}
      </p>
    );
  }
  const text = tidy(block.text);
  if (!text) return null;
  if (block.op === "added")
    return (
      <p class="diff-block diff-added">
        <span class="diff-tag">Added</span>{" "}
        <ins>{text}</ins>
      </p>
    );
  if (block.op === "removed")
    return (
      <p class="diff-block diff-removed">
        <span class="diff-tag">Removed</span>{" "}
        <del>{text}</del>
      </p>
    );
  return <p class="diff-block diff-same">{text}</p>;
}

export interface DiffSectionViewProps {
  section: DiffSection;
  rationale?: RationaleView | null;
  headingLevel?: 2 | 3 | 4;
  /** Extra content at the end of the section (e.g. reaction buttons). */
  children?: ComponentChildren;
}

export function DiffSectionView({ section, rationale, headingLevel = 3, children }: DiffSectionViewProps) {
  const H = `h${headingLevel}` as "h3";
  const label = statusLabel(section);
  // The heading line is shown as the heading (with the section's status): skip a first
  // block that is only that line, unless its wording changed.
  const blocks = section.blocks.filter(
    (b, i) => !(i === 0 && b.op !== "changed" && section.heading != null && HEADING_MARK.test(b.text)),
  );
  const headingShown = section.blocks.length > 0 && blocks.length === section.blocks.length;
  return (
    <section
      class={`diff-section diff-status-${section.status}${section.moved ? " diff-moved" : ""}`}
      data-testid="diff-section"
      data-section-id={section.id ?? ""}
      data-status={section.status}
    >
      <H class="diff-heading">
        {section.heading ?? "Opening"}{" "}
        <span class={`badge badge-${section.status}`}>{label}</span>
      </H>
      {section.old_heading != null && (
        <p class="muted">
          Heading was: <del>{section.old_heading}</del>
        </p>
      )}
      {blocks.map((b, i) => (
        <Block key={i} block={b} first={i === 0 && headingShown} />
      ))}
      {rationale && <RationaleBlock rationale={rationale} />}
      {children}
    </section>
  );
}

const KIND_LABEL: Record<ResolvedLink["kind"], string> = { theme: "Theme", note: "Note", vote: "Vote" };

function linkStatus(link: ResolvedLink): string | null {
  switch (link.status) {
    case "renamed":
      return link.label ? `renamed; was “${link.label}”` : "renamed";
    case "merged":
      return "merged with other notes";
    case "hidden":
      return "hidden by the facilitators";
    case "deleted":
      return "since deleted";
    default:
      return null;
  }
}

function standing(link: ResolvedLink): string | null {
  const s = link.standing as { rank?: number; dots?: number } | null | undefined;
  if (!s || typeof s !== "object" || s.dots == null) return null;
  return `${s.rank != null ? `ranked ${s.rank}, ` : ""}${s.dots} ${s.dots === 1 ? "dot" : "dots"}`;
}

export function RationaleBlock({ rationale }: { rationale: RationaleView }) {
  return (
    <div class="rationale" data-testid="rationale">
      {rationale.rationale && (
        <p>
          <strong>Why: </strong>
          {rationale.rationale}
        </p>
      )}
      {rationale.links.length > 0 && (
        <>
          <p class="rationale-links-head">
            <strong>Prompted by:</strong>
          </p>
          <ul class="rationale-links">
            {rationale.links.map((link, i) => {
              const title = link.title ?? link.label;
              const note = linkStatus(link);
              const stand = standing(link);
              return (
                <li key={i} data-link-kind={link.kind} data-link-status={link.status}>
                  <span class="link-kind">{KIND_LABEL[link.kind]}:</span>{" "}
                  {title ? `“${title}”` : <em>not shown</em>}
                  {note && <span class="muted"> ({note})</span>}
                  {stand && <span class="muted"> — {stand}</span>}
                </li>
              );
            })}
          </ul>
        </>
      )}
    </div>
  );
}
