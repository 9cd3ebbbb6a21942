/* The ranking lists (templates/_ranking.html): move an item with its up/down buttons
   (touch, mouse or keyboard: the focus stays on the moved item's button so pressing again
   keeps moving it), then save the order with POST /api/plan/ranking. */
"use strict";
(function () {
  function items(list) { return Array.from(list.querySelectorAll(".rank-item")); }

  function refresh(list) {
    const all = items(list);
    all.forEach(function (li, i) {
      li.querySelector(".rank-up").setAttribute("aria-disabled", i === 0 ? "true" : "false");
      li.querySelector(".rank-down").setAttribute("aria-disabled", i === all.length - 1 ? "true" : "false");
    });
  }

  function move(li, up, status) {
    const list = li.parentElement;
    const other = up ? li.previousElementSibling : li.nextElementSibling;
    const name = li.querySelector(".rank-name").textContent;
    if (!other) {
      status.textContent = up ? _f("{name} is already first.", { name }) : _f("{name} is already last.", { name });
      return;
    }
    if (up) list.insertBefore(li, other); else list.insertBefore(other, li);
    refresh(list);
    items(list).forEach(function (x) { x.classList.remove("moved"); });
    li.classList.add("moved");
    const pos = items(list).indexOf(li) + 1;
    status.textContent = _f("{name} is now number {pos} of {count}. Not saved yet.", { name, pos, count: items(list).length });
  }

  function setup(section) {
    const list = section.querySelector(".rank-list");
    const status = section.querySelector(".rank-result");
    const save = section.querySelector(".rank-save");
    refresh(list);
    list.addEventListener("click", function (ev) {
      const btn = ev.target.closest("button");
      if (!btn) return;
      const li = btn.closest(".rank-item");
      move(li, btn.classList.contains("rank-up"), status);
      btn.focus();
    });
    save.addEventListener("click", async function () {
      const order = items(list).map(function (li) { return li.dataset.id; });
      save.disabled = true;
      status.textContent = _("Saving...");
      try {
        const r = await Station.api("POST", "/api/plan/ranking", {
          ladder: section.dataset.ladder, order: order, protocol: section.dataset.protocol,
        });
        status.textContent = _f("Saved ({context}):", { context: r.recorded.context }) + " " +
          r.ladder.items.map(function (it) { return it.name; }).join(", ") + ".";
        setTimeout(function () { window.location.reload(); }, 1200);
      } catch (e) {
        status.textContent = _f("Not saved: {why}", { why: e.message });
        save.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("section.ranking").forEach(setup);
  });
})();
