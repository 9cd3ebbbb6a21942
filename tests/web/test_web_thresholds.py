"""Measured detection thresholds through the real engine and the simulated patient.

The simulated patient (``hardware.sim.patient``) has a hidden threshold per actuator and
feels a trial when the drive the chip model really produced (register state, peak over
the trial) exceeds threshold + noise. The issue's "Done when": the measured threshold
lands within 20 % of the hidden one (0.30 and 0.12 of full scale, noise 5 %). A stop in
the middle stores nothing and leaves every output silent. ``times_threshold`` protocols
compile (and can be assigned) once the threshold is measured, and not before.
"""

from __future__ import annotations

import pytest

from station.engine.process import EngineRuntime
from station.engine.rt import RtOptions
from station.wiring import load_wiring
from tests.web.conftest import QUICK, engine_call, engine_state, wait_for

HIDDEN = {"hand": 0.30, "forearm": 0.12}
FAST = 20.0  # program ms per real ms: a 1 s trial plays in 50 ms


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """The real engine on the simulator, with a 500 ms stall watchdog instead of 50 ms:
    a measurement arms ~20 trial programs, and on a loaded 2-core test machine the
    in-process loop is now and then held up > 50 ms, which (rightly) stops it. This
    module tests the measurement, not the watchdog (tests/engine does)."""
    wiring = load_wiring()
    wiring = wiring.model_copy(
        update={"engine": wiring.engine.model_copy(update={"watchdog_ms": 500})}
    )
    runtime = EngineRuntime(
        wiring=wiring,
        simulate=True,
        data_dir=tmp_path_factory.mktemp("engine"),
        rt=RtOptions(fifo_priority=None, timer_slack_ns=None),
        escalate=lambda: None,
    ).start()
    yield runtime
    runtime.close()


@pytest.fixture(autouse=True)
def _quiet_patient(engine):
    yield
    engine_call(engine, "sim.patient", enabled=False)


def _sim_patient(client, **body):
    r = client.post("/api/sim/patient", json=body)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _measure(client, coord, actuator, kind="detection", timeout=60.0):
    """Measure; a measurement the engine's stall watchdog stopped (a loaded 2-core test
    machine can hold the in-process engine's loop up > 50 ms) stored nothing, as a stop
    must, and is run again (at most three times)."""
    for _ in range(3):
        before = client.get("/api/thresholds").get_json()["history"]
        r = client.post("/api/thresholds/measure", json={"actuator": actuator, "kind": kind})
        assert r.status_code == 200, r.get_json()
        assert coord.thresholds.wait(timeout)
        out = client.get("/api/thresholds").get_json()
        if "watchdog" not in (out["measurement"]["message"] or ""):
            return out
        assert out["history"] == before  # stopped by the watchdog: nothing stored
    pytest.fail("the engine's watchdog stopped three measurements in a row")


@pytest.mark.parametrize("actuator", sorted(HIDDEN))
def test_measured_threshold_lands_within_20_percent_of_the_hidden_one(
    clinician, coord, engine, actuator
):
    engine_call(engine, "sim.time_scale", scale=FAST)
    _sim_patient(clinician, thresholds=HIDDEN, noise=0.05, seed=12)
    out = _measure(clinician, coord, actuator)
    m = out["measurement"]
    assert m["phase"] == "finished", m["message"]
    found = out["detection"][actuator]
    hidden = HIDDEN[actuator]
    assert abs(found["value"] - hidden) / hidden <= 0.20, (found["value"], hidden)
    assert found["method"] == "staircase-1up-1down" and found["trials"] >= 10
    # used by times_threshold from now on, with the date and method kept in the history
    assert out["in_settings"][actuator] == pytest.approx(found["value"])
    assert coord.planner.settings().detection_thresholds[actuator] == pytest.approx(found["value"])
    assert [t["actuator"] for t in out["history"]] == [actuator]
    # never above the limits: the demo plan's cap is 60 %, the device's 90 %
    levels = [lv for lv, _ in found["detail"]["trials"]]
    assert max(levels) <= 0.60 and found["detail"]["ceiling"] == pytest.approx(0.60)
    # afterwards the station arms the plan's session again
    wait_for(lambda: engine_state(engine)["state"] == "armed", timeout=5)


def test_the_simulated_patient_feels_only_what_the_chip_drove(clinician, coord, engine):
    """A hidden threshold above the ceiling: never felt, so no threshold is stored."""
    engine_call(engine, "sim.time_scale", scale=FAST)
    _sim_patient(clinician, thresholds={"hand": 0.95}, noise=0.0, seed=1)
    out = _measure(clinician, coord, "hand")
    assert out["measurement"]["phase"] == "aborted"
    assert "not felt even at the highest level" in out["measurement"]["message"]
    assert out["detection"] == {} and out["history"] == []


def test_a_stop_mid_measurement_stores_nothing_and_silences_outputs(clinician, coord, engine):
    for _ in range(3):  # a run the engine's own watchdog stopped first is tried again
        if _stop_during_second_trial(clinician, coord, engine):
            break
    else:
        pytest.fail("the engine's watchdog stopped three measurements in a row")
    outputs = engine_call(engine, "sim.outputs")
    assert not any(o["active"] for name, o in outputs.items() if name != "brush"), outputs
    out = clinician.get("/api/thresholds").get_json()
    assert out["measurement"]["phase"] == "aborted"
    assert "nothing was stored" in out["measurement"]["message"]
    assert "user" in out["measurement"]["message"]  # the stop from the page, not another
    assert out["history"] == [] and out["in_settings"] == {}
    assert clinician.post("/api/thresholds/answer", json={"felt": True}).status_code == 409


