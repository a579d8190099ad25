// Session replay: the outcome, a timeline with idle gaps, resumptions and the end, and every
// turn (input and output as text, latency, tokens, cost, context use, repair flags, scores,
// the observation tree on demand). Turns come from the summary drill-down; their full form is
// loaded a page at a time as it scrolls into view, so a 10,000-turn session opens at once.

import { h, replace, figure, fmtInt, fmtMs, fmtCost, fmtTime, fmtNum } from "./dom.js";
import * as api from "./api.js";
import * as live from "./live.js";
import { meter, timeline } from "./charts.js";

const PAGE = 50;
const COLLAPSE_CHARS = 600;
/** A gap between turns at least this long shows as idle. */
const IDLE_GAP_MS = 5 * 60 * 1000;

/** Text of a stored input or output: chat messages as "role: content", anything else as JSON. */
export function valueText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  const message = (m) => {
    if (m && typeof m === "object" && "content" in m) {
      const content = Array.isArray(m.content)
        ? m.content.map((part) => (part && typeof part.text === "string" ? part.text : JSON.stringify(part))).join("\n")
        : typeof m.content === "string" ? m.content : JSON.stringify(m.content, null, 2);
      return m.role ? `${m.role}: ${content}` : content;
    }
    return null;
  };
  if (Array.isArray(value) && value.length && value.every((m) => message(m) !== null)) return value.map(message).join("\n\n");
  const single = message(value);
  return single !== null ? single : JSON.stringify(value, null, 2);
}

/** A block of text, collapsed when long, with a button to show all of it. */
function textBlock(label, value, testid) {
  const text = valueText(value);
  const pre = h("pre", { class: "text", "data-testid": testid }, text || "—");
  const block = h("div", { class: "io" }, h("div", { class: "io-label" }, label), pre);
  if (text.length > COLLAPSE_CHARS || text.split("\n").length > 12) {
    pre.classList.add("collapsed");
    const button = h("button", { type: "button", class: "small link", "data-testid": "expand" }, `Show all (${fmtInt(text.length)} characters)`);
    button.addEventListener("click", () => {
      const collapsed = pre.classList.toggle("collapsed");
      button.textContent = collapsed ? `Show all (${fmtInt(text.length)} characters)` : "Show less";
    });
    block.append(button);
  }
  return block;
}

/** The observations of a trace as a tree (by parentObservationId). */
function observationTree(observations) {
  const ids = new Set(observations.map((o) => o.id));
  const children = new Map();
  const roots = [];
  for (const o of observations) {
    if (o.parentObservationId && ids.has(o.parentObservationId) && o.parentObservationId !== o.id) {
      if (!children.has(o.parentObservationId)) children.set(o.parentObservationId, []);
      children.get(o.parentObservationId).push(o);
    } else {
      roots.push(o);
    }
  }
  const seen = new Set();
  const node = (o, depth) => {
    seen.add(o.id);
    const kids = depth > 100 ? [] : (children.get(o.id) || []).filter((k) => !seen.has(k.id));
    return h("li", { class: "obs " + (o.level === "ERROR" ? "error" : ""), "data-testid": "observation" },
      h("div", { class: "obs-head" },
        h("span", { class: "tag" }, o.type), " ", h("strong", {}, o.name || o.id),
        o.model ? h("span", { class: "muted" }, ` ${o.model}`) : null,
        o.latency !== null ? h("span", { class: "muted" }, ` · ${fmtMs(o.latency * 1000)}`) : null,
        o.totalTokens ? h("span", { class: "muted" }, ` · ${fmtInt(o.totalTokens)} tokens`) : null,
        o.calculatedTotalCost ? h("span", { class: "muted" }, ` · ${fmtCost(o.calculatedTotalCost)}`) : null,
        o.statusMessage ? h("span", { class: "error" }, ` · ${o.statusMessage}`) : null),
      (o.input !== null || o.output !== null) ? h("details", {}, h("summary", {}, "input and output"),
        textBlock("Input", o.input, "obs-input"), textBlock("Output", o.output, "obs-output")) : null,
      kids.length ? h("ul", {}, kids.map((k) => node(k, depth + 1))) : null);
  };
  return h("ul", { class: "tree", "data-testid": "observation-tree" }, roots.map((o) => node(o, 0)),
    observations.filter((o) => !seen.has(o.id)).map((o) => node(o, 0)));
}

