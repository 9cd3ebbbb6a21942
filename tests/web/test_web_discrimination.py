"""Discrimination training end to end (issue 16) on the real engine (simulator).

The truth is what the skin got: which actuator the engine drove is read from the
simulator's trace of register writes, decoded with the DRV2605L datasheet's own figures
(``tests.hardware.drive_decode``), never from the compiled program. The test answers
some stimuli right, some wrong and leaves some unanswered; the record, ``GET
/api/sessions/<id>`` and the clinician's report must then show exactly those counts.
While the step plays, the page's status, events and the live session must not tell
which site a trial drives.
"""

from __future__ import annotations

import re
import time
import tomllib

from tests.hardware.drive_decode import drive_timeline
from tests.web.conftest import armed_with, engine_state, wait_for

SITES = ("forearm", "hand")
SHORT = """
id = "disc-test"
name = "Discrimination test"
version = "1.0"
author = "tests"
body_sites = ["forearm-border", "hand-border"]

[caps]
max_intensity_percent = 50
max_session_minutes = 5
sessions_per_day = 5
min_minutes_between_sessions = 1

[[ladders]]
name = "d"
modality = "vibration"

[[ladders.levels]]
name = "two sites"
[[ladders.levels.steps]]
kind = "discriminate"
sites = ["forearm", "hand"]
intensity = { percent = 30 }
stimuli_per_block = 4
blocks = 2
stimulus_s = 0.3
ramp_s = 0.05
answer_s = 1.5  # generous: a busy 2-core machine must still answer in time
interval_s = 0.2
rest_s = 0.4
"""
# trial -> what the test does: "right", "wrong" or nothing (left unanswered: missed)
PLAN = {0: "right", 1: "wrong", 2: "right", 4: "right", 5: "right", 6: "wrong"}


def _assign(tmp_path, coord, engine) -> dict:
    from station.protocols import library

    path = tmp_path / "disc.toml"
    path.write_text(SHORT)
    library.import_file(coord.data_dir, path, wiring=coord.planner.wiring)
    coord.assign("disc-test", "d/0", by="test")
    wait_for(lambda: armed_with(engine, coord)
             and engine_state(engine)["armed"]["protocol_id"] == "disc-test")  # fmt: skip
    return tomllib.loads(SHORT)


def _onsets(engine, since_ns: int) -> list[tuple[int, str]]:
    """(t_ns, actuator) where a haptic's decoded drive rises from zero after ``since_ns``."""
    records = list(engine.hw.sim.trace)
    out = []
    for name in SITES:
        before = 0.0
        for t, drive in drive_timeline(records, name):
            if drive > 0 and before <= 0 and t >= since_ns:
                out.append((t, name))
            before = drive
    return sorted(out)


def _no_site_in(obj, trial_sites: set[str]) -> None:
    """The status never names the actuator of a trial in any value under step."""
    text = repr(obj)
    for s in trial_sites:
        assert f"'actuator': '{s}'" not in text and f"'site': '{s}', 'probe'" not in text


