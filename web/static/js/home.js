/* Today page: live status pushed by the station (server-sent events) and a 1 s heartbeat
   poll of /api/status, start, pause/resume, "too much", the e-stop and lost-contact
   banners, the session screen and the summary at the end. Every button's state comes
   from the station's last answer; when the page has no answer for LOST_MS it says so at
   once (and stops counting down), because an old "Running." is a lie. The progress bar
   runs on between events from the station's elapsed time so it moves smoothly. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const loggedIn = document.body.dataset.loggedIn === "yes";
  const POLL_MS = 1000, TIMEOUT_MS = 1500, LOST_MS = 2500;
  const LIVE = ["running", "paused"];
  const SUMMARY_PROMPT = _("How uncomfortable was it overall? Your answer goes to this session.");
  let last = null, lastAt = 0, lastOk = performance.now(), lost = false, polling = false;
  let liveSession = null, summaryFor = null, summaryRates = false, busy = false;

  const show = (id, on) => { const el = $(id); if (el) el.hidden = !on; };
  const text = (id, value) => { const el = $(id); if (el) el.textContent = value || ""; };

  // fresh: a new answer from the station; otherwise the last one shown again (busy changed).
  function render(st, fresh = true) {
    if (fresh) { last = st; lastAt = performance.now(); lastOk = lastAt; if (lost) setLost(false); }
    if (lost) return;
    const live = LIVE.includes(st.state);
    document.body.classList.toggle("in-session", live);
    let stateText = st.state_text || st.state || "";
    const q = st.questions;
    if (st.state === "paused" && st.step && st.step.kind === "rate" && q && q.answer) {
      stateText = q.answered ? _("Answered: press Resume.") : _("Rate now: the session waits.");
    }
    if (st.estop_latched) stateText = _("Emergency stop is on: every output is off.");
    text("live-state", stateText);
    text("live-step", st.step ? st.step.label : "");
    const estop = !!st.estop_latched;
    if (st.next) {
      text("next-message", estop ? _("The emergency stop is on: release it, then reset it (see above). Then you can start.") : st.next.message);
    }
    const start = $("start-button");
    if (start) start.disabled = busy || !(st.next && st.next.allowed) || st.state !== "armed" || estop;
    const banner = (id, value) => { const el = $(id); if (el) { el.textContent = value || ""; el.hidden = !value; } };
    banner("fault-banner", st.fault_text);
    banner("due-banner", st.due_text);
    banner("limit-banner", st.limit_text);
    show("estop-banner", estop);
    show("estop-reset-button", estop);
    const engineGone = st.state === "disconnected";
    show("conn-banner", engineGone);
    if (engineGone) text("conn-text", _("The station's engine is not answering; outputs stay off. If anything still moves, press the red STOP button on the station itself."));
    show("pause-button", st.state === "running");
    show("resume-button", st.state === "paused");
    ["pause-button", "resume-button", "too-much"].forEach((id) => { const b = $(id); if (b) b.disabled = busy; });
    show("session-buttons", live);
    const prompt = $("rate-prompt");
    if (prompt) prompt.textContent = st.step && st.step.rating ? st.step.rating.prompt
      : (!live && summaryRates ? SUMMARY_PROMPT : "");
    if (live) {
      if (liveSession === null && st.session) {   // a session begins: a clean screen
        liveSession = st.session.id; window.scrollTo(0, 0);
        ["rate-result", "control-result", "end-step-result"].forEach((id) => text(id, ""));
      }
      summaryFor = null; summaryRates = false; show("summary", false);
    } else if (liveSession !== null) {
      const ended = liveSession; liveSession = null;
      summarise(ended);
    }
    show("rate-box", live || summaryRates);
    const resumed = !!lastFocus && lastFocus.id === "resume-button";
    const focusTo = live ? (st.state === "paused" ? "resume-button" : resumed ? "pause-button" : "live-state")
      : (summaryFor !== null ? "summary-h" : "start-button");
    if (!busy) keepFocus(focusTo);   // not while a request is out: its buttons are disabled
    tick();
    document.dispatchEvent(new CustomEvent("station:status", { detail: st }));
  }

  function setLost(on) {
    lost = on;
    document.body.classList.toggle("conn-lost", on);
    show("conn-banner", on);
    if (on) {
      text("conn-text", _("This page cannot reach the station, so its buttons may not work. If anything is still running, press the red STOP button on the station itself."));
      text("live-state", _("No contact with the station: the page does not know what it is doing."));
      ["start-button", "pause-button", "resume-button"].forEach((id) => { const b = $(id); if (b) b.disabled = true; });
    }
    tick();
  }

  function tick() {
    if (!last) return;
    if (!lost && performance.now() - lastOk > LOST_MS) { setLost(true); return; }
    const live = LIVE.includes(last.state);
    let elapsed = last.elapsed_ms || 0;
    if (last.state === "running" && !lost) elapsed += performance.now() - lastAt;
    const total = last.duration_ms || 0;
    const frac = total > 0 ? Math.min(1, elapsed / total) : (last.progress || 0);
    const pct = Math.round(frac * 1000) / 10;
    $("progress-fill").style.width = pct + "%";
    $("progress").setAttribute("aria-valuenow", String(Math.round(pct)));
    $("time-left").textContent = lost ? "" : (total > 0 && live ? _f("{time} left", { time: Station.fmtTime(total - elapsed) }) : (last.time_left_text || ""));
    const step = last.step;
    const manual = !!(step && step.kind === "manual" && live && !lost);
    show("manual", manual);
    if (manual) {
      text("manual-instruction", step.instruction || step.label);
      text("manual-countdown", Station.fmtTime(step.start_ms + step.duration_ms - elapsed));
    }
  }

  // The heartbeat: one request at a time, each given TIMEOUT_MS.
  async function refresh() {
    if (polling) return;
    polling = true;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const r = await fetch("/api/status", { headers: { "Accept": "application/json" }, credentials: "same-origin", signal: ctl.signal });
      if (!r.ok) throw new Error("HTTP " + r.status);
      render(await r.json());
    } catch (e) {
      if (!lost) setLost(true);
    } finally { clearTimeout(timer); polling = false; }
  }

  function connect() {
    if (!loggedIn || !window.EventSource) return;   // the heartbeat poll carries the status
    const es = new EventSource("/api/events");
    es.addEventListener("status", (ev) => render(JSON.parse(ev.data)));
    ["step_started", "step_finished", "step_ended", "stopped", "state", "fault", "session", "reminder"].forEach((name) =>
      es.addEventListener(name, (ev) => {
        const data = JSON.parse(ev.data);
        document.dispatchEvent(new CustomEvent("station:event", { detail: { name, data } }));
        if (data.status) render(data.status); else refresh();
      }));
    // The browser reconnects by itself (or the server refused the stream: 429); either
    // way ask at once whether the station is still there.
    es.onerror = () => refresh();
  }

  // --- the summary at the end of a session --------------------------------------------------
  function fmtDuration(a, b) {
    const ms = new Date(b) - new Date(a);
    return isNaN(ms) ? "-" : Station.fmtTime(ms);
  }

  // Why a session ended (station/vocab.py's stop reasons), in the page's language.
  const END_WORDS = {
    user: _("stop pressed"), too_much: _("too much"), panel_stop: _("panel stop"),
    estop: _("emergency stop"), rating: _("rating at the stop threshold"),
    fault: _("hardware fault"), watchdog: _("safety watchdog"),
  };

  async function summarise(id) {
    summaryFor = id; summaryRates = false;
    let s;
    try { s = await Station.api("GET", "/api/sessions/" + id); } catch (e) { return; }
    if (summaryFor !== id) return;
    const how = s.state === "completed" ? _("Well done: the session is complete.")
      : s.end_reason ? _f("The session was stopped ({why}). Every output is off.", { why: END_WORDS[s.end_reason] || s.end_reason.replace(/_/g, " ") })
      : _("The session was stopped. Every output is off.");
    text("summary-text", how);
    const facts = [[_("Steps"), _f("{done} of {planned}", { done: (s.steps || []).length, planned: s.planned_steps })]];
    if (s.started_at && s.ended_at) facts.push([_("Time"), fmtDuration(s.started_at, s.ended_at)]);
    const vals = (s.ratings || []).map((r) => r.value);
    facts.push([_("Your ratings"), vals.length ? vals.join(", ") : _("none yet")]);
    const dl = $("summary-facts");
    dl.replaceChildren(...facts.flatMap(([k, v]) => {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = k; dd.textContent = v; return [dt, dd];
    }));
    // Only a completed session takes a rating afterwards (for a short while, the
    // station's rule); a stopped one is not rated, the journal is where that goes.
    const rateable = s.state === "completed";
    summaryRates = rateable;
    text("summary-prompt", rateable ? "" : _("A stopped session is not rated. If you like, write in your journal what you noticed."));
    show("summary-prompt", !rateable);   // a completed one: the rating card below asks
    show("summary", true); show("rate-box", rateable);
    $("summary").scrollIntoView({ block: "start" });
    keepFocus("summary-h", $("live-state"));
    text("rate-prompt", SUMMARY_PROMPT);
  }

  // Keyboard use: a control the screen hides (Start once a session runs, Pause/Resume as they
  // swap, everything at the end) must not drop the focus onto <body>. Only then does the
  // focus move: to what took that control's place, else the state line or the summary.
  let lastFocus = null;
  document.addEventListener("focusin", (ev) => { lastFocus = ev.target; });
  const shown = (el) => !!el && el.getClientRects().length > 0 && !el.disabled;
  function keepFocus(targetId, also = null) {   // also: a place the focus may be moved from
    const now = document.activeElement;
    const lost = !now || now === document.body || !shown(now) || now === also;
    if (!lost || !lastFocus || !lastFocus.closest("#content")) return;  // not this screen's
    const target = [targetId, "live-state"].map($).find(shown);
    if (target && target !== now) target.focus();
  }

  async function act(btn, url, resultId) {
    busy = true; if (last) render(last, false);
    try { render((await Station.api("POST", url)).status); text(resultId, ""); }
    catch (e) {
      text(resultId, e.status ? e.message : _("Not sent: the page cannot reach the station. Use the station's own buttons."));
      refresh();
    } finally { busy = false; if (last) render(last, false); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    refresh();
    connect();
    setInterval(refresh, POLL_MS);
    setInterval(tick, 250);
    document.addEventListener("station:stopped", refresh);
    document.addEventListener("station:refresh", refresh);
    document.addEventListener("station:unreachable", () => setLost(true));
    const start = $("start-button");
    if (start) start.addEventListener("click", async () => {
      busy = true; start.disabled = true;
      try { render((await Station.api("POST", "/api/start")).status); }
      catch (e) { text("next-message", _f("Not started: {why}", { why: e.message })); }
      finally { busy = false; if (last) render(last, false); }
    });
    // Rating buttons, the step's own questions and "End this step": guided.js.
    [["pause-button", "/api/pause", "control-result"], ["resume-button", "/api/resume", "control-result"],
     ["estop-reset-button", "/api/estop/reset", "estop-result"]].forEach(([id, url, res]) => {
      const btn = $(id);
      if (btn) btn.addEventListener("click", () => act(btn, url, res));
    });
    const tm = $("too-much");
    if (tm) tm.addEventListener("click", async () => {
      try { await Station.api("POST", "/api/too-much"); text("rate-result", _("Stopped and noted as too much.")); }
      catch (e) {
        try {
          const r = await fetch("/api/stop", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reason: "too_much" }) });
          text("rate-result", r.ok ? _("Stopped.") : _("The station did not confirm the stop: press the red STOP button on the station."));
        } catch (e2) {
          setLost(true);
          text("rate-result", _("The page cannot reach the station: press the red STOP button on the station itself."));
        }
      }
      refresh();
    });
    Station.journalForm();
  });
})();
