// The console's shell: sign-in, navigation between views by URL, live updates.

import { h, replace } from "./dom.js";
import * as api from "./api.js";
import * as live from "./live.js";
import { overview } from "./overview.js";
import { sessions } from "./sessions.js";
import { replay, traceView } from "./replay.js";
import { journeys } from "./journeys.js";
import { distributions } from "./distributions.js";
import { users, userView } from "./users.js";
import { quality } from "./quality.js";

const VIEWS = [
  ["overview", "Overview", overview],
  ["sessions", "Sessions", sessions],
  ["journeys", "Journeys", journeys],
  ["distributions", "Distributions", distributions],
  ["users", "Users", users],
  ["quality", "Data quality", quality],
];

let me = null;
let cleanup = null;
const main = () => document.getElementById("main");

/** Goes to `url` inside the console (no reload). */
export function navigate(url, { replace: replaceState = false } = {}) {
  if (replaceState) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render();
}

/** Changes the query string of the current page without a new history entry or a render. */
export function setQuery(params) {
  const query = params.toString();
  history.replaceState(null, "", location.pathname + (query ? "?" + query : "") + location.hash);
}

function projectPath(view) {
  return `/project/${encodeURIComponent(me.projectId)}/${view}`;
}
export { projectPath };

function renderNav(active) {
  const nav = document.getElementById("nav");
  replace(nav, me ? VIEWS.map(([id, label]) =>
    h("a", { href: projectPath(id), "data-nav": "", class: id === active ? "active" : null, "data-testid": "nav-" + id }, label)) : []);
  document.getElementById("brand").setAttribute("href", me ? projectPath("overview") : "/");
  document.getElementById("who").textContent = me ? `${me.projectName} · ${me.publicKey}` : "";
  document.getElementById("signout").hidden = !me;
}

function signInForm(message) {
  live.stop();
  renderNav(null);
  const error = h("p", { class: "error", "data-testid": "signin-error", role: "alert" }, message || "");
  const publicKey = h("input", { name: "publicKey", id: "publicKey", autocomplete: "off", spellcheck: "false", required: true, placeholder: "pk-lf-…" });
  const secretKey = h("input", { name: "secretKey", id: "secretKey", type: "password", autocomplete: "off", required: true, placeholder: "sk-lf-…" });
  const form = h("form", { class: "signin", "data-testid": "signin-form" },
    h("h1", {}, "Sign in to Parley"),
    h("p", { class: "muted" }, "Paste a project's key pair, as `parley serve` printed it on its first start or `parley keys create` made it. The secret is checked once and not kept in the page."),
    h("label", { for: "publicKey" }, "Public key"), publicKey,
    h("label", { for: "secretKey" }, "Secret key"), secretKey,
    h("button", { type: "submit", "data-testid": "signin-submit" }, "Sign in"),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const { json } = await api.signIn(publicKey.value.trim(), secretKey.value.trim());
      secretKey.value = "";
      me = json;
      const path = location.pathname === "/" ? projectPath("overview") + location.search : location.pathname + location.search;
      navigate(path, { replace: true });
    } catch (e) {
      error.textContent = e.status === 401 ? "Those keys were not accepted." : `Sign-in failed: ${e.message}`;
    }
  });
  replace(main(), form);
  publicKey.focus();
}

/** Parses the path into a view. */
function route() {
  const parts = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { view: "overview" };
  if (parts[0] !== "project" || parts.length < 2) return { view: "notfound" };
  const projectId = parts[1];
  if (parts.length === 2) return { projectId, view: "overview" };
  if (parts.length === 3) return { projectId, view: parts[2] };
  if (parts.length === 4 && ["sessions", "traces", "users"].includes(parts[2])) {
    return { projectId, view: parts[2].slice(0, -1), id: parts[3] };
  }
  return { projectId, view: "notfound" };
}

async function render() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  if (!me) {
    try {
      const { json } = await api.whoAmI();
      me = json.signedIn ? json : null;
    } catch (_) {
      me = null;
    }
    if (!me) {
      signInForm();
      return;
    }
  }
  const r = route();
  if (!r.projectId && r.view === "overview") {
    navigate(projectPath("overview"), { replace: true });
    return;
  }
  if (r.projectId && r.projectId !== me.projectId) {
    renderNav(null);
    replace(main(), h("section", { class: "card", "data-testid": "wrong-project" },
      h("h1", {}, "Another project"),
      h("p", {}, `This link belongs to project ${r.projectId}; you are signed in to ${me.projectName} (${me.projectId}).`),
      h("p", {}, h("a", { href: projectPath("overview"), "data-nav": "" }, "Go to your project"))));
    return;
  }
  // Only the overview and the replay follow live events; they open the stream themselves.
  if (!["overview", "session"].includes(r.view)) live.stop();
  const container = h("div", { class: "view", "data-view": r.view });
  replace(main(), container);
  const ctx = { me, container, navigate, setQuery, projectPath, params: new URLSearchParams(location.search), id: r.id };
  let result = null;
  try {
    if (r.view === "session") {
      renderNav("sessions");
      result = await replay(ctx);
    } else if (r.view === "trace") {
      renderNav("sessions");
      result = await traceView(ctx);
    } else if (r.view === "user") {
      renderNav("users");
      result = await userView(ctx);
    } else {
      const entry = VIEWS.find(([id]) => id === r.view);
      renderNav(entry ? r.view : null);
      if (!entry) {
        replace(container, h("p", { class: "error" }, "No such page."));
        return;
      }
      result = await entry[2](ctx);
    }
  } catch (e) {
    if (e.status === 401) return;
    container.append(h("p", { class: "error", "data-testid": "view-error" }, `Could not load: ${e.message}`));
  }
  cleanup = typeof result === "function" ? result : null;
}

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const link = event.target.closest("a[data-nav]");
  if (!link) return;
  event.preventDefault();
  const href = link.getAttribute("href");
  navigate(href);
});

window.addEventListener("popstate", render);

api.onSignedOut(() => {
  me = null;
  signInForm("Your sign-in ended (signed out, expired, or the key was revoked). Sign in again.");
});

document.getElementById("signout").addEventListener("click", async () => {
  try {
    await api.signOut();
  } finally {
    me = null;
    live.stop();
    history.pushState(null, "", "/");
    signInForm();
  }
});

render();
