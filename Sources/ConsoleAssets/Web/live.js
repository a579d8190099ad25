// Live updates: one EventSource on /api/console/events (the sign-in cookie authorises it).
// Views subscribe; the stream follows one session while a replay is open, else the project.

let source = null;
let following = undefined;
const subscribers = new Set();
const indicator = () => document.getElementById("live");

function setState(text, on) {
  const el = indicator();
  if (!el) return;
  el.textContent = text;
  el.hidden = !text;
  el.classList.toggle("on", on);
}

/** Follows `sessionId` (or the whole project when null); reopens the stream when that changes. */
export function follow(sessionId) {
  if (source && following === sessionId) return;
  stop();
  following = sessionId;
  const url = sessionId ? `/api/console/events?sessionId=${encodeURIComponent(sessionId)}` : "/api/console/events";
  source = new EventSource(url);
  setState("connecting", false);
  source.addEventListener("ready", () => setState("live", true));
  source.addEventListener("change", (event) => {
    let data = null;
    try {
      data = JSON.parse(event.data);
    } catch (_) {
      return;
    }
    subscribers.forEach((fn) => fn(data));
  });
  source.addEventListener("error", () => {
    // EventSource retries by itself while the server answers 200; a 401 closes it for good.
    setState(source && source.readyState === EventSource.CLOSED ? "offline" : "reconnecting", false);
  });
}

export function stop() {
  if (source) source.close();
  source = null;
  following = undefined;
  setState("", false);
}

/** Calls `fn(change)` for each change event until the returned function is called. */
export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}
