"""The clinician's views built for work (issue 14), through the pages, against a real Store
and the real engine on the simulator.

Expected values come from what happened in the test (who did which session, wrote which
note, changed which cap) and from the issue's words, not from the page's code: each
report names its patient and lists only that patient's sessions and journal; the PDF says
the same (text extracted with pypdf); the version a clinician chooses is the one assigned;
sessions that never started are not in the list; times are the station's local time; a
new station with no plan prescribes nothing; every change names who made it.
"""

from __future__ import annotations

import io
import re
from html import unescape

import pytest

from station.protocols import library
from station.storage.limits import local
from tests.web.conftest import CLIN, PAT, QUICK, add_users, logged_in, use_quick_protocol

BEA = ("bea", "bea-patient-pass-7")
A_NOTE, B_NOTE = "Ana's wrist tingled after the buzz", "Bea: calm evening, no flare"


def _session(client, *, rating: int, note: str) -> int:
    r = client.post("/api/start")
    assert r.status_code == 200, r.get_json()
    sid = r.get_json()["session_id"]
    assert client.post("/api/ratings", json={"value": rating}).status_code in (201, 202)
    assert client.post("/api/journal", json={"text": note}).status_code == 201
    assert client.post("/api/stop", json={"reason": "user"}).status_code == 200
    return sid


def _two_patients(app, coord, engine):
    """Patient 1 renamed "Ana" does one session; the clinician adds "Bea", an account for
    her, chooses her and assigns her plan; she does one session."""
    add_users(coord)
    clin = logged_in(app, CLIN)
    assert clin.patch("/api/patients/1", json={"display_name": "Ana"}).status_code == 200
    use_quick_protocol(coord, engine)
    sid_a = _session(logged_in(app, PAT), rating=2, note=A_NOTE)
    bid = clin.post("/api/patients", json={"display_name": "Bea"}).get_json()["id"]
    r = clin.post(f"/api/patients/{bid}/accounts", json={"name": BEA[0], "password": BEA[1]})
    assert r.status_code == 201, r.get_json()
    assert clin.post(f"/api/patients/{bid}/activate").status_code == 200
    use_quick_protocol(coord, engine, "quick/1")
    sid_b = _session(logged_in(app, BEA), rating=6, note=B_NOTE)
    return clin, bid, sid_a, sid_b


def _session_ids(html: str) -> set[int]:
    return {int(x) for x in re.findall(r'data-session-id="(\d+)"', html)}


def test_each_report_names_its_patient_and_only_its_sessions(app, coord, engine) -> None:
    clin, bid, sid_a, sid_b = _two_patients(app, coord, engine)
    ana = clin.get("/clinician/report?patient=1").get_data(as_text=True)
    bea = clin.get(f"/clinician/report?patient={bid}").get_data(as_text=True)
    assert "Report: Ana" in ana and "Report: Bea" in bea
    assert _session_ids(ana) == {sid_a} and _session_ids(bea) == {sid_b}
    assert A_NOTE.replace("'", "&#39;") in ana and B_NOTE not in ana
    assert B_NOTE in bea and "wrist tingled" not in bea
    # without ?patient= the report is the active patient's: Bea, chosen last
    assert "Report: Bea" in clin.get("/clinician/report").get_data(as_text=True)
    # a patient account cannot reach any of it
    assert logged_in(app, BEA).get("/clinician/report?patient=1").status_code == 403


