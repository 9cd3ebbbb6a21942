/* Virtual station: the simulated panel (engine state, the two LEDs blinking as the real
   ones do, the buttons including the rating ones) and each actuator's drive from
   /api/sim/outputs (level, signed drive, reverse), polled a few times a second. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  // LED_PATTERNS of hardware/panel.py as the README quotes them: [on s, off s] per LED,
  // 1 = steady on, 0 = off.
  const PATTERNS = {
    idle: { green: [0.1, 2.9], red: 0 }, due: { green: [0.2, 0.8], red: 0 },
    armed: { green: [1.0, 1.0], red: 0 }, running: { green: 1, red: 0 },
    paused: { green: [0.25, 0.25], red: 0 }, rating: { green: 1, red: [0.5, 0.5] },
    step: { green: [0.1, 0.1], red: 0 }, stopped: { green: 0, red: 1 },
    limit: { green: 0, red: [0.2, 1.8] }, fault: { green: 0, red: [0.1, 0.1] },
    estop: { green: [0.5, 0.5], red: [0.5, 0.5] },
  };
  let pattern = null, since = performance.now();

  function lit(spec, t) {
    if (spec === 1) return true;
    if (!spec) return false;
    const [on, off] = spec;
    return (t % (on + off)) < on;
  }
  function drawLeds() {
    const p = PATTERNS[pattern] || { green: 0, red: 0 };
    const t = (performance.now() - since) / 1000;
    $("led-green").classList.toggle("on", lit(p.green, t));
    $("led-red").classList.toggle("on", lit(p.red, t));
  }

  function feel(name, o) {
    if (o.position_cm !== undefined) {
      return o.active ? _f("brush on the skin at {cm} cm", { cm: Station.fmtNumber(o.position_cm, 1) }) + (o.angle_deg != null ? " (" + Number(o.angle_deg).toFixed(0) + "°)" : "")
        : (o.angle_deg != null ? _f("brush off the skin ({deg}°)", { deg: Number(o.angle_deg).toFixed(0) }) : _("brush parked"));
    }
    if (!o.active || !o.level) return "still";
    return _f("buzzing at {pct}%", { pct: Math.round(o.level * 100) }) + (o.reverse ? ", " + _("reverse drive") : "");
  }

  function row(name, o) {
    const div = document.createElement("div");
    div.className = "output"; div.dataset.actuator = name;
    div.dataset.active = o.active ? "yes" : "no";
    const pct = Math.round((o.level || 0) * 100);
    const head = document.createElement("div");
    const b = document.createElement("strong"); b.textContent = name;
    head.append(b, ": " + (o.active ? _("on") : _("off")) + ", " + pct + "% - " + feel(name, o));
    div.append(head);
    const drive = o.drive !== undefined ? Number(o.drive) : (o.level || 0);
    const bar = document.createElement("div");
    bar.className = "drive-bar"; bar.setAttribute("role", "meter");
    bar.setAttribute("aria-label", _f("{name} drive, percent of full scale (negative: reverse)", { name }));
    bar.setAttribute("aria-valuemin", "-100"); bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-valuenow", String(Math.round(drive * 100)));
    const fill = document.createElement("div");
    const half = Math.min(50, Math.abs(drive) * 50);
    fill.style.left = (drive < 0 ? 50 - half : 50) + "%"; fill.style.width = half + "%";
    if (drive < 0) fill.className = "reverse";
    bar.append(fill); div.append(bar);
    return div;
  }

  async function poll() {
    try {
      const [panel, out] = await Promise.all([Station.api("GET", "/api/sim/panel"), Station.api("GET", "/api/sim/outputs")]);
      $("sim-state").textContent = panel.state;
      $("sim-rating").textContent = panel.live_rating == null ? "-" : _f("{value} of 10", { value: panel.live_rating });
      if (panel.led !== pattern) { pattern = panel.led; since = performance.now(); }
      $("led-pattern").textContent = "(" + (panel.led || _("dark")) + ")";
      $("sim-estop-banner").hidden = !panel.estop_latched;
      $("outputs").replaceChildren(...Object.keys(out).sort().map((k) => row(k, out[k])));
    } catch (e) { $("sim-state").textContent = _f("not reachable: {why}", { why: e.message }); }
  }
  document.querySelectorAll("button.simbtn").forEach((b) => b.addEventListener("click", async () => {
    try {
      await Station.api("POST", "/api/sim/buttons/" + b.dataset.button + "/press");
      $("sim-result").textContent = _f("Pressed {button}.", { button: b.textContent });
    } catch (e) { $("sim-result").textContent = e.message; }
    poll();
  }));
  poll();
  setInterval(poll, 300);
  setInterval(drawLeds, 50);
})();
