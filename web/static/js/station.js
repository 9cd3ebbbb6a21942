/* Shared helpers: JSON calls with the CSRF token, and a stop that always gets through. */
"use strict";
window.Station = (function () {
  const token = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  async function api(method, url, body) {
    const opts = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (method !== "GET") opts.headers["X-CSRFToken"] = token();
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const resp = await fetch(url, opts);
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) {
      const err = (data && data.error) || { message: resp.statusText };
      const e = new Error(err.message || ("HTTP " + resp.status));
      e.status = resp.status; e.detail = err;
      throw e;
    }
    return data;
  }

  function fmtTime(ms) {
    if (ms == null || ms < 0) ms = 0;
    const s = Math.ceil(ms / 1000), m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }

  // The stop bar: use the API (no login, no token) and fall back to the plain form.
  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("stop-form");
    if (!form) return;
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const btn = document.getElementById("stop-button");
      btn.textContent = "STOPPING...";
      try {
        await fetch("/api/stop", { method: "POST", headers: { "Content-Type": "application/json" },
                                   body: JSON.stringify({ reason: "user" }), credentials: "same-origin" });
        btn.textContent = "STOPPED";
        document.dispatchEvent(new CustomEvent("station:stopped"));
        setTimeout(() => { btn.textContent = "STOP"; }, 2500);
      } catch (e) {
        form.submit();
      }
    });
  });

  return { api, fmtTime, token };
})();
