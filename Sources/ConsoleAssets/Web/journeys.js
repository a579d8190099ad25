// Journeys: every journey with its conversion, one journey's funnel, and the sessions stuck at
// each stage (in the stage, not converted).

import { h, replace, figure, fmtInt, fmtPct, fmtMs, fmtTime } from "./dom.js";
import * as api from "./api.js";
import { funnel } from "./charts.js";

export async function journeys(ctx) {
  const { container, params, setQuery, projectPath } = ctx;
  const list = (await api.get("/api/public/analytics/journeys")).json.data;
  const detail = h("div", { class: "journey-detail" });
  container.append(h("h1", {}, "Journeys"),
    list.length ? h("table", { class: "list", "data-testid": "journeys-table" },
      h("thead", {}, h("tr", {}, ["Journey", "Sessions", "Converted", "Conversion", "Last seen"].map((t) => h("th", {}, t)))),
      h("tbody", {}, list.map((j) => h("tr", { "data-testid": "journey-row", "data-name": j.name },
        h("td", {}, h("a", { href: `${projectPath("journeys")}?name=${api.enc(j.name)}`, class: "journey-link", "data-name": j.name }, j.name)),
        h("td", { class: "num" }, figure("journey-sessions", j.sessions, fmtInt(j.sessions))),
        h("td", { class: "num" }, figure("journey-converted", j.converted, fmtInt(j.converted))),
        h("td", { class: "num" }, figure("journey-rate", j.conversionRate, fmtPct(j.conversionRate))),
        h("td", {}, fmtTime(j.lastSeen))))))
      : h("p", { class: "muted" }, "No journeys yet: send journey.name and journey.stage on your traces."),
    detail);

  async function show(name) {
    const j = (await api.get(`/api/public/analytics/journeys/${api.enc(name)}`)).json;
    const stuck = (stage) => {
      const q = new URLSearchParams({ journey: name, journeyStage: stage, converted: "false" });
      return `${projectPath("sessions")}?${q}`;
    };
    replace(detail, h("section", { class: "card", "data-testid": "journey-detail", "data-name": j.name },
      h("h2", {}, j.name),
      h("p", {}, figure("funnel-sessions", j.sessions, fmtInt(j.sessions)), " sessions, ",
        figure("funnel-converted", j.converted, fmtInt(j.converted)), " converted (",
        figure("funnel-rate", j.conversionRate, fmtPct(j.conversionRate)), "); median conversion at turn ",
        j.medianConversionTurn ?? "–", " after ", fmtMs(j.medianConversionTimeMs)),
      funnel(j.stages.map((st) => ({ name: st.name, reached: st.sessionsReached, text: `${fmtInt(st.sessionsReached)} reached` })), { width: 560, testid: "funnel" }),
      h("table", { class: "list" },
        h("thead", {}, h("tr", {}, ["Stage", "Reached", "From previous", "From start", "Median time in stage", "Stuck here"].map((t) => h("th", {}, t)))),
        h("tbody", {}, j.stages.map((st) => h("tr", { "data-testid": "stage-row", "data-stage": st.name },
          h("td", {}, st.name),
          h("td", { class: "num" }, figure("stage-reached", st.sessionsReached, fmtInt(st.sessionsReached))),
          h("td", { class: "num" }, fmtPct(st.conversionFromPrevious)),
          h("td", { class: "num" }, fmtPct(st.conversionFromStart)),
          h("td", { class: "num" }, fmtMs(st.medianTimeInStageMs)),
          h("td", {}, h("a", { href: stuck(st.name), "data-nav": "", "data-testid": "stuck-link" }, `${fmtInt(st.sessionsInStage)} in stage`))))))));
  }

  container.addEventListener("click", (event) => {
    const link = event.target.closest("a.journey-link");
    if (!link) return;
    event.preventDefault();
    const next = new URLSearchParams(location.search);
    next.set("name", link.dataset.name);
    setQuery(next);
    show(link.dataset.name);
  });
  const selected = params.get("name") || (list[0] && list[0].name);
  if (selected) await show(selected);
}
