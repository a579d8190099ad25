// Calls to Parley's API with the sign-in cookie (same origin). A 401 means the sign-in ended.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const listeners = new Set();
/** Called with no argument when any call answers 401. */
export function onSignedOut(listener) {
  listeners.add(listener);
}

async function request(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 204) return { json: null, age: null };
  let json = null;
  try {
    json = await response.json();
  } catch (_) {
    json = null;
  }
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/api/console/session")) listeners.forEach((l) => l());
    throw new ApiError(response.status, (json && json.message) || response.statusText);
  }
  const age = response.headers.get("Age");
  return { json, age: age === null ? null : Number(age) };
}

/** GET an API path with query parameters (a URLSearchParams or a plain object). */
export async function get(path, params) {
  const query = params ? new URLSearchParams(params).toString() : "";
  return request("GET", query ? `${path}?${query}` : path);
}

export const signIn = (publicKey, secretKey) => request("POST", "/api/console/session", { publicKey, secretKey });
export const signOut = () => request("DELETE", "/api/console/session");
export const whoAmI = () => request("GET", "/api/console/session");

/** `/api/public/...` with the path segment encoded. */
export const enc = encodeURIComponent;
