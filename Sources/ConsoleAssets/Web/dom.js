// DOM helpers. Every value from traces reaches the page through text nodes or attribute
// values set here: no HTML is ever parsed from data (no innerHTML anywhere in the console).

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.setAttribute("class", value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: h("a", {href: "/x"}, "text", otherNode). Strings become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, the same way. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

const numberFormat = new Intl.NumberFormat("en-US");

export function fmtInt(value) {
  return value === null || value === undefined ? "–" : numberFormat.format(Math.round(value));
}

export function fmtNum(value, digits = 2) {
  if (value === null || value === undefined) return "–";
  return Number(value).toFixed(digits).replace(/\.?0+$/, "") || "0";
}

export function fmtPct(value) {
  return value === null || value === undefined ? "–" : (value * 100).toFixed(1) + "%";
}

export function fmtCost(value) {
  if (value === null || value === undefined) return "–";
  if (value === 0) return "$0";
  return value < 0.01 ? "$" + Number(value).toPrecision(2) : "$" + Number(value).toFixed(2);
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return Math.round(ms) + " ms";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + " s";
  const m = s / 60;
  if (m < 60) return m.toFixed(1) + " min";
  const hours = m / 60;
  return hours < 48 ? hours.toFixed(1) + " h" : (hours / 24).toFixed(1) + " d";
}

export function fmtTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** A number shown as text with its exact value in data-value (tests compare it with the API). */
export function figure(testid, value, text) {
  return h("span", { class: "figure", "data-testid": testid, "data-value": value === null || value === undefined ? "null" : String(value) }, text);
}
