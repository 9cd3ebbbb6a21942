"""The record as a clinician reads it (issue 12): "too much" is a rating that progression
sees, armed programs that never started are not sessions, and the page gets the body
site of every actuator. Against the real engine on the simulator (``conftest.py``).

Figures from the test protocol ``quick.toml`` (read by hand): stop_threshold 8, default
progression (back_min_rating 7, back_after_sessions 2), 3 sessions a day, 120 min apart.
"""

from __future__ import annotations

import json

from station.app.coordinator import Coordinator
from tests.web.conftest import engine_state, use_quick_protocol, wait_for

QUICK_STOP_THRESHOLD = 8
GAP_S = 121 * 60


def _start(client, engine) -> int:
    r = client.post("/api/start")
    assert r.status_code == 200, r.get_json()
    wait_for(lambda: engine_state(engine)["state"] == "running")
    return r.get_json()["session_id"]


def test_too_much_records_a_live_rating_at_the_stop_threshold(coord, engine, patient) -> None:
    use_quick_protocol(coord, engine, level="quick/1")  # four seconds: time to press
    sid = _start(patient, engine)
    r = patient.post("/api/too-much")
    assert r.status_code == 200 and r.get_json()["recorded"] == "too_much"
    assert engine_state(engine)["state"] != "running"
    session = patient.get(f"/api/sessions/{sid}").get_json()
    assert session["state"] == "stopped" and session["end_reason"] == "too_much"
    assert session["ended_by"] == "patient:pat"  # who pressed: told apart from anonymous
    assert [(x["value"], x["live"]) for x in session["ratings"]] == [(QUICK_STOP_THRESHOLD, True)]


def test_two_too_much_sessions_in_a_row_step_the_patient_back(coord, engine, patient) -> None:
    use_quick_protocol(coord, engine, level="quick/1")
    for _ in range(2):
        _start(patient, engine)
        assert patient.post("/api/too-much").status_code == 200
        coord.sim_clock_change(advance_s=GAP_S)  # the protocol's minimum gap
        wait_for(lambda: coord.store.sessions.current() is not None)
    assert coord.store.plans.get().levels["quick"] == 0
    decisions = [h["decision"] for h in coord.store.progress.history(ladder="quick")]
    assert decisions[0].action == "back" and decisions[1].action == "hold"


def test_armed_programs_that_never_started_are_not_sessions(
    coord: Coordinator, engine, clinician
) -> None:
    # Arming the demo plan, then re-assigning (the armed program replaced, never started)
    # leaves rows behind; none of them is a session a person did.
    use_quick_protocol(coord, engine)
    assert coord.store.sessions.latest(limit=10)  # the station armed programs
    assert clinician.get("/api/sessions").get_json()["sessions"] == []
    assert clinician.get("/api/history").get_json()["ratings"] == []
    exported = json.loads(clinician.get("/clinician/export.json").get_data(as_text=True))
    assert exported["sessions"] == []
    sid = _start(clinician, engine)
    clinician.post("/api/stop")
    coord.sim_clock_change(advance_s=GAP_S)  # past the minimum gap: the next is armed
    wait_for(lambda: coord.store.sessions.current() is not None)  # armed, not started
    listed = [s["id"] for s in clinician.get("/api/sessions").get_json()["sessions"]]
    assert listed == [sid]
    exported = json.loads(clinician.get("/clinician/export.json").get_data(as_text=True))
    assert [s["id"] for s in exported["sessions"]] == [sid]


def test_status_gives_each_actuator_its_site_and_the_clinician_moves_one(
    coord, engine, clinician
) -> None:
    status = clinician.get("/api/status").get_json()
    assert status["sites"]["forearm"] == "forearm-border"  # default_wiring.toml
    r = clinician.post("/api/plan/sites", json={"sites": {"hand": "palm"}})
    assert r.status_code == 200, r.get_json()
    assert clinician.get("/api/status").get_json()["sites"]["hand"] == "palm"
    r = clinician.post("/api/plan/sites", json={"sites": {"elbow": "palm"}})
    assert r.status_code in (400, 422) and "elbow" in json.dumps(r.get_json())
    r = clinician.post("/api/plan/sites", json={"sites": {"hand": "Palm!"}})
    assert r.status_code in (400, 422) and "Palm!" in json.dumps(r.get_json())


def test_a_placement_on_an_avoided_site_is_refused_naming_step_actuator_site(
    coord: Coordinator, engine, clinician
) -> None:
    from station.protocols import library

    path = next(p for p in library.builtin_paths() if p.stem == "distant-site")
    library.import_file(coord.data_dir, path, wiring=coord.planner.wiring)
    coord.assign("distant-site", "distant/0", by="test")
    before = coord.store.plans.get()
    r = clinician.post("/api/plan/sites", json={"sites": {"upper_arm": "allodynic-zone"}})
    assert r.status_code == 422, r.get_json()
    text = json.dumps(r.get_json())
    for words in ("upper_arm", "allodynic-zone", "step ", "sites.upper_arm"):
        assert words in text, words
    assert coord.store.plans.get() == before
    patient_view = clinician.get("/api/status").get_json()
    assert patient_view["sites"]["upper_arm"] == "upper-arm"
