// The clinician's assign form: the level list shows only the chosen protocol version's
// levels (without JavaScript every level shows, grouped by protocol, and the server
// refuses a level of another protocol, naming the protocol's levels).
(function () {
  'use strict';
  const proto = document.getElementById('plan-protocol');
  const level = document.getElementById('plan-level');
  if (!proto || !level) return;
  function filter() {
    const key = proto.value;
    let firstShown = null;
    let keep = false;
    for (const group of level.querySelectorAll('optgroup')) {
      const mine = group.dataset.protocol === key;
      group.hidden = !mine;
      group.disabled = !mine;
      for (const opt of group.querySelectorAll('option')) {
        if (mine && !firstShown) firstShown = opt;
        if (mine && opt.selected) keep = true;
      }
    }
    if (!keep && firstShown) firstShown.selected = true;
  }
  proto.addEventListener('change', filter);
  filter();
})();
