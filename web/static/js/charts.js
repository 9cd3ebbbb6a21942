/* Small wrappers around uPlot (vendored) for the station's plots; they size to the
   container so they read on a 390 px phone, and redraw on rotation. */
"use strict";
window.StationCharts = (function () {
  const COLOURS = ["#0b57a4", "#b00020", "#1b6e2a", "#8a4b00", "#6a1b9a", "#00695c", "#37474f"];

  function width(el) { return Math.max(280, el.clientWidth || 320); }

  // series: {name: [[x, y], ...]} -> aligned uPlot data
  function align(series) {
    const xs = new Set();
    Object.values(series).forEach((pts) => pts.forEach((p) => xs.add(p[0])));
    const x = Array.from(xs).sort((a, b) => a - b);
    const index = new Map(x.map((v, i) => [v, i]));
    const cols = Object.keys(series).map((name) => {
      const col = new Array(x.length).fill(null);
      series[name].forEach((p) => { col[index.get(p[0])] = p[1]; });
      return col;
    });
    return [x, ...cols];
  }

  function lines(el, series, opts) {
    opts = opts || {};
    const names = Object.keys(series);
    el.innerHTML = "";
    if (!names.length) { el.textContent = opts.empty || _("Nothing recorded yet."); return null; }
    const data = align(series);
    const cfg = {
      width: width(el), height: opts.height || 240,
      scales: {
        // A single point (one rating so far) gets an hour either side, not a 3-year axis.
        x: data[0].length > 1 ? { time: opts.time !== false }
          : { time: opts.time !== false, auto: false, range: [data[0][0] - 3600, data[0][0] + 3600] },
        y: opts.y ? { range: opts.y } : { range: (u, min, max) => [0, Math.max(1, max) + 0.5] },
      },
      axes: [{ label: opts.xLabel || "" }, { label: opts.yLabel || "" }],
      series: [{}].concat(names.map((n, i) => ({
        label: n, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true,
        points: { show: true, size: 8 }, paths: opts.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
      }))),
      legend: { show: true },
    };
    const plot = new uPlot(cfg, data, el);
    window.addEventListener("resize", () => plot.setSize({ width: width(el), height: cfg.height }));
    el.dataset.points = String(names.reduce((n, k) => n + series[k].length, 0));
    return plot;
  }

  return { lines };
})();
