/**
 * The version report for the big screen: every change since the previously published
 * version, each with its reason and what in the room prompted it
 * (GET …/versions/{n}/report). Read-only, no controls.
 *
 *   <DraftReport event={session.event} token={token} activity={30} version={2}
 *                refresh={String(rationaleSeqs)} large />
 *
 * `refresh` is any string that changes when the report should be read again (new
 * rationales, a renamed theme); the previous report stays on screen meanwhile.
 */
import { draftReport } from "../core/http";
import { DiffSectionView } from "./DiffView";
import { plural } from "./model";
import type { DraftReport as Report } from "./types";
import { useLoad } from "./useLoad";

export interface DraftReportProps {
  event: string;
  token: string;
  activity: number;
  version: number;
  refresh?: string;
  large?: boolean;
}

export function DraftReport({ event, token, activity, version, refresh = "", large }: DraftReportProps) {
  const report = useLoad<Report>(
    `report:${event}:${activity}:${version}:${refresh}`,
    () => draftReport(event, activity, version, token),
    false,
  );
  const data = report.data;
  if (!data) {
    return (
      <p class="muted" role="status">
        {report.error ? `Could not load the changes: ${report.error.message}` : `Loading version ${version}…`}
      </p>
    );
  }
  return (
    <div class={`draft-report${large ? " draft-report-large" : ""}`} data-testid="draft-report" data-version={data.version}>
      <p class="draft-summary" data-testid="diff-summary">
        {data.from != null ? `Version ${data.version}, since version ${data.from}: ` : `Version ${data.version}: `}
        {data.summary.text}
        {data.unexplained > 0 ? ` (${plural(data.unexplained, "change")} not yet explained)` : ""}
      </p>
      {data.changes.length === 0 ? (
        <p class="muted">No sections changed.</p>
      ) : (
        data.changes.map((c, i) => (
          <DiffSectionView key={c.id ?? i} section={c} rationale={c.rationale} headingLevel={3} />
        ))
      )}
    </div>
  );
}
