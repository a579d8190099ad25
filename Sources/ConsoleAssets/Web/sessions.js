// Sessions: every filter of GET /api/public/sessions (metadata included), kept in the URL;
// server-side sort and paging; export of the current filter as CSV or NDJSON.

import { h, replace, figure, fmtInt, fmtMs, fmtCost, fmtTime } from "./dom.js";
import * as api from "./api.js";

/** The list's filters: [parameter, label, kind, choices]. */
export const FILTERS = [
  ["fromTimestamp", "From", "datetime"],
  ["toTimestamp", "To", "datetime"],
  ["status", "Status", "select", ["", "active", "ended", "timed_out"]],
  ["userId", "User", "text"],
  ["environment", "Environment", "text"],
  ["channel", "Channel", "text"],
  ["userTier", "User tier", "text"],
  ["tag", "Tag", "text"],
  ["journey", "Journey", "text"],
  ["journeyStage", "Journey stage", "text"],
  ["minTurns", "Min turns", "number"],
  ["lastTurn", "Last turn", "number"],
  ["lastIntent", "Last intent", "text"],
  ["agentLastAction", "Agent's last action", "text"],
  ["dropoff", "Drop-off", "select", ["", "true", "false"]],
  ["converted", "Converted", "select", ["", "true", "false"]],
  ["hasTurnIssues", "Turn issues", "select", ["", "true", "false"]],
];
const SORTS = ["createdAt", "lastActivity", "duration", "cost", "turns"];
const LIMIT = "25";

/** The filter parameters of `params` (metadata[...] included), without paging or sort. */
export function filterParams(params) {
  const out = new URLSearchParams();
  for (const [key, value] of params) {
    if (!value) continue;
    if (FILTERS.some(([name]) => name === key) || /^metadata\[.+\]$/.test(key)) out.append(key, value);
  }
  return out;
}

function input(name, label, kind, choices, value) {
  const id = "f-" + name;
  let control;
  if (kind === "select") {
    control = h("select", { id, name }, choices.map((c) => h("option", { value: c, selected: c === (value || "") }, c || "any")));
  } else {
    control = h("input", { id, name, type: kind === "number" ? "number" : "text", min: kind === "number" ? "0" : null, value: value || "", placeholder: kind === "datetime" ? "2026-01-31T00:00:00Z" : "" });
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

export async function sessions(ctx) {
  const { container, params, setQuery, projectPath } = ctx;
  const orderBy = params.get("orderBy") || "createdAt.desc";
  const [sortField, sortDirection] = orderBy.split(".");
  const metadataRows = h("div", { class: "metadata-rows" });
  const addMetadataRow = (key = "", value = "") => metadataRows.append(h("div", { class: "field meta", "data-testid": "metadata-row" },
    h("input", { class: "meta-key", placeholder: "metadata key", value: key, "aria-label": "metadata key" }),
    h("input", { class: "meta-value", placeholder: "value", value, "aria-label": "metadata value" })));
  for (const [key, value] of params) {
    const m = /^metadata\[(.+)\]$/.exec(key);
    if (m) addMetadataRow(m[1], value);
  }
  addMetadataRow();
  const sort = h("select", { name: "sort", "data-testid": "sort" }, SORTS.map((f) => h("option", { value: f, selected: f === sortField }, f)));
  const direction = h("select", { name: "direction", "data-testid": "direction" }, ["desc", "asc"].map((d) => h("option", { value: d, selected: d === sortDirection }, d)));
  const form = h("form", { class: "filters", "data-testid": "filters" },
    FILTERS.map(([name, label, kind, choices]) => input(name, label, kind, choices, params.get(name))),
    h("div", { class: "field" }, h("label", {}, "Metadata"), metadataRows,
      h("button", { type: "button", class: "small", onclick: () => addMetadataRow() }, "+ metadata")),
    h("div", { class: "field" }, h("label", {}, "Sort"), sort, direction),
    h("div", { class: "field actions" }, h("button", { type: "submit", "data-testid": "apply" }, "Apply"),
      h("a", { href: projectPath("sessions"), "data-nav": "", class: "button secondary" }, "Clear")));
  const result = h("div", { class: "result" });
  container.append(h("h1", {}, "Sessions"), form, result);

  function currentParams(page) {
    const next = new URLSearchParams();
    for (const [name] of FILTERS) {
      const value = form.elements[name].value.trim();
      if (value) next.set(name, value);
    }
    for (const row of metadataRows.children) {
      const key = row.querySelector(".meta-key").value.trim();
      const value = row.querySelector(".meta-value").value.trim();
      if (key && value) next.append(`metadata[${key}]`, value);
    }
    next.set("orderBy", `${sort.value}.${direction.value}`);
    if (page > 1) next.set("page", String(page));
    return next;
  }

  async function load(page) {
    const query = currentParams(page);
    setQuery(query);
    const apiQuery = new URLSearchParams(query);
    apiQuery.set("limit", LIMIT);
    let answer;
    try {
      answer = (await api.get("/api/public/sessions", apiQuery)).json;
    } catch (e) {
      if (e.status === 401) throw e;
      replace(result, h("p", { class: "error", "data-testid": "filter-error" }, e.message));
      return;
    }
    const { data, meta } = answer;
    const exportQuery = filterParams(query);
    const exportLink = (format) => {
      const q = new URLSearchParams(exportQuery);
      q.set("format", format);
      return h("a", { href: `/api/public/export/sessions?${q}`, download: `sessions.${format}`, class: "button secondary", "data-testid": "export-" + format }, `Export ${format.toUpperCase()}`);
    };
    replace(result,
      h("div", { class: "result-head" },
        h("span", {}, figure("sessions-total", meta.totalItems, fmtInt(meta.totalItems)), " sessions"),
        h("span", { class: "spacer" }), exportLink("csv"), exportLink("ndjson")),
      h("table", { class: "list", "data-testid": "sessions-table" },
        h("thead", {}, h("tr", {}, ["Session", "Created", "User", "Status", "Turns", "Duration", "Cost", "Outcome"].map((t) => h("th", {}, t)))),
        h("tbody", {}, data.map((s) => h("tr", { "data-testid": "session-row", "data-id": s.id },
          h("td", {}, h("a", { href: `${projectPath("sessions")}/${api.enc(s.id)}`, "data-nav": "" }, s.id)),
          h("td", {}, fmtTime(s.createdAt)),
          h("td", {}, s.userId ? h("a", { href: `${projectPath("users")}/${api.enc(s.userId)}`, "data-nav": "" }, s.userId) : "–"),
          h("td", {}, s.status + (s.endReason ? ` (${s.endReason})` : "")),
          h("td", { class: "num" }, fmtInt(s.turnCount)),
          h("td", { class: "num" }, fmtMs(s.durationMs)),
          h("td", { class: "num" }, fmtCost(s.totalCost)),
          h("td", {}, s.journey.converted ? h("span", { class: "tag good" }, "converted") : s.dropoff.isDropoff ? h("span", { class: "tag bad" }, "drop-off") : ""))))),
      h("div", { class: "pager" },
        h("button", { type: "button", disabled: meta.page <= 1, onclick: () => load(meta.page - 1), "data-testid": "prev" }, "← Previous"),
        h("span", { "data-testid": "page" }, `page ${meta.page} of ${Math.max(1, meta.totalPages)}`),
        h("button", { type: "button", disabled: meta.page >= meta.totalPages, onclick: () => load(meta.page + 1), "data-testid": "next" }, "Next →")));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(1);
  });
  const page = Number(params.get("page")) || 1;
  await load(page >= 1 ? Math.floor(page) : 1);
}
