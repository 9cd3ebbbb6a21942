/* Shared helpers: JSON calls with the CSRF token, and a stop that always gets through. */
"use strict";
// The page's language (issue 14): _("text") is the text in the page's language, from the
// catalog /i18n/<lang>.js loads before this file (the same .po files as the page's own
// words); _f("... {name} ...", {name: v}) also fills in values. Missing: the English text.
window._ = function (text) {
  const c = window.STATION_I18N;
  return (c && c.messages && c.messages[text]) || text;
};
window._f = function (text, vars) {
  return window._(text).replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
};
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

  // The stop bar: use the API (no login, no token). When the page cannot reach the station
  // at all, a form post would only show the browser's error page: say instead what to
  // press (the station's own STOP works without the page). Any other refusal falls back to
  // the plain form.
  const STOP_TIMEOUT_MS = 2500;
  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("stop-form");
    if (!form) return;
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const btn = document.getElementById("stop-button");
      btn.textContent = _("STOPPING...");
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), STOP_TIMEOUT_MS);
      let r;
      try {
        r = await fetch("/api/stop", { method: "POST", headers: { "Content-Type": "application/json" },
                                 body: JSON.stringify({ reason: "user" }), credentials: "same-origin", signal: ctl.signal });
      } catch (e) {
        btn.textContent = _("NO CONTACT: PRESS THE STATION'S STOP");
        document.dispatchEvent(new CustomEvent("station:unreachable"));
        setTimeout(() => { btn.textContent = _("STOP"); }, 8000);
        return;
      } finally { clearTimeout(timer); }
      if (r.ok) {   // never say STOPPED unless it is
        btn.textContent = _("STOPPED");
        document.dispatchEvent(new CustomEvent("station:stopped"));
        setTimeout(() => { btn.textContent = _("STOP"); }, 2500);
      } else if (r.status === 503) {   // the app answered, the engine did not
        btn.textContent = _("NOT CONFIRMED: PRESS THE STATION'S STOP");
        setTimeout(() => { btn.textContent = _("STOP"); }, 8000);
      } else {
        form.submit();
      }
    });
  });

  // A wide table scrolls sideways inside its .table-wrap on a phone: a keyboard user must
  // be able to scroll it too, so a wrap that overflows is a focusable, named group
  // (WCAG 2.1.1; axe's scrollable-region-focusable). Rechecked whenever its size changes.
  function scrollableTables() {
    const fit = (wrap) => {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        const heading = wrap.closest("section, main")?.querySelector("h1, h2, h3");
        wrap.tabIndex = 0;
        wrap.setAttribute("role", "group");
        wrap.setAttribute("aria-label", (heading ? heading.textContent.trim() + ": " : "") +
                                        _("table, scrolls sideways"));
      } else if (wrap.hasAttribute("tabindex")) {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    };
    const watch = new ResizeObserver((entries) => {
      for (const e of entries) { const w = e.target.closest(".table-wrap"); if (w) fit(w); }
    });
    document.querySelectorAll(".table-wrap").forEach((w) => {
      fit(w);
      watch.observe(w);
      if (w.firstElementChild) watch.observe(w.firstElementChild);
    });
  }
  document.addEventListener("DOMContentLoaded", scrollableTables);

  // Dates and numbers in the page's language (<html lang>), in the browser's zone, which on
  // the station's own screen is the station's.
  const lang = () => document.documentElement.lang || "en";
  function fmtDateTime(value) {
    const d = value instanceof Date ? value : new Date(value);
    if (isNaN(d)) return String(value == null ? "-" : value);
    return new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeStyle: "short" }).format(d);
  }
  function fmtNumber(value, digits) {
    const n = Number(value);
    if (!Number.isFinite(n)) return String(value == null ? "-" : value);
    const o = digits == null ? {} : { maximumFractionDigits: digits, minimumFractionDigits: digits };
    return new Intl.NumberFormat(lang(), o).format(n);
  }

  // The journal form (templates/_journal_form.html, on the home and the journal page): saves
  // the note, then calls afterSave() (if given) once the station has it.
  function journalForm(afterSave) {
    const el = (id) => document.getElementById(id);
    const form = el("journal-form");
    if (!form) return;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const text = el("journal-text").value;
      if (!text.trim()) { el("journal-result").textContent = _("Write something first."); return; }
      try {
        await api("POST", "/api/journal", { text, trigger: el("journal-trigger").value.trim() || null });
        el("journal-result").textContent = _("Saved.");
        el("journal-text").value = ""; el("journal-trigger").value = "";
        if (afterSave) await afterSave();
      } catch (e) { el("journal-result").textContent = _f("Not saved: {why}", { why: e.message }); }
    });
  }

  return { api, fmtTime, token, fmtDateTime, fmtNumber, lang, journalForm };
})();