def test_the_pdf_names_the_patient_the_period_and_its_figures(app, coord, engine) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra")
    pytest.importorskip("weasyprint", reason="weasyprint is in the report extra")
    clin, bid, _, _ = _two_patients(app, coord, engine)
    today = local(coord.store.now(), coord.store.tz).date().isoformat()
    r = clin.get(f"/clinician/report.pdf?patient={bid}&from={today}&to={today}")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.mimetype == "application/pdf" and r.data.startswith(b"%PDF-")
    assert f"report-Bea-{today}-to-{today}.pdf" in r.headers["Content-Disposition"]
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.data)).pages)
    text = " ".join(text.split())
    assert "Report: Bea" in text and f"Period: {today} to {today}" in text
    # Bea started one session today and stopped it herself: started 1, completed 0.
    assert "Sessions completed: 0; started: 1" in text
    assert B_NOTE in text and "wrist tingled" not in text and "Ana" not in text
    assert "<svg" not in text  # the charts are drawn, not printed as markup
    # Ana's PDF over the same day: her own session and note, nothing of Bea's
    r = clin.get(f"/clinician/report.pdf?patient=1&from={today}&to={today}")
    pages = pypdf.PdfReader(io.BytesIO(r.data)).pages
    text = " ".join(" ".join(p.extract_text() for p in pages).split())
    assert "Report: Ana" in text and "wrist tingled" in text and "Bea" not in text


def test_report_period_and_patient_are_checked(app, coord, engine) -> None:
    add_users(coord)
    clin = logged_in(app, CLIN)
    for query, field in (("from=2025-13-01", "from"), ("to=yesterday", "to"),
                         ("from=2025-03-10&to=2025-03-01", "to"), ("patient=abc", "patient"),
                         ("from=1900-01-01&to=2025-01-01", "from")):  # fmt: skip
        for url in ("/clinician/report?", "/clinician/report.pdf?"):
            r = clin.get(url + query)
            assert r.status_code == 400, (url, query, r.status_code)
            assert field in r.get_data(as_text=True)
    r = clin.get("/clinician/report?patient=999")
    assert r.status_code == 404 and "999" in r.get_data(as_text=True)


def test_a_new_station_prescribes_only_from_the_day_its_plan_began(app, coord) -> None:
    """A station started today has today's sessions prescribed, not 28 days' worth (Chromium
    showed "of 560 prescribed" on a new station)."""
    add_users(coord)
    protocol = coord.planner.protocol()
    assert protocol is not None  # a fresh station arms the built-in default plan
    per_day = protocol.caps.sessions_per_day
    html = logged_in(app, CLIN).get("/clinician/report").get_data(as_text=True)
    assert f"0 sessions completed, 0 started, of {per_day} prescribed (0.0 %)" in html
    assert "Report: Patient 1" in html


def test_the_chosen_version_is_assigned_and_the_levels_are_its_own(app, coord, engine) -> None:
    add_users(coord)
    clin = logged_in(app, CLIN)
    library.import_file(coord.data_dir, QUICK, wiring=coord.planner.wiring)
    newer = QUICK.read_text().replace('version = "1.0"', 'version = "1.1"').replace(
        'name = "2 - four seconds"', 'name = "2 - four seconds, newer"'
    )
    library.import_text(coord.data_dir, newer, fmt="toml", source="test",
                        wiring=coord.planner.wiring)  # fmt: skip
    page = clin.get("/clinician/").get_data(as_text=True)
    assert 'value="quick@1.0"' in page and 'value="quick@1.1"' in page
    group = re.search(r'<optgroup label="[^"]*v1.0" data-protocol="quick@1.0">(.*?)</optgroup>',
                      page, re.S)  # fmt: skip
    assert group and "newer" not in group.group(1) and "four seconds" in group.group(1)
    r = clin.post("/clinician/plan", data={"protocol": "quick@1.0", "level": "quick/1"})
    assert r.status_code == 302
    plan = coord.store.plans.get()
    assert (plan.protocol_id, plan.protocol_version, plan.levels) == ("quick", "1.0", {"quick": 1})
    flash = clin.get("/clinician/").get_data(as_text=True)
    assert "quick v1.0 at" in flash and "four seconds" in flash  # what it will play
    # a level the chosen protocol does not have is refused, naming it; the plan stays
    r = clin.post("/clinician/plan", data={"protocol": "quick@1.1", "level": "textures/0"},
                  follow_redirects=True)  # fmt: skip
    assert "Not assigned" in r.get_data(as_text=True) and "textures" in r.get_data(as_text=True)
    assert coord.store.plans.get().protocol_version == "1.0"