def test_a_discrimination_session_is_scored_from_what_the_skin_got(
    tmp_path, coord, engine, patient, clinician
):
    spec = _assign(tmp_path, coord, engine)
    step = spec["ladders"][0]["levels"][0]["steps"][0]
    total = step["blocks"] * step["stimuli_per_block"]
    t0 = time.monotonic_ns()
    sub = coord.subscribe()  # what /api/events streams to every open page
    sid = patient.post("/api/start").get_json()["session_id"]
    driven: list[str] = []
    expected = {"correct": 0, "missed": 0, "by_site": {}}
    answered: set[int] = set()
    leaked: list[str] = []
    deadline = time.monotonic() + 30
    while len(driven) < total and time.monotonic() < deadline:
        onsets = _onsets(engine, t0)
        for _t, name in onsets[len(driven):]:
            driven.append(name)
        k = len(driven) - 1
        if k >= 0 and k not in answered and k in PLAN:
            status = patient.get("/api/status").get_json()
            assert status["step"]["kind"] == "discriminate"
            assert status["step"]["segments"] == []
            assert all("site" not in t for t in status["step"]["discrimination"]["trials"])
            live = patient.get(f"/api/sessions/{sid}").get_json()
            prog_steps = live["program"]["steps"]
            if any(s.get("segments") for s in prog_steps if s["kind"] == "discriminate"):
                leaked.append("program")
            truth = driven[k]
            other = next(s for s in SITES if s != truth)
            said = truth if PLAN[k] == "right" else other
            r = patient.post("/api/discrimination/answer", json={"site": said})
            assert r.status_code == 200, r.get_json()
            body = r.get_json()
            assert body["trial"] == k and body["correct"] == (PLAN[k] == "right")
            assert body["right_site"] == truth  # the feedback names what the skin got
            again = patient.post("/api/discrimination/answer", json={"site": said})
            assert again.status_code == 409, again.get_json()  # one answer per stimulus
            answered.add(k)
        time.sleep(0.02)
    assert len(driven) == total, f"the trace showed {len(driven)} stimuli, expected {total}"
    assert not leaked, "a live session's program named the trials' actuators"
    # every site equally often per block (4 stimuli, 2 sites: 2 each)
    for b in range(step["blocks"]):
        block = driven[b * 4:(b + 1) * 4]
        assert sorted(block) == sorted(SITES * 2), block
    wait_for(lambda: coord.store.sessions.get(sid).state == "completed", timeout=10)
    events = []
    while True:
        try:
            events.append(sub.get(timeout=0.2))
        except Exception:
            break
    sub.close()
    names = [e.get("event") for e in events]
    assert "step_finished" in names
    while_playing = events[: names.index("step_finished")]
    assert "'actuator'" not in repr(while_playing)  # no event named a site while answerable
    for k, name in enumerate(driven):
        site = expected["by_site"].setdefault(name, {"trials": 0, "correct": 0, "missed": 0})
        site["trials"] += 1
        if PLAN.get(k) == "right":
            expected["correct"] += 1
            site["correct"] += 1
        elif k not in PLAN:
            expected["missed"] += 1
            site["missed"] += 1
    got = patient.get(f"/api/sessions/{sid}").get_json()["discrimination"]
    assert (got["trials"], got["correct"], got["missed"]) == (
        total, expected["correct"], expected["missed"])  # fmt: skip
    assert {s: {k: v[k] for k in ("trials", "correct", "missed")}
            for s, v in got["by_site"].items()} == expected["by_site"]  # fmt: skip
    # the record: one row per stimulus, the site the trace showed
    from station.storage.discrimination import discrimination_of

    rows = discrimination_of(coord.store).of_session(sid)
    assert [r.site for r in rows] == driven
    assert [r.trial_index for r in rows if r.missed] == [k for k in range(total) if k not in PLAN]
    # the clinician's report and the export
    html = clinician.get("/clinician/report").get_data(as_text=True)
    assert "Discrimination" in html
    assert f'data-discrimination-session="{sid}"' in html
    assert f"{expected['correct']}/{total}" in html
    exported = clinician.get("/clinician/export.json").get_json(force=True)
    assert len(exported["discrimination_trials"]) == total


def test_answers_need_a_login_a_live_stimulus_and_a_known_site(tmp_path, coord, engine, app,
                                                                  patient):  # fmt: skip
    anon = app.test_client()
    page = anon.get("/login").get_data(as_text=True)  # a real CSRF token, but no login
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = anon.post("/api/discrimination/answer", json={"site": "hand"},
                  headers={"X-CSRFToken": token})  # fmt: skip
    assert r.status_code == 401, r.get_json()
    r = patient.post("/api/discrimination/answer", json={"site": "hand"})
    assert r.status_code == 409 and "no session" in r.get_json()["error"]["message"]
    _assign(tmp_path, coord, engine)
    patient.post("/api/start")
    wait_for(lambda: _onsets(engine, 0))
    r = patient.post("/api/discrimination/answer", json={"site": "knee"})
    assert r.status_code in (400, 422), r.get_json()
    body = r.get_json()
    assert "knee" in body["error"]["message"] and "forearm" in body["error"]["message"]
    r = patient.post("/api/discrimination/answer", json={"site": "hand", "probe": "strong"})
    assert r.status_code in (400, 422) and "no probes" in r.get_json()["error"]["message"]
    r = patient.post("/api/discrimination/answer", json={"site": 3})
    assert r.status_code in (400, 422)
    patient.post("/api/stop")
