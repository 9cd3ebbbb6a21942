/* Printable report: the same numbers as the tables, drawn. */
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const t = (iso) => Date.parse(iso) / 1000;
  const MEAN = _("mean discomfort"), MAX = _("max discomfort"), LIVE = _("live max");
  const ratings = { [MEAN]: [], [MAX]: [], [LIVE]: [] };
  data.ratings.forEach((p) => {
    if (p.discomfort_mean != null) ratings[MEAN].push([t(p.started_at), p.discomfort_mean]);
    if (p.discomfort_max != null) ratings[MAX].push([t(p.started_at), p.discomfort_max]);
    if (p.live_max != null) ratings[LIVE].push([t(p.started_at), p.live_max]);
  });
  Object.keys(ratings).forEach((k) => { if (!ratings[k].length) delete ratings[k]; });
  StationCharts.lines(document.getElementById("report-ratings"), ratings, { y: [0, 10], yLabel: "0-10" });
  const levels = {};
  data.levels.forEach((c) => { (levels[c.ladder] = levels[c.ladder] || []).push([t(c.at), c.to_level + 1]); });
  StationCharts.lines(document.getElementById("report-levels"), levels, { stepped: true, yLabel: _("level") });
  const done = [], asked = [];
  (data.days || []).forEach((d) => {
    const x = Date.parse(d.day + "T12:00:00") / 1000;
    done.push([x, d.completed]);
    if (d.prescribed != null) asked.push([x, d.prescribed]);
  });
  const adherence = { [_("completed")]: done };
  if (asked.length) adherence[_("prescribed")] = asked;
  const el = document.getElementById("report-adherence");
  if (el) StationCharts.lines(el, adherence, { stepped: true, yLabel: _("sessions") });
  const b = document.getElementById("print-button");
  if (b) b.addEventListener("click", () => window.print());
})();
