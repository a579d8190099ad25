// Users: the project's end users (stored, usually hashed, ids) and one user with their sessions.

import { h, replace, figure, fmtInt, fmtCost, fmtTime, fmtNum, fmtMs } from "./dom.js";
import * as api from "./api.js";

export async function users(ctx) {
  const { container, params, setQuery, projectPath } = ctx;
  const result = h("div", {});
  container.append(h("h1", {}, "Users"), result);
  async function load(page) {
    const q = new URLSearchParams({ orderBy: params.get("orderBy") || "lastSeen.desc" });
    if (page > 1) q.set("page", String(page));
    setQuery(q);
    q.set("limit", "25");
    const { data, meta } = (await api.get("/api/public/users", q)).json;
    replace(result,
      h("p", {}, figure("users-total", meta.totalItems, fmtInt(meta.totalItems)), " users"),
      h("table", { class: "list", "data-testid": "users-table" },
        h("thead", {}, h("tr", {}, ["User", "First seen", "Last seen", "Sessions", "Mean turns", "Cost"].map((t) => h("th", {}, t)))),
        h("tbody", {}, data.map((u) => h("tr", { "data-testid": "user-row", "data-id": u.id },
          h("td", {}, h("a", { href: `${projectPath("users")}/${api.enc(u.id)}`, "data-nav": "" }, u.id)),
          h("td", {}, fmtTime(u.firstSeen)), h("td", {}, fmtTime(u.lastSeen)),
          h("td", { class: "num" }, figure("user-sessions", u.sessions, fmtInt(u.sessions))),
          h("td", { class: "num" }, fmtNum(u.meanSessionTurns, 1)),
          h("td", { class: "num" }, fmtCost(u.totalCost)))))),
      h("div", { class: "pager" },
        h("button", { type: "button", disabled: meta.page <= 1, onclick: () => load(meta.page - 1) }, "← Previous"),
        h("span", {}, `page ${meta.page} of ${Math.max(1, meta.totalPages)}`),
        h("button", { type: "button", disabled: meta.page >= meta.totalPages, onclick: () => load(meta.page + 1) }, "Next →")));
  }
  await load(Number(params.get("page")) || 1);
}

export async function userView(ctx) {
  const { container, id, projectPath } = ctx;
  const u = (await api.get(`/api/public/users/${api.enc(id)}`)).json;
  const all = new URLSearchParams({ userId: u.id });
  container.append(h("h1", {}, "User ", h("span", { class: "mono", "data-testid": "user-id" }, u.id)),
    h("div", { class: "kpis small" },
      [["Sessions", figure("user-sessions", u.sessions, fmtInt(u.sessions))], ["Traces", figure("user-traces", u.traces, fmtInt(u.traces))],
       ["Mean turns", fmtNum(u.meanSessionTurns, 1)], ["Mean minutes", fmtNum(u.meanSessionMinutes, 1)],
       ["Tokens", fmtInt(u.totalTokens)], ["Cost", figure("user-cost", u.totalCost, fmtCost(u.totalCost))],
       ["Retention", `${fmtInt(u.retentionDays)} days`]].map(([label, node]) =>
        h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, label), h("div", { class: "kpi-value" }, node)))),
    h("section", { class: "card" }, h("h2", {}, "Recent sessions"),
      h("table", { class: "list", "data-testid": "user-sessions-table" },
        h("thead", {}, h("tr", {}, ["Session", "Created", "Status", "Turns", "Duration", "Cost"].map((t) => h("th", {}, t)))),
        h("tbody", {}, u.recentSessions.map((s) => h("tr", { "data-testid": "user-session-row", "data-id": s.id },
          h("td", {}, h("a", { href: `${projectPath("sessions")}/${api.enc(s.id)}`, "data-nav": "" }, s.id)),
          h("td", {}, fmtTime(s.createdAt)), h("td", {}, s.status + (s.endReason ? ` (${s.endReason})` : "")),
          h("td", { class: "num" }, fmtInt(s.turnCount)), h("td", { class: "num" }, fmtMs(s.durationMs)), h("td", { class: "num" }, fmtCost(s.totalCost)))))),
      h("p", {}, h("a", { href: `${projectPath("sessions")}?${all}`, "data-nav": "" }, "All sessions of this user"))));
}
