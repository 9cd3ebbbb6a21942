"""The intake ranking list in headless Chromium at phone size (390x844, touch): the patient
orders the textures with the keyboard and by touch (no dragging), saves, and the station
records exactly that order. The whole station runs as ``station run`` starts it
(``tests/web/test_web_e2e.py``'s fixtures). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from station.storage import Store
from tests.web.test_web_e2e import _shot, _small_targets, page, station  # noqa: F401
from web.security import hash_password

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# station/protocols/textures.toml, the textures ladder in file order
FILE_ORDER = ["feather", "cotton-ball", "silk", "velvet", "corduroy", "terry", "wool", "towel",
              "velcro"]  # fmt: skip


def _order(page) -> list[str]:  # noqa: F811
    return page.eval_on_selector_all(
        "#ranking-textures .rank-item", "els => els.map(e => e.dataset.id)"
    )


def test_patient_orders_the_textures_by_keyboard_and_touch_at_phone_width(
    station,  # noqa: F811
    page,  # noqa: F811
    tmp_path,
) -> None:
    base = station
    data = Path(tmp_path) / "data"
    with Store.open(data, create=False) as store:
        store.users.create("carla", "clinician", hash_password("clinician-pass-1"))
        store.users.create("pat", "patient", hash_password("patient-pass-1"))
        # The clinician's textures plan, not yet ranked (intake).
        store.plans.set("textures", "1.0", levels={"textures": 0, "immersion": 0})
    page.goto(base + "/login")
    page.fill("#name", "pat")
    page.fill("#password", "patient-pass-1")
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")
    page.wait_for_selector("#ranking-textures")
    assert _order(page) == FILE_ORDER
    # Fits 390 px: nothing scrolls sideways, every control is a 48 px touch target.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width
    assert [t for t in _small_targets(page) if "rank-" in t] == []
    _shot(page, "ranking-01-intake")

    # Keyboard: focus Silk's "up" and press Enter twice: Silk is first, focus stays on it.
    silk_up = page.locator("#ranking-textures .rank-item[data-id=silk] .rank-up")
    silk_up.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert _order(page)[0] == "silk"
    assert page.evaluate("() => document.activeElement.closest('.rank-item').dataset.id") == "silk"
    assert "number 1" in page.inner_text("#ranking-textures .rank-result")
    # Touch: tap Feather's "down" once (now 2nd -> 3rd).
    page.locator("#ranking-textures .rank-item[data-id=feather] .rank-down").tap()
    expected = ["silk", "cotton-ball", "feather", *FILE_ORDER[3:]]
    assert _order(page) == expected
    _shot(page, "ranking-02-moved")

    page.locator("#ranking-textures .rank-save").tap()
    page.wait_for_function(
        "() => document.querySelector('#ranking-textures .rank-result')"
        ".textContent.includes('Saved')"
    )
    _shot(page, "ranking-03-saved")
    with Store.open(data, create=False) as store:
        assert store.rankings.in_force()["textures"] == expected
        [rec] = store.rankings.history(ladder="textures")
        assert (rec.context, rec.by) == ("intake", "patient:pat")
    # After the reload the textures list is gone (ranked); immersion still asks.
    page.wait_for_selector("#ranking-immersion")
    page.wait_for_function("() => !document.getElementById('ranking-textures')")
