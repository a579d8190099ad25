// Distributions: two filter sets side by side (A and B), each with the session figures of
// GET /api/public/analytics/sessions. Both sets live in the URL as a.* and b.* parameters.

import { h, replace, figure, fmtInt, fmtMs, fmtCost, fmtNum } from "./dom.js";
import * as api from "./api.js";
import { compare } from "./charts.js";

const FIELDS = [
  ["channel", "Channel"], ["userTier", "User tier"], ["environment", "Environment"], ["journey", "Journey"],
  ["status", "Status"], ["dropoff", "Drop-off"], ["converted", "Converted"], ["fromTimestamp", "From"], ["toTimestamp", "To"],
];
const METRICS = [
  ["durationMs", "Duration", fmtMs], ["turns", "Turns", fmtInt], ["totalTokens", "Tokens", fmtInt],
  ["totalCost", "Cost", fmtCost], ["turnLatencyMs", "Turn latency", fmtMs], ["userSatisfaction", "Satisfaction", (v) => fmtNum(v)],
];

export async function distributions(ctx) {
  const { container, params, setQuery } = ctx;
  const forms = {};
  const side = (key) => {
    const form = h("form", { class: "filters compact", "data-testid": `set-${key}` }, h("h2", {}, `Set ${key.toUpperCase()}`),
      FIELDS.map(([name, label]) => h("div", { class: "field" }, h("label", { for: `${key}-${name}` }, label),
        h("input", { id: `${key}-${name}`, name, value: params.get(`${key}.${name}`) || "" }))),
      h("button", { type: "submit", "data-testid": `apply-${key}` }, "Apply"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      load();
    });
    forms[key] = form;
    return form;
  };
  const result = h("div", { class: "result" });
  container.append(h("h1", {}, "Distributions"), h("div", { class: "sides" }, side("a"), side("b")), result);

  const query = (key) => {
    const q = new URLSearchParams();
    for (const [name] of FIELDS) {
      const value = forms[key].elements[name].value.trim();
      if (value) q.set(name, value);
    }
    return q;
  };

  async function load() {
    const url = new URLSearchParams();
    for (const key of ["a", "b"]) for (const [name, value] of query(key)) url.set(`${key}.${name}`, value);
    setQuery(url);
    let a, b;
    try {
      [a, b] = await Promise.all([api.get("/api/public/analytics/sessions", query("a")), api.get("/api/public/analytics/sessions", query("b"))]);
    } catch (e) {
      if (e.status === 401) throw e;
      replace(result, h("p", { class: "error" }, e.message));
      return;
    }
    a = a.json;
    b = b.json;
    replace(result,
      h("table", { class: "figures", "data-testid": "distribution-table" },
        h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "A p50"), h("th", {}, "A p90"), h("th", {}, "B p50"), h("th", {}, "B p90"))),
        h("tbody", {},
          h("tr", {}, h("th", {}, "Sessions"), h("td", { colspan: "2" }, figure("a-count", a.count, fmtInt(a.count))), h("td", { colspan: "2" }, figure("b-count", b.count, fmtInt(b.count)))),
          METRICS.map(([key, label, fmt]) => h("tr", {}, h("th", {}, label),
            h("td", {}, figure(`a-${key}-p50`, a[key].p50, fmt(a[key].p50))), h("td", {}, figure(`a-${key}-p90`, a[key].p90, fmt(a[key].p90))),
            h("td", {}, figure(`b-${key}-p50`, b[key].p50, fmt(b[key].p50))), h("td", {}, figure(`b-${key}-p90`, b[key].p90, fmt(b[key].p90))))))),
      h("section", { class: "card" }, h("h2", {}, "Medians, A against B"),
        compare(METRICS.map(([key, label, fmt]) => ({ label, a: a[key].p50, b: b[key].p50, textA: fmt(a[key].p50), textB: fmt(b[key].p50) })))));
  }
  await load();
}
