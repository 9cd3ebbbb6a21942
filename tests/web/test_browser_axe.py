"""axe-core (vendored, tests/vendor/axe-core) on every page of the station, in headless
Chromium at phone (390x844) and desktop (1280x800) size, as nobody, as the patient and as
the clinician, in the states a page shows (idle, a session running with its rating card,
paused, the summary, the e-stop latched, a lost station, a flash message, a field error):
WCAG 2.0/2.1 A and AA, zero violations (issue 14: "axe reports no violations").

The pages come from the app's own url_map (every GET route outside /api and /static), so
a page added later is checked too (and the test fails if one was not visited).
``test_axe_finds_what_it_should`` shows the check itself can fail.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from unittest import mock

import pytest

from tests.web.axe import describe, violations
from tests.web.browser_kit import (  # noqa: F401  (fixtures)
    PATIENT,
    PATIENT_PASSWORD,
    Station,
    add_accounts,
    api_post,
    page,
    run_station,
    size,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CLINICIAN, CLINICIAN_PASSWORD = "carla", "clinician-pass-1"


def page_routes() -> set[str]:
    """Every GET route of the app that is a page (not /api, not a static file)."""
    from web import create_app

    coord = mock.MagicMock()
    coord.data_dir = "/nonexistent"
    coord.store.users.count.return_value = 1
    app = create_app({"SECRET_KEY": "only-for-the-url-map", "TESTING": True}, coordinator=coord)
    return {
        r.rule
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or ())
        and not r.rule.startswith(("/api/", "/static/", "/i18n/"))  # i18n: script catalogs
    }


@pytest.fixture
def bare_station(tmp_path) -> Iterator[Station]:
    with run_station(tmp_path, accounts=False) as st:
        yield st


class Audit:
    """Runs axe on each page state and keeps every violation, so one run shows them all."""

    def __init__(self, pg, base: str) -> None:
        self.pg, self.base = pg, base
        self.found: list[str] = []
        self.visited: set[str] = set()
        self.checked = 0

    def check(self, what: str) -> None:
        self.checked += 1
        got = violations(self.pg)
        if got:
            self.found.append(f"--- {what} ({self.pg.url}, {self.pg.size_name}):\n{describe(got)}")

    def visit(self, rule: str, path: str, who: str) -> None:
        """Open a route's page (when it is HTML) and check it as it loads."""
        self.visited.add(rule)
        head = self.pg.request.get(self.base + path, max_redirects=0)
        if "text/html" not in head.headers.get("content-type", "") and head.status < 300:
            return  # a download (export.csv/json): no page to check
        answer = self.pg.goto(self.base + path)
        self.pg.wait_for_load_state("load")
        if answer is not None and answer.status >= 500:
            self.found.append(f"--- {who} {path}: answered {answer.status}, not a page")
        self.check(f"{who} {path}")


def _login(pg, base: str, name: str, password: str) -> None:
    pg.context.clear_cookies()
    pg.goto(base + "/login")
    pg.fill("#name", name)
    pg.fill("#password", password)
    pg.click("main button[type=submit]")
    pg.wait_for_url(base + "/")


def _state(pg, base: str) -> dict:
    return pg.request.get(base + "/api/status").json()


def _walk(audit: Audit, routes: set[str], who: str, session_id: int | None) -> None:
    for rule in sorted(routes):
        path = rule.replace("<int:session_id>", str(session_id or 1))
        audit.visit(rule, path, who)


