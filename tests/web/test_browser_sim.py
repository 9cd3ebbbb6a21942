"""The virtual station page (/sim, simulator only) in headless Chromium at phone and
desktop size: a demo viewer sees the engine's state, the panel's two LEDs as the README's
panel table describes them, the panel's buttons (the rating buttons too) and what each
actuator drives, so they see what the patient would feel.
"""

from __future__ import annotations

import pytest

from tests.web.browser_kit import login, page, shot, size, station  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _leds(pg, seconds: float) -> list[tuple[bool, bool]]:
    """(green lit, red lit) sampled every 50 ms for ``seconds``."""
    out = []
    for _ in range(int(seconds / 0.05)):
        out.append(pg.evaluate(
            "() => ['led-green', 'led-red'].map(i => document.getElementById(i)"
            ".classList.contains('on'))"))  # fmt: skip
        pg.wait_for_timeout(50)
    return [(g, r) for g, r in out]


def test_the_virtual_station_shows_panel_leds_buttons_and_drive(station, page) -> None:  # noqa: F811
    base = station.base
    login(page, base)  # to read the session record; the /sim page itself needs no login
    page.goto(base + "/sim")
    for b in ("start", "stop", "estop", "up", "down"):
        assert page.is_visible(f"#sim-{b}"), b
    page.wait_for_function("() => document.getElementById('sim-state').textContent === 'armed'")
    # README: armed = green Blink(1.0, 1.0), red off: over 2.5 s green is both lit and dark.
    armed = _leds(page, 2.5)
    assert {g for g, _ in armed} == {True, False} and not any(r for _, r in armed)

    page.click("#sim-start")
    page.wait_for_function("() => document.getElementById('sim-state').textContent === 'running'")
    page.wait_for_function(
        "() => document.querySelector('[data-actuator=forearm]')?.dataset.active === 'yes'"
    )
    row = page.locator("[data-actuator=forearm]")
    assert "buzzing at" in row.inner_text()
    drive = int(row.locator("[role=meter]").get_attribute("aria-valuenow") or "0")
    assert 0 < drive <= 100
    # README: running = green steady on, red off.
    running = _leds(page, 0.6)
    assert all(g and not r for g, r in running), running
    shot(page, "sim-01-running")

    # The panel's rating buttons (README): up +1 on the press, a short down -1; the
    # panel's rating is recorded only once confirmed (down held 1 s), so not yet.
    page.click("#sim-up")
    page.wait_for_function("() => document.getElementById('sim-rating').textContent === '1 of 10'")
    page.click("#sim-up")
    page.wait_for_function("() => document.getElementById('sim-rating').textContent === '2 of 10'")
    page.click("#sim-down")
    page.wait_for_function("() => document.getElementById('sim-rating').textContent === '1 of 10'")
    sid = page.request.get(base + "/api/status").json()["session"]["id"]
    assert page.request.get(f"{base}/api/sessions/{sid}").json()["ratings"] == []

    # The e-stop: every output off, the latch said, both LEDs flash (README: estop).
    page.click("#sim-estop")
    page.wait_for_selector("#sim-estop-banner", state="visible")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-actuator]')]"
        ".every(e => e.dataset.active === 'no')"
    )
    estop = _leds(page, 1.5)
    assert {g for g, _ in estop} == {True, False} and {r for _, r in estop} == {True, False}
    assert page.request.get(base + "/api/status").json()["estop_latched"] is True
    shot(page, "sim-02-estop")
