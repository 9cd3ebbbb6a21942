"""Haptic auto-calibration from the clinician's page and API, through the real engine.

``POST /api/hardware/calibrate {"actuator": NAME}`` goes through the app's engine link
to the engine (a simulated DRV2605L that models auto-calibration), which stores the
results. Clinician only; refused while a session runs; bad input is a 4xx naming the
field, the value and what is allowed; nothing answers 500.
"""

from __future__ import annotations

import pytest

from tests.web.conftest import engine_call, engine_state, use_quick_protocol, wait_for

RESULT = (0x2A, 0x91, 3)  # differs from the chip's reset values (0x0C, 0x6C, 2)
HAPTICS = ["forearm", "hand", "shoulder", "upper_arm"]
LRAS = ["forearm", "hand"]  # the ERMs run open loop: nothing to calibrate


def _store_file(engine):
    return engine.data_dir / "haptic_calibration.json"


@pytest.fixture(autouse=True)
def _fresh_store(engine):
    _store_file(engine).unlink(missing_ok=True)
    for chip in engine.hw.sim.chips.values():
        chip.calibration_result = None
        chip.actuator_connected = True
    yield
    _store_file(engine).unlink(missing_ok=True)
    for chip in engine.hw.sim.chips.values():
        chip.actuator_connected = True


def test_clinician_calibrates_and_sees_the_stored_values(clinician, engine):
    engine.hw.sim.chips["hand"].calibration_result = RESULT
    before = engine_state(engine)["state"]
    r = clinician.post("/api/hardware/calibrate", json={"actuator": "hand"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["compensation"], body["back_emf"], body["back_emf_gain"]) == RESULT
    assert body["actuator"] == "hand" and body["actuator_kind"] == "lra"
    assert body["calibrated_at"]
    assert _store_file(engine).exists()
    listed = clinician.get("/api/hardware/calibration").get_json()["actuators"]
    assert listed["hand"]["stored"]["back_emf"] == RESULT[1]
    assert listed["forearm"]["stored"] is None
    assert engine_state(engine)["state"] == before  # the armed session stays armed
    # and the page shows it in the actuator's row, with a button per haptic actuator
    page = clinician.get("/clinician/").get_data(as_text=True)
    for name in LRAS:
        assert f'id="cal-button-{name}"' in page
    for name in ("brush", "upper_arm", "shoulder"):
        assert f'id="cal-button-{name}"' not in page
    assert page.count("open loop: nothing to calibrate") == 2
    assert f"A_CAL_COMP {RESULT[0]}, A_CAL_BEMF {RESULT[1]}, BEMF_GAIN {RESULT[2]}" in page
    assert "js/calibrate.js" in page


def test_the_page_form_works_without_javascript(clinician, engine):
    engine.hw.sim.chips["forearm"].calibration_result = RESULT
    r = clinician.post("/clinician/calibrate", data={"actuator": "forearm"})
    assert r.status_code == 302
    page = clinician.get("/clinician/").get_data(as_text=True)
    assert f"forearm calibrated: A_CAL_COMP {RESULT[0]}" in page
    r = clinician.post("/clinician/calibrate", data={"actuator": "brush"})
    page = clinician.get("/clinician/").get_data(as_text=True)
    assert "Calibration of brush not done" in page and "is a brush" in page


def test_patient_and_anonymous_are_refused(app, patient, engine):
    r = patient.post("/api/hardware/calibrate", json={"actuator": "hand"})
    assert r.status_code == 403
    assert patient.get("/api/hardware/calibration").status_code == 403
    anon = app.test_client()
    r = anon.post("/api/hardware/calibrate", json={"actuator": "hand"},
                  headers={"X-CSRFToken": "x"})  # fmt: skip
    assert r.status_code in (400, 401)
    assert anon.get("/api/hardware/calibration").status_code == 401
    assert not _store_file(engine).exists()


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ({"actuator": "elbow"}, "elbow"),
        ({"actuator": "brush"}, "brush"),
        ({"actuator": "upper_arm"}, "upper_arm"),
        ({"actuator": 7}, 7),
        ({"actuator": None}, None),
        ({}, None),
    ],
)
def test_bad_actuator_is_422_naming_field_value_and_allowed(clinician, engine, body, value):
    r = clinician.post("/api/hardware/calibrate", json=body)
    assert r.status_code == 422, r.get_json()
    err = r.get_json()["error"]
    assert err["field"] == "actuator"
    assert err["value"] == value
    assert err["allowed"] == LRAS
    for name in LRAS:
        assert name in err["message"]
    if value == "upper_arm":
        assert "is an ERM, run in open loop" in err["message"]
    assert not _store_file(engine).exists()


def test_not_json_is_400(clinician):
    r = clinician.post("/api/hardware/calibrate", data="actuator=hand",
                       content_type="text/plain")  # fmt: skip
    assert r.status_code == 400
    assert "JSON object" in r.get_json()["error"]["message"]


def test_refused_while_a_session_runs(clinician, coord, engine):
    use_quick_protocol(coord, engine)
    r = clinician.post("/api/start")
    assert r.status_code == 200, r.get_json()
    sid = r.get_json()["session_id"]
    r = clinician.post("/api/hardware/calibrate", json={"actuator": "forearm"})
    assert r.status_code == 409
    msg = r.get_json()["error"]["message"]
    assert f"session {sid} is running" in msg and "stop it first" in msg
    assert engine_state(engine)["state"] == "running"  # untouched
    clinician.post("/api/stop")
    wait_for(lambda: engine_state(engine)["state"] != "running")
    assert not _store_file(engine).exists()


def test_engine_refusal_for_a_paused_engine_session_is_409(clinician, coord, engine):
    """The engine's own check (the app's record may lag): a paused program."""
    use_quick_protocol(coord, engine)
    clinician.post("/api/start")
    wait_for(lambda: engine_state(engine)["state"] == "running")
    engine_call(engine, "pause")
    # the record says paused or running; either way the answer is a clear 409
    r = clinician.post("/api/hardware/calibrate", json={"actuator": "forearm"})
    assert r.status_code == 409
    assert "stop it first" in r.get_json()["error"]["message"]
    clinician.post("/api/stop")


def test_a_failed_calibration_is_409_with_what_to_check_never_500(clinician, engine):
    engine.hw.sim.chips["hand"].actuator_connected = False
    r = clinician.post("/api/hardware/calibrate", json={"actuator": "hand"})
    assert r.status_code == 409, r.get_json()
    msg = r.get_json()["error"]["message"]
    assert "DIAG_RESULT" in msg and "mounted" in msg
    assert not _store_file(engine).exists()


def test_openapi_documents_the_routes(app, clinician):
    doc = app.test_client().get("/api/openapi.json").get_json()
    post = doc["paths"]["/api/hardware/calibrate"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["required"] == ["actuator"]
    assert {"200", "401", "403", "409", "422"} <= set(post["responses"])
    assert "get" in doc["paths"]["/api/hardware/calibration"]
