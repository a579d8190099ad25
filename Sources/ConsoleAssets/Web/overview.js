// Overview, "where users leave": the sessions, drop-off and conversion rates, percentiles,
// satisfaction, drop-off bars by group (each opening its sessions) and small journey funnels.

import { h, replace, figure, fmtInt, fmtPct, fmtMs, fmtCost, fmtNum } from "./dom.js";
import * as api from "./api.js";
import * as live from "./live.js";
import { bars, funnel } from "./charts.js";

const GROUPS = [
  ["lastTurn", "Last turn", "lastTurn"],
  ["lastIntent", "Last intent", "lastIntent"],
  ["agentLastAction", "Agent's last action", "agentLastAction"],
  ["channel", "Channel", "channel"],
  ["userTier", "User tier", "userTier"],
];

function age(ages, fetchedAt) {
  const oldest = Math.max(0, ...ages.filter((a) => a !== null));
  const asOf = new Date(fetchedAt - oldest * 1000).toISOString().slice(11, 19);
  return oldest > 0 ? `computed ${oldest} s before this load (as of ${asOf} UTC)` : `exact as of ${asOf} UTC`;
}

export async function overview(ctx) {
  const { container, params, setQuery, projectPath } = ctx;
  let groupBy = GROUPS.some(([g]) => g === params.get("groupBy")) ? params.get("groupBy") : "lastTurn";
  const body = h("div", { class: "overview" });
  const status = h("p", { class: "muted age", "data-testid": "overview-age" });
  const select = h("select", { "data-testid": "groupby", "aria-label": "Group drop-offs by" },
    GROUPS.map(([g, label]) => h("option", { value: g, selected: g === groupBy }, label)));
  container.append(h("h1", {}, "Where users leave"), status, body);

  async function load() {
    const [figures, dropoff, journeys, converted] = await Promise.all([
      api.get("/api/public/analytics/sessions"),
      api.get("/api/public/analytics/dropoff", { groupBy, limit: "20" }),
      api.get("/api/public/analytics/journeys"),
      api.get("/api/public/sessions", { converted: "true", limit: "1" }),
    ]);
    const funnels = await Promise.all(journeys.json.data.slice(0, 3).map((j) =>
      api.get(`/api/public/analytics/journeys/${api.enc(j.name)}`).then((r) => r.json)));
    const f = figures.json, d = dropoff.json;
    const convertedCount = converted.json.meta.totalItems;
    const conversion = f.count ? convertedCount / f.count : null;
    status.textContent = `${age([figures.age, dropoff.age, journeys.age], Date.now())} · follows new events live`;

    const kpi = (label, node, sub) => h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, label), h("div", { class: "kpi-value" }, node), sub ? h("div", { class: "kpi-sub" }, sub) : null);
    const pct = (dist, key, fmt, testid) => h("td", {}, figure(testid, dist[key], fmt(dist[key])));
    const row = (label, dist, fmt, id) => h("tr", {}, h("th", {}, label),
      pct(dist, "p50", fmt, `${id}-p50`), pct(dist, "p90", fmt, `${id}-p90`), pct(dist, "p99", fmt, `${id}-p99`));

    const dropoffRows = d.data.map((g) => {
      const key = g.key === null ? null : String(g.key);
      const filter = GROUPS.find(([id]) => id === groupBy)[2];
      const query = new URLSearchParams({ dropoff: "true" });
      if (key !== null) query.set(filter, key);
      return {
        key: key === null ? "(none)" : key,
        label: key === null ? "(not sent)" : (groupBy === "lastTurn" ? `turn ${key}` : key),
        value: g.dropoffs,
        text: `${g.dropoffs} · ${fmtPct(g.dropoffRate)} of ended`,
        href: `${projectPath("sessions")}?${query}`,
        testid: "dropoff-bar",
      };
    });

    replace(body,
      h("div", { class: "kpis" },
        kpi("Sessions", figure("kpi-sessions", f.count, fmtInt(f.count))),
        kpi("Drop-off rate", figure("kpi-dropoff-rate", d.dropoffRate, fmtPct(d.dropoffRate)), `${fmtInt(d.dropoffs)} of ${fmtInt(d.endedSessions)} ended sessions`),
        kpi("Conversion rate", figure("kpi-conversion-rate", conversion, fmtPct(conversion)), `${fmtInt(convertedCount)} converted sessions`),
        kpi("Satisfaction", figure("kpi-satisfaction", f.userSatisfaction.mean, fmtNum(f.userSatisfaction.mean)), `mean of ${fmtInt(f.userSatisfaction.count)} rated sessions`)),
      h("section", { class: "card" },
        h("div", { class: "card-head" }, h("h2", {}, "Drop-offs"), h("label", {}, "Group by ", select)),
        dropoffRows.length
          ? bars(dropoffRows, { testid: "dropoff-bars" })
          : h("p", { class: "muted", "data-testid": "no-dropoffs" }, "No drop-offs among the ended sessions.")),
      h("section", { class: "card" },
        h("h2", {}, "Sessions"),
        h("table", { class: "figures", "data-testid": "percentiles" },
          h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "p50"), h("th", {}, "p90"), h("th", {}, "p99"))),
          h("tbody", {},
            row("Duration", f.durationMs, fmtMs, "duration"),
            row("Turns", f.turns, fmtInt, "turns"),
            row("Cost", f.totalCost, fmtCost, "cost"),
            row("Turn latency", f.turnLatencyMs, fmtMs, "latency")))),
      h("section", { class: "card" },
        h("h2", {}, "Journeys"),
        funnels.length ? h("div", { class: "funnels" }, funnels.map((j) => h("div", { class: "funnel-box", "data-testid": "journey-funnel", "data-name": j.name },
          h("h3", {}, h("a", { href: `${projectPath("journeys")}?name=${api.enc(j.name)}`, "data-nav": "" }, j.name)),
          h("p", { class: "muted" }, figure("journey-conversion", j.conversionRate, fmtPct(j.conversionRate)), ` converted of ${fmtInt(j.sessions)}`),
          funnel(j.stages.map((st) => ({ name: st.name, reached: st.sessionsReached, text: fmtInt(st.sessionsReached) })), { width: 320 }))))
          : h("p", { class: "muted" }, "No journeys yet: send journey.name and journey.stage on your traces.")));
  }

  select.addEventListener("change", () => {
    groupBy = select.value;
    const next = new URLSearchParams(location.search);
    next.set("groupBy", groupBy);
    setQuery(next);
    load().catch(() => {});
  });

  await load();
  let timer = null;
  live.follow(null);
  const unsubscribe = live.subscribe(() => {
    clearTimeout(timer);
    timer = setTimeout(() => load().catch(() => {}), 200);
  });
  return () => {
    unsubscribe();
    clearTimeout(timer);
  };
}
