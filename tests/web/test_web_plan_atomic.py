"""A refused plan, caps or settings change leaves everything as it was (issue 12).

Before: assigning the patient-ranked ``textures`` protocol without a recorded ranking wrote
the plan, then failed to compile it (422), after which the Today page errored and both stop
routes answered 422 (the stop re-armed the uncompilable plan and raised). Now every change
is validated as a whole (caps, patient settings, device limits, every ladder compiled at its
level) before anything is written, and a stop answers success once the engine has stopped.

Against the real engine on the simulator (``tests/web/conftest.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from station.app.coordinator import Coordinator
from station.errors import StationError
from tests.web.conftest import engine_state, wait_for


def snapshot(coord: Coordinator) -> tuple[Any, ...]:
    """The plan as stored, whole: protocol, version, levels, ranking, settings, time."""
    plan = coord.store.plans.get()
    assert plan is not None
    return (plan.protocol_id, plan.protocol_version, dict(plan.levels), plan.ranking,
            plan.settings, plan.updated_at)  # fmt: skip


def assert_station_still_works(app, coord: Coordinator, engine, before: tuple[Any, ...]) -> None:
    """Plan unchanged, Today page fine (anonymous and logged in), both stops succeed."""
    assert snapshot(coord) == before
    anon = app.test_client()
    r = anon.get("/")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    assert "Next session" in r.get_data(as_text=True)
    r = anon.post("/stop")
    assert r.status_code == 302 and r.headers["Location"].endswith("/"), r.status_code
    r = anon.get("/")
    assert r.status_code == 200 and "Stopped. Every output is off." in r.get_data(as_text=True)
    r = anon.post("/api/stop")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["stopped"] is True
    assert anon.get("/api/status").status_code == 200
    assert snapshot(coord) == before
    # Whatever is armed is the plan that was in force.
    state = engine_state(engine)
    if state["state"] == "armed":
        assert state["armed"]["protocol_id"] == before[0]


def test_assigning_the_ranked_textures_protocol_without_a_ranking_is_refused_whole(
    app, coord, engine, clinician
) -> None:
    before = snapshot(coord)
    armed_sid = engine_state(engine)["session_id"]
    r = clinician.post("/api/plan", json={"protocol": "textures", "level": "feather"})
    assert r.status_code == 422, r.get_json()
    err = r.get_json()["error"]
    # The message names what to change: the patient's ranking of the ladder.
    assert "rankings.textures" in err["message"] and "rank" in err["message"], err
    assert err.get("field") == "rankings.textures", err
    # Nothing was written and the armed session was not touched.
    assert snapshot(coord) == before
    assert engine_state(engine)["session_id"] == armed_sid
    assert_station_still_works(app, coord, engine, before)


def test_the_clinician_form_refuses_the_same_assignment_and_keeps_the_plan(
    app, coord, engine, clinician
) -> None:
    before = snapshot(coord)
    r = clinician.post("/clinician/plan", data={"protocol": "textures", "level": "textures/0"})
    assert r.status_code == 302
    page = clinician.get("/clinician/").get_data(as_text=True)
    assert "Not assigned" in page and "rankings.textures" in page
    assert_station_still_works(app, coord, engine, before)


@pytest.mark.parametrize(
    ("protocol", "level", "caps", "says"),
    [
        # the protocol refuses: its level no longer fits the session cap
        ("vibration-ladder", "0", {"max_session_minutes": "0.05"}, "max_session_minutes"),
        # the device limits refuse: the brush cannot go as slowly as the new cap
        ("ct-brushing", "b1", {"max_brush_speed_cm_s": "0.2"}, "cannot go slower than 0.3"),
    ],
)
def test_a_caps_change_the_protocol_or_device_limits_refuse_changes_nothing(
    app, coord, engine, clinician, protocol, level, caps, says
) -> None:
    if protocol != "vibration-ladder":
        coord.assign(protocol, level, by="test")
        wait_for(lambda: (engine_state(engine).get("armed") or {}).get("protocol_id") == protocol)
    before = snapshot(coord)
    with pytest.raises(StationError) as caught:
        coord.set_caps({k: float(v) for k, v in caps.items()}, by="test")
    assert says in str(caught.value)
    assert snapshot(coord) == before
    r = clinician.post("/clinician/caps", data=caps)
    assert r.status_code == 302
    page = clinician.get("/clinician/").get_data(as_text=True)
    assert "Caps not saved" in page and says in page
    assert_station_still_works(app, coord, engine, before)


def test_a_cap_below_the_patients_own_setting_is_refused_naming_the_setting(
    app, coord, engine, clinician
) -> None:
    coord.assign("ct-brushing", "b1", by="test")
    coord.update_settings({"brush_speed_cm_s": 5.0}, by="test")
    before = snapshot(coord)
    with pytest.raises(StationError) as caught:
        coord.set_caps({"max_brush_speed_cm_s": 4.0}, by="test")
    assert "brush_speed_cm_s" in str(caught.value) and "patient's setting" in str(caught.value)
    assert_station_still_works(app, coord, engine, before)


def test_stop_answers_success_even_when_the_stored_plan_cannot_run(
    app, coord, engine, users
) -> None:
    """A plan written before this validation existed (or compiled against another wiring)
    cannot be armed: the page says why and the stops still succeed."""
    coord.store.plans.set("textures", "1.0", levels={"textures": 0}, reason="an old record")
    coord.arming.invalidate()
    anon = app.test_client()
    r = anon.get("/")
    assert r.status_code == 200
    assert "The plan cannot run" in r.get_data(as_text=True)
    assert anon.post("/stop").status_code == 302
    r = anon.post("/api/stop")
    assert r.status_code == 200 and r.get_json()["stopped"] is True
    assert engine_state(engine)["state"] != "armed"
