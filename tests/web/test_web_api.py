"""The JSON API against a real Store, library and the real engine on the simulator."""

from __future__ import annotations

from station.app.coordinator import Coordinator
from station.errors import NotAllowed
from station.wiring import load_wiring
from tests.web.conftest import (
    PAT,
    add_users,
    end_process,
    engine_call,
    engine_state,
    logged_in,
    spawn_engine,
    use_quick_protocol,
    wait_for,
)
from web import create_app


def _events(engine, event: str, **match) -> list[dict]:
    return [
        e
        for e in list(engine.hub.recent)
        if e["event"] == event and all(e.get(k) == v for k, v in match.items())
    ]


def test_status_is_open_and_describes_the_next_session_to_the_patient(app, patient) -> None:
    st = app.test_client().get("/api/status").get_json()
    assert st["state"] == "armed" and st["user"] is None
    assert st["next"] is None  # a visitor sees the state and the stop, not the plan
    st = patient.get("/api/status").get_json()
    assert st["next"]["protocol_id"] == "vibration-ladder"
    assert st["next"]["level_index"] == 0 and st["next"]["allowed"] is True


def test_start_rate_journal_and_the_record(patient, coord, engine) -> None:
    r = patient.post("/api/start")
    assert r.status_code == 200, r.get_json()
    sid = r.get_json()["session_id"]
    st = engine_state(engine)
    assert st["state"] == "running" and st["session_id"] == sid
    wait_for(lambda: engine_call(engine, "sim.outputs")["forearm"]["active"])
    wait_for(lambda: coord.store.sessions.get(sid).steps)
    r = patient.post("/api/ratings", json={"value": 4})
    assert r.status_code == 201
    assert r.get_json()["live"] is True and r.get_json()["stopped"] is False
    session = patient.get(f"/api/sessions/{sid}").get_json()
    assert [x["value"] for x in session["ratings"]] == [4]  # on disk when 201 came back
    assert session["state"] == "running"
    r = patient.post("/api/journal", json={"text": "tingling after", "trigger": "cold"})
    assert r.status_code == 201 and r.get_json()["session_id"] == sid
    assert patient.get("/api/sessions").get_json()["sessions"][0]["id"] == sid


def test_live_rating_at_threshold_stops_at_once(patient, coord, engine) -> None:
    sid = patient.post("/api/start").get_json()["session_id"]
    wait_for(lambda: engine_call(engine, "sim.outputs")["forearm"]["active"])
    r = patient.post("/api/ratings", json={"value": 8})
    assert r.status_code == 201 and r.get_json()["stopped"] is True
    # The engine itself stopped on the rating (its reason, its session) and every
    # simulated output is off.
    wait_for(lambda: _events(engine, "stopped", reason="rating", session_id=sid))
    assert engine_state(engine)["live_rating"] == 8
    outputs = engine_call(engine, "sim.outputs")
    assert not any(o["active"] for o in outputs.values()), outputs
    session = coord.store.sessions.get(sid)
    assert session.state == "stopped" and "threshold" in session.end_reason
    assert [r.value for r in session.ratings] == [8] and session.ratings[0].live


def test_too_much_stops_and_is_recorded(patient, coord, engine) -> None:
    sid = patient.post("/api/start").get_json()["session_id"]
    r = patient.post("/api/too-much")
    assert r.status_code == 200
    assert engine_state(engine)["last_stop"]["reason"] == "too_much"
    s = coord.store.sessions.get(sid)
    assert s.state == "stopped" and s.end_reason == "too_much" and s.ended_by == "patient:pat"
    wait_for(
        lambda: coord.store.sessions.current() is None or coord.store.sessions.current().id != sid
    )


def test_completed_session_gets_a_decision_and_limits_apply(patient, coord, engine) -> None:
    use_quick_protocol(coord, engine)
    sid = patient.post("/api/start").get_json()["session_id"]
    wait_for(lambda: coord.store.sessions.get(sid).state == "completed")
    assert _events(engine, "stopped", reason="completed", session_id=sid)
    wait_for(lambda: coord.store.sessions.get(sid).decision is not None)
    s = coord.store.sessions.get(sid)
    assert len(s.steps) == s.planned_steps and all(st.finished_at for st in s.steps)
    assert s.decision.action == "hold"
    # The protocol asks for 120 minutes between sessions: nothing is armed, and the page
    # says when the next session is allowed.
    st = patient.get("/api/status").get_json()
    assert st["next"]["allowed"] is False
    assert "120 minutes" in st["next"]["message"] and st["next"]["next_allowed_at"]
    r = patient.post("/api/start")
    assert r.status_code == 409
    assert "allowed from" in r.get_json()["error"]["message"]
    # After the session a rating for its last step is still accepted.
    r = patient.post("/api/ratings", json={"value": 2})
    assert r.status_code == 201 and r.get_json()["live"] is False


def test_rating_validation_names_the_field(patient) -> None:
    for body in ({"value": 11}, {"value": "3"}, {"value": True}, {}):
        r = patient.post("/api/ratings", json=body)
        assert r.status_code == 422
        err = r.get_json()["error"]
        assert err["field"] == "value" and err["allowed"] == "0..10"


