/* Virtual station: poll the simulator's outputs and press its panel buttons. */
"use strict";
(function () {
  const box = document.getElementById("outputs");
  function row(name, o) {
    const pct = Math.round((o.level || 0) * 100);
    let extra = "";
    if (o.position_cm != null) extra = " - brush at " + Number(o.position_cm).toFixed(1) + " cm";
    if (o.angle_deg != null) extra += " (" + Number(o.angle_deg).toFixed(0) + " deg)";
    return '<div class="output" data-actuator="' + name + '"><strong>' + name + "</strong>: " +
      (o.active ? "on" : "off") + ", " + pct + "%" + extra +
      '<div class="meter" role="meter" aria-label="' + name + ' level" aria-valuemin="0" aria-valuemax="100" aria-valuenow="' +
      pct + '"><div style="width:' + pct + '%"></div></div></div>';
  }
  async function poll() {
    try {
      const out = await Station.api("GET", "/api/sim/outputs");
      box.innerHTML = Object.keys(out).sort().map((k) => row(k, out[k])).join("");
    } catch (e) { box.textContent = "Simulator not reachable: " + e.message; }
  }
  document.querySelectorAll("button.simbtn").forEach((b) => b.addEventListener("click", async () => {
    try {
      await Station.api("POST", "/api/sim/buttons/" + b.dataset.button + "/press");
      document.getElementById("sim-result").textContent = "Pressed " + b.dataset.button + ".";
    } catch (e) { document.getElementById("sim-result").textContent = e.message; }
    poll();
  }));
  poll();
  setInterval(poll, 300);
})();
