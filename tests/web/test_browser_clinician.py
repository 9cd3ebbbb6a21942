"""The clinician's journey in headless Chromium at phone (390x844) and desktop (1280x800)
size, on a FRESH station (no accounts): first run with the setup code, add a patient and
their account, choose them, assign a plan (the level list shows only the chosen
protocol's levels), the patient's intake (ranking on Today, a threshold with the
simulated patient), then the report for a period and its PDF download.

Expected values come from the journey itself and issue 14: the report names the patient
chosen, and its PDF (text extracted with pypdf) names the patient and the period.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.app import setup_code
from station.storage import Store
from tests.web.browser_kit import api_post, csrf, page, run_station, shot, size  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CLIN_PW, BEA_PW = "clinician-pass-9", "bea-patient-pass-7"


@pytest.fixture
def fresh(tmp_path) -> Iterator[tuple[str, Path]]:
    """``station engine`` and ``station app`` (simulator) on a fresh data dir: no account."""
    with run_station(tmp_path, accounts=False) as st:
        yield st.base, st.data


def _login(pg, base: str, name: str, password: str) -> None:
    pg.goto(base + "/login")
    pg.fill("#name", name)
    pg.fill("#password", password)
    pg.click("main button[type=submit]")
    pg.wait_for_load_state()


def _logout(pg) -> None:
    pg.click("nav.main form[action$='/logout'] button")
    pg.wait_for_load_state()


def _visible_levels(pg) -> list[str]:
    return pg.eval_on_selector_all(
        "#plan-level option",
        "os => os.filter(o => !o.closest('optgroup').hidden && !o.disabled).map(o => o.value)",
    )


def test_first_run_patient_plan_intake_report_and_pdf(fresh, page) -> None:  # noqa: F811
    base, data = fresh
    pg = page
    # -- first run: the setup code makes the clinician -----------------------------------
    pg.goto(base + "/")
    assert pg.url.endswith("/setup")
    pg.fill("#code", setup_code.read(data) or "")
    pg.fill("#name", "carla")
    pg.fill("#password", CLIN_PW)
    pg.fill("#confirm", CLIN_PW)
    pg.click("main button[type=submit]")
    pg.wait_for_url("**/clinician/")
    assert "Patient 1" in pg.inner_text("#desk-card")

    # -- a new patient, her account, and the station works for her -----------------------
    pg.goto(base + "/clinician/patients")
    pg.fill("#patient-name", "Bea Example")
    pg.click("form[action$='/clinician/patients'] button[type=submit]")
    pg.wait_for_selector("#patients-table tr:has-text('Bea Example')")
    pg.select_option("#acc-patient", label="Bea Example")
    pg.fill("#acc-name", "bea")
    pg.fill("#acc-pw", BEA_PW)
    pg.click("#patient-account-form button[type=submit]")
    assert "Account bea (patient) for Bea Example created" in pg.inner_text("main")
    pg.click("button:has-text('Choose Bea Example')")
    assert "now works for Bea Example" in pg.inner_text("main")

    # -- assign: the level list is the chosen protocol's own ------------------------------
    pg.goto(base + "/clinician/")
    assert pg.inner_text("#active-patient") == "Bea Example"
    pg.select_option("#plan-protocol", "textures@1.0")
    levels = _visible_levels(pg)
    assert levels and all(v.split("/")[0] in ("textures", "immersion") for v in levels), levels
    pg.select_option("#plan-protocol", index=0)
    other = _visible_levels(pg)
    assert other and not set(other) & set(levels)
    pg.select_option("#plan-protocol", "textures@1.0")
    pg.select_option("#plan-level", "textures/0")
    shot(pg, "clinician-01-assign")
    pg.click("#assign-form button[type=submit]:has-text('Assign')")
    assert "Plan assigned for Bea Example: textures v1.0" in pg.inner_text("main")
    _logout(pg)

    # -- the patient's intake: her ranking on Today -----------------------------------------
    _login(pg, base, "bea", BEA_PW)
    pg.wait_for_selector("#ranking-textures")
    pg.locator("#ranking-textures .rank-save").click()
    pg.wait_for_function("() => document.querySelector('#ranking-textures .rank-result')"
                         ".textContent.includes('Saved')")  # fmt: skip
    _logout(pg)

    # -- the clinician measures her threshold with the simulated patient (her textures
    # plan needs none the patient measures herself: the page refuses her, 403) ----------
    _login(pg, base, "carla", CLIN_PW)
    r = api_post(pg, base, "/api/sim/patient", {"thresholds": {"forearm": 0.12}, "noise": 0.0,
                                                 "seed": 3})  # fmt: skip
    assert r.status == 200, r.text()
    pg.request.post(base + "/api/sim/clock", headers={"X-CSRFToken": csrf(pg)},
                    data={"rate": 20})  # fmt: skip
    pg.goto(base + "/thresholds")
    pg.select_option("#thr-actuator", "forearm")
    with pg.expect_response(lambda r: r.url.endswith("/api/thresholds/measure")) as sent:
        pg.click("#thr-begin")
    assert sent.value.status == 200, sent.value.text()
    deadline = time.monotonic() + 120
    while True:  # the simulated patient answers each trial; the page follows
        m = pg.request.get(base + "/api/thresholds").json()
        if m["measurement"].get("phase") in ("finished", "aborted") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert m["measurement"].get("phase") == "finished", m["measurement"]
    assert abs(m["detection"]["forearm"]["value"] - 0.12) / 0.12 <= 0.20  # the hidden one
    shot(pg, "clinician-02-threshold")

    # -- the report for a period and its PDF ----------------------------------------------
    with Store.open(data, create=False) as store:
        bea = next(p for p in store.patients.list() if p.display_name == "Bea Example")
        [ranked] = store.for_patient(bea.id).rankings.history(ladder="textures")
        assert ranked.by == "patient:bea"
        assert store.for_patient(bea.id).thresholds.history()
    pg.goto(base + "/clinician/report")
    assert pg.inner_text("#report-title") == "Report: Bea Example"
    today = pg.input_value("#rep-to")
    pg.fill("#rep-from", today)
    pg.click("#report-form button[type=submit]")
    pg.wait_for_url(f"**from={today}**")
    assert f"({today} to {today})" in pg.inner_text("#report-period")
    shot(pg, "clinician-03-report")
    with pg.expect_download() as info:
        pg.click("#pdf-link")
    download = info.value
    assert download.suggested_filename == f"report-Bea-Example-{today}-to-{today}.pdf"
    pypdf = pytest.importorskip("pypdf")
    body = Path(download.path()).read_bytes()
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(body)).pages)
                    .split())  # fmt: skip
    assert "Report: Bea Example" in text and f"Period: {today} to {today}" in text
    # her audit names who did what: the ranking is hers, the plan the clinician's
    pg.goto(base + f"/clinician/audit?patient={bea.id}")
    audit = pg.inner_text("#audit-table")
    assert "patient:bea" in audit and "clinician:carla" in audit
