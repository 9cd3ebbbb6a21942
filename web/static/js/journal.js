/* The journal page: save a note (POST /api/journal), then show the list again from the
   station (GET /api/journal), newest first, times in this device's locale. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);

  function when(iso) {
    const d = new Date(iso);
    return isNaN(d) ? iso : Station.fmtDateTime(d);
  }

  function item(e) {
    const li = document.createElement("li"), t = document.createElement("time"), p = document.createElement("p");
    li.dataset.id = e.id;
    t.dateTime = e.at; t.textContent = when(e.at);
    li.append(t);
    if (e.trigger) { const s = document.createElement("span"); s.className = "muted"; s.textContent = " " + _f("(trigger: {trigger})", { trigger: e.trigger }); li.append(s); }
    if (e.session_id) { const s = document.createElement("span"); s.className = "muted"; s.textContent = " - " + _f("session {id}", { id: e.session_id }); li.append(s); }
    p.className = "prewrap"; p.textContent = e.text; li.append(p);
    return li;
  }

  async function load() {
    const data = await Station.api("GET", "/api/journal");
    $("journal-entries").replaceChildren(...data.entries.map(item));
    $("journal-empty").hidden = data.entries.length > 0;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#journal-entries time").forEach((t) => { t.textContent = when(t.dateTime); });
    Station.journalForm(load);
  });
})();
