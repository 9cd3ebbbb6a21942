/* Today page: live status pushed by the station (server-sent events), start, rate,
   "too much" and the journal. The progress bar runs on between events from the
   station's elapsed time so it moves smoothly. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const loggedIn = document.body.dataset.loggedIn === "yes";
  let last = null, lastAt = 0;

  function render(st) {
    last = st; lastAt = performance.now();
    $("live-state").textContent = st.state_text || st.state || "";
    $("live-step").textContent = st.step ? st.step.label : "";
    if (st.next) {
      const msg = $("next-message"); if (msg) msg.textContent = st.next.message || "";
    }
    const start = $("start-button");
    if (start) start.disabled = !(st.next && st.next.allowed) || st.state === "running" || st.state === "paused";
    const banner = (id, text) => { const el = $(id); if (el) { el.textContent = text || ""; el.hidden = !text; } };
    banner("fault-banner", st.fault_text);
    banner("due-banner", st.due_text);
    banner("limit-banner", st.limit_text);
    const show = (id, on) => { const el = $(id); if (el) el.hidden = !on; };
    show("pause-button", st.state === "running");
    show("resume-button", st.state === "paused");
    show("estop-reset-button", !!st.estop_latched);
    const prompt = $("rate-prompt");
    if (prompt) prompt.textContent = st.step && st.step.rating ? st.step.rating.prompt : "";
    tick();
  }

  function tick() {
    if (!last) return;
    let elapsed = last.elapsed_ms || 0;
    if (last.state === "running") elapsed += performance.now() - lastAt;
    const total = last.duration_ms || 0;
    const frac = total > 0 ? Math.min(1, elapsed / total) : (last.progress || 0);
    const pct = Math.round(frac * 1000) / 10;
    $("progress-fill").style.width = pct + "%";
    $("progress").setAttribute("aria-valuenow", String(Math.round(pct)));
    $("time-left").textContent = total > 0 && (last.state === "running" || last.state === "paused")
      ? Station.fmtTime(total - elapsed) + " left" : (last.time_left_text || "");
    const man = $("manual");
    const step = last.step;
    if (step && step.kind === "manual" && last.state !== "stopped") {
      man.hidden = false;
      $("manual-instruction").textContent = step.instruction || step.label;
      $("manual-countdown").textContent = Station.fmtTime(step.start_ms + step.duration_ms - elapsed);
    } else {
      man.hidden = true;
    }
  }

  async function refresh() {
    try { render(await Station.api("GET", "/api/status")); } catch (e) { /* keep last */ }
  }

  function connect() {
    if (!loggedIn || !window.EventSource) { setInterval(refresh, 1000); return; }
    const es = new EventSource("/api/events");
    es.addEventListener("status", (ev) => render(JSON.parse(ev.data)));
    ["step_started", "step_finished", "stopped", "state", "fault", "session", "reminder"].forEach((name) =>
      es.addEventListener(name, (ev) => {
        const data = JSON.parse(ev.data);
        if (data.status) render(data.status); else refresh();
      }));
    es.onerror = () => { /* the browser reconnects by itself */ };
  }

  document.addEventListener("DOMContentLoaded", function () {
    refresh();
    connect();
    setInterval(tick, 250);
    document.addEventListener("station:stopped", refresh);
    const start = $("start-button");
    if (start) start.addEventListener("click", async () => {
      start.disabled = true;
      try { render((await Station.api("POST", "/api/start")).status); }
      catch (e) { $("next-message").textContent = e.message; start.disabled = false; }
    });
    document.querySelectorAll("button.rate").forEach((btn) => btn.addEventListener("click", async () => {
      document.querySelectorAll("button.rate").forEach((b) => b.setAttribute("aria-pressed", "false"));
      btn.setAttribute("aria-pressed", "true");
      try {
        const r = await Station.api("POST", "/api/ratings", { value: Number(btn.dataset.value) });
        $("rate-result").textContent = "Saved: " + r.value + " of 10" + (r.stopped ? " - stopped, as agreed with your clinician." : ".");
      } catch (e) { $("rate-result").textContent = "Not saved: " + e.message; }
      refresh();
    }));
    [["pause-button", "/api/pause"], ["resume-button", "/api/resume"],
     ["estop-reset-button", "/api/estop/reset"]].forEach(([id, url]) => {
      const btn = $(id);
      if (btn) btn.addEventListener("click", async () => {
        try { render((await Station.api("POST", url)).status); $("control-result").textContent = ""; }
        catch (e) { $("control-result").textContent = e.message; }
      });
    });
    const tm = $("too-much");
    if (tm) tm.addEventListener("click", async () => {
      try { await Station.api("POST", "/api/too-much"); $("rate-result").textContent = "Stopped and noted as too much."; }
      catch (e) {
        await fetch("/api/stop", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reason: "too_much" }) });
        $("rate-result").textContent = "Stopped.";
      }
      refresh();
    });
    const jf = $("journal-form");
    if (jf) jf.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await Station.api("POST", "/api/journal", { text: $("journal-text").value, trigger: $("journal-trigger").value || null });
        $("journal-result").textContent = "Saved."; $("journal-text").value = "";
      } catch (e) { $("journal-result").textContent = "Not saved: " + e.message; }
    });
  });
})();
