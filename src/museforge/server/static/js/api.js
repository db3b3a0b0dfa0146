// museforge studio: the API client shared by both pages (JSON calls, the server's errors, the health line).

import { $ } from "./common.js";

/** Call the API; resolves to the parsed JSON, rejects with an Error carrying the server's one-line detail. */
export async function api(path, options = {}) {
  const init = { ...options };
  if (init.json !== undefined) {
    init.body = JSON.stringify(init.json);
    init.headers = { "Content-Type": "application/json", ...(init.headers || {}) };
    delete init.json;
  }
  const response = await fetch(path, init);
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (_) {
      data = { detail: text };
    }
  }
  if (!response.ok) {
    const detail = data && data.detail ? data.detail : `${response.status} ${response.statusText}`;
    const error = new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    error.status = response.status;
    throw error;
  }
  return data;
}

export function showError(target, error) {
  target.textContent = error ? (error.message || String(error)) : "";
}

/** Keep the header's health line up to date. */
export async function showHealth() {
  const target = $("#health");
  if (!target) return;
  try {
    const health = await api("/api/health");
    target.textContent = `v${health.version} · ${health.jobs.training} training, ${health.jobs.queued} queued`;
  } catch (error) {
    target.textContent = "server unreachable";
  }
}
