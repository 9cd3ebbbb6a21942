/* Guided steps on the Today page: the rating card asks exactly what the step asks
   (status.questions: discomfort always; pleasantness and lingering only when the
   protocol's rate step does), "End this step" on a guided (manual) step, the guide
   before Start (status.guide), and a short chime at each step change (Web Audio, no
   files; the mute toggle is remembered on this device). home.js sends each status as a
   "station:status" event and each server event as "station:event". */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const MUTE_KEY = "station.chime.muted";
  let q = null, threshold = null, lastStep = null, picked = null, audio = null;

  // --- chime ----------------------------------------------------------------------------
  function muted() { try { return localStorage.getItem(MUTE_KEY) === "yes"; } catch (e) { return false; } }

  function chime() {
    if (muted()) return;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      audio = audio || new Ctx();
      if (audio.state === "suspended") audio.resume();
      const t = audio.currentTime;
      [660, 880].forEach((freq, i) => {           // two soft notes, 0.25 s each
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = "sine"; osc.frequency.value = freq;
        const t0 = t + i * 0.18;
        gain.gain.setValueAtTime(0.0001, t0);
        gain.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02);   // no click: ramped
        gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.25);
        osc.connect(gain).connect(audio.destination);
        osc.start(t0); osc.stop(t0 + 0.27);
      });
    } catch (e) { /* no sound on this device: the page still shows the step */ }
  }

  // --- what the page shows --------------------------------------------------------------
  function show(id, on) { const el = $(id); if (el) el.hidden = !on; }
  function text(id, value) { const el = $(id); if (el) el.textContent = value || ""; }

  function renderGuide(g) {
    show("guide", !!g);
    if (!g) return;
    show("calm-place", !!g.calm_place); text("calm-place", g.calm_place);
    const list = $("guide-materials");
    if (list) {
      list.replaceChildren(...(g.materials || []).map((m) => {
        const li = document.createElement("li"), b = document.createElement("strong");
        li.dataset.material = m.name; b.textContent = m.name;
        li.append(b, ": " + m.instruction);
        return li;
      }));
    }
    show("guide-materials-box", (g.materials || []).length > 0);
    text("guide-site", g.site_text);
    text("guide-stop", g.stop_text);
    show("guide-notes", !!g.notes); text("guide-notes", g.notes);
  }

  function render(st) {
    const newQ = st.questions || null;
    const stepKey = st.step && st.session ? st.session.id + ":" + st.step.index : null;
    if (stepKey !== lastStep) {
      if (lastStep !== null && stepKey !== null) chime();   // a step change in a session
      lastStep = stepKey; picked = null;
      document.querySelectorAll("button.rate").forEach((b) => b.setAttribute("aria-pressed", "false"));
      const lw = $("lingering-where"); if (lw) lw.value = "";
      document.querySelectorAll('input[name="lingering"]').forEach((r) => { r.checked = false; });
      const pl = $("pleasantness"); if (pl) { pl.value = "0"; text("pleasantness-value", "0"); }
      text("end-step-result", "");
    }
    q = newQ; threshold = st.stop_threshold;
    const extra = !!(q && q.answer && !q.answered && (q.pleasantness || q.lingering));
    show("q-pleasantness", !!(q && q.answer && q.pleasantness));
    show("q-lingering", !!(q && q.answer && q.lingering));
    show("send-answer", extra);
    if (q && q.prompt) text("rate-prompt", q.answered ? _("Answered, thank you.") + (st.state === "paused" ? " " + _("Press Resume to go on.") : "") : q.prompt);
    const live = st.session && (st.session.state === "running" || st.session.state === "paused");
    show("live-site", !!(live && st.site)); text("live-site-text", st.site);
    show("live-stop", !!(live && st.stop_text)); text("live-stop", st.stop_text);
    renderGuide(live ? null : st.guide);
  }

  // --- answers --------------------------------------------------------------------------
  async function send(value) {
    const body = { value };
    if (q && q.answer && q.pleasantness) body.pleasantness = Number($("pleasantness").value);
    if (q && q.answer && q.lingering) {
      const yes = document.querySelector('input[name="lingering"]:checked');
      if (yes) body.lingering = yes.value === "yes";
      const where = ($("lingering-where").value || "").trim();
      if (body.lingering && where) body.lingering_where = where;
    }
    try {
      const r = await Station.api("POST", "/api/ratings", body);
      text("rate-result", r.stopped ? _f("Saved: {value} of 10 - stopped, as agreed with your clinician.", { value: r.value }) : _f("Saved: {value} of 10.", { value: r.value }));
    } catch (e) { text("rate-result", _f("Not saved: {why}", { why: e.message })); }
    document.dispatchEvent(new CustomEvent("station:refresh"));
  }

  function onRate(btn) {
    const value = Number(btn.dataset.value);
    document.querySelectorAll("button.rate").forEach((b) => b.setAttribute("aria-pressed", "false"));
    btn.setAttribute("aria-pressed", "true");
    const more = q && q.answer && !q.answered && (q.pleasantness || q.lingering);
    // A rating at the stop threshold never waits for the other questions.
    if (more && !(threshold != null && value >= threshold)) {
      picked = value;
      text("rate-result", _f("Discomfort {value} of 10: answer the questions below, then Send answer.", { value }));
      return;
    }
    send(value);
  }

  async function endStep(why) {
    const st = await Station.api("GET", "/api/status");
    if (!st.step || st.step.kind !== "manual") { text("end-step-result", _("No guided step is playing.")); return; }
    try {
      await Station.api("POST", "/api/step/end", { index: st.step.index, why });
      text("end-step-result", _("Step ended."));
    } catch (e) { text("end-step-result", _f("Not ended: {why}", { why: e.message })); }
    document.dispatchEvent(new CustomEvent("station:refresh"));
  }

  document.addEventListener("station:status", (ev) => render(ev.detail));
  document.addEventListener("station:event", (ev) => {
    const d = ev.detail;   // a step change with the step's questions, before the next status
    if (d.name === "step_started" && d.data.questions) q = d.data.questions;
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button.rate").forEach((btn) => btn.addEventListener("click", () => onRate(btn)));
    const sendBtn = $("send-answer");
    if (sendBtn) sendBtn.addEventListener("click", () => {
      if (picked === null) { text("rate-result", _("Choose how uncomfortable it was (0-10) first.")); return; }
      send(picked);
    });
    const pl = $("pleasantness");
    if (pl) pl.addEventListener("input", () => text("pleasantness-value", (pl.value > 0 ? "+" : "") + pl.value));
    document.querySelectorAll("button.end-step").forEach((b) => b.addEventListener("click", () => endStep(b.dataset.why)));
    const mute = $("chime-mute");
    if (mute) {
      mute.checked = muted();
      mute.addEventListener("change", () => {
        try { localStorage.setItem(MUTE_KEY, mute.checked ? "yes" : "no"); } catch (e) { /* private mode */ }
        if (!mute.checked) chime();   // a sample, and unlocks audio after a user gesture
      });
    }
  });
})();