/** One turn, full: header figures, input, output, scores, observations on demand. */
export function turnCard(trace, projectPath) {
  const ctxWindow = trace.contextWindow || {};
  const percent = ctxWindow.percent;
  const obsBox = h("div", { class: "obs-box" });
  const obsButton = h("button", { type: "button", class: "small", "data-testid": "load-observations" }, `Observations (${fmtInt(trace.observationCount)})`);
  obsButton.addEventListener("click", async () => {
    obsButton.disabled = true;
    try {
      const full = (await api.get(`/api/public/traces/${api.enc(trace.id)}`)).json;
      replace(obsBox, observationTree(full.observations));
      obsButton.hidden = true;
    } catch (e) {
      replace(obsBox, h("p", { class: "error" }, e.message));
      obsButton.disabled = false;
    }
  });
  return h("article", { class: "turn", id: "turn-" + trace.id, "data-testid": "turn", "data-trace-id": trace.id, "data-turn": trace.turnNumber },
    h("header", { class: "turn-head" },
      h("strong", {}, trace.turnNumber === null ? "Turn ?" : `Turn ${trace.turnNumber}`),
      trace.turnNumberSource && trace.turnNumberSource !== "sent" ? h("span", { class: "tag warn", title: "turn number repaired by Parley" }, trace.turnNumberSource) : null,
      trace.turnIssues.map((issue) => h("span", { class: "tag bad", "data-testid": "turn-issue" }, issue)),
      h("span", { class: "muted" }, fmtTime(trace.timestamp)),
      h("span", { class: "spacer" }),
      h("span", { title: "latency" }, figure("turn-latency", trace.latencyMs, fmtMs(trace.latencyMs))),
      h("span", { title: "tokens" }, figure("turn-tokens", trace.totalTokens, fmtInt(trace.totalTokens) + " tok")),
      h("span", { title: "cost" }, figure("turn-cost", trace.totalCost, fmtCost(trace.totalCost))),
      h("span", { class: "ctx", title: percent === null ? "context use not known" : `context window ${fmtNum(percent, 1)}% used` },
        meter(percent === null ? 0 : percent / 100, { testid: "context-bar" }), percent === null ? "" : ` ${fmtNum(percent, 0)}%`)),
    h("div", { class: "turn-name muted" }, trace.name || ""),
    textBlock("Input", trace.input, "turn-input"),
    textBlock("Output", trace.output, "turn-output"),
    (trace.scores || []).length ? h("div", { class: "scores" }, trace.scores.map((sc) =>
      h("span", { class: "tag score", "data-testid": "score" }, `${sc.name}: ${sc.value !== undefined && sc.value !== null ? fmtNum(sc.value) : sc.stringValue}`))) : null,
    h("div", { class: "turn-foot" }, obsButton, trace.sessionId ? null : null),
    obsBox);
}

function outcome(s) {
  const idle = s.dropoff.sinceLastTurnMs ?? s.idleTimeMs;
  if (s.journey.converted) {
    return { kind: "good", text: `Converted at turn ${s.journey.conversionTurn ?? "?"}` + (s.journey.name ? ` (${s.journey.name})` : "") };
  }
  if (s.dropoff.isDropoff) {
    const parts = [`Dropped after turn ${s.dropoff.lastTurnNumber ?? "?"}`];
    if (s.dropoff.lastIntent) parts.push(`last intent ${s.dropoff.lastIntent}`);
    if (s.dropoff.agentLastAction) parts.push(`agent's last action ${s.dropoff.agentLastAction}`);
    if (idle !== null && idle !== undefined) parts.push(`idle ${fmtMs(idle)}`);
    return { kind: "bad", text: parts.join(", ") };
  }
  if (s.status === "active") return { kind: "neutral", text: `Active: ${fmtInt(s.turnCount)} turns so far, last activity ${fmtTime(s.lastActivity)}` };
  return { kind: "neutral", text: `Ended after turn ${s.lastTurnNumber ?? s.turnCount}` + (s.endReason ? ` (${s.endReason})` : "") };
}

