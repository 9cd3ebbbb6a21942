"""Guided steps on the Today page and the API (issue 12), on the real engine (simulator).

Expected values come from the protocol files, read here with ``tomllib`` (not through
the station's own model): what a rate step asks (``pleasantness``, ``lingering``), which
steps are manual (the materials to prepare), the stop threshold; and from the
graded-exposure practice the brief names (a calm-place reminder before the first session
of a day, not before the second).
"""

from __future__ import annotations

import re
import time
import tomllib
from pathlib import Path

from station.protocols import library
from tests.web.conftest import armed_with, engine_state, wait_for

GUIDED = """
id = "guided"
name = "Guided test"
version = "1.0"
author = "tests"
body_sites = ["hand-border"]
patient_notes = "Rub slowly at the border of the sensitive area."

[caps]
max_intensity_percent = 50
max_session_minutes = 10
sessions_per_day = 3
min_minutes_between_sessions = 1

[progression]
stop_threshold = 7
back_min_rating = 6

[[ladders]]
name = "items"
modality = "texture"

[[ladders.levels]]
id = "g1"
name = "Feather then rice"
[[ladders.levels.steps]]
kind = "manual"
label = "Feather"
site = "hand-border"
instruction = "Rub the feather in slow circles until the timer ends or it feels numb."
duration_s = 120
[[ladders.levels.steps]]
kind = "manual"
label = "Rice"
site = "hand-border"
instruction = "Move the fingers through a bowl of rice."
duration_s = 120
[[ladders.levels.steps]]
kind = "rate"
duration_s = 120
"""
BUILTIN = Path(library.__file__).with_name("ct-brushing.toml")


def _assign(coord, engine, path: Path, level: str) -> None:
    library.import_file(coord.data_dir, path, wiring=coord.planner.wiring)
    pid = tomllib.loads(path.read_text())["id"]
    coord.assign(pid, level, by="test")
    wait_for(lambda: armed_with(engine, coord)
             and engine_state(engine)["armed"]["protocol_id"] == pid)  # fmt: skip


def _guided(tmp_path, coord, engine) -> dict:
    path = tmp_path / "guided.toml"
    path.write_text(GUIDED)
    _assign(coord, engine, path, "items/0")
    return tomllib.loads(GUIDED)


def _hidden(html: str, element_id: str) -> bool:
    tag = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>', html)
    assert tag, f"#{element_id} is not on the page"
    return re.search(r"\shidden(\s|>|=)", tag.group(0)) is not None


def _status(client) -> dict:
    return client.get("/api/status").get_json()


def test_before_start_the_page_lists_materials_notes_site_and_stop_threshold(
    tmp_path, coord, engine, patient
):
    spec = _guided(tmp_path, coord, engine)
    manual = [s for s in spec["ladders"][0]["levels"][0]["steps"] if s["kind"] == "manual"]
    guide = wait_for(lambda: _status(patient)["guide"])
    assert [m["name"] for m in guide["materials"]] == [s["label"] for s in manual]
    assert [m["instruction"] for m in guide["materials"]] == [s["instruction"] for s in manual]
    assert guide["notes"] == spec["patient_notes"]
    assert guide["sites"] == ["hand-border"]
    threshold = spec["progression"]["stop_threshold"]
    assert guide["stop_threshold"] == threshold
    assert f"above {threshold - 1}/10" in guide["stop_text"]
    html = patient.get("/").get_data(as_text=True)
    for s in manual:
        assert f'data-material="{s["label"]}"' in html
    assert spec["patient_notes"] in html and "hand border" in html
    assert f"above {threshold - 1}/10" in html