def _stop_during_second_trial(clinician, coord, engine) -> bool:
    """No simulated patient: the page answers "not felt", the second (stronger: 1-up)
    trial plays, and the page's stop comes during its stimulus. False when the engine's
    watchdog ended the measurement first (it stored nothing either)."""
    r = clinician.post("/api/thresholds/measure", json={"actuator": "hand"})
    assert r.status_code == 200, r.get_json()

    def at(phase: str, trial: int) -> bool:
        st = coord.thresholds.state()
        return not st["measuring"] or (st["phase"] == phase and st["trial"] == trial)

    wait_for(lambda: at("answer", 1), timeout=10)
    if coord.thresholds.state()["measuring"]:
        clinician.post("/api/thresholds/answer", json={"felt": False})
        wait_for(lambda: at("stimulus", 2) and engine_state(engine)["state"] != "stopped",
                 timeout=10)  # fmt: skip
        assert clinician.post("/api/stop", json={}).status_code == 200
    assert coord.thresholds.wait(10)
    message = coord.thresholds.state()["message"]
    if "watchdog" in message:
        assert clinician.get("/api/thresholds").get_json()["history"] == []
        return False
    return True


def test_times_threshold_protocols_compile_only_after_measuring(clinician, coord, engine, tmp_path):
    from station.protocols import library

    quick = QUICK.read_text()
    src = tmp_path / "relative.toml"
    src.write_text(
        quick.replace('id = "quick"', 'id = "relative"').replace(
            "intensity = { percent = 20 }", "intensity = { times_threshold = 1.5 }"
        )
    )
    library.import_file(coord.data_dir, src, wiring=coord.planner.wiring)
    # Assigned before the threshold is measured: the plan waits for that intake step
    # (station.app.intake): nothing is armed and a start says what to do first.
    before = clinician.post("/api/plan", json={"protocol": "relative", "level": "quick/0"})
    assert before.status_code == 200, before.get_json()
    coord.arming.invalidate()
    nxt = coord.planner.next_program()
    assert nxt["allowed"] is False and "program" not in nxt
    assert "measure the detection threshold on 'forearm'" in nxt["message"]
    r = clinician.post("/api/start")
    assert r.status_code == 409 and "measure the detection threshold" in r.get_json()["error"][
        "message"
    ]
    engine_call(engine, "sim.time_scale", scale=FAST)
    _sim_patient(clinician, thresholds={"forearm": 0.2}, noise=0.05, seed=3)
    assert _measure(clinician, coord, "forearm")["measurement"]["phase"] == "finished"
    program = coord.planner.next_program()["program"]
    seg = next(s for st in program.steps for s in st.segments)
    found = coord.planner.settings().detection_thresholds["forearm"]
    assert seg.actuator == "forearm"
    assert seg.level == pytest.approx(min(0.6, 1.5 * found), abs=1e-5)
    # the patient may now repeat it (the plan needs it), but only there
    assert coord.thresholds.needed_actuators() == {"forearm"}


def test_who_may_measure_and_bad_input(patient, clinician, coord, engine, app):
    r = patient.post("/api/thresholds/measure", json={"actuator": "hand"})
    assert r.status_code == 403 and "needs no threshold" in r.get_json()["error"]["message"]
    r = patient.post("/api/thresholds/measure", json={"actuator": "hand", "kind": "tolerance"})
    assert r.status_code == 403
    r = clinician.post("/api/thresholds/measure", json={"actuator": "brush"})
    err = r.get_json()["error"]
    assert r.status_code == 422 and err["field"] == "actuator" and "hand" in err["allowed"]
    r = clinician.post("/api/thresholds/measure", json={"actuator": "hand", "kind": "pain"})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "kind"
    r = clinician.post("/api/thresholds/answer", json={"felt": "yes"})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "felt"
    r = clinician.post("/api/thresholds/answer", json={"felt": True})
    assert r.status_code == 409
    r = clinician.post("/api/sim/patient", json={"thresholds": {"hand": 1.5}})
    assert r.status_code == 422 and r.get_json()["error"]["field"].startswith("thresholds")
    r = clinician.post("/api/sim/patient", json={"thresholds": {"elbow": 0.2}})
    assert r.status_code == 422 and "elbow" in r.get_json()["error"]["message"]
    assert app.test_client().get("/api/thresholds").status_code == 401
    page = clinician.get("/thresholds").get_data(as_text=True)
    assert 'id="thr-yes"' in page and "js/thresholds.js" in page
    doc = clinician.get("/api/openapi.json").get_json()
    assert "/api/thresholds/measure" in doc["paths"] and "MeasureIn" in doc["components"]["schemas"]


def test_tolerance_probe_proposes_and_never_applies(clinician, coord, engine):
    """Ascending 2 dB a trial from the detection threshold: the proposal is the last
    level still manageable, just below the hidden tolerance; it is stored as a proposal
    for the clinician and changes no setting."""
    engine_call(engine, "sim.time_scale", scale=FAST)
    _sim_patient(clinician, thresholds={"hand": 0.1}, tolerances={"hand": 0.4}, seed=5)
    assert _measure(clinician, coord, "hand")["measurement"]["phase"] == "finished"
    settings_before = coord.planner.settings().model_dump()
    out = _measure(clinician, coord, "hand", kind="tolerance")
    assert out["measurement"]["phase"] == "finished", out["measurement"]["message"]
    proposal = out["tolerance"]["hand"]
    assert proposal["method"] == "ascending-limits"
    assert 0.4 / 1.26 <= proposal["value"] < 0.4  # one 2 dB step below the hidden limit
    levels = [lv for lv, _ in proposal["detail"]["trials"]]
    assert levels == sorted(levels) and levels[0] == pytest.approx(
        out["detection"]["hand"]["value"], abs=1e-5
    )
    assert coord.planner.settings().model_dump() == settings_before  # never applied
