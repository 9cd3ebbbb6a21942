/* Level preview: intensity against time per actuator, from the compiled program. */
"use strict";
(function () {
  const node = document.getElementById("preview-data");
  if (!node) return;
  const series = JSON.parse(node.textContent);
  StationCharts.lines(document.getElementById("preview-chart"), series,
    { time: false, y: [0, 1], xLabel: _("seconds"), yLabel: _("intensity") });
})();
