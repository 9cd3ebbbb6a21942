/* The clinician page's calibration buttons: POST /api/hardware/calibrate and show the
   stored values (or the error, which names what to fix) in the actuator's row. Without
   JavaScript the same buttons post the form and the result comes back as a message. */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form.cal-form").forEach(function (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const name = form.dataset.actuator;
      const cell = document.getElementById("cal-result-" + name);
      const button = form.querySelector("button");
      button.disabled = true;
      cell.classList.remove("error");
      cell.textContent = _f("Calibrating {name} (about a second)...", { name });
      try {
        const r = await Station.api("POST", "/api/hardware/calibrate", { actuator: name });
        cell.textContent = "A_CAL_COMP " + r.compensation + ", A_CAL_BEMF " + r.back_emf +
          ", BEMF_GAIN " + r.back_emf_gain + (r.calibrated_at ? " (" + r.calibrated_at + ")" : "") +
          (r.note ? "; " + r.note : "");
      } catch (e) {
        cell.classList.add("error");
        cell.textContent = _f("Not calibrated: {why}", { why: e.message });
      } finally {
        button.disabled = false;
      }
    });
  });
});
