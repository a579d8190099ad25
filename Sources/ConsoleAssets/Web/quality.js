// Data quality: each finding of GET /api/public/quality with its samples and the fix it suggests.

import { h, figure, fmtInt, fmtTime } from "./dom.js";
import * as api from "./api.js";

const FINDINGS = [
  ["orphanTraces", "Traces without a session", "Send sessionId on every trace of a conversation (Langfuse SDK: the session_id argument; OpenTelemetry: the session.id attribute), or these turns count in no session."],
  ["observationsWithMissingParent", "Observations whose parent is missing", "Send the parent span before or with its children, and keep parentObservationId pointing at an observation of the same trace."],
  ["tracesWithoutRoot", "Traces without a root observation", "Wrap each turn in one root span (or generation) so latency and the observation tree have a start."],
  ["sessionsWithTurnIssues", "Sessions whose turn numbers needed repair", "Send turn.number (or turn_number in metadata) on each turn, counting from 1 without gaps or repeats; Parley derived the numbers shown here from start times."],
  ["rejectedEvents", "Rejected events", "Fix what each reason names and resend: rejected events were not stored."],
];

export async function quality(ctx) {
  const { container } = ctx;
  const report = (await api.get("/api/public/quality")).json;
  container.append(h("h1", {}, "Data quality"),
    h("p", { class: "muted" }, `From ${fmtTime(report.fromTimestamp)} to ${fmtTime(report.toTimestamp)}.`),
    ...FINDINGS.map(([key, title, fix]) => {
      const finding = report[key];
      return h("section", { class: "card finding" + (finding.count ? " bad" : " good"), "data-testid": "finding", "data-key": key },
        h("h2", {}, title, " ", figure("finding-count", finding.count, fmtInt(finding.count))),
        h("p", { class: "fix" }, h("strong", {}, "Fix: "), fix),
        finding.reasons && finding.reasons.length ? h("ul", {}, finding.reasons.map((r) => h("li", {}, JSON.stringify(r)))) : null,
        finding.samples.length ? h("details", {}, h("summary", {}, `${finding.samples.length} sample(s)`),
          h("pre", { class: "text" }, finding.samples.map((sample) => JSON.stringify(sample)).join("\n"))) : null);
    }));
}
