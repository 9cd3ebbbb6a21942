/* History page: ratings per stimulus and the level ladder, plus a readable table. */
"use strict";
(async function () {
  const data = await Station.api("GET", "/api/history");
  const byStim = {};
  data.ratings.forEach((r) => { (byStim[r.stimulus] = byStim[r.stimulus] || []).push([r.t, r.value]); });
  StationCharts.lines(document.getElementById("ratings-chart"), byStim,
    { y: [0, 10], yLabel: _("rating 0-10"), empty: _("No ratings yet.") });
  const byLadder = {};
  data.levels.forEach((l) => { (byLadder[l.ladder] = byLadder[l.ladder] || []).push([l.t, l.level + 1]); });
  StationCharts.lines(document.getElementById("levels-chart"), byLadder,
    { stepped: true, yLabel: _("level"), empty: _("No level history yet.") });
  const body = document.querySelector("#ratings-table tbody");
  data.ratings.slice(-20).reverse().forEach((r) => {
    const tr = document.createElement("tr");
    [Station.fmtDateTime(new Date(r.t * 1000)), r.stimulus, String(r.value)].forEach((v) => {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    });
    body.appendChild(tr);
  });
})();