def test_sessions_are_real_ones_in_local_words_with_who_ended_them(app, coord, engine) -> None:
    add_users(coord)
    clin = logged_in(app, CLIN)
    use_quick_protocol(coord, engine)
    sid = _session(logged_in(app, PAT), rating=2, note="fine")
    # the default plan's session, armed at start-up and replaced by the quick plan's:
    # a record that never played
    never = [s.id for s in coord.store.sessions.latest(limit=100) if s.started_at is None]
    assert never, "the test needs a session that was armed and never started"
    page = clin.get("/clinician/").get_data(as_text=True)
    table = page[page.index('id="sessions-table"'):]
    table = table[: table.index("</table>")]
    assert re.findall(r'/clinician/sessions/(\d+)"', table) == [str(sid)]  # only what played
    assert all(f"/clinician/sessions/{n}\"" not in table for n in never)
    started = coord.store.sessions.get(sid).started_at
    assert started is not None
    want = "today " + local(started, coord.store.tz).strftime("%H:%M")
    assert want in table and started.isoformat()[:19] not in re.sub(r'datetime="[^"]*"', "", table)
    assert "stopped early" in table and "Stop pressed on the page (by patient:pat)" in table


def test_the_audit_names_who_changed_what_for_each_patient(app, coord, engine) -> None:
    clin, bid, _, _ = _two_patients(app, coord, engine)
    r = clin.post("/clinician/caps", data={"max_intensity_percent": "40"})
    assert r.status_code == 302
    bea = unescape(clin.get(f"/clinician/audit?patient={bid}").get_data(as_text=True))
    assert "clinician:carla</td><td>Caps</td><td>cap max_intensity_percent: (none) -> 40" in bea
    assert "account bea (patient) created" in bea and "Bea chosen" in bea
    ana = unescape(clin.get("/clinician/audit?patient=1").get_data(as_text=True))
    assert "max_intensity_percent" not in ana  # Bea's cap is not Ana's change
    assert "Bea chosen" not in ana
    # the level set by the assignment shows with its author (use_quick_protocol's "test")
    assert "<td>test</td><td>Level</td><td>quick: level (none) -> 0" in ana


def test_a_patient_account_is_made_for_the_chosen_patient(app, coord) -> None:
    add_users(coord)
    clin = logged_in(app, CLIN)
    bid = clin.post("/api/patients", json={"display_name": "Bea"}).get_json()["id"]
    r = clin.post("/clinician/users", data={"name": "bea2", "role": "patient",
                                            "password": BEA[1], "patient_id": str(bid),
                                            "back": "patients"})  # fmt: skip
    assert r.status_code == 302 and r.headers["Location"].endswith("/clinician/patients")
    user = coord.store.users.get("bea2")
    assert user is not None and user.patient_id == bid
    r = clin.post("/clinician/users", data={"name": "bea3", "role": "patient",
                                            "password": BEA[1], "patient_id": "x"},
                  follow_redirects=True)  # fmt: skip
    assert "Account not created" in r.get_data(as_text=True)
    assert coord.store.users.get("bea3") is None


def test_the_preview_shows_the_chosen_version(app, coord) -> None:
    add_users(coord)
    clin = logged_in(app, CLIN)
    library.import_file(coord.data_dir, QUICK, wiring=coord.planner.wiring)
    newer = QUICK.read_text().replace('version = "1.0"', 'version = "1.1"').replace(
        'name = "2 - four seconds"', 'name = "2 - four seconds, newer"'
    )
    library.import_text(coord.data_dir, newer, fmt="toml", source="test",
                        wiring=coord.planner.wiring)  # fmt: skip
    old = clin.get("/clinician/preview?protocol=quick@1.0&level=quick/1").get_data(as_text=True)
    new = clin.get("/clinician/preview?protocol=quick@1.1&level=quick/1").get_data(as_text=True)
    assert "quick v1.0 - 2 - four seconds (" in old and "newer" not in old.split("pv-h")[1]
    assert "quick v1.1 - 2 - four seconds, newer" in new