def test_settings_above_cap_refused_with_cap(patient, coord) -> None:
    r = patient.post("/api/settings", json={"brush_speed_cm_s": 50})
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["field"] == "brush_speed_cm_s" and "10" in str(err["allowed"])
    r = patient.post("/api/settings", json={"intensity_percent": 80, "reminder_times": ["08:00"]})
    assert r.status_code == 200, r.get_json()
    assert coord.planner.settings().intensity_percent == 80
    # The settings page shows the refusal next to the field, with the cap.
    page = patient.get("/settings").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = patient.post("/settings", data={"csrf_token": token, "brush_speed_cm_s": "40"})
    assert r.status_code == 422 and "10 cm/s" in r.get_data(as_text=True)


def test_protocol_upload_reports_each_field(clinician) -> None:
    bad = 'id = "x"\nname = "X"\nversion = "one"\nauthor = "me"\nbody_sites = []\n'
    r = clinician.post("/api/protocols", data=bad, content_type="application/toml")
    assert r.status_code == 422
    fields = {p["field"] for p in r.get_json()["error"]["problems"]}
    assert {"version", "body_sites", "caps", "ladders"} <= fields
    page = clinician.get("/clinician/protocols").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = clinician.post("/clinician/protocols", data={"csrf_token": token, "text": bad})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "<code>version</code>" in html and "<code>body_sites</code>" in html


def test_protocol_upload_and_assign_and_preview(clinician, coord, engine) -> None:
    from station.protocols import library

    text = next(p for p in library.builtin_paths() if p.stem == "tapping").read_text()
    r = clinician.post("/api/protocols", data=text, content_type="application/toml")
    assert r.status_code == 201, r.get_json()
    pid = r.get_json()["id"]
    prev = clinician.get(f"/api/preview?protocol={pid}&level=taps/0")
    if prev.status_code == 422:  # level keys are ladder/index; find the ladder name
        key = clinician.get("/api/protocols").get_json()["protocols"]
        level = next(p for p in key if p["id"] == pid)["levels"][0]
        prev = clinician.get(f"/api/preview?protocol={pid}&level={level}")
    assert prev.status_code == 200
    data = prev.get_json()
    assert data["series"] and all(0 <= y <= 1 for pts in data["series"].values() for _, y in pts)
    r = clinician.post("/api/plan", json={"protocol": pid, "level": data["level"]})
    assert r.status_code == 200, r.get_json()
    wait_for(lambda: (engine_state(engine)["armed"] or {}).get("protocol_id") == pid)


def test_engine_down_then_lost_session_is_aborted(tmp_path) -> None:
    """The real engine process goes away mid-session, then a fresh one starts."""
    data = tmp_path / "data"
    data.mkdir()
    proc = spawn_engine(data)
    coord = Coordinator(data_dir=data, simulate=True)
    try:
        coord.start_background()
        wait_for(lambda: coord.status()["state"] == "armed", timeout=10)
        add_users(coord)
        patient = logged_in(create_app({"TESTING": True}, coordinator=coord), PAT)
        sid = patient.post("/api/start").get_json()["session_id"]
        wait_for(lambda: coord.store.sessions.get(sid).state == "running")
        end_process(proc)  # SIGTERM: the engine silences every output and exits
        assert patient.get("/api/status").get_json()["state"] == "disconnected"
        r = patient.post("/api/stop")
        assert r.status_code == 503
        # The engine restarts empty: the coordinator marks the session aborted. It
        # started, so it counts against the 120-minute gap and nothing new is armed yet.
        proc = spawn_engine(data)
        wait_for(lambda: coord.store.sessions.get(sid).state == "aborted", timeout=8)
        assert "lost" in coord.store.sessions.get(sid).end_reason
        st = patient.get("/api/status").get_json()
        assert st["engine"]["connected"] is True and st["next"]["allowed"] is False
        assert st["engine"]["state"] == "idle"
    finally:
        coord.close()
        end_process(proc)


def test_sim_routes(app, engine) -> None:
    client = app.test_client()
    outputs = client.get("/api/sim/outputs").get_json()
    wiring = load_wiring()
    assert set(outputs) == {h.name for h in wiring.haptic} | {b.name for b in wiring.brush}
    assert all(o["active"] is False and o["level"] == 0 for o in outputs.values()), outputs
    trace = client.get("/api/sim/trace?since=0&limit=10").get_json()
    assert trace["records"] and trace["last_seq"] >= len(trace["records"])
    r = client.post("/api/sim/buttons/launch/press")
    assert r.status_code in (400, 404)
    assert client.get("/api/sim/trace?since=abc").status_code == 422


def test_events_stream_starts_with_status(patient) -> None:
    r = patient.get("/api/events", buffered=False)
    assert r.status_code == 200 and r.mimetype == "text/event-stream"
    chunks = iter(r.response)
    first = next(chunks) + next(chunks)
    text = first.decode() if isinstance(first, bytes) else first
    assert "retry:" in text and "event: status" in text
    r.close()


def test_not_allowed_error_maps_to_409(app) -> None:
    from web.errors import from_station_error

    err = from_station_error(NotAllowed("later"))
    assert err.status == 409
