/* The report's outcome measures: one uPlot chart per measure (charts.js), from the same
   numbers as the tables under them. Loaded with defer, after uPlot and charts.js. */
"use strict";
(function () {
  const el = document.getElementById("outcomes-data");
  if (!el || !window.StationCharts) return;
  const trends = JSON.parse(el.textContent);
  document.querySelectorAll(".outcome-chart").forEach((div) => {
    const t = trends[div.dataset.measure];
    const series = {};
    Object.keys(t.series).forEach((name) => {
      series[name] = t.series[name].map((p) => [Date.parse(p[0]) / 1000, p[1]]);
    });
    const range = { vas: [0, 100], discrimination: [0, 100] }[div.dataset.measure];
    StationCharts.lines(div, series, { y: range, yLabel: t.unit, empty: _("Nothing recorded yet.") });
  });
})();
