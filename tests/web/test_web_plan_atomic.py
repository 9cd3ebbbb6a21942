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
from tests.web.conftest import PAT, engine_state, logged_in, wait_for


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


def test_a_ranked_protocol_assigned_before_the_patients_ranking_waits_for_intake(
    app, coord, engine, clinician, patient
) -> None:
    """The clinician assigns textures before the patient has ranked the items (that is the
    intake, on the Today page). Before: the plan was written, then failed to compile; the
    Today page errored and both stops answered 422. Now the plan is assigned and waits:
    nothing is armed, a start is refused naming what to do, the Today page shows the
    ranking list, the stops succeed; the patient's ranking then arms the first session."""
    r = clinician.post("/api/plan", json={"protocol": "textures", "level": "feather"})
    assert r.status_code == 200, r.get_json()
    coord.arming.invalidate()
    nxt = coord.status()["next"]
    assert nxt["allowed"] is False and "order the items of 'textures'" in nxt["message"]
    assert [n["kind"] for n in nxt["intake"]] == ["ranking"]
    assert engine_state(engine)["state"] != "armed"
    r = patient.post("/api/start")
    assert r.status_code == 409 and "order the items" in r.get_json()["error"]["message"]
    page = patient.get("/").get_data(as_text=True)
    assert "Put the textures in order" in page
    anon = app.test_client()
    assert anon.get("/").status_code == 200
    assert anon.post("/stop").status_code == 302
    r = anon.post("/api/stop")
    assert r.status_code == 200 and r.get_json()["stopped"] is True
    # The intake: the patient ranks, and the least irritating item is armed first.
    ladder = coord.planner.protocol().ladder("textures")
    order = ["silk"] + [lv.id for lv in ladder.levels if lv.id != "silk"]  # file: feather
    r = patient.post("/api/plan/ranking", json={"ladder": "textures", "order": order})
    assert r.status_code in (200, 201), r.get_json()
    state = wait_for(lambda: (s := engine_state(engine))["state"] == "armed" and s)
    assert state["armed"]["protocol_id"] == "textures"
    first = next(lv for lv in ladder.levels if lv.id == order[0])
    assert coord.status()["next"]["level"] == first.name


def test_the_clinician_form_assigns_a_ranked_protocol_and_the_page_says_what_waits(
    app, coord, engine, clinician
) -> None:
    r = clinician.post("/clinician/plan", data={"protocol": "textures", "level": "textures/0"})
    assert r.status_code == 302
    page = clinician.get("/clinician/").get_data(as_text=True)
    assert "Plan assigned" in page
    anon = app.test_client()
    r = anon.get("/")
    assert r.status_code == 200
    r = anon.post("/api/stop")
    assert r.status_code == 200 and r.get_json()["stopped"] is True


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


def test_a_cap_below_the_patients_own_setting_wins_and_re_clamps_the_setting(
    app, coord, engine, clinician
) -> None:
    """The clinician's limit is the safety layer: a tighter cap is saved, and the patient's
    own setting above it is lowered to it in the same write (issue 13), and said."""
    coord.assign("ct-brushing", "b1", by="test")
    coord.update_settings({"brush_speed_cm_s": 5.0}, by="test")
    r = clinician.post("/api/plan/caps", json={"max_brush_speed_cm_s": 4.0})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["caps"]["max_brush_speed_cm_s"] == 4.0
    assert any("5 cm/s lowered to the cap 4 cm/s" in c for c in r.get_json()["clamped"])
    assert coord.planner.settings().brush_speed_cm_s == 4.0
    before = snapshot(coord)
    assert_station_still_works(app, coord, engine, before)


def test_stop_answers_success_even_when_the_stored_plan_cannot_run(
    app, coord, engine, users
) -> None:
    """A plan written before this validation existed (or compiled against another wiring)
    cannot be armed: the page says why and the stops still succeed."""
    coord.store.plans.set(
        "textures",
        "1.0",
        levels={"textures": 0},
        settings={"rankings": {"textures": ["no-such-item"]}},
        reason="an old record",
    )
    coord.arming.invalidate()
    anon = app.test_client()
    assert anon.get("/").status_code == 200
    r = logged_in(app, PAT).get("/")
    assert r.status_code == 200
    assert "The plan cannot run" in r.get_data(as_text=True)
    assert anon.post("/stop").status_code == 302
    r = anon.post("/api/stop")
    assert r.status_code == 200 and r.get_json()["stopped"] is True
    assert engine_state(engine)["state"] != "armed"
