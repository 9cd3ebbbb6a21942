"""A visitor who is not logged in sees the state and the stop, nothing of the record
(issue 13), and an anonymous "too much" stops but is not the patient's rating.

The page is reachable from the clinic's network and a home's Wi-Fi. Before: ``/`` and
``/api/status`` showed any visitor the protocol, the level, the session and its steps.
"""

from __future__ import annotations

import json

from tests.web.conftest import engine_state, use_quick_protocol, wait_for
from tests.web.test_web_record import GAP_S, _start

PRIVATE = ("Quick test ladder", "four seconds", "Four seconds of buzz", "quick")


def test_an_anonymous_visitor_sees_the_state_and_stop_only(app, coord, engine, patient) -> None:
    use_quick_protocol(coord, engine, level="quick/1")
    _start(patient, engine)
    anon = app.test_client()
    body = anon.get("/api/status").get_json()
    assert body["state"] == "running" and body["user"] is None
    assert body["session"] is None and body["step"] is None and body["next"] is None
    text = json.dumps(body)
    assert not [w for w in PRIVATE if w in text], text
    page = anon.get("/").get_data(as_text=True)
    assert not [w for w in PRIVATE if w in page]
    assert 'action="/stop"' in page or "/api/stop" in page  # the stop is there
    # The patient, logged in, sees the session.
    mine = patient.get("/api/status").get_json()
    assert mine["session"] is not None and mine["next"]["protocol_name"] == "Quick test ladder"
    r = anon.post("/api/stop")
    assert r.status_code == 200 and r.get_json()["stopped"] is True
    assert "Quick test ladder" not in json.dumps(r.get_json())
    assert engine_state(engine)["state"] != "running"


def test_an_anonymous_too_much_stops_but_does_not_step_the_patient_back(
    app, coord, engine, patient
) -> None:
    use_quick_protocol(coord, engine, level="quick/1")
    anon = app.test_client()
    sids = []
    for _ in range(2):  # two presses in a row would step back if they were the patient's
        sids.append(_start(patient, engine))
        r = anon.post("/api/stop", json={"reason": "too_much"})
        assert r.status_code == 200 and r.get_json()["stopped"] is True
        assert engine_state(engine)["state"] != "running"
        coord.sim_clock_change(advance_s=GAP_S)
        wait_for(lambda: coord.store.sessions.current() is not None)
    assert coord.store.plans.get().levels["quick"] == 1  # not stepped back
    for sid in sids:
        session = patient.get(f"/api/sessions/{sid}").get_json()
        assert session["state"] == "stopped" and session["ratings"] == []
        assert session["ended_by"] == "anonymous"
        assert "not counted" in session["end_reason"] and "too_much" not in session["end_reason"]


def test_ratings_and_journal_entries_record_who_gave_them(
    app, coord, engine, patient, clinician
) -> None:
    use_quick_protocol(coord, engine, level="quick/1")
    sid = _start(patient, engine)
    assert patient.post("/api/ratings", json={"value": 3}).status_code == 201
    assert clinician.post("/api/ratings", json={"value": 2}).status_code == 201
    r = patient.post("/api/journal", json={"text": "warm afterwards"})
    assert r.status_code == 201 and r.get_json()["by"] == "patient:pat"
    session = patient.get(f"/api/sessions/{sid}").get_json()
    assert [(x["value"], x["by"]) for x in session["ratings"]] == [
        (3, "patient:pat"),
        (2, "clinician:carla"),
    ]