/** Gaps between turns: idle ones, and resumptions after the inactivity timeout. */
function gapsOf(turns, timeoutMs) {
  const gaps = [];
  for (let i = 0; i + 1 < turns.length; i++) {
    const end = Date.parse(turns[i].startTime) + (turns[i].latencyMs || 0);
    const ms = Date.parse(turns[i + 1].startTime) - end;
    if (ms >= IDLE_GAP_MS) gaps.push({ afterIndex: i, ms, resumed: timeoutMs !== null && ms >= timeoutMs });
  }
  return gaps;
}

export async function replay(ctx) {
  const { container, id, projectPath, me } = ctx;
  let summary = (await api.get(`/api/public/sessions/${api.enc(id)}`, { fields: "summary" })).json;
  let timeoutMs = null;
  try {
    const settings = (await api.get(`/api/public/projects/${api.enc(me.projectId)}/settings`)).json;
    timeoutMs = settings.effective.inactivityTimeoutSeconds * 1000;
  } catch (_) {
    timeoutMs = null;
  }
  const head = h("div", { class: "replay-head" });
  const list = h("div", { class: "turns", "data-testid": "turns" });
  container.append(head, list);
  const pages = [];
  let gapBefore = new Map();

  function renderHead() {
    const s = summary;
    const o = outcome(s);
    const gaps = gapsOf(s.turns, timeoutMs);
    gapBefore = new Map(gaps.map((g) => [g.afterIndex + 1, g]));
    replace(head,
      h("h1", {}, "Session ", h("span", { class: "mono", "data-testid": "session-id" }, s.id)),
      h("p", { class: "muted" },
        s.userId ? ["user ", h("a", { href: `${projectPath("users")}/${api.enc(s.userId)}`, "data-nav": "" }, s.userId), " · "] : null,
        s.channel ? `${s.channel} · ` : null, `${s.status} · created ${fmtTime(s.createdAt)}`),
      h("section", { class: `card outcome ${o.kind}`, "data-testid": "outcome" }, o.text),
      h("div", { class: "kpis small" }, [
        ["Turns", figure("replay-turns", s.turnCount, fmtInt(s.turnCount))],
        ["Duration", figure("replay-duration", s.durationMs, fmtMs(s.durationMs))],
        ["Tokens", figure("replay-tokens", s.totalTokens, fmtInt(s.totalTokens))],
        ["Cost", figure("replay-cost", s.totalCost, fmtCost(s.totalCost))],
        ["Peak context", figure("replay-context", s.contextWindow.maxPercent, s.contextWindow.maxPercent === null ? "–" : fmtNum(s.contextWindow.maxPercent, 0) + "%")],
        ["Resumptions", figure("replay-resumptions", s.resumptions, fmtInt(s.resumptions))],
      ].map(([label, node]) => h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, label), h("div", { class: "kpi-value" }, node)))),
      h("section", { class: "card" }, h("h2", {}, "Timeline"),
        timeline(s.turns, gaps, { end: s.status === "active" ? null : s.endTime }),
        h("p", { class: "muted legend" }, `${gaps.length} idle gap(s) of 5 min or more, ${gaps.filter((g) => g.resumed).length} after the inactivity timeout; the line marks the end.`)));
  }

  function gapRow(index) {
    const gap = gapBefore.get(index);
    if (!gap) return null;
    return h("div", { class: "gap-row" + (gap.resumed ? " resumed" : ""), "data-testid": "gap" },
      gap.resumed ? `back after ${fmtMs(gap.ms)}, past the inactivity timeout` : `idle ${fmtMs(gap.ms)}`);
  }

  async function loadPage(p) {
    const page = pages[p];
    if (page.state === "loading") return;
    page.state = "loading";
    try {
      const answer = (await api.get(`/api/public/sessions/${api.enc(id)}/turns`, { page: String(p + 1), limit: String(PAGE) })).json;
      replace(page.el, answer.data.map((trace, k) => [gapRow(p * PAGE + k), turnCard(trace, projectPath)]));
      page.el.classList.remove("placeholder");
      page.el.style.minHeight = "";
      page.state = answer.data.length === PAGE ? "full" : "partial";
    } catch (e) {
      page.state = "error";
      replace(page.el, h("p", { class: "error" }, `Could not load turns: ${e.message}`));
    }
  }

  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) loadPage(Number(entry.target.dataset.page));
    }
  }, { rootMargin: "1200px 0px" });

  function ensurePages() {
    const count = Math.ceil(summary.turns.length / PAGE);
    for (let p = pages.length; p < count; p++) {
      const size = Math.min(PAGE, summary.turns.length - p * PAGE);
      const el = h("div", { class: "page placeholder", "data-page": String(p), "data-testid": "turn-page" }, `turns ${p * PAGE + 1}–${p * PAGE + size}`);
      el.style.minHeight = `${size * 160}px`;
      pages.push({ el, state: "empty" });
      list.append(el);
      observer.observe(el);
    }
  }

  let end = null;
  function renderEnd() {
    if (end) end.remove();
    const s = summary;
    end = s.status === "active" ? null
      : h("div", { class: "end-row", "data-testid": "end-marker" }, `Session ${s.status === "timed_out" ? "timed out" : "ended"}${s.endReason ? ` (${s.endReason})` : ""} · ${fmtTime(s.endTime)}`);
    if (end) container.append(end);
  }

  renderHead();
  ensurePages();
  renderEnd();
  if (location.hash.startsWith("#turn-")) {
    const index = summary.turns.findIndex((t) => "#turn-" + t.traceId === location.hash);
    if (index >= 0) {
      await loadPage(Math.floor(index / PAGE));
      document.getElementById(location.hash.slice(1))?.scrollIntoView();
    }
  }

  async function refresh() {
    const before = summary.turns.length;
    summary = (await api.get(`/api/public/sessions/${api.enc(id)}`, { fields: "summary" })).json;
    renderHead();
    ensurePages();
    renderEnd();
    // The last page that was shown may have new turns, and a changed turn may be on any loaded
    // page of the end: reload the loaded pages from the old end on.
    const from = Math.max(0, Math.floor(Math.max(0, before - 1) / PAGE));
    for (let p = from; p < pages.length; p++) if (pages[p].state !== "empty") { pages[p].state = "stale"; loadPage(p); }
  }

  live.follow(summary.id);
  let timer = null;
  const unsubscribe = live.subscribe(() => {
    clearTimeout(timer);
    timer = setTimeout(() => refresh().catch(() => {}), 100);
  });
  return () => {
    unsubscribe();
    observer.disconnect();
    clearTimeout(timer);
  };
}

/** A trace deep link (`htmlPath`): the turn, and the way into its session's replay. */
export async function traceView(ctx) {
  const { container, id, projectPath } = ctx;
  const trace = (await api.get(`/api/public/traces/${api.enc(id)}`)).json;
  container.append(h("h1", {}, "Trace ", h("span", { class: "mono", "data-testid": "trace-id" }, trace.id)),
    trace.sessionId ? h("p", {}, "In session ", h("a", { href: `${projectPath("sessions")}/${api.enc(trace.sessionId)}#turn-${trace.id}`, "data-nav": "", "data-testid": "trace-session-link" }, trace.sessionId)) : h("p", { class: "muted" }, "Not part of a session."),
    turnCard(trace, projectPath));
  container.querySelector("[data-testid=load-observations]")?.click();
  live.stop();
}
