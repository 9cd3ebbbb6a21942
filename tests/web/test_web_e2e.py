"""End to end in headless Chromium (Debian's, never downloaded): the whole station.

The engine (simulator) and the app run as their own processes on a temporary data dir
and a free port, as ``station run`` starts them. The browser creates the clinician on
the first-run page, logs in, presses the simulated start button, watches the progress
bar move, rates, finds the rating on the history plot, presses stop and checks through
/api/sim/outputs that every simulated output is off. Screenshots (390x844) go to
test-artifacts/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from station.app import setup_code
from tests.web.browser_kit import ARTIFACTS, open_browser, run_station

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORT = {"width": 390, "height": 844}


@pytest.fixture
def station(tmp_path) -> Iterator[str]:
    """The engine and app processes on a fresh data dir: no account yet (first run)."""
    with run_station(tmp_path, accounts=False) as st:
        yield st.base


@pytest.fixture
def page() -> Iterator[object]:
    with open_browser(width=VIEWPORT["width"], height=VIEWPORT["height"], touch=True) as pg:
        yield pg


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=True)


def _small_targets(page) -> list[str]:
    """Visible controls smaller than 48 px in either direction (touch targets)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(
              'button, a.button, nav a, input:not([type=hidden]), select'))
            .filter(e => e.offsetParent !== null)
            .filter(e => { const r = e.getBoundingClientRect();
                           return r.height < 48 || r.width < 48; })
            .map(e => e.outerHTML.slice(0, 80))"""
    )


def _unlabelled(page) -> list[str]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.outerHTML.slice(0, 80))"""
    )


def test_whole_station_in_the_browser(station, page, tmp_path) -> None:
    base = station
    # First run: no accounts, no default password; the page asks for the clinician and
    # the one-time setup code that `./run` prints (the station fixture's data dir).
    page.goto(base + "/")
    assert page.url.endswith("/setup")
    assert _unlabelled(page) == []
    _shot(page, "01-setup")
    page.fill("#code", setup_code.read(tmp_path / "data") or "")
    page.fill("#name", "carla")
    page.fill("#password", "clinician-pass")
    page.fill("#confirm", "clinician-pass")
    page.click("main button[type=submit]")
    page.wait_for_url("**/clinician/")
    _shot(page, "02-clinician")
    # Log out and back in through the login form.
    page.click("nav.main form[action$='/logout'] button")
    page.goto(base + "/login")
    page.fill("#name", "carla")
    page.fill("#password", "clinician-pass")
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")
    assert "Next session" in page.inner_text("#next-card")
    assert _small_targets(page) == []
    assert _unlabelled(page) == []
    _shot(page, "03-today-armed")

    # Press the simulated panel's start button.
    page.goto(base + "/sim")
    page.click("#sim-start")
    page.wait_for_function(
        "() => document.querySelector('[data-actuator=forearm]')?.textContent.includes('on')"
    )
    _shot(page, "04-simulator-running")

    # The progress bar moves, pushed by the station.
    page.goto(base + "/")
    page.wait_for_function(
        "() => document.getElementById('live-state').textContent.includes('Running')"
    )
    first = float(page.get_attribute("#progress-fill", "style").split("width:")[1].split("%")[0])
    page.wait_for_timeout(2500)
    second = float(page.get_attribute("#progress-fill", "style").split("width:")[1].split("%")[0])
    assert second > first, (first, second)
    assert "left" in page.inner_text("#time-left")

    # One tap rates; the answer says it is saved.
    page.click("button.rate[data-value='3']")
    page.wait_for_function(
        "() => document.getElementById('rate-result').textContent.includes('Saved')"
    )
    _shot(page, "05-today-running-rated")

    # The rating is on the history plot.
    page.goto(base + "/history")
    page.wait_for_selector("#ratings-chart canvas")
    assert page.get_attribute("#ratings-chart", "data-points") == "1"
    assert "3" in page.inner_text("#ratings-table tbody")
    _shot(page, "06-history")

    # Stop (the big button on every page) turns every simulated output off.
    page.goto(base + "/")
    page.click("#stop-button")
    page.wait_for_function(
        "() => document.getElementById('stop-button').textContent.includes('STOPPED')"
    )
    deadline = time.monotonic() + 5
    while True:
        outputs = page.request.get(base + "/api/sim/outputs").json()
        if not any(o["active"] for o in outputs.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert outputs and not any(o["active"] for o in outputs.values()), outputs
    assert all(o["level"] == 0 for o in outputs.values()), outputs
    page.wait_for_function(
        "() => document.getElementById('live-state').textContent.includes('Stopped')"
    )
    _shot(page, "07-stopped")

    # The clinician's record shows the stopped session with its rating.
    sessions = page.request.get(base + "/api/sessions").json()["sessions"]
    assert sessions[0]["state"] == "stopped" and sessions[0]["ended_by"] == "clinician:carla"
    page.goto(base + f"/clinician/sessions/{sessions[0]['id']}")
    assert "stopped" in page.inner_text("main")
    page.goto(base + "/clinician/report")
    page.wait_for_selector("#report-ratings")
    _shot(page, "08-report")