def test_every_page_in_every_state_has_no_axe_violations(bare_station, page) -> None:  # noqa: F811
    base, pg = bare_station.base, page
    routes = page_routes()
    audit = Audit(pg, base)

    # First run: no clinician yet, /setup shows its form (and its error).
    audit.visit("/setup", "/setup", "first run")
    pg.fill("#code", "wrong-code")
    pg.click("main button[type=submit]")
    audit.check("first run /setup with a wrong code")
    add_accounts(bare_station.data)

    # Nobody logged in: every page (most send to the login page), a failed login, the
    # home page with the e-stop latched and with the flash the page's STOP leaves.
    _walk(audit, routes - {"/setup"}, "anonymous", None)
    pg.goto(base + "/login")
    pg.fill("#name", PATIENT)
    pg.fill("#password", "not-the-password")
    pg.click("main button[type=submit]")
    audit.check("anonymous failed login")
    pg.goto(base + "/no-such-page")
    audit.check("anonymous, a page that does not exist (404)")
    pg.goto(base + "/")
    pg.click("#stop-button")
    pg.wait_for_function("() => document.getElementById('stop-button').textContent === 'STOPPED'")
    audit.check("anonymous after the page's STOP")
    with pg.expect_navigation():  # the form itself (the page's fallback): its flash
        pg.evaluate("() => document.getElementById('stop-form').submit()")
    pg.wait_for_selector("main > .flash")
    audit.check("anonymous after STOP (flash)")

    # The patient: idle, a session running (rating card), rated, paused, the summary.
    _login(pg, base, PATIENT, PATIENT_PASSWORD)
    audit.check("patient home, idle")
    pg.click("#start-button")
    pg.wait_for_function("() => document.body.classList.contains('in-session')")
    pg.wait_for_selector("button.rate", state="visible")
    audit.check("patient session running, rating card")
    pg.click("button.rate[data-value='3']")
    pg.wait_for_function("() => document.getElementById('rate-result').textContent.includes('3')")
    audit.check("patient session running, rated")
    pg.click("#pause-button")
    pg.wait_for_selector("#resume-button", state="visible")
    audit.check("patient session paused")
    session_id = _state(pg, base)["session"]["id"]
    pg.click("#resume-button")
    pg.wait_for_selector("#pause-button", state="visible")
    pg.click("#too-much")
    pg.wait_for_selector("#summary", state="visible")
    audit.check("patient session summary (stopped)")
    # A lost station: the banner (the app frozen; the heartbeat says it within 3 s).
    pg.goto(base + "/")
    bare_station.app.send_signal(signal.SIGSTOP)
    try:
        pg.wait_for_selector("#conn-banner", state="visible", timeout=5000)
        audit.check("patient home, lost connection")
    finally:
        bare_station.app.send_signal(signal.SIGCONT)
    pg.wait_for_selector("#conn-banner", state="hidden", timeout=10000)
    # The e-stop latched: its banner and Reset button.
    assert api_post(pg, base, "/api/sim/buttons/estop/press").ok
    pg.wait_for_selector("#estop-banner", state="visible", timeout=5000)
    audit.check("patient home, e-stop latched")
    _walk(audit, routes, "patient", session_id)  # with the e-stop still latched
    pg.goto(base + "/")
    pg.click("#estop-reset-button")
    pg.wait_for_selector("#estop-banner", state="hidden", timeout=5000)
    # Settings: saved (flash) and refused (the error next to the field).
    pg.goto(base + "/settings")
    pg.fill("#f-intensity_percent", "150")
    pg.click("#settings-form button[type=submit]")
    pg.wait_for_selector("#e-intensity_percent", state="visible")
    audit.check("patient settings, field error")
    pg.fill("#f-intensity_percent", "80")
    pg.click("#settings-form button[type=submit]")
    pg.wait_for_function("() => document.querySelector('main').textContent.includes('saved')")
    audit.check("patient settings saved")

    # The clinician: every page, a session's record, a preview, the flash of an action.
    _login(pg, base, CLINICIAN, CLINICIAN_PASSWORD)
    _walk(audit, routes, "clinician", session_id)
    pg.goto(base + "/clinician/preview")
    pg.click("main form button[type=submit]")
    pg.wait_for_load_state("load")
    audit.check("clinician preview shown")

    print(f"axe: {audit.checked} page states checked at {pg.size_name}")
    assert not audit.found, "\n".join(audit.found)
    assert routes <= audit.visited, sorted(routes - audit.visited)


@pytest.mark.parametrize("size", ["desktop"])
def test_axe_finds_what_it_should(page) -> None:  # noqa: F811
    """The check itself can fail: a page with an unlabelled field, an image without a text
    alternative, grey-on-white text below 4.5:1 and no lang is four violations."""
    page.set_content(
        "<html><body><main><h1>x</h1><img src='data:,'><input type='text'>"
        "<p style='color:#aaa;background:#fff'>faint</p></main></body></html>"
    )
    found = {v["id"] for v in violations(page)}
    assert {"image-alt", "label", "color-contrast", "html-has-lang"} <= found, found
