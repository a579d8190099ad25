// Hand-made SVG charts. Labels are text nodes; sizes come from numbers only.

import { s, h } from "./dom.js";

/**
 * Horizontal bars: rows of {label, value, text, href, testid}. A row with href is a link
 * (the drop-off bars open their sessions).
 */
export function bars(rows, { width = 760, rowHeight = 26, labelWidth = 150, testid } = {}) {
  const max = Math.max(1e-12, ...rows.map((r) => r.value || 0));
  const height = Math.max(rowHeight, rows.length * rowHeight);
  const svg = s("svg", { class: "chart bars", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "data-testid": testid });
  const barSpace = width - labelWidth - 190;
  rows.forEach((row, i) => {
    const y = i * rowHeight;
    const w = Math.max(2, ((row.value || 0) / max) * barSpace);
    const group = s("g", { class: "bar", "data-testid": row.testid, "data-key": row.key === undefined ? null : String(row.key) },
      s("title", {}, `${row.label}: ${row.text}`),
      s("text", { x: labelWidth - 8, y: y + rowHeight * 0.65, "text-anchor": "end", class: "label" }, row.label),
      s("rect", { x: labelWidth, y: y + 4, width: w, height: rowHeight - 8, rx: 3 }),
      s("text", { x: labelWidth + w + 6, y: y + rowHeight * 0.65, class: "value" }, row.text));
    if (row.href) {
      const link = s("a", { href: row.href, class: "bar-link", "data-nav": "" }, group);
      svg.append(link);
    } else {
      svg.append(group);
    }
  });
  return svg;
}

/** A funnel: stages of {name, reached, text}; widths relative to the first stage. */
export function funnel(stages, { width = 360, rowHeight = 24, testid } = {}) {
  const first = Math.max(1, stages.length ? stages[0].reached : 1, ...stages.map((st) => st.reached));
  const height = Math.max(rowHeight, stages.length * rowHeight);
  const svg = s("svg", { class: "chart funnel", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "data-testid": testid });
  stages.forEach((stage, i) => {
    const w = Math.max(2, (stage.reached / first) * (width - 150));
    const x = (width - 150 - w) / 2;
    svg.append(s("g", { class: "stage" },
      s("title", {}, `${stage.name}: ${stage.text}`),
      s("rect", { x, y: i * rowHeight + 2, width: w, height: rowHeight - 4, rx: 2 }),
      s("text", { x: width - 145, y: i * rowHeight + rowHeight * 0.68, class: "label" }, `${stage.name} · ${stage.text}`)));
  });
  return svg;
}

/** A thin bar for a share in 0…1 (context-window use). */
export function meter(fraction, { width = 80, testid, warnAt = 0.8 } = {}) {
  const f = Math.max(0, Math.min(1, fraction || 0));
  return s("svg", { class: "meter" + (f >= warnAt ? " warn" : ""), width, height: 8, viewBox: `0 0 ${width} 8`, "data-testid": testid },
    s("rect", { class: "track", x: 0, y: 0, width, height: 8, rx: 4 }),
    s("rect", { class: "fill", x: 0, y: 0, width: Math.max(f > 0 ? 2 : 0, f * width), height: 8, rx: 4 }));
}

/**
 * The session's turn timeline: turns bucketed on a time axis, idle gaps and resumptions marked,
 * the end marked. `turns` have startTime; `gaps` are {afterIndex, ms, resumed}.
 */
export function timeline(turns, gaps, { end, width = 900, height = 56 } = {}) {
  const svg = s("svg", { class: "chart timeline", viewBox: `0 0 ${width} ${height}`, width: "100%", height, preserveAspectRatio: "none", "data-testid": "timeline" });
  if (!turns.length) return svg;
  const times = turns.map((t) => Date.parse(t.startTime));
  const t0 = times[0];
  const t1 = Math.max(end ? Date.parse(end) : 0, times[times.length - 1], t0 + 1);
  const x = (t) => 10 + ((t - t0) / (t1 - t0)) * (width - 20);
  const buckets = new Map();
  const bucketCount = Math.min(300, turns.length);
  for (const t of times) {
    const b = Math.min(bucketCount - 1, Math.floor(((t - t0) / (t1 - t0)) * bucketCount));
    buckets.set(b, (buckets.get(b) || 0) + 1);
  }
  const most = Math.max(...buckets.values());
  const bw = Math.max(2, (width - 20) / bucketCount - 1);
  svg.append(s("line", { class: "axis", x1: 10, x2: width - 10, y1: height - 12, y2: height - 12 }));
  for (const [b, n] of buckets) {
    const bh = 6 + (n / most) * (height - 26);
    svg.append(s("rect", { class: "turns", x: 10 + (b / bucketCount) * (width - 20), y: height - 12 - bh, width: bw, height: bh }));
  }
  for (const gap of gaps) {
    const a = times[gap.afterIndex], b = times[gap.afterIndex + 1];
    svg.append(s("rect", { class: gap.resumed ? "gap resumed" : "gap", x: x(a), y: 2, width: Math.max(2, x(b) - x(a)), height: height - 16 },
      s("title", {}, gap.resumed ? "back after the inactivity timeout" : "idle gap")));
  }
  if (end) svg.append(s("line", { class: "end", x1: x(Date.parse(end)), x2: x(Date.parse(end)), y1: 0, y2: height - 8 }, s("title", {}, "session end")));
  return svg;
}

/** Two distributions side by side: rows {label, a, b, text(a|b)}. */
export function compare(rows, { width = 560, rowHeight = 22 } = {}) {
  const wrap = h("div", { class: "compare" });
  for (const row of rows) {
    const max = Math.max(1e-12, row.a || 0, row.b || 0);
    const svg = s("svg", { class: "chart compare-row", width, height: rowHeight * 2, viewBox: `0 0 ${width} ${rowHeight * 2}` },
      s("text", { x: 0, y: rowHeight * 0.7, class: "label" }, row.label + " A"),
      s("rect", { class: "a", x: 130, y: 3, width: Math.max(1, ((row.a || 0) / max) * (width - 230)), height: rowHeight - 6 }),
      s("text", { x: 135 + ((row.a || 0) / max) * (width - 230), y: rowHeight * 0.7, class: "value" }, row.textA),
      s("text", { x: 0, y: rowHeight * 1.7, class: "label" }, row.label + " B"),
      s("rect", { class: "b", x: 130, y: rowHeight + 3, width: Math.max(1, ((row.b || 0) / max) * (width - 230)), height: rowHeight - 6 }),
      s("text", { x: 135 + ((row.b || 0) / max) * (width - 230), y: rowHeight * 1.7, class: "value" }, row.textB));
    wrap.append(svg);
  }
  return wrap;
}
