/* The threshold measurement page: Begin posts /api/thresholds/measure, the two big
   buttons answer the trial just played (/api/thresholds/answer), and the page follows
   the measurement by polling GET /api/thresholds. STOP (the bar) aborts it. */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const $ = (id) => document.getElementById(id);
  const yes = $("thr-yes"), no = $("thr-no"), prompt = $("thr-prompt"), msg = $("thr-message");
  let kind = "detection", timer = null;

  function show(m) {
    kind = m.kind || kind;
    yes.textContent = kind === "tolerance" ? _("Still manageable") : _("I felt it");
    no.textContent = kind === "tolerance" ? _("Too much") : _("I didn't");
    const answering = m.measuring && m.phase === "answer";
    yes.disabled = no.disabled = !answering;
    $("thr-begin").disabled = !!m.measuring;
    prompt.textContent = m.measuring ? (answering ? m.prompt : _f("Trial {n}: feel...", { n: m.trial })) : "";
    msg.textContent = m.message || "";
    if (!m.measuring && timer) { clearInterval(timer); timer = null; }
  }

  async function poll() {
    try { show((await Station.api("GET", "/api/thresholds")).measurement); }
    catch (e) { msg.textContent = e.message; }
  }

  function follow() { if (!timer) timer = setInterval(poll, 300); poll(); }

  async function answer(value) {
    yes.disabled = no.disabled = true;
    const body = kind === "tolerance" ? { manageable: value } : { felt: value };
    try { show(await Station.api("POST", "/api/thresholds/answer", body)); }
    catch (e) { msg.textContent = e.message; }
  }

  $("thr-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    try {
      show(await Station.api("POST", "/api/thresholds/measure",
                             { actuator: $("thr-actuator").value, kind: $("thr-kind").value }));
      follow();
    } catch (e) { msg.textContent = e.message; }
  });
  yes.addEventListener("click", () => answer(true));
  no.addEventListener("click", () => answer(false));
  document.addEventListener("station:stopped", poll);
  follow();
});