def test_a_manual_step_ends_early_and_the_record_says_who_and_why(
    tmp_path, coord, engine, patient
):
    _guided(tmp_path, coord, engine)
    sid = patient.post("/api/start").get_json()["session_id"]
    st = wait_for(lambda: (s := _status(patient))["step"] and s["step"]["index"] == 0 and s)
    assert st["step"]["kind"] == "manual" and st["site"] == "hand border"
    # the live rating card asks discomfort only while a guided step plays
    assert st["questions"]["answer"] is False and not st["questions"]["pleasantness"]
    t = time.monotonic()
    r = patient.post("/api/step/end", json={"index": 0, "why": "numb"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["ended"] == 0 and r.get_json()["skipped_ms"] > 100_000
    # the next guided step (Rice) plays at once, not after the Feather's 2 minutes
    st = wait_for(lambda: (s := _status(patient))["step"] and s["step"]["index"] == 1 and s)
    assert time.monotonic() - t < 10.0 and st["step"]["label"] == "Rice"
    record = patient.get(f"/api/sessions/{sid}").get_json()
    notes = [x for x in record["transitions"] if "ended early" in (x["reason"] or "")]
    assert len(notes) == 1 and notes[0]["by"] == "patient:pat"
    assert "'Feather'" in notes[0]["reason"] and "it feels numb" in notes[0]["reason"]
    # a step that is not playing, or not a guided one, is refused naming why
    r = patient.post("/api/step/end", json={"index": 0})
    assert r.status_code == 409 and "not playing" in r.get_json()["error"]["message"]
    r = patient.post("/api/step/end", json={"index": 2})
    assert r.status_code == 409 and "rate step" in r.get_json()["error"]["message"]
    r = patient.post("/api/step/end", json={"index": 99})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "index"
    r = patient.post("/api/step/end", json={"index": 1, "why": "bored"})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "why"
    patient.post("/api/stop", json={})


def test_a_discomfort_only_rate_step_asks_only_that_and_ends_when_answered(
    tmp_path, coord, engine, patient
):
    _guided(tmp_path, coord, engine)
    sid = patient.post("/api/start").get_json()["session_id"]
    wait_for(lambda: (s := _status(patient))["step"] and s["step"]["index"] == 0)
    assert patient.post("/api/step/end", json={"index": 0}).status_code == 200
    wait_for(lambda: (s := _status(patient))["step"] and s["step"]["index"] == 1)
    assert patient.post("/api/step/end", json={"index": 1}).status_code == 200
    st = wait_for(lambda: (s := _status(patient))["step"] and s["step"]["kind"] == "rate" and s)
    q = st["questions"]
    assert (q["answer"], q["discomfort"], q["pleasantness"], q["lingering"]) == (
        True, True, False, False)  # fmt: skip
    html = patient.get("/").get_data(as_text=True)
    assert _hidden(html, "q-pleasantness") and _hidden(html, "q-lingering")
    assert not _hidden(html, "rate-h")
    t = time.monotonic()
    r = patient.post("/api/ratings", json={"value": 2})
    assert r.status_code == 201 and r.get_json()["live"] is False
    # answered: the 2-minute rate step ends and the session completes at once
    record = wait_for(lambda: (x := patient.get(f"/api/sessions/{sid}").get_json())["state"]
                      == "completed" and x, timeout=10.0)  # fmt: skip
    assert time.monotonic() - t < 10.0
    assert [(x["value"], x["live"]) for x in record["ratings"]] == [(2, False)]


def test_ct_brushing_rate_step_asks_pleasantness_and_lingering(coord, engine, patient):
    spec = tomllib.loads(BUILTIN.read_text())
    rate = next(s for s in spec["ladders"][0]["levels"][0]["steps"] if s["kind"] == "rate")
    assert rate.get("pleasantness") and rate.get("lingering")  # what the file asks
    _assign(coord, engine, BUILTIN, "brushing/0")
    # a fast simulated clock: the brushing plays in a blink and the engine waits at the
    # rate step (paused) for the answer
    assert patient.post("/api/sim/clock", json={"rate": 200}).status_code == 200
    try:
        sid = patient.post("/api/start").get_json()["session_id"]
        st = wait_for(lambda: (s := _status(patient))["step"] and s["step"]["kind"] == "rate"
                      and s["state"] == "paused" and s, timeout=10)  # fmt: skip
        q = st["questions"]
        assert (q["answer"], q["pleasantness"], q["lingering"]) == (True, True, True)
        html = patient.get("/").get_data(as_text=True)
        assert not _hidden(html, "q-pleasantness") and not _hidden(html, "q-lingering")
        assert not _hidden(html, "send-answer")
        body = {"value": 1, "pleasantness": 6, "lingering": True, "lingering_where": "wrist"}
        r = patient.post("/api/ratings", json=body)
        assert r.status_code == 201 and r.get_json()["live"] is False
        # the answer ended the step: paused (nothing restarts by itself), marked answered;
        # the resume completes the session at once (the step's time is not played again)
        assert wait_for(lambda: _status(patient)["questions"]["answered"])
        assert engine_state(engine)["state"] == "paused"
        assert patient.post("/api/resume").status_code == 200
        record = wait_for(lambda: (x := patient.get(f"/api/sessions/{sid}").get_json())["state"]
                          == "completed" and x, timeout=10.0)  # fmt: skip
        saved = record["ratings"][0]
        assert (saved["pleasantness"], saved["lingering"], saved["lingering_where"]) == (
            6, True, "wrist")  # fmt: skip
    finally:
        patient.post("/api/sim/clock", json={"rate": 1})


def test_the_calm_place_note_shows_before_the_first_session_of_the_day_only(
    tmp_path, coord, engine, patient
):
    _guided(tmp_path, coord, engine)
    # early morning by the app's (simulated) clock, so the sessions stay on one day
    now = coord.sim_clock.now().astimezone()
    to_morning = ((24 + 6 - now.hour) % 24) * 3600 - now.minute * 60
    patient.post("/api/sim/clock", json={"advance_s": max(60, to_morning)})
    guide = wait_for(lambda: _status(patient)["guide"])
    assert guide["calm_place"] and "calm place" in guide["calm_place"]
    html = patient.get("/").get_data(as_text=True)
    assert not _hidden(html, "calm-place") and "calm place" in html
    sid = patient.post("/api/start").get_json()["session_id"]
    patient.post("/api/stop", json={})
    wait_for(lambda: patient.get(f"/api/sessions/{sid}").get_json()["state"] == "stopped")
    patient.post("/api/sim/clock", json={"advance_s": 120})  # past the 1-minute gap
    guide = wait_for(lambda: (g := _status(patient)["guide"]) and g["calm_place"] is None and g)
    assert guide["materials"]  # the rest of the guide is still there
    assert _hidden(patient.get("/").get_data(as_text=True), "calm-place")
