/* Outcome measures: VAS sliders (only the ones moved are sent), a flare, medication,
   and the clinician's schedule. Each saves through /api/outcomes and reloads the page. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const say = (t) => { $("oc-status").textContent = t; };
  async function post(url, body, done) {
    try { await Station.api("POST", url, body); say(done); setTimeout(() => location.reload(), 600); }
    catch (e) { say(_f("Not saved: {why}", { why: e.message })); }
  }
  ["rest", "use", "touch"].forEach((k) => {
    const input = $("oc-" + k);
    const show = () => { input.dataset.touched = "yes"; $("oc-" + k + "-out").textContent = input.value; };
    input.addEventListener("input", show);
    input.addEventListener("change", show);
  });
  $("oc-vas-save").addEventListener("click", () => {
    const body = {};
    ["rest", "use", "touch"].forEach((k) => {
      if ($("oc-" + k).dataset.touched === "yes") body[k] = Number($("oc-" + k).value);
    });
    if (!Object.keys(body).length) { say(_("Move at least one slider first.")); return; }
    post("/api/outcomes/vas", body, _("Pain ratings saved."));
  });
  $("oc-flare").addEventListener("click", () =>
    post("/api/outcomes/flare", { note: $("oc-flare-note").value }, _("Flare recorded.")));
  $("oc-med-save").addEventListener("click", () => {
    const body = { medication: $("oc-med-name").value.trim() };
    const dose = $("oc-med-dose").value.trim();
    if (!body.medication) { say(_("Enter the medication's name.")); return; }
    if (dose) body.dose = dose;
    post("/api/outcomes/medication", body, _("Medication recorded."));
  });
  const sched = $("oc-sched-save");
  if (sched) sched.addEventListener("click", () => {
    const body = {};
    $("oc-sched-form").querySelectorAll("input[type=number]").forEach((i) => {
      if (i.value !== "") body[i.name] = Number(i.value);
    });
    post("/api/outcomes/schedule", body, _("Schedule saved."));
  });
})();
