// Discrimination training (issue 16): large tap targets, one per placed site; the answer
// goes to POST /api/discrimination/answer. The page never knows the right site before it
// answers: /api/status gives only the choices and whether a trial is open.
(function () {
  "use strict";
  var card = document.getElementById("discriminate");
  if (!card) return;
  var sitesBox = document.getElementById("disc-sites");
  var probesBox = document.getElementById("disc-probes");
  var feedback = document.getElementById("disc-feedback");
  var scoreText = document.getElementById("disc-score");
  var chosenProbe = null;
  var shown = "";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  function words(s) { return (s || "").replace(/[-_]/g, " "); }

  function button(label, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "disc-target";
    b.style.minWidth = "44%"; b.style.minHeight = "4.5rem"; b.style.margin = "0.3rem";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function answer(site) {
    var body = { site: site };
    if (probesBox.childElementCount) body.probe = chosenProbe;
    fetch("/api/discrimination/answer", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
      .then(function (res) {
        var j = res[1];
        if (res[0] !== 200) { feedback.textContent = (j.error && j.error.message) || _("Not recorded."); return; }
        if (!j.feedback) { feedback.textContent = _("Recorded."); return; }
        feedback.textContent = j.correct ? _("Right!") : _("Not quite: it was") + " " + words(j.right_site) +
          (j.right_probe ? " (" + words(j.right_probe) + ")" : "") + ".";
      });
  }

  function render(d) {
    var key = JSON.stringify([d.choices, d.probes]);
    if (key === shown) return;
    shown = key;
    sitesBox.textContent = ""; probesBox.textContent = "";
    d.choices.forEach(function (c) {
      sitesBox.appendChild(button(words(c.body_site || c.site), function () { answer(c.site); }));
    });
    probesBox.hidden = !d.probes.length;
    d.probes.forEach(function (p) {
      probesBox.appendChild(button(words(p), function () { chosenProbe = p; }));
    });
    chosenProbe = d.probes.length ? d.probes[0] : null;
  }

  function poll() {
    fetch("/api/status", { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (st) {
        var d = st.discrimination;
        card.hidden = !d;
        // While the patient names sites, the body picture must be on the first screen
        // (a timed answer): the 0-10 rating box gives way; too much and STOP stay.
        document.body.classList.toggle("discriminating", !!d);
        if (!d) return;
        render(d);
        var s = d.so_far;
        scoreText.textContent = _f("{right} right of {trials} so far ({total} in all)", { right: s.correct, trials: s.trials, total: d.trials_total });
      }).catch(function () {}).then(function () { setTimeout(poll, 400); });
  }
  // Naming a site needs a login (the answer is the patient's record): a visitor's page
  // has nothing to ask, and need not add a status request every 400 ms to the page's own.
  if (document.body.dataset.loggedIn === "yes") poll();
})();
