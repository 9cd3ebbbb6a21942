/* Body map: draw closed outlines around the sensitive zone with a finger (pointer
   events: touch, pen or mouse), in the outline's own coordinates (its SVG viewBox), and
   send them as vector data; the station computes the area in cm^2. */
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const MIN_STEP = 1.0; // outline units between kept points (thins a finger's stream)
  const $ = (id) => document.getElementById(id);
  let data = JSON.parse($("bm-data").textContent);
  const svg = $("bm-svg"), stroke = $("bm-stroke"), status = $("bm-status");
  const byId = {};
  data.outlines.forEach((o) => { byId[o.id] = o; });
  let shapes = [], current = null, pointer = null;

  const outline = () => byId[$("bm-outline").value];
  const say = (text) => { status.textContent = text; };

  function toOutline(ev) {
    const o = outline();
    const p = svg.createSVGPoint();
    p.x = ev.clientX; p.y = ev.clientY;
    const q = p.matrixTransform(svg.getScreenCTM().inverse());
    const clamp = (v, hi) => Math.min(hi, Math.max(0, v));
    return [Math.round(clamp(q.x, o.width) * 100) / 100, Math.round(clamp(q.y, o.height) * 100) / 100];
  }

  function polygon(parent, pts, attrs) {
    const el = document.createElementNS(NS, "polygon");
    el.setAttribute("points", pts.map((p) => p.join(",")).join(" "));
    Object.keys(attrs || {}).forEach((k) => el.setAttribute(k, attrs[k]));
    parent.appendChild(el);
    return el;
  }

  function drawNew() {
    const g = $("bm-new");
    g.replaceChildren();
    shapes.forEach((s) => polygon(g, s));
    $("bm-undo").disabled = $("bm-clear").disabled = $("bm-save").disabled = !shapes.length;
  }

  function drawHistory() {
    const o = outline();
    const old = $("bm-old"), guide = $("bm-guide");
    old.replaceChildren(); guide.replaceChildren();
    const mine = data.maps.filter((m) => m.outline === o.id);
    mine.forEach((m, i) => {  // oldest faintest, the last one strongest
      const opacity = (0.25 + 0.75 * (i + 1) / mine.length).toFixed(2);
      m.shapes.forEach((s) => polygon(old, s, { opacity, "data-map": m.id }));
    });
    const last = mine[mine.length - 1];
    if (last) {
      last.shapes.forEach((s) => polygon(guide, s));
      const top = last.shapes[0].reduce((a, p) => (p[1] < a[1] ? p : a));
      const t = document.createElementNS(NS, "text");
      t.setAttribute("x", String(Math.min(top[0], o.width - 40)));
      t.setAttribute("y", String(Math.max(10, top[1] - 4)));
      t.textContent = _("start here");
      guide.appendChild(t);
    }
  }

  function drawTable() {
    const body = $("bm-table").querySelector("tbody");
    body.replaceChildren();
    data.maps.slice().reverse().forEach((m) => {
      const tr = document.createElement("tr");
      [Station.fmtDateTime(m.at), byId[m.outline].label, Station.fmtNumber(m.area_cm2, 1),
        String(m.calibration.length_cm), m.by || "-"].forEach((v) => {
        const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    const series = {};
    Object.keys(data.area_over_time).forEach((id) => {
      series[byId[id].label] = data.area_over_time[id].map((p) => [Date.parse(p[0]) / 1000, p[1]]);
    });
    if (window.StationCharts) StationCharts.lines($("bm-chart"), series, { yLabel: "cm²", empty: _("No map yet.") });
  }

  function chooseOutline() {
    const o = outline();
    svg.setAttribute("viewBox", `0 0 ${o.width} ${o.height}`);
    const img = $("bm-image");
    img.setAttribute("width", o.width); img.setAttribute("height", o.height);
    img.setAttribute("href", "/static/" + o.file);
    $("bm-length-label").textContent = o.landmark_label.charAt(0).toUpperCase() + o.landmark_label.slice(1);
    const len = $("bm-length");
    len.min = o.min_cm; len.max = o.max_cm;
    len.value = data.lengths[o.landmark] != null ? data.lengths[o.landmark] : "";
    $("bm-length-help").textContent = _f("Measure it on the body with a tape ({min}-{max} cm; typical adult about {typical} cm); the area is scaled by it.", { min: Station.fmtNumber(o.min_cm), max: Station.fmtNumber(o.max_cm), typical: Station.fmtNumber(o.typical_cm) });
    shapes = []; drawNew(); drawHistory();
  }

  svg.addEventListener("pointerdown", (ev) => {
    if (pointer !== null || (ev.pointerType === "mouse" && ev.button !== 0)) return;
    pointer = ev.pointerId;
    svg.setPointerCapture(ev.pointerId);
    current = [toOutline(ev)];
    stroke.setAttribute("points", current.join(" "));
    ev.preventDefault();
  });
  svg.addEventListener("pointermove", (ev) => {
    if (ev.pointerId !== pointer) return;
    const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
    (events.length ? events : [ev]).forEach((e) => {
      const p = toOutline(e), last = current[current.length - 1];
      if (Math.hypot(p[0] - last[0], p[1] - last[1]) >= MIN_STEP) current.push(p);
    });
    stroke.setAttribute("points", current.join(" "));
    ev.preventDefault();
  });
  function finish(ev) {
    if (ev.pointerId !== pointer) return;
    pointer = null;
    const last = toOutline(ev);
    const prev = current[current.length - 1];
    if (prev[0] !== last[0] || prev[1] !== last[1]) current.push(last);
    if (current.length >= 3) { shapes.push(current); say(""); }
    else say(_("Too short: draw all the way round the area."));
    current = null;
    stroke.setAttribute("points", "");
    drawNew();
  }
  svg.addEventListener("pointerup", finish);
  svg.addEventListener("pointercancel", (ev) => {
    if (ev.pointerId !== pointer) return;
    pointer = null; current = null; stroke.setAttribute("points", "");
  });

  $("bm-undo").addEventListener("click", () => { shapes.pop(); drawNew(); });
  $("bm-clear").addEventListener("click", () => { shapes = []; drawNew(); });
  $("bm-outline").addEventListener("change", chooseOutline);
  $("bm-save").addEventListener("click", async () => {
    const len = Number($("bm-length").value);
    if (!$("bm-length").value || !Number.isFinite(len)) { say(_("Enter the measured length in cm first.")); $("bm-length").focus(); return; }
    $("bm-save").disabled = true;
    try {
      const saved = await Station.api("POST", "/api/bodymap",
        { outline: outline().id, shapes, length_cm: len });
      data = await Station.api("GET", "/api/bodymap");
      say(`Saved: ${saved.area_cm2.toFixed(1)} cm².`);
      shapes = []; drawNew(); drawHistory(); drawTable();
    } catch (e) {
      say(_f("Not saved: {why}", { why: e.message }));
      drawNew();
    }
  });

  const params = new URLSearchParams(location.search);
  if (params.get("outline") && byId[params.get("outline")]) $("bm-outline").value = params.get("outline");
  chooseOutline();
  drawTable();
})();
